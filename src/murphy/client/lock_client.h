// murphy/client/lock_client.h — the lock-service client: locks held under leases, with
// fencing tokens, a conservative safe-until, automatic keepalive, loss notification,
// and fenced writes to the store.
//
// Contract: a `LockClient` runs on one Env loop and talks to the cluster through a
// Channel (channel.h: leader discovery, deadlines, retries, breakers, exactly-once
// mutations). What the chapter prescribes ("The Lease Problem", "Fencing Tokens"):
// - Acquire(name, ttl, mode, done) grants a lease of `ttl`, then acquires `name` under
//   it; `done` gets a LockHandle with the lock's fencing token, or an error:
//     FAILED_PRECONDITION  kTry on a held lock, or a wait that timed out;
//     ABORTED              the lease ended before the lock was granted;
//     DEADLINE_EXCEEDED    outcome unknown (the lease is then revoked, best effort, so
//                          a grant we never heard of does not linger; otherwise it
//                          ends with its TTL);
//     others               as the node answered (RESOURCE_EXHAUSTED, ...).
//   A waiting acquire (kWait, kWaitWithTimeout) completes on the node's `granted` push,
//   or — if that push is lost — on the next poll of the lock (every
//   `wait_poll_interval`).
// - CancelAcquire(name) gives up every acquisition of `name` still in progress: each
//   one's `done` gets CANCELLED (on a later turn of the loop) and never a handle. A
//   queued wait is withdrawn on the node (cancel-acquire, which never gives up a
//   grant), then the acquisition's lease is revoked, best effort: so if the grant
//   raced ahead of the cancel (the node answers "granted"), the lock is released, not
//   left to a holder nobody uses. Needs nodes that speak client message version 2.
// - Safe-until. Each lease renewal (the grant, then keepalives every ttl /
//   keepalive_divisor, timed on this process's monotonic clock) moves
//       safe_until = (monotonic time the renewal was first SENT)
//                    + ttl × (1 − max_drift_rate) − safety_margin.
//   The send time, not the receive time: the node starts the lease no earlier than it
//   receives the request, so the lease cannot end before send + ttl on the node's
//   clock. `max_drift_rate` must bound the *relative* rate error between this clock and
//   the leader's (the sum of both clocks' bounds): then safe-until, read on this clock,
//   is never later in true time than the node's expiry. IsSafe() is false from
//   safe_until on, and false as soon as BootNow() − MonotonicNow() has grown by more
//   than `suspension_tolerance` since the renewal's send (the process was suspended:
//   its monotonic clock stopped while the lease kept running) — until a renewal sent
//   after the suspension is acknowledged.
// - Loss. The handle is lost — its loss callback runs once, IsSafe() stays false —
//   when the node pushes `lost` (lease expired or revoked), when a keepalive is refused
//   (the lease is gone), or when safe_until passes without an acknowledged renewal
//   (then the lease is revoked, best effort: we stopped acting on it, so free the lock
//   for others). A lost handle stays lost; acquire again.
// - Release. Destroying a LockHandle (or Release()) revokes its lease, best effort and
//   without blocking: the revoke is sent with retries under `release_timeout`; if it
//   never lands, the lease ends with its TTL.
// - Fenced writes. Write(handle, ...) refuses locally with FAILED_PRECONDITION when the
//   handle is not safe, and stops retrying once it is no longer safe; otherwise it
//   reports the store's answer: OK with the new version, ABORTED with the store's
//   max_token (a newer holder has written: stop acting as holder), or DEADLINE_EXCEEDED
//   (outcome unknown). WriteWithToken skips the local check — for a token carried
//   elsewhere; the store's fence is then the only protection (and it is enough: a
//   stale token is rejected).
// Success is reported only for what a node acknowledged (after quorum commit); a
// timeout is DEADLINE_EXCEEDED, never "failed". Callbacks run on the loop, never inline
// from inside a call of this class.
// Limits: `max_handles` acquisitions in progress plus handles alive (more:
// RESOURCE_EXHAUSTED); the Channel's limits on pending requests.
// Thread safety: none; one Env loop. Ownership: borrows the Env; owns the Channel.
// Handles borrow the client: destroying the client first detaches every handle (it
// then reports lost and releases nothing — its lease ends with its TTL).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "murphy/client/channel.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"
#include "murphy/protocol/client_message.h"

