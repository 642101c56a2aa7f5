#include "murphy/raft/raw_node.h"

#include <utility>

#include "murphy/core/assert.h"

namespace murphy::raft {

RawNode::RawNode(const Config& config, RestoreState restore)
    : raft_(config, std::move(restore)),
      persisted_hard_state_(raft_.hard_state()),
      reported_soft_state_(raft_.soft_state()) {}

bool RawNode::HasReady() const {
  if (outstanding_.has_value()) return false;
  if (raft_.leader() != reported_soft_state_.leader || raft_.role() != reported_soft_state_.role ||
      raft_.membership() != reported_soft_state_.membership) {
    return true;
  }
  if (raft_.HasUnstableSnapshot()) return true;
  if (raft_.hard_state() != persisted_hard_state_) return true;
  if (raft_.log().HasUnstableEntries()) return true;
  if (raft_.HasMessages()) return true;
  if (raft_.HasReadStates()) return true;
  return raft_.log().HasEntriesToApply();
}

namespace {

// Replication traffic from a leader: depends on nothing this node has yet to make
// durable, provided its term and vote are already durable.
bool IsLeaderTraffic(MessageType type) {
  return type == MessageType::kAppend || type == MessageType::kHeartbeat || type == MessageType::kTimeoutNow ||
         type == MessageType::kSnapshot;
}

// Messages that never depend on our durable state: a pre-vote binds nobody, a
// heartbeat answer only echoes the term, and a snapshot chunk's acknowledgement
// only reports bytes buffered in memory (the snapshot, once whole, is acknowledged
// by an append response, which waits for persistence).
bool IsStateless(MessageType type) {
  return type == MessageType::kPreVote || type == MessageType::kPreVoteResponse ||
         type == MessageType::kHeartbeatResponse || type == MessageType::kSnapshotResponse;
}

}  // namespace

Ready RawNode::GetReady() {
  MURPHY_ASSERT_MSG(!outstanding_.has_value(), "GetReady() twice without Advance()");
  MURPHY_ASSERT(HasReady());
  Ready ready;
  Outstanding outstanding;
  SoftState soft = raft_.soft_state();
  if (soft != reported_soft_state_) {
    ready.soft_state = soft;
    outstanding.soft_state = soft;
  }
  HardState hard = raft_.hard_state();
  const bool term_or_vote_changed =
      hard.term != persisted_hard_state_.term || hard.vote != persisted_hard_state_.vote;
  if (hard != persisted_hard_state_) {
    ready.hard_state = hard;
    outstanding.hard_state = hard;
  }
  if (raft_.HasUnstableSnapshot()) {
    ready.snapshot = raft_.snapshot();
    outstanding.snapshot_index = raft_.snapshot()->metadata.index;
  }
  outstanding.snapshots_installed = raft_.snapshots_installed();
  ready.entries = raft_.log().UnstableEntries();
  if (!ready.entries.empty()) {
    outstanding.last_entry_index = ready.entries.back().index;
    outstanding.last_entry_term = ready.entries.back().term;
  }
  for (Message& message : raft_.TakeMessages()) {
    bool immediate = !term_or_vote_changed && (IsLeaderTraffic(message.type) || IsStateless(message.type));
    if (raft_.config().mutations.ack_before_sync &&
        (message.type == MessageType::kAppendResponse || message.type == MessageType::kVoteResponse)) {
      immediate = true;  // MUTATION: acknowledges before the state it depends on is durable.
    }
    if (immediate) {
      ready.messages.push_back(std::move(message));
      continue;
    }
    // A message that waits for persistence but was produced in an older term is
    // dropped: what it vouches for may be gone by now (an acknowledgement of
    // entries that a newer leader's append truncated before this Ready was taken),
    // so persisting this Ready would not make it true. Dropping a message is
    // always safe; the old-term peer learns the new term anyway.
    if (message.term < hard.term) continue;
    ready.messages_after_persist.push_back(std::move(message));
  }
  ready.committed_entries = raft_.log().NextEntriesToApply(raft_.config().max_apply_bytes_per_ready);
  outstanding.last_applied =
      ready.committed_entries.empty() ? raft_.log().applied() : ready.committed_entries.back().index;
  ready.read_states = raft_.TakeReadStates();
  outstanding_ = outstanding;
  return ready;
}

void RawNode::Advance() {
  MURPHY_ASSERT_MSG(outstanding_.has_value(), "Advance() without an outstanding Ready");
  Outstanding done = *outstanding_;
  outstanding_.reset();
  if (done.hard_state.has_value()) persisted_hard_state_ = *done.hard_state;
  if (done.soft_state.has_value()) reported_soft_state_ = *done.soft_state;
  if (done.snapshot_index.has_value()) raft_.OnSnapshotStable(*done.snapshot_index);
  // A snapshot installed after GetReady wiped the log this Ready's entries were part
  // of (and the shell will wipe them from storage when it persists that snapshot):
  // they must not be counted as durable.
  const bool wiped = raft_.snapshots_installed() != done.snapshots_installed;
  if (!wiped && done.last_applied > raft_.log().applied()) raft_.OnApplied(done.last_applied);
  if (!wiped && done.last_entry_index.value() > 0) {
    raft_.OnStable(done.last_entry_index, done.last_entry_term);
  }
}

}  // namespace murphy::raft
