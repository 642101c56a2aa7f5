#include "murphy/raft/log.h"

#include <algorithm>

#include "murphy/core/assert.h"

namespace murphy::raft {

RaftLog::RaftLog(LogIndex offset, Term offset_term, std::vector<Entry> entries, LogIndex commit)
    : offset_(offset),
      offset_term_(offset_term),
      entries_(std::move(entries)),
      committed_(commit),
      applied_(offset),
      stable_(last_index()) {
  MURPHY_ASSERT(committed_ >= offset_);
  MURPHY_ASSERT(committed_ <= last_index());
  Term previous = offset_term_;
  for (size_t i = 0; i < entries_.size(); ++i) {
    MURPHY_ASSERT(entries_[i].index.value() == offset_.value() + 1 + i);
    MURPHY_ASSERT(entries_[i].term >= previous);
    previous = entries_[i].term;
  }
  CheckInvariants();
}

void RaftLog::CheckInvariants() const {
  MURPHY_ASSERT(offset_ <= applied_);
  MURPHY_ASSERT(applied_ <= committed_);
  MURPHY_ASSERT(committed_ <= last_index());
  MURPHY_ASSERT(applied_ <= stable_);
  MURPHY_ASSERT(stable_ <= last_index());
}

Term RaftLog::last_term() const { return entries_.empty() ? offset_term_ : entries_.back().term; }

const Entry& RaftLog::EntryAt(LogIndex index) const {
  MURPHY_ASSERT(index > offset_);
  MURPHY_ASSERT(index <= last_index());
  const Entry& entry = entries_[index.value() - offset_.value() - 1];
  MURPHY_ASSERT(entry.index == index);
  return entry;
}

std::optional<Term> RaftLog::TermAt(LogIndex index) const {
  if (index < offset_ || index > last_index()) return std::nullopt;
  if (index == offset_) return offset_term_;
  return EntryAt(index).term;
}

Term RaftLog::TermAtOrDie(LogIndex index) const {
  std::optional<Term> term = TermAt(index);
  MURPHY_ASSERT_MSG(term.has_value(), "term of a compacted or missing index");
  return *term;
}

bool RaftLog::MatchTerm(LogIndex index, Term term) const {
  std::optional<Term> found = TermAt(index);
  return found.has_value() && *found == term;
}

bool RaftLog::IsUpToDate(LogIndex other_last_index, Term other_last_term) const {
  // Raft §5.4.1: the later term wins; with equal terms, the longer log.
  if (other_last_term != last_term()) return other_last_term > last_term();
  return other_last_index >= last_index();
}

std::vector<Entry> RaftLog::Slice(LogIndex low, LogIndex high, uint64_t max_count, uint64_t max_bytes) const {
  MURPHY_ASSERT(low >= first_index());
  MURPHY_ASSERT(low <= high);
  MURPHY_ASSERT(high <= last_index().next());
  MURPHY_ASSERT(max_count >= 1);
  std::vector<Entry> result;
  uint64_t bytes = 0;
  for (LogIndex index = low; index < high; index = index.next()) {
    const Entry& entry = EntryAt(index);
    uint64_t cost = EntryCostBytes(entry);
    if (!result.empty() && (result.size() >= max_count || bytes + cost > max_bytes)) break;
    bytes += cost;
    result.push_back(entry);
  }
  return result;
}

void RaftLog::Append(std::span<const Entry> entries) {
  for (const Entry& entry : entries) {
    MURPHY_ASSERT(entry.index == last_index().next());
    MURPHY_ASSERT(entry.term >= last_term());
    entries_.push_back(entry);
  }
  CheckInvariants();
}

std::optional<LogIndex> RaftLog::MaybeAppend(LogIndex prev_index, Term prev_term,
                                             std::span<const Entry> entries, LogIndex* first_changed) {
  if (first_changed != nullptr) *first_changed = last_index().next();
  if (!MatchTerm(prev_index, prev_term)) return std::nullopt;
  LogIndex message_last(prev_index.value() + entries.size());
  // Skip the entries we already have; the first one whose term differs is a
  // conflict: delete it and all that follow (Raft §5.3, receiver rule 3). Entries
  // at or below the offset are covered by a snapshot and so already committed.
  size_t i = 0;
  for (; i < entries.size(); ++i) {
    const Entry& entry = entries[i];
    MURPHY_ASSERT(entry.index.value() == prev_index.value() + 1 + i);
    if (entry.index <= offset_) continue;
    if (entry.index > last_index()) break;
    if (EntryAt(entry.index).term != entry.term) {
      MURPHY_ASSERT_MSG(entry.index > committed_, "a leader asked to overwrite a committed entry");
      entries_.resize(entry.index.value() - offset_.value() - 1);
      if (stable_ >= entry.index) stable_ = LogIndex(entry.index.value() - 1);
      if (first_changed != nullptr) *first_changed = entry.index;
      break;
    }
  }
  for (; i < entries.size(); ++i) {
    if (entries[i].index <= last_index()) continue;
    MURPHY_ASSERT(entries[i].index == last_index().next());
    MURPHY_ASSERT(entries[i].term >= last_term());
    entries_.push_back(entries[i]);
  }
  CheckInvariants();
  return message_last;
}

LogIndex RaftLog::FindConflictByTerm(LogIndex index, Term term) const {
  MURPHY_ASSERT(index <= last_index());
  while (index > offset_) {
    if (EntryAt(index).term <= term) return index;
    index = LogIndex(index.value() - 1);
  }
  return offset_;
}

void RaftLog::CompactTo(LogIndex index) {
  MURPHY_ASSERT(index > offset_);
  MURPHY_ASSERT_MSG(index <= applied_, "compacting entries not yet applied");
  offset_term_ = EntryAt(index).term;
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(index.value() - offset_.value()));
  offset_ = index;
  CheckInvariants();
}

