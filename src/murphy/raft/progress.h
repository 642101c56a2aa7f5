// murphy/raft/progress.h — the leader's view of one follower's log (etcd's Progress).
//
// Contract: a leader keeps one `Progress` per peer. `match` is the highest index
// known replicated on the peer; `next` the next index to send. The state decides
// how appends flow:
//   kProbe      we do not know where the logs diverge: send one append, then wait for
//               its answer (or the next heartbeat) before sending another.
//   kReplicate  the logs match up to `match`: stream appends optimistically, at most
//               `max_inflight` messages un-acknowledged (pipelining with a bound).
//   kSnapshot   the entries the peer needs were compacted away: no appends; the
//               leader streams the snapshot at `pending_snapshot` in chunks, at most
//               a window of them un-acknowledged, acknowledged cumulatively. A chunk
//               lost shows as no acknowledgement progress between two heartbeat
//               answers, and the leader goes back to the last acknowledged chunk
//               (go-back-N). The peer's kAppendResponse for the snapshot's index ends
//               the state (then kReplicate from just past it).
// Thread safety: none; owned by the leader's Raft.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string_view>

#include "murphy/core/ids.h"

namespace murphy::raft {

enum class ProgressState : uint8_t { kProbe, kReplicate, kSnapshot };
std::string_view ProgressStateName(ProgressState state);

class Progress {
 public:
  // A fresh progress as a new leader sets it up: probe from just past its own log.
  Progress(LogIndex next, size_t max_inflight, bool learner);

  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  ProgressState state() const { return state_; }
  bool learner() const { return learner_; }
  void set_learner(bool learner) { learner_ = learner; }
  size_t inflight_count() const { return inflight_.size(); }

  // CheckQuorum bookkeeping: the leader's tick count when the peer last answered.
  uint64_t last_contact_tick() const { return last_contact_tick_; }
  void set_last_contact_tick(uint64_t tick) { last_contact_tick_ = tick; }

  // The highest ReadIndex round this peer has acknowledged.
  uint64_t read_round_acked() const { return read_round_acked_; }
  void AckReadRound(uint64_t round);

  // True when no append should be sent now: a probe is outstanding, or the
  // in-flight window is full.
  bool IsPaused() const;

  // An append carrying entries up to `last_index` was sent (`last_index` ==
  // next() - 1 for an empty probe). In kReplicate, `next` moves past it optimistically.
  void OnAppendSent(LogIndex last_index, bool has_entries);
  // A heartbeat answer arrived: a probe may be sent again.
  void OnHeartbeatResponse() { probe_sent_ = false; }
  // Frees the oldest in-flight slot. Used when a heartbeat answer shows the peer
  // alive while the window is full: the acknowledgements were probably lost, and one
  // more append will either be accepted or rejected back into probing.
  void FreeOldestInflight() {
    if (!inflight_.empty()) inflight_.pop_front();
  }

  // The peer acknowledged everything up to `index`. Returns true if match moved.
  bool MaybeUpdate(LogIndex index);
  // The peer rejected an append whose previous index was `rejected`, and suggests
  // `hint` as the last index that may match. Returns false for a stale rejection
  // (one about a message sent before a newer decision), which must be ignored.
  bool MaybeDecreaseTo(LogIndex rejected, LogIndex hint);

  void BecomeProbe();
  void BecomeReplicate();
  // Starts (or restarts) streaming the snapshot covering up to `snapshot_index`.
  void BecomeSnapshot(LogIndex snapshot_index);

  // kSnapshot bookkeeping, in chunks of the leader's chunk size.
  LogIndex pending_snapshot() const { return pending_snapshot_; }
  uint64_t next_chunk() const { return next_chunk_; }
  uint64_t acked_chunks() const { return acked_chunks_; }
  void OnChunkSent() { ++next_chunk_; }
  // The peer holds the first `chunks` chunks. Fewer than already acknowledged means
  // it lost them (a restart, or it restarted reassembly): resend from there.
  void OnChunksAcked(uint64_t chunks);
  // A heartbeat answer: if no chunk was acknowledged since the previous one, the
  // ones in flight are presumed lost; resend from the last acknowledged.
  void OnHeartbeatWhileSnapshotting();

 private:
  LogIndex match_;
  LogIndex next_;
  ProgressState state_ = ProgressState::kProbe;
  bool probe_sent_ = false;
  uint64_t last_contact_tick_ = 0;
  bool learner_;
  uint64_t read_round_acked_ = 0;
  size_t max_inflight_;
  LogIndex pending_snapshot_;
  uint64_t next_chunk_ = 0;
  uint64_t acked_chunks_ = 0;
  uint64_t acked_at_last_heartbeat_ = 0;
  // Last index of each in-flight append, oldest first; at most max_inflight_.
  std::deque<LogIndex> inflight_;
};

}  // namespace murphy::raft
