#include "murphy/raft/storage.h"

#include "murphy/core/assert.h"

namespace murphy::raft {

void MemoryStorage::Persist(const Ready& ready) {
  if (ready.hard_state.has_value()) {
    MURPHY_ASSERT_MSG(ready.hard_state->term >= hard_state_.term, "durable term must not go back");
    hard_state_ = *ready.hard_state;
  }
  if (ready.entries.empty()) return;
  const LogIndex first = ready.entries.front().index;
  MURPHY_ASSERT(first.value() >= 1);
  MURPHY_ASSERT_MSG(first.value() <= entries_.size() + 1, "a gap in the durable log");
  entries_.resize(first.value() - 1);
  for (const Entry& entry : ready.entries) {
    MURPHY_ASSERT(entry.index.value() == entries_.size() + 1);
    entries_.push_back(entry);
  }
}

RestoreState MemoryStorage::Restore() const {
  RestoreState restore;
  restore.hard_state = hard_state_;
  restore.membership = membership_;
  restore.entries = entries_;
  // Commit and the entries it covers are persisted by the same Ready.
  MURPHY_ASSERT(restore.hard_state.commit.value() <= entries_.size());
  return restore;
}

DurableState MemoryStorage::durable() const { return {hard_state_, LogIndex(entries_.size())}; }

}  // namespace murphy::raft
