// libFuzzer target: any byte string through the clock ping/pong decoders, as a whole
// datagram (frame + message) and as a bare payload of each message. Properties checked:
// no crash, no over-read (ASan), and every accepted message re-encodes to bytes that
// decode to the same message.
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/protocol/clock_ping.h"

namespace {

template <typename Message, typename Decode, typename Encode>
void CheckStable(std::span<const uint8_t> payload, Decode decode, Encode encode) {
  murphy::Result<Message> message = decode(payload);
  if (!message.ok()) return;
  const murphy::Bytes again = encode(*message);
  MURPHY_ASSERT(again.size() <= murphy::protocol::kMaxClockPingBytes);
  murphy::Result<Message> decoded = decode(again);
  MURPHY_ASSERT(decoded.ok());
  MURPHY_ASSERT(*decoded == *message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace murphy::protocol;
  const std::span<const uint8_t> input(data, size);
  murphy::Result<ClockMessage> message = DecodeClockMessage(input);
  if (message.ok()) {
    MURPHY_ASSERT(IsClockFrameType(input.size() > 3 ? input[3] : 0));
    const murphy::Bytes again = std::holds_alternative<ClockPing>(*message)
                                    ? EncodeClockPingFrame(std::get<ClockPing>(*message))
                                    : EncodeClockPongFrame(std::get<ClockPong>(*message));
    MURPHY_ASSERT(DecodeClockMessage(again).ok());
  }
  CheckStable<ClockPing>(input, DecodeClockPing, EncodeClockPing);
  CheckStable<ClockPong>(input, DecodeClockPong, EncodeClockPong);
  return 0;
}

// Valid frames and payloads of both messages, for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  using namespace murphy;
  using namespace murphy::protocol;
  const ClockPing ping{41, WallTime::FromNanoseconds(1'795'000'000'000'000'000)};
  const ClockPong pong{41, ping.origin, WallTime::FromNanoseconds(1'795'000'000'400'000'000),
                       WallTime::FromNanoseconds(1'795'000'000'400'100'000)};
  return {EncodeClockPingFrame(ping), EncodeClockPing(ping), EncodeClockPongFrame(pong),
          EncodeClockPong(pong)};
}
