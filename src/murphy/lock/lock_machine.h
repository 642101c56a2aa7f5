// murphy/lock/lock_machine.h — the replicated lock/lease state machine: leases,
// FIFO locks with per-lock fencing tokens, exactly-once client requests.
//
// Contract: `LockMachine` runs on every replica; the node shell feeds it the committed
// log entries in log order (`Apply` / `ApplyEncoded`). It is deterministic: the same
// commands from the same state give the same results, events and `Serialize()` bytes on
// every replica. It reads no clock and draws no random number; time arrives only inside
// commands (lock_command.h), decided by the leader's monotonic clock (lease_timers.h).
//
// The rules (ARCHITECTURE.md, "Semantics that must be exactly right"):
// - Fencing tokens. Each lock has its own counter; every grant increments it (33 → 34)
//   and the holder is told the new value. The counter lives in the replicated state and
//   in snapshots, so it survives leader changes and restarts. An idle lock (no holder, no
//   waiters) keeps its counter; when more than `max_idle_locks` are idle the one idle
//   longest is forgotten and the machine-wide `token_floor` is raised to its counter, and
//   a lock (re)created later starts from that floor — so tokens of a lock still strictly
//   increase, they merely jump.
// - Locks. A free lock is granted at once. Otherwise kTry fails (FailedPrecondition) and
//   kWait / kWaitWithTimeout queue in FIFO order; when the holder releases, or its lease
//   expires or is revoked, the first waiter is granted with a new token (event kGranted;
//   the old holder gets kLost unless it released). A lease that already holds the lock
//   gets its existing grant back (same token, no increment); a lease already waiting gets
//   its place in the queue: Acquire is idempotent per (lock, lease) even without the
//   request id. CancelWait withdraws a wait (event kWaitEnded, reason kReleased) and
//   never gives up a grant: when the lease already holds the lock it answers kGranted
//   with the token instead; with no wait left it answers OK, kNone (idempotent).
// - Leases. GrantLease assigns the next LeaseId. KeepAlive restores the full TTL and
//   increments the lease's `renewals` generation. The machine does not know when a lease
//   ends: the leader does, and commits ExpireLease; an ExpireLease or checkpoint for an
//   older generation is ignored (a KeepAlive committed in between wins). Remaining TTL is
//   known only "as of the last checkpoint or renewal" (`LeaseInfo::remaining`).
// - Idempotency. Every client command carries (client, sequence). Per client the machine
//   keeps the results of the last `results_per_client` sequence numbers it applied. A
//   command whose number is in that window is answered with the stored result and not
//   applied again (no ghost acquires, ZOOKEEPER-1262); a number at or below the highest
//   number pushed out of the window is refused with FailedPrecondition without being
//   applied (the machine cannot tell whether it ran); any other number is applied. So a
//   command is never applied twice while its client's session exists. A session lives as
//   long as its client has a lease; a lease-less session is kept until the session table
//   is full, then the least recently used one is forgotten (`max_sessions` must exceed
//   `max_leases`, so a client with a live lease is never forgotten). A result is stored
//   whatever its status: a retry asks "what happened to request N"; a new attempt after
//   a definitive error uses a new sequence number. A client that timed out does not
//   know the outcome (ARCHITECTURE.md): it retries with the *same* number. Known gap: a
//   forgotten (lease-less) client that retries an old request has it applied as new;
//   without a lease the only command that can then take effect is GrantLease, whose
//   extra lease holds nothing and simply expires.
// - Limits (all errors are values; nothing is applied when one is hit): name length
//   (InvalidArgument), TTL and wait timeout range (InvalidArgument), waiters per lock,
//   leases per client, locks per lease, active locks, leases (ResourceExhausted).
// - Errors: unknown lease NotFound; a lease of another client PermissionDenied; kTry on
//   a held lock FailedPrecondition; Release of a lock the lease neither holds nor waits
//   for FailedPrecondition; ExpireLease/checkpoint of an older generation Aborted.
// - Snapshot. `Serialize()` writes the whole state with ordered iteration (same state →
//   same bytes) and a CRC32C; `Restore` rebuilds every index from the primary data,
//   validates every cross-reference and limit, and replaces the state only on success.
//   It never crashes on corrupt input. Options are configuration, not state: every
//   replica must run with the same options.
// Thread safety: none; the machine belongs to one node's event loop. Ownership: owns its
// state; returned views are copies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/lock/lock_command.h"

