// Runs a libFuzzer target without libFuzzer, so `make test` exercises every fuzz
// target with any compiler: a fixed seed's random inputs plus mutations (bit flips,
// truncation, inserted bytes) of the valid inputs the target provides through
// MurphyFuzzSeedInputs(), then every file named on the command line (a saved corpus
// or crash). With `--write-seeds DIR` it only writes those valid inputs into DIR as
// files (seed_0, seed_1, ...), to start a libFuzzer corpus from (scripts/fuzz-run).
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <iterator>
#include <vector>

#include "murphy/core/rng.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Defined by each target: well-formed inputs worth mutating (may be empty).
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs();

int main(int argc, char** argv) {
  const std::vector<std::vector<uint8_t>> seeds = MurphyFuzzSeedInputs();
  if (argc == 3 && std::strcmp(argv[1], "--write-seeds") == 0) {
    for (size_t i = 0; i < seeds.size(); ++i) {
      const std::string path = std::string(argv[2]) + "/seed_" + std::to_string(i);
      std::ofstream file(path, std::ios::binary);
      file.write(reinterpret_cast<const char*>(seeds[i].data()), static_cast<std::streamsize>(seeds[i].size()));
      if (!file) {
        std::fprintf(stderr, "fuzz smoke: cannot write %s\n", path.c_str());
        return 1;
      }
    }
    std::printf("fuzz smoke: wrote %zu seed inputs to %s\n", seeds.size(), argv[2]);
    return 0;
  }
  murphy::Rng rng(20261126);
  int runs = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> input;
    if (!seeds.empty() && rng.Bernoulli(0.5)) {
      input = seeds[rng.Uniform(seeds.size())];
      for (uint64_t flips = rng.Uniform(3); flips > 0 && !input.empty(); --flips) {
        input[rng.Uniform(input.size())] ^= static_cast<uint8_t>(1U << rng.Uniform(8));
      }
      if (rng.Bernoulli(0.2) && !input.empty()) input.resize(rng.Uniform(input.size()));
      if (rng.Bernoulli(0.1)) {
        const size_t at = rng.Uniform(input.size() + 1);
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<uint8_t>(rng.NextU64()));
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
    const std::vector<uint8_t> input((std::istreambuf_iterator<char>(file)),
                                     std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(input.data(), input.size());
    ++runs;
  }
  std::printf("fuzz smoke: %d inputs, no failure\n", runs);
  return 0;
}
