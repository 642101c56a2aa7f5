#include "murphy/store/fenced_store.h"

#include <limits>
#include <string>

#include "murphy/core/assert.h"
#include "murphy/core/crc32c.h"

namespace murphy::store {
namespace {

constexpr uint8_t kWriteCommand = 1;
// Encoding version 2 adds the expected value. A write without one is encoded as
// version 1, byte for byte as before, so that logs, snapshots (fingerprints) and peers
// of the first version read it unchanged.
constexpr uint8_t kFirstStoreEncodingVersion = 1;
constexpr uint8_t kResultEncodingVersion = 1;
constexpr uint8_t kSnapshotVersion = 1;
constexpr size_t kMaxEncodedMessageBytes = 4096;

void PutBody(ByteWriter* writer, const FencedWrite& write, bool with_key) {
  writer->PutString(write.resource);
  writer->PutString(write.lock);
  writer->PutVarint(write.token.value());
  writer->PutString(write.value);
  writer->PutBool(write.expected_version.has_value());
  if (write.expected_version) writer->PutVarint(*write.expected_version);
  if (with_key) writer->PutString(write.idempotency_key);
  if (write.expected_value.has_value()) writer->PutString(*write.expected_value);
}

uint8_t EncodingVersionOf(const FencedWrite& write) {
  return write.expected_value.has_value() ? kStoreEncodingVersion : kFirstStoreEncodingVersion;
}

// Identifies "the same write" for an idempotency key: a checksum and the length of the
// write's encoding without the key.
uint64_t Fingerprint(const FencedWrite& write) {
  ByteWriter writer;
  PutBody(&writer, write, /*with_key=*/false);
  return (static_cast<uint64_t>(Crc32c(writer.bytes())) << 32) | (writer.size() & 0xffffffffu);
}

void PutResult(ByteWriter* writer, const WriteResult& result) {
  writer->PutU8(static_cast<uint8_t>(result.status.code()));
  writer->PutString(result.status.message().substr(0, kMaxEncodedMessageBytes));
  writer->PutVarint(result.max_token.value());
  writer->PutVarint(result.version);
}

bool GetResult(ByteReader* reader, WriteResult* result) {
  uint8_t code = 0;
  std::string message;
  uint64_t max_token = 0;
  if (!reader->GetU8(&code) || !reader->GetString(kMaxEncodedMessageBytes, &message) ||
      !reader->GetVarint(&max_token) || !reader->GetVarint(&result->version)) {
    return false;
  }
  if (code >= kStatusCodeCount) return false;
  if (code == static_cast<uint8_t>(StatusCode::kOk) && !message.empty()) return false;
  result->max_token = FencingToken(max_token);
  result->status = code == static_cast<uint8_t>(StatusCode::kOk) ? Status::Ok()
                                                                  : Status(static_cast<StatusCode>(code), message);
  return true;
}

}  // namespace

FencedStore::FencedStore(const FencedStoreOptions& options) : options_(options) {
  MURPHY_ASSERT(options.max_name_bytes >= 1);
  MURPHY_ASSERT(options.max_name_bytes <= kMaxEncodedNameBytes);
  MURPHY_ASSERT(options.max_key_bytes <= kMaxEncodedNameBytes);
  MURPHY_ASSERT(options.max_value_bytes <= kMaxEncodedValueBytes);
}

WriteResult FencedStore::CheckAndWrite(const FencedWrite& write) {
  WriteResult result;
  if (write.resource.empty() || write.resource.size() > options_.max_name_bytes) {
    result.status = InvalidArgumentError("resource name empty or too long");
    return result;
  }
  if (write.lock.empty() || write.lock.size() > options_.max_name_bytes) {
    result.status = InvalidArgumentError("lock name empty or too long");
    return result;
  }
  if (write.idempotency_key.size() > options_.max_key_bytes) {
    result.status = InvalidArgumentError("idempotency key too long");
    return result;
  }
  if (write.value.size() > options_.max_value_bytes ||
      (write.expected_value.has_value() && write.expected_value->size() > options_.max_value_bytes)) {
    result.status = InvalidArgumentError("value too large");
    return result;
  }
  if (write.token == FencingToken(0)) {
    result.status = InvalidArgumentError("fencing token 0 is never granted");
    return result;
  }
  uint64_t fingerprint = 0;
  if (!write.idempotency_key.empty()) {
    fingerprint = Fingerprint(write);
    auto stored = keys_.find(write.idempotency_key);
    if (stored != keys_.end()) {
      if (stored->second.fingerprint != fingerprint) {
        result.status = InvalidArgumentError("idempotency key reused with a different write");
        return result;
      }
      return stored->second.result;  // a retry: answered from memory, applied once
    }
  }
  result = Evaluate(write);
  if (!write.idempotency_key.empty() && result.status.code() != StatusCode::kResourceExhausted) {
    Remember(write.idempotency_key, fingerprint, result);
  }
  return result;
}

WriteResult FencedStore::Evaluate(const FencedWrite& write) {
  WriteResult result;
  auto found = resources_.find(write.resource);
  if (found != resources_.end()) {
    Resource& resource = found->second;
    if (resource.lock != write.lock) {
      result.status = InvalidArgumentError("token of another lock: resource " + write.resource + " is fenced by lock " +
                                           resource.lock);
      return result;
    }
    // The rule: accept token >= max_token, reject token < max_token.
    if (write.token < resource.max_token && !options_.skip_token_check_for_test) {
      result.status = AbortedError("stale fencing token " + std::to_string(write.token.value()) + " < " +
                                   std::to_string(resource.max_token.value()));
      result.max_token = resource.max_token;
      result.version = resource.version;
      return result;
    }
    if (write.expected_value && *write.expected_value != resource.value) {
      result.status = AbortedError("value mismatch: the resource holds another value than expected");
      result.max_token = resource.max_token;
      result.version = resource.version;
      return result;
    }
    if (write.expected_version && *write.expected_version != resource.version) {
      result.status = AbortedError("version mismatch: expected " + std::to_string(*write.expected_version) +
                                   ", have " + std::to_string(resource.version));
      result.max_token = resource.max_token;
      result.version = resource.version;
      return result;
    }
    MURPHY_ASSERT(resource.version < std::numeric_limits<uint64_t>::max());
    ++resource.version;
    resource.max_token = write.token;
    resource.value = write.value;
    result.max_token = resource.max_token;
    result.version = resource.version;
    return result;
  }
  if (write.expected_version && *write.expected_version != 0) {
    result.status = AbortedError("version mismatch: the resource does not exist");
    return result;
  }
  if (write.expected_value) {
    result.status = AbortedError("value mismatch: the resource does not exist");
    return result;
  }
  if (resources_.size() >= options_.max_resources) {
    result.status = ResourceExhaustedError("too many resources");
    return result;
  }
  resources_.emplace(write.resource, Resource{write.lock, write.token, 1, write.value});
  result.max_token = write.token;
  result.version = 1;
  return result;
}

void FencedStore::Remember(const std::string& key, uint64_t fingerprint, const WriteResult& result) {
  if (options_.max_idempotency_keys == 0) return;
  while (keys_.size() >= options_.max_idempotency_keys) {
    auto oldest = key_order_.begin();
    MURPHY_ASSERT(oldest != key_order_.end());
    keys_.erase(oldest->second);
    key_order_.erase(oldest);
  }
  const uint64_t order = next_order_++;
  keys_.emplace(key, StoredResult{fingerprint, order, result});
  key_order_.emplace(order, key);
}

WriteResult FencedStore::ApplyEncoded(std::span<const uint8_t> bytes) {
  Result<FencedWrite> write = DecodeWrite(bytes);
  if (!write.ok()) {
    WriteResult result;
    result.status = write.status();
    return result;
  }
  return CheckAndWrite(*write);
}

std::optional<ResourceView> FencedStore::Read(std::string_view resource) const {
  auto found = resources_.find(resource);
  if (found == resources_.end()) return std::nullopt;
  return ResourceView{found->second.lock, found->second.max_token, found->second.version, found->second.value};
}

// ---- Codec ------------------------------------------------------------------------

Bytes EncodeWrite(const FencedWrite& write) {
  ByteWriter writer;
  writer.PutU8(EncodingVersionOf(write));
  writer.PutU8(kWriteCommand);
  PutBody(&writer, write, /*with_key=*/true);
  return writer.Take();
}

Result<FencedWrite> DecodeWrite(std::span<const uint8_t> bytes) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  uint8_t type = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("store write: empty");
  if (version < kFirstStoreEncodingVersion || version > kStoreEncodingVersion) {
    return UnimplementedError("store write: unknown encoding version");
  }
  if (!reader.GetU8(&type) || type != kWriteCommand) return InvalidArgumentError("store write: unknown type");
  FencedWrite write;
  uint64_t token = 0;
  bool has_expected = false;
  if (!reader.GetString(kMaxEncodedNameBytes, &write.resource) || !reader.GetString(kMaxEncodedNameBytes, &write.lock) ||
      !reader.GetVarint(&token) || !reader.GetString(kMaxEncodedValueBytes, &write.value) ||
      !reader.GetBool(&has_expected)) {
    return InvalidArgumentError("store write: malformed");
  }
  write.token = FencingToken(token);
  if (has_expected) {
    uint64_t expected = 0;
    if (!reader.GetVarint(&expected)) return InvalidArgumentError("store write: malformed expected version");
    write.expected_version = expected;
  }
  if (!reader.GetString(kMaxEncodedNameBytes, &write.idempotency_key)) {
    return InvalidArgumentError("store write: malformed idempotency key");
  }
  if (version >= 2) {
    std::string expected;
    if (!reader.GetString(kMaxEncodedValueBytes, &expected)) {
      return InvalidArgumentError("store write: malformed expected value");
    }
    write.expected_value = std::move(expected);
  }
  if (!reader.at_end()) return InvalidArgumentError("store write: trailing bytes");
  return write;
}

