#include "murphy/check/raft_invariants.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/core/rng.h"

namespace murphy {
namespace {

// An entry's contribution to its log's prefix hash. Mixing in the index makes the
// sum order-sensitive; additivity makes the hash of a range a difference.
uint64_t EntryHash(uint64_t index, Term term, uint64_t data_hash) {
  uint64_t state = index * 0x9e3779b97f4a7c15ull ^ term.value();
  uint64_t mixed = SplitMix64(&state);
  state = mixed ^ data_hash;
  return SplitMix64(&state);
}

std::string Hex(uint64_t value) {
  char buffer[19];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

std::string Node(NodeId node) { return "node " + std::to_string(node.value()); }

std::string Entry(uint64_t index, Term term, uint64_t data_hash) {
  return "(index " + std::to_string(index) + ", term " + std::to_string(term.value()) + ", data " +
         Hex(data_hash) + ")";
}

}  // namespace

std::string_view RaftInvariantName(RaftInvariant invariant) {
  switch (invariant) {
    case RaftInvariant::kElectionSafety:
      return "election safety";
    case RaftInvariant::kLogMatching:
      return "log matching";
    case RaftInvariant::kLeaderCompleteness:
      return "leader completeness";
    case RaftInvariant::kStateMachineSafety:
      return "state machine safety";
  }
  MURPHY_UNREACHABLE();
}

Status RaftSafetyChecker::Observe(const RaftObservation& observation) {
  switch (observation.kind) {
    case RaftObservation::Kind::kBecameLeader:
      OnBecameLeader(observation);
      return Status::Ok();
    case RaftObservation::Kind::kLog:
      return OnLog(observation);
    case RaftObservation::Kind::kCommitted:
      return OnCommitted(observation);
    case RaftObservation::Kind::kApplied:
      OnApplied(observation);
      return Status::Ok();
  }
  MURPHY_UNREACHABLE();
}

void RaftSafetyChecker::Violation(RaftInvariant invariant, Instant time, std::string description) {
  ++violation_count_;
  if (violations_.size() < max_violations_kept_) {
    violations_.push_back(RaftViolation{invariant, time, std::move(description)});
  }
}

void RaftSafetyChecker::OnBecameLeader(const RaftObservation& observation) {
  auto found = leaders_.find(observation.term);
  if (found != leaders_.end()) {
    if (found->second.node != observation.node) {
      Violation(RaftInvariant::kElectionSafety, observation.time,
                "term " + std::to_string(observation.term.value()) + " has two leaders: " +
                    Node(found->second.node) + " (at " + FormatInstant(found->second.time) + ") and " +
                    Node(observation.node) + " (at " + FormatInstant(observation.time) + ")");
    }
    return;  // The same node reported twice: nothing new to judge.
  }
  Leader& leader = leaders_[observation.term];
  leader.node = observation.node;
  leader.time = observation.time;
  leader.log = nodes_[observation.node].log;
  for (const auto& [index, entry] : committed_) {
    if (entry.commit_term < observation.term) {
      CheckLeaderHas(observation.term, leader, index, entry, observation.time);
    }
  }
}

void RaftSafetyChecker::CheckLeaderHas(Term leader_term, const Leader& leader, uint64_t index,
                                       const Committed& entry, Instant time) {
  if (index <= leader.log.size()) {
    const StoredEntry& held = leader.log[index - 1];
    if (held.term == entry.term && held.data_hash == entry.data_hash) return;
  }
  std::string held = index <= leader.log.size()
                         ? "holds " + Entry(index, leader.log[index - 1].term, leader.log[index - 1].data_hash)
                         : "has only " + std::to_string(leader.log.size()) + " entries";
  Violation(RaftInvariant::kLeaderCompleteness, time,
            Node(leader.node) + " became leader of term " + std::to_string(leader_term.value()) + " at " +
                FormatInstant(leader.time) + " without the entry " + Entry(index, entry.term, entry.data_hash) +
                " committed in term " + std::to_string(entry.commit_term.value()) + " (seen committed by " +
                Node(entry.node) + " at " + FormatInstant(entry.time) + "); its log " + held);
}

Status RaftSafetyChecker::OnLog(const RaftObservation& observation) {
  NodeState& node = nodes_[observation.node];
  const uint64_t from = observation.index.value();
  if (from < 1 || from > node.log.size() + 1) {
    return InvalidArgumentError(Node(observation.node) + ": log observation from index " + std::to_string(from) +
                                " leaves a gap after its " + std::to_string(node.log.size()) + " entries");
  }
  for (size_t i = 0; i < observation.entries.size(); ++i) {
    if (observation.entries[i].index.value() != from + i) {
      return InvalidArgumentError(Node(observation.node) + ": log observation entries are not contiguous from " +
                                  std::to_string(from));
    }
  }
  node.log.resize(from - 1);
  node.commit_checked = std::min<uint64_t>(node.commit_checked, from - 1);
  for (const RaftLogEntry& entry : observation.entries) {
    const uint64_t index = entry.index.value();
    const uint64_t previous = node.log.empty() ? 0 : node.log.back().prefix;
    node.log.push_back(StoredEntry{entry.term, entry.data_hash,
                                   previous + EntryHash(index, entry.term, entry.data_hash)});
    // One entry per (index, term), ever.
    auto [origin, inserted] = entries_.try_emplace(std::make_pair(index, entry.term.value()),
                                                   Origin{entry.data_hash, observation.node, observation.time});
    if (!inserted && origin->second.data_hash != entry.data_hash) {
      Violation(RaftInvariant::kLogMatching, observation.time,
                "two different entries at index " + std::to_string(index) + " in term " +
                    std::to_string(entry.term.value()) + ": data " + Hex(origin->second.data_hash) + " on " +
                    Node(origin->second.node) + " (at " + FormatInstant(origin->second.time) + "), data " +
                    Hex(entry.data_hash) + " on " + Node(observation.node));
    }
  }
  // Same (index, term) on two nodes => same prefix. Compare each new entry with every
  // other node's current log; report a pair once per observation.
  for (auto& [other_id, other] : nodes_) {
    if (other_id == observation.node) continue;
    for (const RaftLogEntry& entry : observation.entries) {
      const uint64_t index = entry.index.value();
      if (index > other.log.size() || other.log[index - 1].term != entry.term) continue;
      if (other.log[index - 1].prefix == node.log[index - 1].prefix) continue;
      uint64_t first = 1;
      while (first <= index && other.log[first - 1].term == node.log[first - 1].term &&
             other.log[first - 1].data_hash == node.log[first - 1].data_hash) {
        ++first;
      }
      MURPHY_ASSERT(first <= index);
      Violation(RaftInvariant::kLogMatching, observation.time,
                Node(observation.node) + " and " + Node(other_id) + " both hold index " + std::to_string(index) +
                    " of term " + std::to_string(entry.term.value()) + " but their logs differ at index " +
                    std::to_string(first) + ": " +
                    Entry(first, node.log[first - 1].term, node.log[first - 1].data_hash) + " vs " +
                    Entry(first, other.log[first - 1].term, other.log[first - 1].data_hash));
      break;
    }
  }
  return Status::Ok();
}

Status RaftSafetyChecker::OnCommitted(const RaftObservation& observation) {
  NodeState& node = nodes_[observation.node];
  const uint64_t commit = observation.index.value();
  if (commit > node.log.size()) {
    return InvalidArgumentError(Node(observation.node) + ": commit index " + std::to_string(commit) +
                                " beyond its " + std::to_string(node.log.size()) + " observed entries");
  }
  for (uint64_t index = node.commit_checked + 1; index <= commit; ++index) {
    const StoredEntry& stored = node.log[index - 1];
    auto [found, inserted] = committed_.try_emplace(
        index, Committed{stored.term, stored.data_hash, observation.term, observation.node, observation.time});
    Committed& entry = found->second;
    // Leaders of terms above `judged_up_to` were judged against this entry already.
    Term judged_up_to(~uint64_t{0});
    if (!inserted) {
      if (entry.term != stored.term || entry.data_hash != stored.data_hash) {
        Violation(RaftInvariant::kStateMachineSafety, observation.time,
                  "two different entries committed at index " + std::to_string(index) + ": " +
                      Entry(index, entry.term, entry.data_hash) + " by " + Node(entry.node) + " (at " +
                      FormatInstant(entry.time) + ") and " + Entry(index, stored.term, stored.data_hash) + " by " +
                      Node(observation.node));
        continue;
      }
      if (observation.term >= entry.commit_term) continue;  // Nothing new to judge.
      judged_up_to = entry.commit_term;
      entry.commit_term = observation.term;
    }
    // Leaders of later terms that are already known must have had it when elected.
    const auto end = leaders_.upper_bound(judged_up_to);
    for (auto leader = leaders_.upper_bound(entry.commit_term); leader != end; ++leader) {
      CheckLeaderHas(leader->first, leader->second, index, entry, observation.time);
    }
  }
  node.commit_checked = std::max(node.commit_checked, commit);
  return Status::Ok();
}

void RaftSafetyChecker::OnApplied(const RaftObservation& observation) {
  const uint64_t index = observation.index.value();
  auto [found, inserted] =
      applied_.try_emplace(index, Origin{observation.data_hash, observation.node, observation.time});
  if (!inserted && found->second.data_hash != observation.data_hash) {
    Violation(RaftInvariant::kStateMachineSafety, observation.time,
              "two different entries applied at index " + std::to_string(index) + ": data " +
                  Hex(found->second.data_hash) + " by " + Node(found->second.node) + " (at " +
                  FormatInstant(found->second.time) + ") and data " + Hex(observation.data_hash) + " by " +
                  Node(observation.node) + " (at " + FormatInstant(observation.time) + ")");
  }
}

std::string RaftSafetyChecker::Report() const {
  if (ok()) return "raft safety: ok\n";
  std::string text = "raft safety: " + std::to_string(violation_count_) + " violation(s)\n";
  for (const RaftViolation& violation : violations_) {
    text += "  " + std::string(RaftInvariantName(violation.invariant)) + " at " + FormatInstant(violation.time) +
            ": " + violation.description + "\n";
  }
  if (violations_.size() < violation_count_) {
    text += "  ... and " + std::to_string(violation_count_ - violations_.size()) + " more\n";
  }
  return text;
}

}  // namespace murphy
