// murphy/resilience/idempotency_store.h — server-side memory of applied requests.
//
// Contract: `IdempotencyStore<Value>` remembers, per IdempotencyKey, the result of a
// request the server executed, so that a retry of the same logical request (sent
// because the client saw a timeout: outcome unknown) is answered from memory and
// applied once — the cure for the chapter's "retry an operation that already
// succeeded" (scenario `request-fate`; ARCHITECTURE.md, "Idempotency").
//
// Protocol, for each incoming request with a key:
//   Begin(key, fingerprint, now) →
//     OK, execute == true   first sight: execute the request, then Complete(key,
//                           result, now) — or Abandon(key) if it had no effect and
//                           may be executed again (e.g. validation failed).
//     OK, execute == false  a duplicate of a completed request: reply with `stored`
//                           (the result is not recomputed; nothing is re-executed).
//     INVALID_ARGUMENT      the key was used before with *other* parameters (another
//                           fingerprint): a client bug; refused, never retried.
//     UNAVAILABLE           a duplicate arrived while the first is still in flight:
//                           "in progress". UNAVAILABLE (not ABORTED) because the
//                           right reaction is to retry the same call after a backoff
//                           — by then the stored result will be there.
//     RESOURCE_EXHAUSTED    the store is full and every entry is in flight.
// Limits: at most `max_entries` entries. A completed entry expires `ttl` after its
// completion (now passed in; expiry is swept lazily in Begin). When full, the entry
// completed longest ago is evicted (oldest-first: completion order is also expiry
// order, so pressure merely shortens the TTL). In-flight entries are never evicted
// or expired — forgetting one would let a duplicate execute concurrently; only
// Complete or Abandon ends them.
// Value: any copyable type (a reply message, a Result<T>, bytes); a stored Value is
// copied out on every duplicate.
// Thread safety: not thread-safe; it belongs to one state machine / event loop.
// Ownership: owns the stored values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/resilience/idempotency_key.h"

namespace murphy {

struct IdempotencyStoreOptions {
  // REQUIRES: 1 <= max_entries <= kMaxEntries.
  size_t max_entries = 100'000;
  // How long a completed result is kept. REQUIRES: > 0.
  Duration ttl = Hours(24);

  static constexpr size_t kMaxEntries = 100'000'000;
};

struct IdempotencyStoreMetrics {
  int64_t executions = 0;   // Begin answered "execute"
  int64_t replays = 0;      // Begin answered with a stored result
  int64_t in_progress = 0;  // duplicates refused while in flight
  int64_t mismatches = 0;   // key reused with other parameters
  int64_t full = 0;         // refused: full of in-flight entries
  int64_t expirations = 0;
  int64_t evictions = 0;
};

template <typename Value>
class IdempotencyStore {
 public:
  struct Admission {
    bool execute = false;         // true: execute, then Complete() or Abandon()
    std::optional<Value> stored;  // set iff !execute
  };

  explicit IdempotencyStore(const IdempotencyStoreOptions& options) : options_(options) {
    MURPHY_ASSERT(options.max_entries >= 1);
    MURPHY_ASSERT(options.max_entries <= IdempotencyStoreOptions::kMaxEntries);
    MURPHY_ASSERT(options.ttl > Duration::Zero());
    // Reserve for the common case up front; a huge limit must not cost memory unused.
    entries_.reserve(options.max_entries < kReserveLimit ? options.max_entries : kReserveLimit);
  }
  IdempotencyStore(const IdempotencyStore&) = delete;
  IdempotencyStore& operator=(const IdempotencyStore&) = delete;

  // See the contract for the outcomes.
  Result<Admission> Begin(const IdempotencyKey& key, RequestFingerprint fingerprint, Instant now) {
    Expire(now);
    auto found = entries_.find(key);
    if (found != entries_.end()) {
      Entry& entry = found->second;
      if (entry.fingerprint != fingerprint) {
        ++metrics_.mismatches;
        return InvalidArgumentError("idempotency key reused with different request parameters");
      }
      if (entry.in_flight) {
        ++metrics_.in_progress;
        return UnavailableError("a request with this idempotency key is in progress");
      }
      ++metrics_.replays;
      return Admission{false, entry.value};
    }
    if (entries_.size() >= options_.max_entries) {
      if (completed_order_.empty()) {
        ++metrics_.full;
        return ResourceExhaustedError("idempotency store is full of requests in progress");
      }
      Erase(completed_order_.front().key);
      ++metrics_.evictions;
    }
    Entry entry;
    entry.fingerprint = fingerprint;
    entry.in_flight = true;
    entries_.emplace(key, std::move(entry));
    ++in_flight_;
    ++metrics_.executions;
    return Admission{true, std::nullopt};
  }

  // Stores the result of the executed request; duplicates get `value` from now until
  // now + ttl. REQUIRES: Begin(key) answered "execute" and neither Complete nor
  // Abandon was called since.
  void Complete(const IdempotencyKey& key, Value value, Instant now) {
    Entry& entry = InFlightEntry(key);
    entry.in_flight = false;
    entry.value = std::move(value);
    entry.order = completed_order_.insert(completed_order_.end(), Completion{key, now});
    --in_flight_;
  }

  // Forgets an in-flight request that had no effect, so that it may run again.
  // REQUIRES: as for Complete.
  void Abandon(const IdempotencyKey& key) {
    InFlightEntry(key);
    entries_.erase(key);
    --in_flight_;
  }

  size_t size() const { return entries_.size(); }
  size_t in_flight() const { return in_flight_; }
  const IdempotencyStoreMetrics& metrics() const { return metrics_; }

 private:
  static constexpr size_t kReserveLimit = 1 << 16;

  struct Completion {
    IdempotencyKey key;
    Instant completed_at;
  };
  struct Entry {
    RequestFingerprint fingerprint = 0;
    bool in_flight = true;
    std::optional<Value> value;
    typename std::list<Completion>::iterator order;  // valid iff !in_flight
  };

  Entry& InFlightEntry(const IdempotencyKey& key) {
    auto found = entries_.find(key);
    MURPHY_ASSERT_MSG(found != entries_.end(), "no request in flight with this idempotency key");
    MURPHY_ASSERT_MSG(found->second.in_flight, "request with this idempotency key already completed");
    return found->second;
  }

  // Completed entries are in completion order, which is expiry order: sweep the front.
  void Expire(Instant now) {
    while (!completed_order_.empty() && now - completed_order_.front().completed_at >= options_.ttl) {
      Erase(completed_order_.front().key);
      ++metrics_.expirations;
    }
  }

  // REQUIRES: key names a completed entry.
  void Erase(IdempotencyKey key) {
    const auto found = entries_.find(key);
    MURPHY_ASSERT(found != entries_.end());
    MURPHY_ASSERT(!found->second.in_flight);
    completed_order_.erase(found->second.order);
    entries_.erase(found);
  }

  IdempotencyStoreOptions options_;
  std::unordered_map<IdempotencyKey, Entry> entries_;
  std::list<Completion> completed_order_;  // front: completed longest ago
  size_t in_flight_ = 0;
  IdempotencyStoreMetrics metrics_;
};

}  // namespace murphy
