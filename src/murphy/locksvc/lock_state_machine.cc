#include "murphy/locksvc/lock_state_machine.h"

#include <optional>
#include <span>
#include <utility>

#include "murphy/core/codec.h"
#include "murphy/protocol/client_message.h"
#include "murphy/service/lock_service.h"

namespace murphy::locksvc {
namespace {

std::string Tagged(uint8_t tag, const Bytes& body) {
  std::string out;
  out.reserve(body.size() + 1);
  out.push_back(static_cast<char>(tag));
  out.append(body.begin(), body.end());
  return out;
}

std::span<const uint8_t> AsSpan(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string ToString(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

constexpr size_t kMaxSnapshotPartBytes = size_t{1} << 30;

}  // namespace

std::string TagLockCommand(const lock::Command& command) {
  return Tagged(kLockTag, lock::EncodeCommand(command));
}
std::string TagStoreWrite(NodeId client, const store::FencedWrite& write) {
  ByteWriter writer;
  writer.PutVarint(client.value());
  Bytes body = writer.Take();
  const Bytes encoded = store::EncodeWrite(write);
  body.insert(body.end(), encoded.begin(), encoded.end());
  return Tagged(kStoreTag, body);
}

LockStateMachine::LockStateMachine(LockStateMachineOptions options)
    : options_(std::move(options)), machine_(options_.machine), store_(options_.store) {}

std::string LockStateMachine::Apply(LogIndex index, std::string_view command) {
  last_events_.clear();
  AppliedRecord record;
  std::string result;
  if (!command.empty() && static_cast<uint8_t>(command[0]) == kLockTag) {
    const std::span<const uint8_t> body = AsSpan(command.substr(1));
    Result<lock::Command> decoded = lock::DecodeCommand(body);
    lock::ApplyOutput output = machine_.ApplyEncoded(body);
    result = ToString(lock::EncodeResult(output.result));
    last_events_ = output.events;
    if (decoded.ok() && options_.on_applied) {
      record.kind = AppliedRecord::Kind::kLock;
      record.command = std::move(*decoded);
      record.output = std::move(output);
    }
  } else if (!command.empty() && static_cast<uint8_t>(command[0]) == kStoreTag) {
    ByteReader reader(AsSpan(command.substr(1)));
    uint64_t client = 0;
    const bool framed = reader.GetVarint(&client) && client <= UINT32_MAX;
    const std::span<const uint8_t> body = framed ? reader.rest() : std::span<const uint8_t>();
    Result<store::FencedWrite> decoded = store::DecodeWrite(body);
    std::optional<uint64_t> version_before;
    if (decoded.ok() && options_.on_applied) {
      if (std::optional<store::ResourceView> view = store_.Read(decoded->resource))
        version_before = view->version;
    }
    // An unframed entry reaches the store as empty bytes: refused, identically everywhere.
    const store::WriteResult written = store_.ApplyEncoded(body);
    result = ToString(store::EncodeWriteResult(written));
    if (decoded.ok() && options_.on_applied) {
      record.kind = AppliedRecord::Kind::kStore;
      record.write = std::move(*decoded);
      record.writer = NodeId(static_cast<uint32_t>(client));
      const std::optional<store::ResourceView> after = store_.Read(record.write.resource);
      record.store_changed =
          after.has_value() && (!version_before.has_value() || after->version != *version_before);
      record.write_result = written;
    }
  }
  if (options_.on_applied) options_.on_applied(index, record);
  return result;
}

std::string LockStateMachine::Query(std::string_view request) const {
  protocol::Request decoded;
  Result<protocol::Request> parsed = protocol::DecodeRequest(AsSpan(request));
  if (!parsed.ok()) return {};
  decoded = std::move(*parsed);
  switch (service::RouteOf(decoded.body)) {
    case service::Route::kLockRead:
      return ToString(protocol::EncodeResponse(service::LockReadResponse(decoded, machine_)));
    case service::Route::kStoreRead:
      return ToString(protocol::EncodeResponse(service::StoreReadResponse(decoded, store_)));
    default:
      return {};
  }
}

std::string LockStateMachine::Snapshot() const {
  ByteWriter writer;
  const Bytes machine = machine_.Serialize();
  const Bytes store = store_.Serialize();
  writer.PutLengthPrefixed(machine);
  writer.PutLengthPrefixed(store);
  return ToString(writer.Take());
}

Status LockStateMachine::Restore(std::string_view data) {
  ByteReader reader(AsSpan(data));
  std::span<const uint8_t> machine_bytes;
  std::span<const uint8_t> store_bytes;
  if (!reader.GetLengthPrefixed(kMaxSnapshotPartBytes, &machine_bytes) ||
      !reader.GetLengthPrefixed(kMaxSnapshotPartBytes, &store_bytes) || !reader.at_end()) {
    return DataLossError("lock service snapshot: bad framing");
  }
  // Validate both before replacing either: restore into copies first.
  lock::LockMachine machine(options_.machine);
  store::FencedStore store(options_.store);
  if (Status status = machine.Restore(machine_bytes); !status.ok()) {
    return DataLossError("lock service snapshot (locks): " + status.ToString());
  }
  if (Status status = store.Restore(store_bytes); !status.ok()) {
    return DataLossError("lock service snapshot (store): " + status.ToString());
  }
  machine_ = std::move(machine);
  store_ = std::move(store);
  last_events_.clear();
  return Status::Ok();
}

}  // namespace murphy::locksvc
