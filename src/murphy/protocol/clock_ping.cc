#include "murphy/protocol/clock_ping.h"

#include <string>

#include "murphy/core/assert.h"
#include "murphy/protocol/frame.h"

namespace murphy::protocol {
namespace {

void PutWallTime(ByteWriter* writer, WallTime time) { writer->PutSignedVarint(time.nanoseconds()); }

bool GetWallTime(ByteReader* reader, WallTime* time) {
  int64_t nanoseconds = 0;
  if (!reader->GetSignedVarint(&nanoseconds)) return false;
  *time = WallTime::FromNanoseconds(nanoseconds);
  return true;
}

// Reads the version byte and the sequence, common to both messages.
Status GetPrefix(ByteReader* reader, std::string_view what, uint64_t* sequence) {
  uint8_t version = 0;
  if (!reader->GetU8(&version)) return InvalidArgumentError(std::string(what) + ": empty payload");
  if (version != kClockPingVersion) {
    return UnimplementedError(std::string(what) + ": version " + std::to_string(version) +
                              " is not spoken by this build");
  }
  if (!reader->GetVarint(sequence)) return InvalidArgumentError(std::string(what) + ": truncated sequence");
  if (*sequence == 0) return InvalidArgumentError(std::string(what) + ": sequence 0");
  return Status::Ok();
}

}  // namespace

Bytes EncodeClockPing(const ClockPing& ping) {
  MURPHY_ASSERT(ping.sequence >= 1);
  ByteWriter writer;
  writer.PutU8(kClockPingVersion);
  writer.PutVarint(ping.sequence);
  PutWallTime(&writer, ping.origin);
  Bytes bytes = std::move(writer).Take();
  MURPHY_ASSERT(bytes.size() <= kMaxClockPingBytes);
  return bytes;
}

Bytes EncodeClockPong(const ClockPong& pong) {
  MURPHY_ASSERT(pong.sequence >= 1);
  ByteWriter writer;
  writer.PutU8(kClockPingVersion);
  writer.PutVarint(pong.sequence);
  PutWallTime(&writer, pong.origin);
  PutWallTime(&writer, pong.receive);
  PutWallTime(&writer, pong.transmit);
  Bytes bytes = std::move(writer).Take();
  MURPHY_ASSERT(bytes.size() <= kMaxClockPingBytes);
  return bytes;
}

Result<ClockPing> DecodeClockPing(std::span<const uint8_t> payload) {
  ByteReader reader(payload);
  ClockPing ping;
  MURPHY_RETURN_IF_ERROR(GetPrefix(&reader, "clock ping", &ping.sequence));
  if (!GetWallTime(&reader, &ping.origin)) return InvalidArgumentError("clock ping: truncated origin");
  if (!reader.at_end()) return InvalidArgumentError("clock ping: trailing bytes");
  return ping;
}

Result<ClockPong> DecodeClockPong(std::span<const uint8_t> payload) {
  ByteReader reader(payload);
  ClockPong pong;
  MURPHY_RETURN_IF_ERROR(GetPrefix(&reader, "clock pong", &pong.sequence));
  if (!GetWallTime(&reader, &pong.origin)) return InvalidArgumentError("clock pong: truncated origin");
  if (!GetWallTime(&reader, &pong.receive)) return InvalidArgumentError("clock pong: truncated receive time");
  if (!GetWallTime(&reader, &pong.transmit)) {
    return InvalidArgumentError("clock pong: truncated transmit time");
  }
  if (!reader.at_end()) return InvalidArgumentError("clock pong: trailing bytes");
  return pong;
}

Bytes EncodeClockPingFrame(const ClockPing& ping) {
  return EncodeFrame(kClockPingFrame, EncodeClockPing(ping));
}
Bytes EncodeClockPongFrame(const ClockPong& pong) {
  return EncodeFrame(kClockPongFrame, EncodeClockPong(pong));
}

bool IsClockFrameType(uint8_t type) { return type == kClockPingFrame || type == kClockPongFrame; }

Result<ClockMessage> DecodeClockMessage(std::span<const uint8_t> datagram) {
  MURPHY_ASSIGN_OR_RETURN(Frame frame, DecodeFrame(datagram, kMaxClockPingBytes));
  if (frame.type == kClockPingFrame) {
    MURPHY_ASSIGN_OR_RETURN(ClockPing ping, DecodeClockPing(frame.payload));
    return ClockMessage(ping);
  }
  if (frame.type == kClockPongFrame) {
    MURPHY_ASSIGN_OR_RETURN(ClockPong pong, DecodeClockPong(frame.payload));
    return ClockMessage(pong);
  }
  return InvalidArgumentError("clock message: frame type " + std::to_string(frame.type) +
                              " is not a clock ping or pong");
}

}  // namespace murphy::protocol
