// murphy/raft/message_codec.h — Raft messages to bytes and back.
//
// Contract: `EncodeMessage` writes a Message with core's ByteWriter (a version byte,
// then varints, length-prefixed entry payloads); the node shell puts the bytes in a
// checksummed frame (protocol/frame.h), so corruption is caught there. `DecodeMessage`
// never crashes and never allocates beyond the limits, whatever the input:
//   Unimplemented      an encoding version this build does not speak;
//   ResourceExhausted  more entries or larger payloads than the limits allow;
//   InvalidArgument    anything else malformed (truncated, trailing bytes, an unknown
//                      message or entry type, an id out of range, a bad bool, a
//                      kConfigChange entry whose payload is not a ConfigChange, a
//                      membership list not sorted and disjoint).
// Version 2 added the snapshot fields (membership, sizes, chunk bytes). Version 3
// adds the snapshot membership's contexts (Membership::contexts) after the learners;
// a message whose snapshot membership has no contexts is still written as version
// 2, byte for byte as before, and both versions decode.
// More InvalidArgument cases: a context for a non-member, an empty or oversized
// context, contexts not in ascending id order.
// Round trip: DecodeMessage(EncodeMessage(m)) == m for every m within the limits.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "murphy/core/codec.h"
#include "murphy/core/status.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

inline constexpr uint8_t kMessageEncodingVersion = 2;
inline constexpr uint8_t kMessageEncodingVersionWithContexts = 3;

struct MessageLimits {
  uint64_t max_entries = 4096;
  uint64_t max_entry_bytes = 1 << 20;
  uint64_t max_total_entry_bytes = 16 << 20;
  uint64_t max_chunk_bytes = 4 << 20;  // one snapshot chunk's data.
  uint64_t max_members = 1024;         // voters plus learners in a snapshot's membership.
};

Bytes EncodeMessage(const Message& message);
Result<Message> DecodeMessage(std::span<const uint8_t> bytes, const MessageLimits& limits = {});

}  // namespace murphy::raft
