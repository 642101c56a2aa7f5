#include "murphy/node/node_checkers.h"

namespace murphy::node {
namespace {

std::vector<RaftLogEntry> ToLogEntries(const std::vector<raft::Entry>& entries) {
  std::vector<RaftLogEntry> result;
  result.reserve(entries.size());
  for (const raft::Entry& entry : entries) result.push_back({entry.index, entry.term, HashEntry(entry)});
  return result;
}

}  // namespace

uint64_t HashEntry(const raft::Entry& entry) {
  uint64_t hash = 14695981039346656037ULL;
  auto mix = [&hash](uint8_t byte) {
    hash ^= byte;
    hash *= 1099511628211ULL;
  };
  mix(static_cast<uint8_t>(entry.type));
  for (const char c : entry.data) mix(static_cast<uint8_t>(c));
  return hash;
}

void NodeCheckers::Observe(const RaftObservation& observation) {
  const Status status = safety_.Observe(observation);
  if (!status.ok() && instrumentation_error_.ok()) instrumentation_error_ = status;
}

void NodeCheckers::OnLog(NodeId node, LogIndex from, const std::vector<raft::Entry>& entries) {
  Observe(RaftObservation::Log(clock_(), node, from, ToLogEntries(entries)));
}

void NodeCheckers::OnLogReset(NodeId node, LogIndex snapshot_index, const std::vector<raft::Entry>& entries) {
  std::vector<RaftLogEntry> log;
  for (uint64_t index = 1; index <= snapshot_index.value(); ++index) {
    if (index > applied_.size() || !applied_[index - 1].has_value()) {
      if (instrumentation_error_.ok()) {
        instrumentation_error_ =
            InternalError("node " + std::to_string(node.value()) + " holds a snapshot at index " +
                          std::to_string(snapshot_index.value()) + " but index " + std::to_string(index) +
                          " was never seen applied");
      }
      return;
    }
    log.push_back(*applied_[index - 1]);
  }
  for (const RaftLogEntry& entry : ToLogEntries(entries)) log.push_back(entry);
  Observe(RaftObservation::Log(clock_(), node, LogIndex(1), std::move(log)));
}

void NodeCheckers::OnBecameLeader(NodeId node, Term term) {
  leaders_.emplace_back(clock_(), node);
  Observe(RaftObservation::BecameLeader(clock_(), node, term));
}

void NodeCheckers::OnCommitted(NodeId node, Term term, LogIndex commit) {
  Observe(RaftObservation::Committed(clock_(), node, term, commit));
}

void NodeCheckers::OnApplied(NodeId node, const raft::Entry& entry) {
  const uint64_t hash = HashEntry(entry);
  if (entry.index.value() > applied_.size()) applied_.resize(entry.index.value());
  if (!applied_[entry.index.value() - 1].has_value())
    applied_[entry.index.value() - 1] = RaftLogEntry{entry.index, entry.term, hash};
  Observe(RaftObservation::Applied(clock_(), node, entry.index, hash));
}

void NodeCheckers::OnSend(NodeId node, const raft::Message& message, const raft::DurableState& durable) {
  ++sends_checked_;
  const Status allowed = raft::CheckSendAllowed(message, durable);
  if (allowed.ok()) return;
  ++persist_violations_;
  if (!first_persist_violation_.has_value()) {
    first_persist_violation_ = "node " + std::to_string(node.value()) + " at " + FormatInstant(clock_()) +
                               ": " + std::string(allowed.message()) + " (durable term " +
                               std::to_string(durable.hard_state.term.value()) + ", vote " +
                               std::to_string(durable.hard_state.vote.value()) + ", last index " +
                               std::to_string(durable.last_index.value()) + ")";
  }
}

void NodeCheckers::OnStopped(NodeId node, std::string_view reason) {
  if (on_stopped) on_stopped(node, reason);
}

Status NodeCheckers::Verdict() const {
  if (first_persist_violation_.has_value()) {
    return FailedPreconditionError("persist-before-send: " + std::to_string(persist_violations_) +
                                   " violation(s); first: " + *first_persist_violation_);
  }
  if (!instrumentation_error_.ok()) {
    return FailedPreconditionError("raft observations malformed: " + instrumentation_error_.ToString());
  }
  if (!safety_.ok()) return FailedPreconditionError(safety_.Report());
  return Status::Ok();
}

}  // namespace murphy::node