namespace murphy::client {

struct LockClientOptions {
  ChannelOptions channel;
  // Bound on the relative drift between this clock and the leader's. REQUIRES: [0, 1).
  double max_drift_rate = 1e-3;
  // Subtracted from every safe-until. REQUIRES: >= 0.
  Duration safety_margin = Milliseconds(50);
  // Keepalive every ttl / keepalive_divisor. REQUIRES: >= 2.
  int keepalive_divisor = 3;
  // Growth of BootNow() − MonotonicNow() that counts as a suspension.
  Duration suspension_tolerance = Milliseconds(1);
  // A waiting acquire checks the lock this often, in case the `granted` push was lost.
  Duration wait_poll_interval = Seconds(1);
  // Deadline of the best-effort revoke when a handle is released.
  Duration release_timeout = Seconds(2);
  size_t max_handles = 16;
};

struct AcquireOptions {
  // For kWaitWithTimeout: how long the node keeps the wait.
  Duration wait_timeout = Duration::Zero();
  // Deadline of the grant and acquire requests (not of the wait in the queue).
  Duration request_timeout = Seconds(5);
};

struct WriteOptions {
  std::optional<uint64_t> expected_version;  // compare-and-set on the version
  Duration timeout = Seconds(5);
  // Compare-and-set on the value: the write is accepted only if the resource exists
  // and holds exactly this value (ABORTED otherwise, with the current version). Needs
  // nodes that speak client message version 2.
  std::optional<std::string> expected_value = std::nullopt;
};

// The store's answer to a fenced write.
struct WriteReply {
  Status status;
  FencingToken max_token;  // the resource's max token, when the store answered
  uint64_t version = 0;    // the new version (OK) or the current one (CAS mismatch)
};

class LockClient;

// A lock held under a lease. Not copyable or movable: the client tracks it by address.
class LockHandle {
 public:
  LockHandle(const LockHandle&) = delete;
  LockHandle& operator=(const LockHandle&) = delete;
  // Releases the lock (revokes its lease), best effort, non-blocking.
  ~LockHandle();

  const std::string& lock() const { return lock_; }
  FencingToken token() const { return token_; }
  LeaseId lease() const { return lease_; }
  // May the holder act now? See the contract (safe-until, suspension, loss).
  bool IsSafe() const;
  // The current safe-until on this process's monotonic clock.
  Instant safe_until() const;
  bool lost() const;
  // `callback(reason)` runs once when the handle is lost (not on Release). It may
  // destroy the handle.
  void OnLoss(std::function<void(Status reason)> callback);
  // Revokes the lease now; afterwards the handle is lost, and no loss callback runs.
  void Release();

 private:
  friend class LockClient;
  LockHandle(LockClient* client, uint64_t session, std::string lock, FencingToken token, LeaseId lease)
      : client_(client), session_(session), lock_(std::move(lock)), token_(token), lease_(lease) {}

  LockClient* client_;  // null once detached
  uint64_t session_;
  std::string lock_;
  FencingToken token_;
  LeaseId lease_;
};

class LockClient {
 public:
  using AcquireCallback = std::function<void(Result<std::unique_ptr<LockHandle>>)>;
  using WriteCallback = std::function<void(WriteReply)>;
  template <typename T>
  using ResultCallback = std::function<void(Result<T>)>;

  // Installs itself as the Env's receiver unless `install_receiver` is false (then
  // feed it datagrams through OnMessage). REQUIRES: options satisfy their REQUIRES.
  LockClient(Env& env, LockClientOptions options, bool install_receiver = true);
  ~LockClient();
  LockClient(const LockClient&) = delete;
  LockClient& operator=(const LockClient&) = delete;

