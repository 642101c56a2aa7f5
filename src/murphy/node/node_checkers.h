// murphy/node/node_checkers.h — checkers fed by NodeShell observers: the
// persist-before-send monitor and the Raft safety adapter.
//
// Contract: `NodeCheckers` is a NodeObserver that every node of a simulated cluster
// shares. It does two jobs:
//   - persist before send: every Raft message a node puts on the wire is judged
//     with raft::CheckSendAllowed against the state the node's WAL durably holds at
//     that moment; the first violation is kept (with its true time and node) and
//     every one is counted;
//   - Raft safety: it turns the node's log, leadership, commit and apply events
//     into check::RaftObservations for a RaftSafetyChecker (election safety, log
//     matching, leader completeness, state machine safety). A log that restarts
//     from a snapshot is reported as the committed entries the snapshot stands
//     for: the checker does not model compaction, and a snapshot covers exactly
//     the entries applied (by some node) up to its index, which the adapter has
//     seen applied. An observation the checker calls malformed is an
//     instrumentation bug, kept as `instrumentation_error()`.
// It also forwards OnStopped to `on_stopped` (a workload's supervisor).
// Times come from `clock` (true time in a simulation). Memory: one RaftLogEntry per
// applied index, plus the checker's own state. Thread safety: none; one simulation.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "murphy/check/raft_invariants.h"
#include "murphy/node/node_shell.h"

namespace murphy::node {

// FNV-1a over the entry's type and data: how the safety checker tells entries apart.
uint64_t HashEntry(const raft::Entry& entry);

class NodeCheckers : public NodeObserver {
 public:
  explicit NodeCheckers(std::function<Instant()> clock) : clock_(std::move(clock)) {}

  void OnLog(NodeId node, LogIndex from, const std::vector<raft::Entry>& entries) override;
  void OnLogReset(NodeId node, LogIndex snapshot_index, const std::vector<raft::Entry>& entries) override;
  void OnBecameLeader(NodeId node, Term term) override;
  void OnCommitted(NodeId node, Term term, LogIndex commit) override;
  void OnApplied(NodeId node, const raft::Entry& entry) override;
  void OnSend(NodeId node, const raft::Message& message, const raft::DurableState& durable) override;
  void OnStopped(NodeId node, std::string_view reason) override;

  std::function<void(NodeId, std::string_view)> on_stopped;

  const RaftSafetyChecker& safety() const { return safety_; }
  const Status& instrumentation_error() const { return instrumentation_error_; }
  uint64_t sends_checked() const { return sends_checked_; }
  uint64_t persist_violations() const { return persist_violations_; }
  // "node 2 at +1.25s: sent before synced: ..." for the first violation.
  const std::optional<std::string>& first_persist_violation() const { return first_persist_violation_; }
  // Leadership changes seen (for liveness reports).
  const std::vector<std::pair<Instant, NodeId>>& leaders() const { return leaders_; }

  // OK if every check passed; otherwise FailedPrecondition naming the first problem.
  Status Verdict() const;

 private:
  void Observe(const RaftObservation& observation);

  std::function<Instant()> clock_;
  RaftSafetyChecker safety_;
  Status instrumentation_error_;
  std::vector<std::optional<RaftLogEntry>> applied_;  // applied_[i] is index i + 1, as first applied
  uint64_t sends_checked_ = 0;
  uint64_t persist_violations_ = 0;
  std::optional<std::string> first_persist_violation_;
  std::vector<std::pair<Instant, NodeId>> leaders_;
};

}  // namespace murphy::node