Bytes EncodeWriteResult(const WriteResult& result) {
  ByteWriter writer;
  writer.PutU8(kResultEncodingVersion);
  PutResult(&writer, result);
  return writer.Take();
}

Result<WriteResult> DecodeWriteResult(std::span<const uint8_t> bytes) {
  ByteReader reader(bytes);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("store result: empty");
  if (version != kResultEncodingVersion) return UnimplementedError("store result: unknown encoding version");
  WriteResult result;
  if (!GetResult(&reader, &result)) return InvalidArgumentError("store result: malformed");
  if (!reader.at_end()) return InvalidArgumentError("store result: trailing bytes");
  return result;
}

// ---- Snapshot ---------------------------------------------------------------------
//
// Layout (v1): version u8; next_order varint; resources sorted by name (name, lock,
// max_token, version, value); idempotency keys oldest first (key, fingerprint u64,
// order, result); CRC32C of all preceding bytes as u32.

Bytes FencedStore::Serialize() const {
  ByteWriter writer;
  writer.PutU8(kSnapshotVersion);
  writer.PutVarint(next_order_);
  writer.PutVarint(resources_.size());
  for (const auto& [name, resource] : resources_) {
    writer.PutString(name);
    writer.PutString(resource.lock);
    writer.PutVarint(resource.max_token.value());
    writer.PutVarint(resource.version);
    writer.PutString(resource.value);
  }
  writer.PutVarint(key_order_.size());
  for (const auto& [order, key] : key_order_) {
    const StoredResult& stored = keys_.at(key);
    writer.PutString(key);
    writer.PutU64(stored.fingerprint);
    writer.PutVarint(order);
    PutResult(&writer, stored.result);
  }
  writer.PutU32(Crc32c(writer.bytes()));
  return writer.Take();
}