void RaftLog::RestoreSnapshot(LogIndex index, Term term) {
  MURPHY_ASSERT_MSG(index > committed_, "installing a snapshot the log already covers");
  entries_.clear();
  offset_ = index;
  offset_term_ = term;
  committed_ = index;
  applied_ = index;
  stable_ = index;
  CheckInvariants();
}

void RaftLog::CommitTo(LogIndex index) {
  if (index <= committed_) return;
  MURPHY_ASSERT_MSG(index <= last_index(), "commit beyond the end of the log");
  committed_ = index;
  CheckInvariants();
}

void RaftLog::StableTo(LogIndex index, Term term) {
  if (index <= stable_) return;
  if (!MatchTerm(index, term)) return;  // replaced since; the new entries are unstable.
  stable_ = index;
  CheckInvariants();
}

void RaftLog::AppliedTo(LogIndex index) {
  MURPHY_ASSERT(index >= applied_);
  MURPHY_ASSERT(index <= committed_);
  MURPHY_ASSERT(index <= stable_);
  applied_ = index;
}

std::vector<Entry> RaftLog::UnstableEntries() const {
  if (!HasUnstableEntries()) return {};
  return {entries_.begin() + static_cast<ptrdiff_t>(stable_.value() - offset_.value()), entries_.end()};
}

bool RaftLog::HasEntriesToApply() const { return applied_ < std::min(committed_, stable_); }

std::vector<Entry> RaftLog::NextEntriesToApply(uint64_t max_bytes) const {
  if (!HasEntriesToApply()) return {};
  LogIndex high = std::min(committed_, stable_).next();
  return Slice(applied_.next(), high, UINT64_MAX, max_bytes);
}

uint64_t RaftLog::CostBytesAfter(LogIndex from) const {
  uint64_t bytes = 0;
  for (LogIndex index = std::max(from, offset_).next(); index <= last_index(); index = index.next()) {
    bytes += EntryCostBytes(EntryAt(index));
  }
  return bytes;
}

}  // namespace murphy::raft
