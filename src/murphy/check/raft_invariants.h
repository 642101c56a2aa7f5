// murphy/check/raft_invariants.h — Raft's safety properties, judged from a stream of
// neutral observations, so that the checker depends on nothing in raft/.
//
// Contract: a `RaftSafetyChecker` consumes observations in the order they happened
// (a simulation reports them as they occur, stamped with true time) and records
// violations of the four safety properties of the Raft paper (Ongaro & Ousterhout
// 2014, Figure 3):
//   election safety       at most one leader per term;
//   log matching          an (index, term) identifies one entry, and two logs that
//                         hold the same (index, term) are identical up to it;
//   leader completeness   an entry committed in term T is in the log of every leader
//                         of a term > T, at the moment it becomes leader;
//   state machine safety  no two nodes apply (or commit) different entries at one index.
// Entries are known by (index, term, hash of the data): the observer hashes the
// payload. Observations:
//   BecameLeader(node, term)        the node won the election for `term`. Report the
//                                   node's log before this, so it can be judged.
//   Log(node, from, entries)        the node's log from index `from` on is now exactly
//                                   `entries` (anything after is gone): an append, a
//                                   truncation of a conflicting suffix (entries may be
//                                   empty), or with from == 1 a snapshot of the whole log.
//   Committed(node, term, index)    the node's commit index reached `index` while its
//                                   current term was `term` (so every entry up to it
//                                   was committed in `term` or earlier; judging leaders
//                                   of later terms only is therefore sound).
//   Applied(node, index, data_hash) the node applied the entry at `index`.
// Log matching is checked on the logs as observed: whenever an entry is written, it is
// compared with every other node's current log at that index (the prefix comparison
// uses additive hashes of the prefixes, so each check is O(1)). Since a write at
// index i replaces everything after i, every pair of co-existing entries is compared.
// Memory: the current log of every node, every committed and applied index, and one
// copy of each leader's log as it was elected. Violations are kept up to a limit and
// counted beyond it. Log compaction (a log that starts after index 1) is not modelled.
//
// Observe() fails with InvalidArgument for an observation that contradicts the
// checker's own view of the node (a gap in the log, a commit beyond the log's end):
// that is an instrumentation bug, not a Raft bug. Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

struct RaftLogEntry {
  LogIndex index;
  Term term;
  uint64_t data_hash = 0;
};

struct RaftObservation {
  enum class Kind : uint8_t { kBecameLeader, kLog, kCommitted, kApplied };

  Kind kind = Kind::kBecameLeader;
  Instant time;
  NodeId node;
  Term term;             // kBecameLeader: the term won. kCommitted: the node's current term.
  LogIndex index;        // kLog: the first index replaced. kCommitted, kApplied: the index.
  uint64_t data_hash = 0;              // kApplied.
  std::vector<RaftLogEntry> entries;   // kLog: entries[i].index == index + i.

  static RaftObservation BecameLeader(Instant time, NodeId node, Term term) {
    return {Kind::kBecameLeader, time, node, term, LogIndex(), 0, {}};
  }
  static RaftObservation Log(Instant time, NodeId node, LogIndex from, std::vector<RaftLogEntry> entries) {
    return {Kind::kLog, time, node, Term(), from, 0, std::move(entries)};
  }
  static RaftObservation Committed(Instant time, NodeId node, Term current_term, LogIndex commit_index) {
    return {Kind::kCommitted, time, node, current_term, commit_index, 0, {}};
  }
  static RaftObservation Applied(Instant time, NodeId node, LogIndex index, uint64_t data_hash) {
    return {Kind::kApplied, time, node, Term(), index, data_hash, {}};
  }
};

enum class RaftInvariant : uint8_t { kElectionSafety, kLogMatching, kLeaderCompleteness, kStateMachineSafety };

// "election safety", "log matching", "leader completeness", "state machine safety".
std::string_view RaftInvariantName(RaftInvariant invariant);

struct RaftViolation {
  RaftInvariant invariant;
  Instant time;  // Of the observation that revealed it.
  std::string description;
};

class RaftSafetyChecker {
 public:
  explicit RaftSafetyChecker(size_t max_violations_kept = 100) : max_violations_kept_(max_violations_kept) {}

  // Judges one observation. OK unless the observation is malformed (see above); a
  // safety violation is not an error of this call: it is recorded in violations().
  Status Observe(const RaftObservation& observation);

  bool ok() const { return violation_count_ == 0; }
  // The first `max_violations_kept` violations, in the order found.
  const std::vector<RaftViolation>& violations() const { return violations_; }
  uint64_t violation_count() const { return violation_count_; }
  // "raft safety: ok" or one line per kept violation.
  std::string Report() const;

 private:
  struct StoredEntry {
    Term term;
    uint64_t data_hash;
    uint64_t prefix;  // Additive hash of entries 1..index.
  };
  struct NodeState {
    std::vector<StoredEntry> log;  // log[i] is index i + 1.
    uint64_t commit_checked = 0;   // Entries up to here were recorded as committed.
  };
  struct Origin {
    uint64_t data_hash;
    NodeId node;
    Instant time;
  };
  struct Committed {
    Term term;
    uint64_t data_hash;
    Term commit_term;  // The lowest term in which it was seen committed.
    NodeId node;
    Instant time;
  };
  struct Leader {
    NodeId node;
    Instant time;
    std::vector<StoredEntry> log;  // As elected.
  };

  void OnBecameLeader(const RaftObservation& observation);
  Status OnLog(const RaftObservation& observation);
  Status OnCommitted(const RaftObservation& observation);
  void OnApplied(const RaftObservation& observation);
  void CheckLeaderHas(Term leader_term, const Leader& leader, uint64_t index, const Committed& entry,
                      Instant time);
  void Violation(RaftInvariant invariant, Instant time, std::string description);

  size_t max_violations_kept_;
  std::map<NodeId, NodeState> nodes_;
  std::map<Term, Leader> leaders_;
  // (index, term) -> the entry first seen there.
  std::map<std::pair<uint64_t, uint64_t>, Origin> entries_;
  std::map<uint64_t, Committed> committed_;
  std::unordered_map<uint64_t, Origin> applied_;
  std::vector<RaftViolation> violations_;
  uint64_t violation_count_ = 0;
};

}  // namespace murphy
