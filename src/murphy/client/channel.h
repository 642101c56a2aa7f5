// murphy/client/channel.h — the resilient request layer of the lock-service client:
// leader discovery, deadlines, retries with backoff under a budget, a circuit breaker
// per endpoint, and exactly-once numbering of mutations.
//
// Contract: a `Channel` sends protocol::Requests to the nodes of one cluster over an
// Env and delivers exactly one CallResult per Call, on the Env's loop, never inline
// from inside Call. For each logical request (one Call):
// - Numbering. A mutation gets the next sequence number of this client when it starts;
//   every transmission of it (retries, redirects) carries the same (client id,
//   sequence), so the node applies it at most once (lock_machine.h, "Idempotency"). A
//   store write without an idempotency key gets "(client, sequence)" as its key. At
//   most `max_mutations_in_flight` mutations are in flight at once (the rest wait in
//   order): the node remembers the results of a client's last few sequence numbers
//   only, and a retry of a number it has forgotten is refused instead of answered.
// - Deadlines. Each Call has a Deadline; each attempt gets min(deadline, now +
//   attempt_timeout) and sends the remaining budget on the wire (deadline.h).
// - Leader discovery. Requests go to the current leader guess (initially the first
//   node). A `not leader` answer with a hint in the node list is followed at once,
//   within the same attempt (at most `max_redirects_per_attempt` hops); without a
//   usable hint, or on an attempt timeout, the guess moves to the next node and the
//   attempt counts as failed (UNAVAILABLE / DEADLINE_EXCEEDED).
// - Breakers. Each node has a CircuitBreaker; an attempt skips nodes whose breaker
//   rejects it. Timeouts and UNAVAILABLE count as failures, any other answer
//   (including `not leader`, which proves the node alive) as a success. If every
//   breaker rejects, the attempt fails with UNAVAILABLE without sending.
// - Retries. RetryState (resilience/retry_policy.h) decides: backoff with full jitter,
//   the deadline, and a RetryTokenBucket shared by all calls of the channel as the
//   RetryThrottle. Mutations are keyed by (client, sequence), so timeouts are retried.
// - Results. OK only for what a node answered OK (and a node answers a mutation only
//   after it is committed). A node's definitive answer is passed through with its
//   response (e.g. ABORTED with the store's max_token). If any attempt timed out and
//   the loop gave up, the result is DEADLINE_EXCEEDED "outcome unknown" — the request
//   may have been applied; it is never reported as failed.
// - Late answers. A response names the transmission it answers; an answer to an older
//   transmission of the same Call is used only if it is definitive (not `not leader`,
//   not retryable): it carries the node's stored result for the same sequence number.
// Limits: `max_pending_calls` Calls at once (more: RESOURCE_EXHAUSTED), bounded hops,
// retries and message sizes (protocol limits).
// Client identity: the client id is env.self(). Sequence numbers and request ids start
// at `first_sequence`, by default the boot clock in nanoseconds, so a client restarted
// on the same machine starts above the numbers of its previous incarnation (known gap:
// after a machine reboot the boot clock restarts; give each incarnation a fresh
// first_sequence, e.g. from persisted state, if that matters).
// Thread safety: none; one Env loop. Ownership: borrows the Env (which must outlive
// the channel); the channel cancels its timers on destruction and drops pending Calls
// without calling them back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"
#include "murphy/protocol/client_message.h"
#include "murphy/resilience/backoff.h"
#include "murphy/resilience/circuit_breaker.h"
#include "murphy/resilience/deadline.h"
#include "murphy/resilience/retry_budget.h"
#include "murphy/resilience/retry_policy.h"

namespace murphy::client {

struct ChannelOptions {
  // The cluster's nodes. REQUIRES: 1 <= size <= kMaxNodes, distinct.
  std::vector<NodeId> nodes;
  // Each attempt's own timeout. REQUIRES: > 0 and finite.
  Duration attempt_timeout = Milliseconds(500);
  BackoffOptions backoff = {Milliseconds(20), 2.0, Seconds(1), Jitter::kFull, 16};
  RetryTokenBucketOptions retry_budget = {50, 0.2};
  CircuitBreakerOptions breaker = DefaultBreakerOptions();
  // Subtracted from the budget sent on the wire (an estimate of one-way transit).
  Duration budget_margin = Duration::Zero();
  size_t max_pending_calls = 256;
  // REQUIRES: 1 <= value <= the node's results_per_client (lock machine default 8).
  size_t max_mutations_in_flight = 8;
  // 0: hops = number of nodes.
  int max_redirects_per_attempt = 0;
  // 0: derive from the boot clock (see the contract).
  uint64_t first_sequence = 0;

