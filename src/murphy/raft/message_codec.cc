#include "murphy/raft/message_codec.h"

#include <algorithm>
#include <limits>

#include "murphy/raft/membership.h"

namespace murphy::raft {

Bytes EncodeMessage(const Message& message) {
  ByteWriter writer;
  const bool with_contexts = !message.snapshot_membership.contexts.empty();
  writer.PutU8(with_contexts ? kMessageEncodingVersionWithContexts : kMessageEncodingVersion);
  writer.PutU8(static_cast<uint8_t>(message.type));
  writer.PutVarint(message.from.value());
  writer.PutVarint(message.to.value());
  writer.PutVarint(message.term.value());
  writer.PutVarint(message.index.value());
  writer.PutVarint(message.log_term.value());
  writer.PutVarint(message.commit.value());
  writer.PutBool(message.reject);
  writer.PutVarint(message.reject_hint.value());
  writer.PutVarint(message.read_round);
  writer.PutBool(message.leader_transfer);
  writer.PutVarint(message.entries.size());
  for (const Entry& entry : message.entries) {
    writer.PutVarint(entry.term.value());
    writer.PutVarint(entry.index.value());
    writer.PutU8(static_cast<uint8_t>(entry.type));
    writer.PutString(entry.data);
  }
  writer.PutVarint(message.snapshot_membership.voters.size());
  for (NodeId id : message.snapshot_membership.voters) writer.PutVarint(id.value());
  writer.PutVarint(message.snapshot_membership.learners.size());
  for (NodeId id : message.snapshot_membership.learners) writer.PutVarint(id.value());
  if (with_contexts) {
    writer.PutVarint(message.snapshot_membership.contexts.size());
    for (const auto& [id, context] : message.snapshot_membership.contexts) {
      writer.PutVarint(id.value());
      writer.PutString(context);
    }
  }
  writer.PutVarint(message.snapshot_size);
  writer.PutVarint(message.chunk_offset);
  writer.PutString(message.data);
  return writer.Take();
}

namespace {

bool GetNodeId(ByteReader* reader, NodeId* id) {
  uint64_t value = 0;
  if (!reader->GetVarint(&value)) return false;
  if (value > std::numeric_limits<NodeId::rep_type>::max()) return false;
  *id = NodeId(static_cast<NodeId::rep_type>(value));
  return true;
}

template <typename Id>
bool GetId(ByteReader* reader, Id* id) {
  uint64_t value = 0;
  if (!reader->GetVarint(&value)) return false;
  *id = Id(value);
  return true;
}

// A sorted, duplicate-free list of at most *budget ids (the budget shrinks).
Status GetIdList(ByteReader* reader, uint64_t* budget, std::vector<NodeId>* ids) {
  uint64_t count = 0;
  if (!reader->GetVarint(&count)) return InvalidArgumentError("raft message: malformed membership");
  if (count > *budget) return ResourceExhaustedError("raft message: too many members");
  if (count > reader->remaining()) return InvalidArgumentError("raft message: truncated membership");
  *budget -= count;
  ids->reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    NodeId id;
    if (!GetNodeId(reader, &id) || id.value() == 0) return InvalidArgumentError("raft message: bad member id");
    if (!ids->empty() && ids->back() >= id) return InvalidArgumentError("raft message: members not sorted");
    ids->push_back(id);
  }
  return Status::Ok();
}

}  // namespace