namespace murphy::lock {

struct LockMachineOptions {
  size_t max_name_bytes = 256;
  size_t max_waiters_per_lock = 1024;
  size_t max_leases_per_client = 16;
  size_t max_locks_per_lease = 64;  // held + waited for
  size_t max_locks = 100'000;       // held or waited for
  size_t max_idle_locks = 100'000;  // free locks remembered with their counter
  size_t max_leases = 1'000'000;
  // REQUIRES: max_sessions > max_leases (see "Idempotency" above).
  size_t max_sessions = 1'100'000;
  size_t results_per_client = 8;
  size_t max_checkpoints_per_command = kMaxCheckpointsPerCommand;
  Duration min_ttl = Seconds(1);
  Duration max_ttl = Hours(1);
  Duration max_wait_timeout = Hours(1);
};

struct ApplyOutput {
  CommandResult result;
  std::vector<Event> events;
};

struct WaiterInfo {
  LeaseId lease;
  uint64_t ticket = 0;
  Duration timeout;  // zero: waits until granted or its lease ends
  bool operator==(const WaiterInfo&) const = default;
};

struct LockInfo {
  std::string name;
  std::optional<LeaseId> holder;
  FencingToken token;  // the holder's token; when free, the last token granted
  std::vector<WaiterInfo> waiters;  // FIFO: front is granted next
};

struct LeaseInfo {
  LeaseId id;
  NodeId client;
  Duration ttl;
  Duration remaining;  // as of the last checkpoint or renewal, not "now"
  uint64_t renewals = 0;
  std::vector<std::string> held;  // sorted
  std::vector<std::string> waiting;  // sorted
};

struct WaitInfo {
  std::string lock;
  WaiterInfo waiter;
};

class LockMachine {
 public:
  explicit LockMachine(const LockMachineOptions& options = {});
  LockMachine(const LockMachine&) = default;
  LockMachine& operator=(const LockMachine&) = default;
  LockMachine(LockMachine&&) = default;
  LockMachine& operator=(LockMachine&&) = default;

  // Applies one committed command. Never fails as a whole: errors are in
  // `result.status`, and an erroneous command changes nothing but the client's stored
  // result.
  ApplyOutput Apply(const Command& command);
  // Decodes, then applies. Undecodable bytes give InvalidArgument/Unimplemented and
  // change nothing — identically on every replica.
  ApplyOutput ApplyEncoded(std::span<const uint8_t> bytes);

  // Reads. nullopt when the lock / lease is unknown.
  std::optional<LockInfo> GetLock(std::string_view name) const;
  std::optional<LeaseInfo> GetLease(LeaseId lease) const;
  // Every lease, by id; what a new leader arms its timers from.
  std::vector<LeaseInfo> Leases() const;
  // Every wait with a timeout, by (lock, queue order).
  std::vector<WaitInfo> TimedWaits() const;

  size_t lease_count() const { return leases_.size(); }
  size_t active_lock_count() const { return active_locks_; }
  size_t idle_lock_count() const { return idle_order_.size(); }
  size_t session_count() const { return sessions_.size(); }
  FencingToken token_floor() const { return token_floor_; }
  const LockMachineOptions& options() const { return options_; }

  Bytes Serialize() const;
  // Replaces the state with the snapshot's. On any error (InvalidArgument, DataLoss for
  // a checksum mismatch, Unimplemented for a version) the state is left untouched.
  Status Restore(std::span<const uint8_t> bytes);

