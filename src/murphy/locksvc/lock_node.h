// murphy/locksvc/lock_node.h — a replicated lock-service node: a NodeShell running a
// LockStateMachine, and the glue (a node::NodeService) that serves the lock client
// protocol (protocol/client_message.h, frames 0x10–0x12) on it.
//
// Contract: what `LockNodeService` does with a Request frame from `source`:
//   - service::CheckRequest fails → that error; this node is not the leader →
//     MakeNotLeaderResponse with the leader it knows (Raft does not forward);
//   - mutations (lease and lock commands, store writes) are proposed through Raft as
//     tagged commands (lock_state_machine.h) and answered only after they are
//     committed and applied here, with the applied result (LockCommandResponse /
//     StoreWriteResponse). A store write without an idempotency key gets the key of
//     its (client, sequence), so a retried write is applied once. If leadership is
//     lost first, the request is not answered (outcome unknown: the client retries
//     with the same sequence, deduplicated by the machine);
//   - reads go through the shell's ReadBarrier (ReadIndex) and are answered from the
//     applied state once it covers the confirmed index (linearizable).
// Pushes: after every applied lock command, the leader — and only the leader — sends
// service::PushFor(event) to the event's client (a follower applies the same entry
// silently). Pushes are best effort: the client also polls.
// Lease timers: only on the leader. On becoming leader the glue builds
// lock::LeaseTimers from the applied state at its monotonic now (remaining TTLs as
// last checkpointed: lease_timers.h states the bound); after each apply it Observes
// the events; on every shell tick it Polls and proposes what Poll returns. On losing
// leadership the timers are dropped.
// Test-only: `full_ttl_on_failover_for_test` arms every lease with its full TTL on
// becoming leader (etcd's old bug), so the simulation can prove its lease-bound
// checker catches it.
// Metrics (`metrics()`): requests received, answers by outcome (not leader, fencing
// rejection = a store write answered ABORTED because its token is below the
// resource's max_token, other errors), and the latency from receipt to answer on this
// node's monotonic clock, separately for mutations (receipt → commit → apply →
// answer) and linearizable reads. A request never answered (leadership lost) is
// counted as received only.
// Limits: pending requests (the shell's max_pending_commands / max_pending_reads;
// beyond, UNAVAILABLE).
// Thread safety: none; the node's loop. Ownership: `LockNode` owns the service and the
// shell; the shell owns the state machine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>

#include "murphy/core/histogram.h"
#include "murphy/env/env.h"
#include "murphy/lock/lease_timers.h"
#include "murphy/locksvc/lock_state_machine.h"
#include "murphy/node/node_shell.h"
#include "murphy/protocol/client_message.h"

namespace murphy::locksvc {

struct LockNodeOptions {
  node::NodeOptions node;  // `service` is set by LockNode
  LockStateMachineOptions state_machine;
  lock::LeaseTimersOptions timers;
  bool full_ttl_on_failover_for_test = false;
};

struct LockServiceMetrics {
  uint64_t requests = 0;
  uint64_t answered_ok = 0;
  uint64_t answered_not_leader = 0;
  uint64_t fencing_rejections = 0;
  uint64_t answered_error = 0;  // other errors
  LatencyHistogram mutation_latency;
  LatencyHistogram read_latency;
};

class LockNodeService : public node::NodeService {
 public:
  LockNodeService(Env& env, const lock::LeaseTimersOptions& timers, bool full_ttl_on_failover_for_test);

  void Attach(node::NodeShell* shell) override { shell_ = shell; }
  void OnFrame(NodeId source, uint8_t type, std::span<const uint8_t> payload) override;
  void OnApplied(LogIndex index, Term term, std::string_view result) override;
  void OnBecameLeader() override;
  void OnLostLeadership() override;
  void OnTick() override;

  // REQUIRES: the shell's state machine is a LockStateMachine (LockNode makes it so).
  const LockStateMachine& state_machine() const;
  bool has_timers() const { return timers_.has_value(); }
  const LockServiceMetrics& metrics() const { return metrics_; }

 private:
  struct Pending {
    protocol::Request request;
    NodeId source;
    Term term;
    Instant received;
  };
  void OnRequest(NodeId source, const protocol::Request& request);
  // Sends the answer and counts it; `latency` (if any) is recorded for `kind`.
  enum class Kind : uint8_t { kMutation, kRead, kRefused };
  void Reply(NodeId target, const protocol::Response& response, Kind kind = Kind::kRefused,
             Instant received = Instant());

  Env& env_;
  lock::LeaseTimersOptions timer_options_;
  bool full_ttl_on_failover_for_test_;
  node::NodeShell* shell_ = nullptr;
  std::optional<lock::LeaseTimers> timers_;
  std::map<LogIndex, Pending> pending_;
  LockServiceMetrics metrics_;
};

class LockNode {
 public:
  LockNode(Env& env, LockNodeOptions options);
  node::NodeShell& shell() { return *shell_; }
  const node::NodeShell& shell() const { return *shell_; }
  const LockNodeService& service() const { return *service_; }
  const LockStateMachine& state_machine() const { return service_->state_machine(); }
  const LockServiceMetrics& metrics() const { return service_->metrics(); }

 private:
  // Declared first: the shell (which calls it) is destroyed before it.
  std::unique_ptr<LockNodeService> service_;
  std::unique_ptr<node::NodeShell> shell_;
};

}  // namespace murphy::locksvc
