#include "murphy/raft/storage.h"

#include "murphy/core/assert.h"

namespace murphy::raft {

void MemoryStorage::Persist(const Ready& ready) {
  if (ready.snapshot.has_value()) {
    MURPHY_ASSERT_MSG(ready.snapshot->metadata.index > offset(), "a snapshot older than the stored one");
    snapshot_ = *ready.snapshot;
    entries_.clear();
  }
  if (ready.hard_state.has_value()) {
    MURPHY_ASSERT_MSG(ready.hard_state->term >= hard_state_.term, "durable term must not go back");
    hard_state_ = *ready.hard_state;
  }
  if (ready.entries.empty()) return;
  const LogIndex first = ready.entries.front().index;
  MURPHY_ASSERT_MSG(first > offset(), "entries covered by the snapshot");
  MURPHY_ASSERT_MSG(first <= last_index().next(), "a gap in the durable log");
  entries_.resize(first.value() - offset().value() - 1);
  for (const Entry& entry : ready.entries) {
    MURPHY_ASSERT(entry.index == last_index().next());
    entries_.push_back(entry);
  }
}

void MemoryStorage::Compact(const Snapshot& snapshot) {
  const LogIndex index = snapshot.metadata.index;
  MURPHY_ASSERT(index > offset());
  MURPHY_ASSERT(index <= last_index());
  MURPHY_ASSERT(entries_[index.value() - offset().value() - 1].term == snapshot.metadata.term);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(index.value() - offset().value()));
  snapshot_ = snapshot;
}

RestoreState MemoryStorage::Restore() const {
  RestoreState restore;
  restore.hard_state = hard_state_;
  restore.membership = membership_;
  restore.snapshot = snapshot_;
  restore.entries = entries_;
  restore.applied = offset();
  // Commit and the entries it covers are persisted by the same Ready.
  MURPHY_ASSERT(restore.hard_state.commit <= last_index());
  return restore;
}

DurableState MemoryStorage::durable() const { return {hard_state_, last_index()}; }

}  // namespace murphy::raft