Result<Message> DecodeMessage(std::span<const uint8_t> bytes, const MessageLimits& limits) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("raft message: empty");
  if (version != kMessageEncodingVersion && version != kMessageEncodingVersionWithContexts) return UnimplementedError("raft message: unknown encoding version");
  Message message;
  uint8_t type = 0;
  if (!reader.GetU8(&type)) return InvalidArgumentError("raft message: truncated type");
  if (type < 1 || type > kMaxMessageType) return InvalidArgumentError("raft message: unknown type");
  message.type = static_cast<MessageType>(type);
  bool ok = GetNodeId(&reader, &message.from) && GetNodeId(&reader, &message.to) &&
            GetId(&reader, &message.term) && GetId(&reader, &message.index) &&
            GetId(&reader, &message.log_term) && GetId(&reader, &message.commit) &&
            reader.GetBool(&message.reject) && GetId(&reader, &message.reject_hint) &&
            reader.GetVarint(&message.read_round) && reader.GetBool(&message.leader_transfer);
  if (!ok) return InvalidArgumentError("raft message: malformed header");
  uint64_t count = 0;
  if (!reader.GetVarint(&count)) return InvalidArgumentError("raft message: malformed entry count");
  if (count > limits.max_entries) return ResourceExhaustedError("raft message: too many entries");
  // Each entry takes at least 4 bytes, so a count beyond that cannot be honest;
  // check before reserving so a lying count allocates nothing.
  if (count > reader.remaining() / 4) return InvalidArgumentError("raft message: truncated entries");
  message.entries.reserve(count);
  uint64_t total_bytes = 0;
  for (uint64_t i = 0; i < count; ++i) {
    Entry entry;
    uint8_t entry_type = 0;
    if (!GetId(&reader, &entry.term) || !GetId(&reader, &entry.index) || !reader.GetU8(&entry_type)) {
      return InvalidArgumentError("raft message: malformed entry");
    }
    if (entry_type > static_cast<uint8_t>(EntryType::kConfigChange)) {
      return InvalidArgumentError("raft message: unknown entry type");
    }
    entry.type = static_cast<EntryType>(entry_type);
    std::span<const uint8_t> data;
    // Read the length first to tell "too big" from "truncated".
    uint64_t length = 0;
    ByteReader peek(reader.rest());
    if (!peek.GetVarint(&length)) return InvalidArgumentError("raft message: malformed entry data");
    if (length > limits.max_entry_bytes) return ResourceExhaustedError("raft message: entry too large");
    total_bytes += length;
    if (total_bytes > limits.max_total_entry_bytes) return ResourceExhaustedError("raft message: too large");
    if (!reader.GetLengthPrefixed(limits.max_entry_bytes, &data)) {
      return InvalidArgumentError("raft message: truncated entry data");
    }
    entry.data.assign(AsText(data));
    if (entry.type == EntryType::kConfigChange && !DecodeConfigChange(entry.data).ok()) {
      return InvalidArgumentError("raft message: malformed configuration change");
    }
    message.entries.push_back(std::move(entry));
  }
  uint64_t member_budget = limits.max_members;
  Membership& membership = message.snapshot_membership;
  if (Status status = GetIdList(&reader, &member_budget, &membership.voters); !status.ok()) return status;
  if (Status status = GetIdList(&reader, &member_budget, &membership.learners); !status.ok()) return status;
  for (NodeId learner : membership.learners) {
    if (membership.IsVoter(learner)) return InvalidArgumentError("raft message: a member both voter and learner");
  }
  if (version == kMessageEncodingVersionWithContexts) {
    uint64_t context_count = 0;
    if (!reader.GetVarint(&context_count)) return InvalidArgumentError("raft message: malformed contexts");
    if (context_count > membership.voters.size() + membership.learners.size()) {
      return InvalidArgumentError("raft message: more contexts than members");
    }
    NodeId previous = kNoNode;
    for (uint64_t i = 0; i < context_count; ++i) {
      NodeId id;
      std::span<const uint8_t> context;
      if (!GetNodeId(&reader, &id)) return InvalidArgumentError("raft message: bad context id");
      if (!membership.Contains(id)) return InvalidArgumentError("raft message: a context for a non-member");
      if (id <= previous) return InvalidArgumentError("raft message: contexts not sorted");
      if (!reader.GetLengthPrefixed(kMaxConfigChangeContextBytes, &context) || context.empty()) {
        return InvalidArgumentError("raft message: malformed context");
      }
      membership.contexts.emplace(id, std::string(AsText(context)));
      previous = id;
    }
  }
  if (!reader.GetVarint(&message.snapshot_size) || !reader.GetVarint(&message.chunk_offset)) {
    return InvalidArgumentError("raft message: malformed snapshot header");
  }
  uint64_t chunk_length = 0;
  ByteReader peek(reader.rest());
  if (!peek.GetVarint(&chunk_length)) return InvalidArgumentError("raft message: malformed chunk");
  if (chunk_length > limits.max_chunk_bytes) return ResourceExhaustedError("raft message: chunk too large");
  std::span<const uint8_t> chunk;
  if (!reader.GetLengthPrefixed(limits.max_chunk_bytes, &chunk)) {
    return InvalidArgumentError("raft message: truncated chunk");
  }
  message.data.assign(AsText(chunk));
  // Only a chunk is bounded by its snapshot's size. A kSnapshotResponse's
  // chunk_offset is the next byte the follower expects, reported with or without
  // the size (followers before the fix sent none): checking it here dropped every
  // chunk acknowledgement past the first window, so a snapshot of more than
  // max_inflight_snapshot_chunks chunks never finished.
  if (message.type == MessageType::kSnapshot &&
      (message.chunk_offset > message.snapshot_size ||
       message.data.size() > message.snapshot_size - message.chunk_offset)) {
    return InvalidArgumentError("raft message: chunk beyond the snapshot's size");
  }
  if (!reader.at_end()) return InvalidArgumentError("raft message: trailing bytes");
  return message;
}

}  // namespace murphy::raft