  static constexpr size_t kMaxNodes = 64;
  // Trips after 3 of the last 6 calls failed; 1 s open, doubling up to 30 s; a single
  // successful probe closes it.
  static CircuitBreakerOptions DefaultBreakerOptions();
};

struct CallResult {
  // The outcome (see the contract); DEADLINE_EXCEEDED means outcome unknown.
  Status status;
  // The node's answer when `status` is that answer (OK or a definitive error).
  std::optional<protocol::Response> response;
  // The sequence number of a mutation (0 for reads and calls never started).
  uint64_t sequence = 0;
  // When the first transmission left, on this process's monotonic clock, and
  // BootNow() − MonotonicNow() at that moment; nullopt if nothing was sent. A lease
  // granted or renewed by this call started no earlier than `first_sent`.
  std::optional<Instant> first_sent;
  Duration boot_offset_at_first_send;
};

struct CallOptions {
  // Asked before every transmission after the first; false ends the call with
  // FAILED_PRECONDITION (nothing of it can have been applied) or, if an earlier
  // attempt's outcome is unknown, DEADLINE_EXCEEDED. Lets a fenced write stop retrying
  // once its lock is no longer safe. Null: always continue.
  std::function<bool()> may_continue;
};

struct ChannelMetrics {
  uint64_t calls = 0;
  uint64_t transmissions = 0;
  uint64_t attempt_timeouts = 0;
  uint64_t redirects = 0;
  uint64_t breaker_skips = 0;      // a node skipped because its breaker was open
  uint64_t all_breakers_open = 0;  // attempts that found no admitting node
  uint64_t late_responses_used = 0;
  uint64_t responses_ignored = 0;  // stale, unknown or from the wrong node
  uint64_t malformed = 0;          // undecodable datagrams
  uint64_t pushes = 0;
};

class Channel {
 public:
  using Callback = std::function<void(CallResult)>;
  using PushHandler = std::function<void(NodeId source, const protocol::Push& push)>;

  // REQUIRES: options satisfy their REQUIRES (asserted).
  Channel(Env& env, ChannelOptions options);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Starts one logical request; `done` runs exactly once, later, on the loop (unless
  // the channel is destroyed first). REQUIRES: done is not null; callbacks do not
  // destroy the channel.
  void Call(protocol::RequestBody body, Deadline deadline, Callback done, CallOptions options = {});

  // Feeds one datagram received from `source` (install this as, or call it from, the
  // Env's receiver). Undecodable datagrams are counted and dropped.
  void OnMessage(NodeId source, std::span<const uint8_t> payload);
  // Receives pushes from known nodes.
  void SetPushHandler(PushHandler handler) { push_handler_ = std::move(handler); }

  NodeId client_id() const { return env_.self(); }
  NodeId leader_guess() const { return options_.nodes[leader_index_]; }
  bool IsNode(NodeId node) const;
  BreakerState breaker_state(NodeId node) const;
  size_t pending_calls() const { return calls_.size(); }
  const ChannelMetrics& metrics() const { return metrics_; }
  const ChannelOptions& options() const { return options_; }

 private:
  enum class Phase : uint8_t { kQueued, kInFlight, kBackingOff, kCompleting };
  struct Pending {
    uint64_t id = 0;
    protocol::RequestBody body;
    bool mutation = false;
    uint64_t sequence = 0;
    Deadline deadline;
    CallOptions options;
    Callback done;
    Phase phase = Phase::kQueued;
    std::optional<RetryState> retry;
    Attempt attempt;
    uint32_t send_number = 0;
    size_t endpoint = 0;  // index into nodes
    std::optional<BreakerPermit> permit;
    int redirects = 0;
    TimerId timer;
    bool timer_armed = false;
    std::optional<Instant> first_sent;
    Duration boot_offset_at_first_send;
    Status failure;  // kCompleting only: the outcome being delivered
  };

  void Start(Pending* call);
  void StartQueued();
  void BeginAttempt(Pending* call);
  // Sends the current attempt to `call->endpoint`.
  void Transmit(Pending* call);
  void OnResponse(NodeId source, const protocol::Response& response);
  void OnAttemptTimeout(uint64_t id);
  void OnQueueTimeout(uint64_t id);
  // Ends the attempt in flight with `status` (and `response` if a node gave it).
  void EndAttempt(Pending* call, Status status, std::optional<protocol::Response> response);
  void Complete(uint64_t id, Status status, std::optional<protocol::Response> response);
  void Arm(Pending* call, Duration delay, std::function<void()> callback);
  void Disarm(Pending* call);
  void RecordBreaker(Pending* call, CallOutcome outcome);
  // The first node at or after the leader guess whose breaker admits a call, with
  // its permit; nullopt if none does.
  std::optional<size_t> PickEndpoint(Pending* call);
  void RotateFrom(size_t endpoint);
  std::optional<size_t> IndexOf(NodeId node) const;

  Env& env_;
  ChannelOptions options_;
  std::vector<std::unique_ptr<CircuitBreaker>> breakers_;  // by node index
  RetryTokenBucket budget_;
  size_t leader_index_ = 0;
  uint64_t next_call_id_;
  uint64_t next_sequence_;
  size_t mutations_in_flight_ = 0;
  std::map<uint64_t, std::unique_ptr<Pending>> calls_;  // by call id (= request id)
  std::vector<uint64_t> queue_;                         // queued mutations, FIFO
  PushHandler push_handler_;
  ChannelMetrics metrics_;
};

}  // namespace murphy::client