  // Checks every cross-reference between locks, leases and sessions; for tests and
  // after Restore. OK or Internal naming the first broken invariant.
  Status CheckInvariants() const;

 private:
  struct Waiter {
    LeaseId lease;
    uint64_t ticket = 0;
    Duration timeout;
  };
  struct Lock {
    FencingToken last_token;  // the counter: every grant increments it
    LeaseId holder;           // LeaseId(0): free
    std::deque<Waiter> waiters;
    uint64_t idle_since = 0;  // apply count when it became idle
  };
  struct Lease {
    NodeId client;
    Duration ttl;
    Duration remaining;
    uint64_t renewals = 0;
    std::set<std::string, std::less<>> held;
    std::set<std::string, std::less<>> waiting;
  };
  struct StoredResult {
    uint64_t sequence = 0;
    CommandResult result;
  };
  struct Session {
    uint64_t floor = 0;  // highest sequence pushed out of the window
    std::vector<StoredResult> results;  // ascending sequence, at most results_per_client
    size_t lease_count = 0;
    uint64_t last_used = 0;
  };

  // Command handlers; each returns the result and appends its events.
  CommandResult DoGrantLease(const GrantLease& command, std::vector<Event>* events);
  CommandResult DoKeepAlive(const KeepAlive& command, std::vector<Event>* events);
  CommandResult DoRevokeLease(const RevokeLease& command, std::vector<Event>* events);
  CommandResult DoAcquire(const Acquire& command, std::vector<Event>* events);
  CommandResult DoRelease(const Release& command, std::vector<Event>* events);
  CommandResult DoCancelWait(const CancelWait& command, std::vector<Event>* events);
  CommandResult DoExpireLease(const ExpireLease& command, std::vector<Event>* events);
  CommandResult DoExpireWait(const ExpireWait& command, std::vector<Event>* events);
  CommandResult DoCheckpointLeases(const CheckpointLeases& command);

  // Runs a client command once per (client, sequence). `handler` executes it.
  template <typename Handler>
  ApplyOutput ApplyClientCommand(const RequestId& request, Handler handler);
  Session& TouchSession(NodeId client);
  void RememberResult(Session* session, uint64_t sequence, const CommandResult& result);

  // Finds the lease and checks that `client` owns it.
  Result<Lease*> OwnedLease(LeaseId lease, NodeId client);
  void Grant(const std::string& name, Lock* lock, LeaseId lease, uint64_t ticket, std::vector<Event>* events);
  // Frees `lock` from its holder and grants the first waiter, if any.
  void ReleaseHolder(const std::string& name, Lock* lock, EndReason reason, std::vector<Event>* events);
  // Takes `lease_id` (which waits for `name`) out of the lock's queue, with a
  // kWaitEnded(kReleased) event; the lock keeps its holder (a queue implies one).
  void WithdrawWaiter(const std::string& name, Lock* lock, LeaseId lease_id, Lease* lease,
                      std::vector<Event>* events);
  void EndLease(LeaseId lease, EndReason reason, std::vector<Event>* events);
  void MarkIdleIfFree(const std::string& name, Lock* lock);
  void MarkActive(const std::string& name, Lock* lock);
  void SetLeaseCount(NodeId client, Session* session, size_t lease_count);

  LockMachineOptions options_;
  std::map<std::string, Lock, std::less<>> locks_;
  std::unordered_map<LeaseId, Lease> leases_;
  std::unordered_map<NodeId, Session> sessions_;
  // Derived indexes, rebuilt by Restore.
  std::set<std::pair<uint64_t, std::string>> idle_order_;  // (idle_since, name)
  std::set<std::pair<uint64_t, NodeId>> leaseless_sessions_;  // (last_used, client)
  size_t active_locks_ = 0;
  // Replicated counters.
  uint64_t next_lease_ = 1;
  uint64_t next_ticket_ = 1;
  uint64_t applied_ = 0;  // commands applied: the machine's logical clock for LRU
  FencingToken token_floor_;
};

}  // namespace murphy::lock
