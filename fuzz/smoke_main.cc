// Runs a libFuzzer target without libFuzzer, so `make test` exercises every fuzz
// target with any compiler: a fixed seed's random inputs plus mutations of valid
// frames, then every file named on the command line (a saved corpus or crash).
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/protocol/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  murphy::Rng rng(20261126);
  int runs = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> input;
    if (rng.Bernoulli(0.5)) {
      std::vector<uint8_t> payload(rng.Uniform(64));
      for (uint8_t& byte : payload) byte = static_cast<uint8_t>(rng.NextU64());
      input = murphy::EncodeFrame(static_cast<uint8_t>(rng.Uniform(4)), payload);
      for (uint64_t flips = rng.Uniform(3); flips > 0 && !input.empty(); --flips) {
        input[rng.Uniform(input.size())] ^= static_cast<uint8_t>(1U << rng.Uniform(8));
      }
    } else {
      input.resize(rng.Uniform(80));
      for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng.NextU64());
    }
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream file(argv[i], std::ios::binary);
    const std::vector<uint8_t> input((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
  }
  std::printf("fuzz smoke: %d inputs, no failure\n", runs);
  return 0;
}