  // See the contract. REQUIRES: ttl > 0; name not empty.
  void Acquire(std::string name, Duration ttl, protocol::AcquireMode mode, AcquireCallback done,
               const AcquireOptions& options = {});

  // See the contract. Returns how many acquisitions were cancelled (0: none in
  // progress for `name`).
  size_t CancelAcquire(const std::string& name);

  void Write(const LockHandle& handle, std::string resource, std::string value, WriteCallback done,
             const WriteOptions& options = {});
  void WriteWithToken(std::string resource, std::string lock, FencingToken token, std::string value,
                      WriteCallback done, const WriteOptions& options = {});

  // Reads (idempotent; retried on timeouts). NOT_FOUND when unknown.
  void Read(std::string resource, ResultCallback<protocol::ReadBody> done, Duration timeout = Seconds(5));
  void GetLock(std::string lock, ResultCallback<protocol::LockInfoBody> done, Duration timeout = Seconds(5));

  void OnMessage(NodeId source, std::span<const uint8_t> payload) { channel_.OnMessage(source, payload); }

  Channel& channel() { return channel_; }
  size_t sessions() const { return sessions_.size(); }

 private:
  friend class LockHandle;
  enum class State : uint8_t { kGranting, kAcquiring, kWaiting, kHeld, kLost };
  struct Session {
    uint64_t id = 0;
    std::string lock;
    Duration ttl;
    protocol::AcquireMode mode = protocol::AcquireMode::kWait;
    Duration wait_timeout;
    Deadline request_deadline;
    State state = State::kGranting;
    LeaseId lease;
    FencingToken token;
    bool lease_granted = false;
    bool lease_ended = false;  // the node said so (push or refused keepalive)
    bool revoke_sent = false;
    Instant safe_until = Instant::Min();
    Duration boot_offset_at_renewal;
    Instant last_renewal_sent;
    bool keepalive_in_flight = false;
    TimerId keepalive_timer;
    bool keepalive_armed = false;
    TimerId safety_timer;
    bool safety_armed = false;
    TimerId poll_timer;
    bool poll_armed = false;
    bool poll_in_flight = false;
    AcquireCallback acquire_done;
    std::function<void(Status)> on_loss;
    LockHandle* handle = nullptr;
  };

  Session* Find(uint64_t id);
  void OnGranted(uint64_t id, CallResult result);
  void OnAcquired(uint64_t id, CallResult result);
  void OnPush(NodeId source, const protocol::Push& push);
  void BecomeHolder(Session* session, FencingToken token);
  // Ends an acquisition that did not produce a handle.
  void FailAcquire(Session* session, Status status);
  // Marks a held lock lost and runs its loss callback.
  void Lose(Session* session, Status reason);
  void Renewed(Session* session, const CallResult& result, Duration ttl);
  void SendKeepAlive(uint64_t id);
  void OnKeepAlive(uint64_t id, CallResult result);
  void Poll(uint64_t id);
  void OnPoll(uint64_t id, Result<protocol::LockInfoBody> info);
  void ArmKeepAlive(Session* session, Duration delay);
  void ArmSafety(Session* session);
  void CancelTimers(Session* session);
  void OnSafetyTimer(uint64_t id);
  // Sends RevokeLease for the session's lease (unless the node ended it already).
  void RevokeBestEffort(Session* session);
  bool Suspended(const Session& session);
  bool IsSafe(uint64_t id);
  void StartWrite(std::string resource, std::string lock, FencingToken token, std::string value,
                  WriteCallback done, const WriteOptions& options, CallOptions call_options);
  // The handle is going away (destroyed or released).
  void ReleaseHandle(uint64_t id);
  // Runs `callback` on a later turn of the loop (errors found before sending anything
  // are reported like every other outcome: never inline).
  void Soon(std::function<void()> callback);

  Env& env_;
  LockClientOptions options_;
  Channel channel_;
  uint64_t next_session_ = 1;
  std::map<uint64_t, Session> sessions_;
  std::map<LeaseId, uint64_t> by_lease_;
  uint64_t next_soon_ = 1;
  std::map<uint64_t, TimerId> soon_;
};

}  // namespace murphy::client
