#include "murphy/raft/progress.h"

#include <algorithm>

#include "murphy/core/assert.h"

namespace murphy::raft {

std::string_view ProgressStateName(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  MURPHY_UNREACHABLE();
}

Progress::Progress(LogIndex next, size_t max_inflight, bool learner)
    : next_(next), learner_(learner), max_inflight_(max_inflight) {
  MURPHY_ASSERT(next_.value() >= 1);
  MURPHY_ASSERT(max_inflight_ >= 1);
}

void Progress::AckReadRound(uint64_t round) { read_round_acked_ = std::max(read_round_acked_, round); }

bool Progress::IsPaused() const {
  switch (state_) {
    case ProgressState::kProbe:
      return probe_sent_;
    case ProgressState::kReplicate:
      return inflight_.size() >= max_inflight_;
    case ProgressState::kSnapshot:
      return true;  // no appends until the snapshot is installed.
  }
  MURPHY_UNREACHABLE();
}

void Progress::OnAppendSent(LogIndex last_index, bool has_entries) {
  switch (state_) {
    case ProgressState::kProbe:
      probe_sent_ = true;
      return;
    case ProgressState::kReplicate:
      if (!has_entries) return;  // an empty append (commit update) claims no window slot.
      MURPHY_ASSERT(last_index >= next_);
      MURPHY_ASSERT(inflight_.size() < max_inflight_);
      next_ = last_index.next();
      inflight_.push_back(last_index);
      return;
    case ProgressState::kSnapshot:
      MURPHY_ASSERT_MSG(false, "an append sent while streaming a snapshot");
      return;
  }
  MURPHY_UNREACHABLE();
}

bool Progress::MaybeUpdate(LogIndex index) {
  bool updated = false;
  if (index > match_) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index.next());
  while (!inflight_.empty() && inflight_.front() <= index) inflight_.pop_front();
  MURPHY_ASSERT(match_ < next_);
  return updated;
}

bool Progress::MaybeDecreaseTo(LogIndex rejected, LogIndex hint) {
  // No append was sent since the snapshot started: any rejection is stale.
  if (state_ == ProgressState::kSnapshot) return false;
  if (state_ == ProgressState::kReplicate) {
    // Everything up to match is known to be there; a rejection at or below it is
    // the answer to an append sent before we learned that.
    if (rejected <= match_) return false;
    // Pipelined appends after the gap are lost causes: fall back to just past match
    // and probe from there.
    next_ = match_.next();
    return true;
  }
  // In probe only the last probe's answer counts.
  if (next_.value() == 0 || LogIndex(next_.value() - 1) != rejected) return false;
  next_ = std::max(std::min(rejected, hint.next()), match_.next());
  probe_sent_ = false;
  return true;
}

void Progress::BecomeProbe() {
  state_ = ProgressState::kProbe;
  probe_sent_ = false;
  inflight_.clear();
  next_ = std::max(next_, match_.next());
}

void Progress::BecomeSnapshot(LogIndex snapshot_index) {
  state_ = ProgressState::kSnapshot;
  probe_sent_ = false;
  inflight_.clear();
  pending_snapshot_ = snapshot_index;
  next_chunk_ = 0;
  acked_chunks_ = 0;
  acked_at_last_heartbeat_ = 0;
}

void Progress::OnChunksAcked(uint64_t chunks) {
  MURPHY_ASSERT(state_ == ProgressState::kSnapshot);
  if (chunks < acked_chunks_) {
    // The peer dropped what it had (or this is an old answer overtaken by a newer
    // one; resending from here is then merely redundant: the peer ignores chunks
    // it holds and re-acknowledges).
    acked_chunks_ = chunks;
    next_chunk_ = chunks;
    return;
  }
  acked_chunks_ = chunks;
  next_chunk_ = std::max(next_chunk_, chunks);
}

void Progress::OnHeartbeatWhileSnapshotting() {
  MURPHY_ASSERT(state_ == ProgressState::kSnapshot);
  if (acked_chunks_ == acked_at_last_heartbeat_) next_chunk_ = acked_chunks_;
  acked_at_last_heartbeat_ = acked_chunks_;
}

void Progress::BecomeReplicate() {
  state_ = ProgressState::kReplicate;
  probe_sent_ = false;
  inflight_.clear();
  next_ = match_.next();
}

}  // namespace murphy::raft
