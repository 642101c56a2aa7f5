#include "murphy/node/kv_state_machine.h"

#include "murphy/core/codec.h"
#include "murphy/node/client_protocol.h"

namespace murphy::node {
namespace {

constexpr uint8_t kEncodingVersion = 1;
constexpr uint8_t kSnapshotVersion = 1;
constexpr size_t kMaxKeyBytesOnWire = 64 << 10;

std::string ToString(Bytes bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

std::string EncodeKvOperation(const KvOperation& operation) {
  ByteWriter writer;
  writer.PutU8(kEncodingVersion);
  writer.PutU8(static_cast<uint8_t>(operation.op));
  writer.PutString(operation.key);
  writer.PutSignedVarint(operation.value);
  writer.PutSignedVarint(operation.expected);
  return ToString(writer.Take());
}

Result<KvOperation> DecodeKvOperation(std::string_view bytes) {
  ByteReader reader(AsBytes(bytes));
  KvOperation operation;
  uint8_t version = 0;
  uint8_t op = 0;
  if (!reader.GetU8(&version) || version != kEncodingVersion || !reader.GetU8(&op) ||
      !reader.GetString(kMaxKeyBytesOnWire, &operation.key) || !reader.GetSignedVarint(&operation.value) ||
      !reader.GetSignedVarint(&operation.expected) || !reader.at_end()) {
    return InvalidArgumentError("kv operation: malformed");
  }
  if (op < static_cast<uint8_t>(KvOp::kGet) || op > static_cast<uint8_t>(KvOp::kDelete)) {
    return InvalidArgumentError("kv operation: unknown op");
  }
  operation.op = static_cast<KvOp>(op);
  return operation;
}

std::string EncodeKvResult(const KvResult& result) {
  ByteWriter writer;
  writer.PutU8(kEncodingVersion);
  writer.PutU8(static_cast<uint8_t>(result.outcome));
  writer.PutBool(result.value.has_value());
  writer.PutSignedVarint(result.value.value_or(0));
  return ToString(writer.Take());
}

Result<KvResult> DecodeKvResult(std::string_view bytes) {
  ByteReader reader(AsBytes(bytes));
  KvResult result;
  uint8_t version = 0;
  uint8_t outcome = 0;
  bool present = false;
  int64_t value = 0;
  if (!reader.GetU8(&version) || version != kEncodingVersion || !reader.GetU8(&outcome) ||
      !reader.GetBool(&present) || !reader.GetSignedVarint(&value) || !reader.at_end()) {
    return InvalidArgumentError("kv result: malformed");
  }
  if (outcome < static_cast<uint8_t>(KvOutcome::kOk) ||
      outcome > static_cast<uint8_t>(KvOutcome::kRejected)) {
    return InvalidArgumentError("kv result: unknown outcome");
  }
  result.outcome = static_cast<KvOutcome>(outcome);
  if (present) result.value = value;
  return result;
}

std::string KvStateMachine::Apply(LogIndex index, std::string_view command) {
  const Result<ClientCommand> decoded = DecodeCommand(command);
  if (!decoded.ok()) return EncodeKvResult({KvOutcome::kMalformed, std::nullopt});
  const Result<KvOperation> operation = DecodeKvOperation(decoded->payload);
  if (!operation.ok()) return EncodeKvResult({KvOutcome::kMalformed, std::nullopt});

  auto session = sessions_.find(decoded->client_id);
  if (session != sessions_.end()) {
    if (decoded->sequence == session->second.sequence) return session->second.result;
    if (decoded->sequence < session->second.sequence)
      return EncodeKvResult({KvOutcome::kStale, std::nullopt});
  } else if (sessions_.size() >= limits_.max_sessions) {
    ForgetOldestSession();
  }
  const KvResult result = Execute(*operation);
  ++applied_commands_;
  Session& stored = sessions_[decoded->client_id];
  stored.sequence = decoded->sequence;
  stored.result = EncodeKvResult(result);
  stored.last_index = index.value();
  return stored.result;
}

void KvStateMachine::ForgetOldestSession() {
  auto oldest = sessions_.begin();
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.last_index < oldest->second.last_index) oldest = it;
  }
  if (oldest != sessions_.end()) sessions_.erase(oldest);
}

KvResult KvStateMachine::Read(const KvOperation& operation) const {
  const auto found = data_.find(operation.key);
  if (found == data_.end()) return {KvOutcome::kOk, std::nullopt};
  return {KvOutcome::kOk, found->second};
}

KvResult KvStateMachine::Execute(const KvOperation& operation) {
  if (operation.key.size() > limits_.max_key_bytes) return {KvOutcome::kRejected, std::nullopt};
  switch (operation.op) {
    case KvOp::kGet:
      return Read(operation);
    case KvOp::kPut: {
      auto found = data_.find(operation.key);
      if (found == data_.end()) {
        if (data_.size() >= limits_.max_keys) return {KvOutcome::kRejected, std::nullopt};
        data_.emplace(operation.key, operation.value);
      } else {
        found->second = operation.value;
      }
      return {KvOutcome::kOk, std::nullopt};
    }
    case KvOp::kCompareAndSet: {
      auto found = data_.find(operation.key);
      if (found == data_.end() || found->second != operation.expected)
        return {KvOutcome::kCasFailed, std::nullopt};
      found->second = operation.value;
      return {KvOutcome::kOk, std::nullopt};
    }
    case KvOp::kDelete:
      data_.erase(operation.key);
      return {KvOutcome::kOk, std::nullopt};
  }
  return {KvOutcome::kMalformed, std::nullopt};
}

std::string KvStateMachine::Query(std::string_view request) const {
  const Result<KvOperation> operation = DecodeKvOperation(request);
  if (!operation.ok() || operation->op != KvOp::kGet)
    return EncodeKvResult({KvOutcome::kMalformed, std::nullopt});
  return EncodeKvResult(Read(*operation));
}

std::string KvStateMachine::Snapshot() const {
  ByteWriter writer;
  writer.PutU8(kSnapshotVersion);
  writer.PutVarint(data_.size());
  for (const auto& [key, value] : data_) {
    writer.PutString(key);
    writer.PutSignedVarint(value);
  }
  writer.PutVarint(sessions_.size());
  for (const auto& [client, session] : sessions_) {
    writer.PutVarint(client);
    writer.PutVarint(session.sequence);
    writer.PutString(session.result);
    writer.PutVarint(session.last_index);
  }
  writer.PutVarint(applied_commands_);
  return ToString(writer.Take());
}

Status KvStateMachine::Restore(std::string_view data) {
  ByteReader reader(AsBytes(data));
  uint8_t version = 0;
  uint64_t keys = 0;
  data_.clear();
  sessions_.clear();
  if (!reader.GetU8(&version) || version != kSnapshotVersion || !reader.GetVarint(&keys) ||
      keys > limits_.max_keys) {
    return DataLossError("kv snapshot: bad header");
  }
  for (uint64_t i = 0; i < keys; ++i) {
    std::string key;
    int64_t value = 0;
    if (!reader.GetString(kMaxKeyBytesOnWire, &key) || !reader.GetSignedVarint(&value)) {
      return DataLossError("kv snapshot: bad key");
    }
    data_[std::move(key)] = value;
  }
  uint64_t sessions = 0;
  if (!reader.GetVarint(&sessions) || sessions > limits_.max_sessions)
    return DataLossError("kv snapshot: bad sessions");
  for (uint64_t i = 0; i < sessions; ++i) {
    uint64_t client = 0;
    Session session;
    if (!reader.GetVarint(&client) || !reader.GetVarint(&session.sequence) ||
        !reader.GetString(kMaxKeyBytesOnWire, &session.result) || !reader.GetVarint(&session.last_index)) {
      return DataLossError("kv snapshot: bad session");
    }
    sessions_[client] = std::move(session);
  }
  if (!reader.GetVarint(&applied_commands_) || !reader.at_end())
    return DataLossError("kv snapshot: bad trailer");
  return Status::Ok();
}

}  // namespace murphy::node
