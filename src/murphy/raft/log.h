// murphy/raft/log.h — Raft's view of its log: entries, what is durable, committed,
// and handed to the state machine.
//
// Contract: `RaftLog` holds every entry after `offset()` (the index covered by the
// last compaction; 0 at the start) in memory, and four marks over it:
//
//   offset <= applied <= committed <= last,   applied <= stable <= last
//
// `stable` is the highest index known durable in the node shell's storage; entries in
// (stable, last] are "unstable" and are handed out in the next Ready. `applied` is
// the highest index handed to the state machine. Only stable entries are applied, so
// an entry is never applied on a node that could lose it in a crash.
//
// Departure from etcd raft: etcd reads stable entries back through a `Storage`
// interface; here the whole uncompacted log stays in memory (the node shell's WAL is
// the durable copy, read only on restart). This keeps the core free of a read path
// from disk; memory is bounded by compacting after snapshots.
// Thread safety: none; owned by one Raft.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

class RaftLog {
 public:
  // A log whose first `offset` entries were compacted away, the last of them having
  // `offset_term`, followed by `entries` which are all durable (a restart).
  // REQUIRES: entries are contiguous from offset + 1 with non-decreasing terms >=
  // offset_term; commit <= offset + entries.size().
  RaftLog(LogIndex offset, Term offset_term, std::vector<Entry> entries, LogIndex commit);

  LogIndex offset() const { return offset_; }
  Term offset_term() const { return offset_term_; }
  LogIndex first_index() const { return offset_.next(); }
  LogIndex last_index() const { return LogIndex(offset_.value() + entries_.size()); }
  Term last_term() const;
  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  LogIndex stable() const { return stable_; }

  // The term of the entry at `index`, or nullopt when the index was compacted away
  // or lies beyond the last entry. The term at offset() is known (offset_term).
  std::optional<Term> TermAt(LogIndex index) const;
  // REQUIRES: offset() <= index <= last_index().
  Term TermAtOrDie(LogIndex index) const;
  bool MatchTerm(LogIndex index, Term term) const;
  // REQUIRES: offset() < index <= last_index().
  const Entry& EntryAt(LogIndex index) const;

  // The election restriction (Raft §5.4.1): is a log ending at (last_term,
  // last_index) at least as up to date as this one?
  bool IsUpToDate(LogIndex other_last_index, Term other_last_term) const;

  // The entries in [low, high), at most `max_count` of them and at most `max_bytes`
  // by EntryCostBytes — but always at least one if the range is non-empty, so a
  // single large entry still makes progress. REQUIRES: first_index() <= low <=
  // high <= last_index() + 1; max_count >= 1.
  std::vector<Entry> Slice(LogIndex low, LogIndex high, uint64_t max_count, uint64_t max_bytes) const;

  // Leader side: appends entries that follow the last one. REQUIRES: entries are
  // contiguous from last_index() + 1 and their terms do not decrease.
  void Append(std::span<const Entry> entries);

  // Follower side (AppendEntries receiver, Raft §5.3): if the entry at prev_index has
  // prev_term, drops any conflicting suffix, appends what is new, and returns the
  // index of the last entry of the message (prev_index + entries.size()); otherwise
  // nullopt and the log is unchanged. Never truncates committed entries (asserts).
  // `first_changed`, if given, receives the lowest index whose entry was replaced or
  // added (last_index() + 1 if none), so the caller can re-derive what it keeps
  // about the log's contents (the configuration, which is rolled back with the
  // entries that carried it).
  std::optional<LogIndex> MaybeAppend(LogIndex prev_index, Term prev_term, std::span<const Entry> entries,
                                      LogIndex* first_changed = nullptr);

  // The largest index <= `index` whose term is <= `term` (the fast-backtracking
  // hint, thesis §5.3's optimisation in etcd's form). Returns offset() if none.
  // REQUIRES: index <= last_index().
  LogIndex FindConflictByTerm(LogIndex index, Term term) const;

  // Advances committed; never moves it back. REQUIRES: index <= last_index().
  void CommitTo(LogIndex index);
  // Marks entries up to `index` durable if the entry there still has `term` (it may
  // have been replaced since the Ready that carried it was taken).
  void StableTo(LogIndex index, Term term);
  // Marks entries up to `index` handed to the state machine.
  // REQUIRES: applied() <= index <= min(committed(), stable()).
  void AppliedTo(LogIndex index);

  // Log compaction after the state machine took a snapshot at `index`: drops the
  // entries up to it, which become the new offset. REQUIRES: offset() < index <=
  // applied() (so they are committed, durable and applied).
  void CompactTo(LogIndex index);
  // Installing a snapshot from the leader that covers (index, term): the whole log
  // is replaced by it (offset = index; nothing after). Committed, applied and stable
  // all move to `index`: the snapshot is handed to the node shell to persist and
  // restore before anything later is applied, so nothing after it can be applied
  // ahead of it. REQUIRES: index > committed() (a snapshot at or below the commit
  // index is never installed; the entries are already there).
  void RestoreSnapshot(LogIndex index, Term term);

  // Entries (stable, last]: to be persisted.
  std::vector<Entry> UnstableEntries() const;
  bool HasUnstableEntries() const { return stable_ < last_index(); }
  // Entries (applied, min(committed, stable)], at most max_bytes (at least one).
  std::vector<Entry> NextEntriesToApply(uint64_t max_bytes) const;
  bool HasEntriesToApply() const;

  // Bytes (by EntryCostBytes) of entries in (from, last]; for the leader's
  // uncommitted-bytes limit.
  uint64_t CostBytesAfter(LogIndex from) const;

 private:
  void CheckInvariants() const;

  LogIndex offset_;
  Term offset_term_;
  std::vector<Entry> entries_;  // entries_[i] has index offset_ + 1 + i.
  LogIndex committed_;
  LogIndex applied_;
  LogIndex stable_;
};

}  // namespace murphy::raft
