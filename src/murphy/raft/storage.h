// murphy/raft/storage.h — an in-memory model of a node's stable storage.
//
// Contract: `MemoryStorage` is what a node's disk holds for Raft: the hard state and
// the log. `Persist(ready)` performs step 2 of the RawNode loop (raw_node.h) — it
// stores the hard state and appends the entries, replacing any stored suffix they
// overlap — and `Restore()` builds the RestoreState a restarted node starts from. It
// is the reference the node shell's WAL must behave like, and the disk of the test
// harness (a crash loses nothing persisted, everything not). Thread safety: none.
#pragma once

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

  // Makes the Ready's hard state and entries durable.
  void Persist(const Ready& ready);
  // What a node restarting from this disk recovers (applied = 0: the harness's state
  // machines are volatile and replay the log).
  RestoreState Restore() const;

  const HardState& hard_state() const { return hard_state_; }
  const std::vector<Entry>& entries() const { return entries_; }
  DurableState durable() const;

 private:
  Membership membership_;
  HardState hard_state_;
  std::vector<Entry> entries_;  // entries_[i] has index i + 1.
};

}  // namespace murphy::raft
