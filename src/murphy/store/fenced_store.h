// murphy/store/fenced_store.h — the fenced store: the chapter's "storage server" that
// remembers the highest fencing token it has seen per resource and rejects older ones.
//
// Use it as a library. etcd, ZooKeeper and Consul hand out fencing values (revisions,
// zxids, lock indexes) but leave the check at the storage side to the user; this class
// is that check, for any storage service to embed. Keep one FencedStore next to your
// data (or wrap your own store in the same rule), and route every write of a client that
// acts under a murphy lock through `CheckAndWrite`:
//
//   murphy::store::FencedStore fenced;
//   murphy::store::WriteResult result = fenced.CheckAndWrite({
//       .resource = "orders/17", .lock = "orders", .token = token_from_the_lock_service,
//       .value = payload, .idempotency_key = request_id});
//   if (result.status.code() == murphy::StatusCode::kAborted) {
//     // A newer holder has written (result.max_token > token): stop acting as holder.
//   }
//
// Rules (ARCHITECTURE.md, "Fencing tokens"):
// - A resource is bound to a lock name by its first accepted write and never changes
//   lock. A write names the lock its token came from; a write naming another lock is
//   rejected with InvalidArgument (a token of lock `a` is meaningless for `b`; it is a
//   client bug, retrying cannot help).
// - A write is accepted iff `token >= max_token`; equal means the same grant writing
//   again, so a holder can write repeatedly. `token < max_token` is rejected with
//   Aborted and `max_token` set to the current maximum ("retry at a higher level":
//   re-acquire the lock). We depart from the chapter's "reject tokens <= the highest
//   seen", which would reject the holder's own second write; its own diagram accepts 34
//   repeatedly. Token 0 is never granted and is rejected (InvalidArgument).
// - Compare-and-set: with `expected_version` set, the write is accepted only if the
//   resource's version equals it (0: the resource must not exist yet); otherwise
//   Aborted (re-read, then retry). With `expected_value` set, it is accepted only if
//   the resource exists and holds exactly that value; otherwise Aborted. Both may be
//   set (both must match). The token check comes first. Every accepted write
//   increments the version and sets max_token to its token.
// - Only accepted writes change the resource; a rejected write has no effect.
// - Idempotency: a write with a non-empty `idempotency_key` has its result remembered
//   (accepted or rejected by the rules above). The same key with the same write is
//   answered from memory and not applied again; with a different write it is refused
//   (InvalidArgument). Refusals before the resource is looked at — malformed requests
//   and a full store — are not remembered, so they can be retried with the same key.
//   At most `max_idempotency_keys` are kept; the oldest is forgotten first.
// - Limits: names, keys and values are bounded (InvalidArgument); the number of
//   resources is bounded (ResourceExhausted).
//
// Use it as a replicated state machine: encode each write (`EncodeWrite`), replicate
// the bytes, and `ApplyEncoded` them in log order on every replica; results encode with
// `EncodeWriteResult`. `Serialize()`/`Restore()` snapshot the whole state: same state →
// same bytes (ordered iteration, CRC32C trailer); Restore never crashes on corrupt input
// and leaves the state untouched on error. Everything is deterministic: no clock, no
// randomness, no I/O.
// Thread safety: none; callers serialize access (one event loop, or a mutex of yours).
// Ownership: the store owns copies of everything it keeps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy::store {

// The newest write encoding: 2 adds the expected value. EncodeWrite writes version 1
// (the bytes of before) for a write without an expected value; DecodeWrite reads both.
inline constexpr uint8_t kStoreEncodingVersion = 2;
// Hard decoder limits; the store's own (configurable, smaller) limits apply after.
inline constexpr size_t kMaxEncodedNameBytes = 4096;
inline constexpr size_t kMaxEncodedValueBytes = 16 << 20;

struct FencedWrite {
  std::string resource;
  std::string lock;  // the lock the token was granted for
  FencingToken token;
  std::string value;
  std::optional<uint64_t> expected_version;  // compare-and-set; nullopt: unconditional
  std::string idempotency_key;               // empty: none
  // Compare-and-set on the value; nullopt: unconditional.
  std::optional<std::string> expected_value = std::nullopt;
  bool operator==(const FencedWrite&) const = default;
};

// OK: accepted; `version` and `max_token` are the resource's new ones. Aborted with
// max_token > the write's token: stale token. Aborted otherwise: CAS mismatch (on
// version or value), `version` is the current one. InvalidArgument / ResourceExhausted: see above.
struct WriteResult {
  Status status;
  FencingToken max_token;
  uint64_t version = 0;
  bool operator==(const WriteResult&) const = default;
};

struct ResourceView {
  std::string lock;
  FencingToken max_token;
  uint64_t version = 0;
  std::string value;
  bool operator==(const ResourceView&) const = default;
};

struct FencedStoreOptions {
  size_t max_name_bytes = 256;  // resource and lock names
  size_t max_key_bytes = 128;
  size_t max_value_bytes = 1 << 20;
  size_t max_resources = 1'000'000;
  size_t max_idempotency_keys = 1'000'000;
  // TEST ONLY: accept stale tokens. Exists so that tests can prove their token
  // monotonicity checker able to catch a store that forgets the rule.
  bool skip_token_check_for_test = false;
};

class FencedStore {
 public:
  explicit FencedStore(const FencedStoreOptions& options = {});

  // Applies the rules above. Never crashes; the answer is in the result.
  WriteResult CheckAndWrite(const FencedWrite& write);
  // Replicated use: decodes, then CheckAndWrite. Undecodable bytes give
  // InvalidArgument/Unimplemented and change nothing.
  WriteResult ApplyEncoded(std::span<const uint8_t> bytes);

  // nullopt if the resource has never been written.
  std::optional<ResourceView> Read(std::string_view resource) const;
  size_t resource_count() const { return resources_.size(); }
  size_t idempotency_key_count() const { return keys_.size(); }

  Bytes Serialize() const;
  // DataLoss on a checksum mismatch, Unimplemented on an unknown version,
  // InvalidArgument on anything else; the state is replaced only on success.
  Status Restore(std::span<const uint8_t> bytes);

 private:
  struct Resource {
    std::string lock;
    FencingToken max_token;
    uint64_t version = 0;
    std::string value;
  };
  struct StoredResult {
    uint64_t fingerprint = 0;
    uint64_t order = 0;
    WriteResult result;
  };

  WriteResult Evaluate(const FencedWrite& write);
  void Remember(const std::string& key, uint64_t fingerprint, const WriteResult& result);

  FencedStoreOptions options_;
  std::map<std::string, Resource, std::less<>> resources_;
  std::map<std::string, StoredResult, std::less<>> keys_;
  std::map<uint64_t, std::string> key_order_;  // oldest first; derived on Restore
  uint64_t next_order_ = 1;
};

Bytes EncodeWrite(const FencedWrite& write);
Result<FencedWrite> DecodeWrite(std::span<const uint8_t> bytes);
Bytes EncodeWriteResult(const WriteResult& result);
Result<WriteResult> DecodeWriteResult(std::span<const uint8_t> bytes);

}  // namespace murphy::store
