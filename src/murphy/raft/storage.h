// murphy/raft/storage.h — an in-memory model of a node's stable storage.
//
// Contract: `MemoryStorage` is what a node's disk holds for Raft: the hard state,
// the latest snapshot, and the log after it. `Persist(ready)` performs step 2 of the
// RawNode loop (raw_node.h) — it stores a received snapshot (dropping every stored
// entry), the hard state, and appends the entries, replacing any stored suffix
// they overlap — `Compact(snapshot)` stores a snapshot the node took itself and
// drops the entries it covers, and `Restore()` builds the RestoreState a restarted
// node starts from. It is the reference the node shell's WAL must behave like, and
// the disk of the test harness (a crash loses nothing persisted, everything not).
// Thread safety: none.
#pragma once

#include <optional>
#include <vector>

#include "murphy/raft/durability.h"
#include "murphy/raft/raft.h"
#include "murphy/raft/raw_node.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

class MemoryStorage {
 public:
  // An empty disk of a node bootstrapped with `membership`.
  explicit MemoryStorage(Membership membership) : membership_(std::move(membership)) {}

  // Makes the Ready's snapshot, hard state and entries durable.
  void Persist(const Ready& ready);
  // Stores a snapshot taken locally and drops the entries up to its index.
  // REQUIRES: offset() < snapshot index <= last stored index.
  void Compact(const Snapshot& snapshot);
  // What a node restarting from this disk recovers (applied = the snapshot's
  // index: the harness's state machines are volatile and restore from the snapshot,
  // then replay the log).
  RestoreState Restore() const;

  const HardState& hard_state() const { return hard_state_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  // The index the stored snapshot covers (0 without one).
  LogIndex offset() const { return snapshot_.has_value() ? snapshot_->metadata.index : LogIndex(0); }
  const std::vector<Entry>& entries() const { return entries_; }
  LogIndex last_index() const { return LogIndex(offset().value() + entries_.size()); }
  DurableState durable() const;

 private:
  Membership membership_;
  HardState hard_state_;
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;  // entries_[i] has index offset() + 1 + i.
};

}  // namespace murphy::raft
