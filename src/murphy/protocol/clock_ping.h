// murphy/protocol/clock_ping.h — the clock ping between murphyd peers: one node sends
// its wall-clock reading, the peer answers with two readings of its own, so the sender
// can estimate the offset between the two clocks (NTP's on-wire exchange, RFC 5905
// section 8; clocks/clock_offset_monitor.h does the arithmetic).
//
// Contract: each message travels as one protocol/ frame (frame.h: versioned,
// length-prefixed, CRC32C-checked). The frame type says which message is inside:
//   kClockPingFrame  0x20  node → peer   ClockPing  {sequence, origin = t0}
//   kClockPongFrame  0x21  peer → node   ClockPong  {sequence, origin = t0 echoed,
//                                                    receive = t1, transmit = t2}
// (0x01–0x03 are the node shell's raft and KV frames, 0x10–0x12 the lock-service client
// messages, 0x44/0x48 the posix transport's.)
//
// Encoding (payload of the frame): a version byte (kClockPingVersion), then the
// sequence as a varint and each wall-clock reading as a zig-zag varint of nanoseconds
// since the Unix epoch (core/codec.h). A pong echoes the ping's sequence and origin so
// the sender can match it to the ping it sent. Decoders never crash and never allocate,
// whatever the input:
//   Unimplemented    a message version this build does not speak;
//   InvalidArgument  anything else malformed: empty, truncated, trailing bytes,
//                    sequence 0, or (whole datagrams) a frame of another type.
// The decoder does not judge the readings themselves (a peer's clock may legitimately
// be anywhere, and may step between t1 and t2): the monitor rejects impossible round
// trips. Round trip: Decode(Encode(m)) == m for every m with sequence >= 1.
// Thread safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "murphy/core/codec.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy::protocol {

inline constexpr uint8_t kClockPingFrame = 0x20;
inline constexpr uint8_t kClockPongFrame = 0x21;
inline constexpr uint8_t kClockPingVersion = 1;
// A pong is 1 + 10 + 3 x 10 bytes at most; anything longer is not ours.
inline constexpr size_t kMaxClockPingBytes = 64;

struct ClockPing {
  uint64_t sequence = 0;  // >= 1; the sender's number for this ping
  WallTime origin;        // t0: sender's wall clock when it sent the ping

  friend bool operator==(const ClockPing&, const ClockPing&) = default;
};

struct ClockPong {
  uint64_t sequence = 0;  // the ping's, echoed
  WallTime origin;        // t0, echoed
  WallTime receive;       // t1: responder's wall clock when the ping arrived
  WallTime transmit;      // t2: responder's wall clock when it sent this pong

  friend bool operator==(const ClockPong&, const ClockPong&) = default;
};

// Frame payloads. REQUIRES: sequence >= 1.
Bytes EncodeClockPing(const ClockPing& ping);
Bytes EncodeClockPong(const ClockPong& pong);
Result<ClockPing> DecodeClockPing(std::span<const uint8_t> payload);
Result<ClockPong> DecodeClockPong(std::span<const uint8_t> payload);

// Whole frames, ready for Env::Send.
Bytes EncodeClockPingFrame(const ClockPing& ping);
Bytes EncodeClockPongFrame(const ClockPong& pong);

// True for kClockPingFrame and kClockPongFrame.
bool IsClockFrameType(uint8_t type);

using ClockMessage = std::variant<ClockPing, ClockPong>;
// Decodes one datagram: the frame (frame.h errors), then the message its type names
// (errors above; InvalidArgument for any other frame type).
Result<ClockMessage> DecodeClockMessage(std::span<const uint8_t> datagram);

}  // namespace murphy::protocol
