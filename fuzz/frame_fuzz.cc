// libFuzzer target: any byte string through both frame decoders. Properties checked:
// no crash, no over-read (ASan), and every accepted frame re-encodes to the input.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/protocol/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  murphy::Result<murphy::Frame> frame = murphy::DecodeFrame(input, 4096);
  if (frame.ok()) {
    const murphy::Bytes again = murphy::EncodeFrame(frame->type, frame->payload);
    MURPHY_ASSERT(again.size() == size);
    MURPHY_ASSERT(std::equal(again.begin(), again.end(), data));
  }
  murphy::FrameDecoder decoder(4096);
  // Feed in two pieces to exercise reassembly.
  decoder.Feed(input.first(size / 2));
  for (int pass = 0; pass < 2; ++pass) {
    for (;;) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
      MURPHY_ASSERT((*next)->payload.size() <= 4096);
    }
    if (pass == 0) decoder.Feed(input.subspan(size / 2));
  }
  return 0;
}

// Valid frames of several types and sizes, for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  std::vector<std::vector<uint8_t>> seeds;
  for (uint8_t type = 0; type < 4; ++type) {
    for (const size_t size : {size_t{0}, size_t{1}, size_t{17}, size_t{63}}) {
      std::vector<uint8_t> payload(size);
      for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 31 + type);
      seeds.push_back(murphy::EncodeFrame(type, payload));
    }
  }
  return seeds;
}