Status FencedStore::Restore(std::span<const uint8_t> bytes) {
  if (bytes.size() < 5) return InvalidArgumentError("store snapshot: truncated");
  const std::span<const uint8_t> body = bytes.first(bytes.size() - 4);
  ByteReader trailer(bytes.last(4));
  uint32_t stored_crc = 0;
  const bool have_crc = trailer.GetU32(&stored_crc);
  MURPHY_ASSERT(have_crc);
  if (Crc32c(body) != stored_crc) return DataLossError("store snapshot: checksum mismatch");
  ByteReader reader(body);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("store snapshot: empty");
  if (version != kSnapshotVersion) return UnimplementedError("store snapshot: unknown version");
  const auto malformed = [](std::string_view what) {
    return InvalidArgumentError(std::string("store snapshot: ") + std::string(what));
  };

  FencedStore state(options_);
  uint64_t resource_count = 0;
  if (!reader.GetVarint(&state.next_order_) || !reader.GetVarint(&resource_count)) return malformed("header");
  if (resource_count > options_.max_resources) return malformed("too many resources");
  if (resource_count > reader.remaining() / 7) return malformed("truncated resources");
  for (uint64_t i = 0; i < resource_count; ++i) {
    std::string name;
    Resource resource;
    uint64_t max_token = 0;
    if (!reader.GetString(options_.max_name_bytes, &name) || !reader.GetString(options_.max_name_bytes, &resource.lock) ||
        !reader.GetVarint(&max_token) || !reader.GetVarint(&resource.version) ||
        !reader.GetString(options_.max_value_bytes, &resource.value)) {
      return malformed("resource");
    }
    if (name.empty() || resource.lock.empty()) return malformed("empty name");
    if (max_token == 0 || resource.version == 0) return malformed("resource never written");
    if (!state.resources_.empty() && state.resources_.rbegin()->first >= name) return malformed("resources out of order");
    resource.max_token = FencingToken(max_token);
    state.resources_.emplace(std::move(name), std::move(resource));
  }
  uint64_t key_count = 0;
  if (!reader.GetVarint(&key_count)) return malformed("key count");
  if (key_count > options_.max_idempotency_keys) return malformed("too many idempotency keys");
  if (key_count > reader.remaining() / 14) return malformed("truncated idempotency keys");
  uint64_t previous_order = 0;
  for (uint64_t i = 0; i < key_count; ++i) {
    std::string key;
    StoredResult stored;
    if (!reader.GetString(options_.max_key_bytes, &key) || !reader.GetU64(&stored.fingerprint) ||
        !reader.GetVarint(&stored.order) || !GetResult(&reader, &stored.result)) {
      return malformed("idempotency key");
    }
    if (key.empty()) return malformed("empty idempotency key");
    if (stored.order <= previous_order || stored.order >= state.next_order_) return malformed("key order");
    previous_order = stored.order;
    if (!state.key_order_.emplace(stored.order, key).second) return malformed("duplicate key order");
    if (!state.keys_.emplace(std::move(key), std::move(stored)).second) return malformed("duplicate key");
  }
  if (!reader.at_end()) return malformed("trailing bytes");
  *this = std::move(state);
  return Status::Ok();
}

}  // namespace murphy::store
