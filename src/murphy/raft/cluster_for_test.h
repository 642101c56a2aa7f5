// murphy/raft/cluster_for_test.h — an in-memory network of RawNodes for tests.
//
// Contract (test-only): `Cluster` owns N nodes, each a RawNode with a MemoryStorage
// "disk", and a queue of in-flight messages. Everything is driven explicitly by the
// test — ticks, Ready processing, delivery (in order, or any message out of order),
// drops, partitions, crashes (losing all that is not persisted) and restarts — so a
// run is a pure function of its inputs and seed. While it runs it checks:
//   - persist before send: every message put on the wire passes CheckSendAllowed
//     against its sender's durable state at that moment;
//   - election safety: at most one leader per term;
//   - leader completeness: a new leader's log holds every entry applied anywhere,
//     and every entry some node saw committed while its term was below the
//     leader's (an entry committed in term t is in every leader of a term > t;
//     a node at term u learns of commits only from terms <= u);
//   - committed entries agree: no two nodes ever hold different committed
//     entries at one index;
//   - acknowledged entries kept: while a node stays in the term in which it
//     acknowledged an append up to index i, its log keeps that entry at i (the
//     leader counts the acknowledgement towards a quorum: losing the entry, e.g.
//     to a stale leader's append, could unmake a commit);
//   - state machine safety: no two nodes apply different entries at one index;
//   - log matching (CheckLogMatching): logs equal in an entry are equal before it;
//   - snapshots: a state machine restored from a snapshot holds exactly the entries
//     applied anywhere at those indexes (the harness's state machine is the list of
//     entries it applied; a snapshot is that list, encoded);
//   - membership: at every moment a leader's log holds at most one uncommitted
//     configuration change, and only once the leader has committed an entry of its
//     term; consecutive configurations in any log differ by at most one voter
//     (CheckLogMatching). With election safety, this is the thesis' argument that
//     no two disjoint majorities can elect leaders (§4.1, with the 2015 fix).
// A violation fails the test through ADD_FAILURE with the seed — or, with
// `collect_violations` (mutation tests, which expect them), is only recorded in
// violations(). Each message starts with the invariant's name ("election safety:",
// "sent before synced:", ...). `RunRandomCluster` below is the seeded randomized
// workload shared by random_cluster_test.cc and mutation_test.cc.
// Thread safety: none.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/raft/membership.h"
#include "murphy/raft/raw_node.h"
#include "murphy/raft/storage.h"

namespace murphy::raft::testing {

struct ClusterOptions {
  int voters = 3;
  int learners = 0;
  uint64_t seed = 1;
  Config base;  // id and seed are filled in per node.
  // Record violations instead of failing the test (for runs expected to fail).
  bool collect_violations = false;
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& options);

  std::vector<NodeId> ids() const;
  bool alive(NodeId id) const { return nodes_.at(id).raw != nullptr; }
  // REQUIRES: alive(id).
  RawNode& node(NodeId id);
  const Raft& raft(NodeId id) const;
  const MemoryStorage& storage(NodeId id) const { return nodes_.at(id).storage; }
  const std::vector<Entry>& applied(NodeId id) const { return nodes_.at(id).applied; }
  const std::vector<ReadState>& reads(NodeId id) const { return nodes_.at(id).reads; }

  // --- Inputs (each followed by invariant observation) -------------------------
  void Tick(NodeId id, int count = 1);
  void TickAll(int count = 1);
  void Campaign(NodeId id);
  Status ReportLeaderFailure(NodeId id);
  Result<LogIndex> Propose(NodeId id, std::string data);
  Status ReadIndex(NodeId id, uint64_t request_id);
  Status TransferLeadership(NodeId id, NodeId target);
  Result<LogIndex> ProposeMembershipChange(NodeId id, const ConfigChange& change);
  // The node shell's snapshot-then-compact: stores a snapshot of `id`'s state
  // machine at `index` (default: its applied index) on its disk, then calls
  // RawNode::Compact. Returns Compact's status (the disk is untouched on error).
  Status Compact(NodeId id, std::optional<LogIndex> index = std::nullopt);
  // Starts a brand-new node `id` (not yet a member) with the bootstrap membership
  // and an empty disk, as a joining node is started. REQUIRES: id is new.
  void AddNode(NodeId id);
  // Starts a brand-new node `id` with NO configuration and an empty disk, as
  // murphyd --join starts one: it must wait for the leader's snapshot.
  void AddUnconfiguredNode(NodeId id);

  // Handles one Ready of `id` the way a correct node shell does: send `messages`,
  // persist, send `messages_after_persist`, apply, Advance. False if none.
  bool ProcessReady(NodeId id);
  // Delivers every queued message once, in order (dropping those a partition cuts).
  // Returns the number taken off the queue.
  size_t DeliverAll();
  // Delivers (or, with `duplicate`, copies) the queued message at `position`.
  void DeliverAt(size_t position, bool duplicate = false);
  void DropAt(size_t position);
  size_t in_flight() const { return network_.size(); }
  const Message& in_flight_at(size_t position) const { return network_.at(position); }
  // Ready processing and delivery until nothing moves (bounded); returns rounds.
  int Stabilize(int max_rounds = 10000);

  // --- Faults -----------------------------------------------------------------
  // Messages between different groups are dropped; nodes in no group are isolated.
  void Partition(const std::vector<std::vector<NodeId>>& groups);
  void Heal() { group_of_.clear(); }
  void Crash(NodeId id);
  void Restart(NodeId id);

  // --- Checks ---------------------------------------------------------------------
  // Every invariant violation seen so far, in order (also with ADD_FAILURE unless
  // collect_violations).
  const std::vector<std::string>& violations() const { return violations_; }
  // With collect_violations, the cluster freezes at the first violation: ticks,
  // Ready processing and delivery do nothing from then on, so that a seeded bug
  // cannot run on into one of Raft's own assertions (which abort the process).
  bool frozen() const { return options_.collect_violations && !violations_.empty(); }
  void Fail(const std::string& what);
  void CheckLogMatching();
  // Consecutive configurations in every live log differ by at most one voter.
  void CheckSingleServerChanges();
  // The configuration `id` would have after a restart from its disk.
  Membership DurableMembership(NodeId id) const;
  // The live node that is leader in the highest term, if any.
  std::optional<NodeId> Leader() const;

  // --- Golden-test trace ------------------------------------------------------
  void set_tracing(bool tracing) { tracing_ = tracing; }
  std::vector<std::string> TakeTrace() { return std::exchange(trace_, {}); }
  std::string Describe(NodeId id) const;

 private:
  struct Node {
    std::unique_ptr<RawNode> raw;
    MemoryStorage storage;
    std::vector<Entry> applied;
    std::vector<ReadState> reads;
    int restarts = 0;
    Membership reported_membership;
    LogIndex observed_commit;  // commits up to here are in committed_anywhere_.
    // The highest append acknowledgement sent in the node's latest term: that
    // term, the index, and the term of the entry there (0: none).
    Term ack_term;
    LogIndex ack_index;
    Term ack_entry_term;
  };
  struct CommittedEntry {
    Entry entry;
    Term known_by_term;  // the lowest term of a node that saw it committed.
  };

  Config ConfigFor(NodeId id, int restarts) const;
  void Observe(NodeId id);
  void PutOnWire(NodeId from, Message message);
  bool Connected(NodeId from, NodeId to) const;
  void Trace(std::string line);
  void RecordCommitted(NodeId id);
  void CheckAcknowledgements(NodeId id);
  // Restores a state machine from snapshot bytes, checking them.
  void RestoreStateMachine(NodeId id, const Snapshot& snapshot);
  void CheckLeaderConfiguration(NodeId id);

  ClusterOptions options_;
  Membership bootstrap_;
  std::map<NodeId, Node> nodes_;
  std::deque<Message> network_;
  std::map<NodeId, int> group_of_;  // empty: fully connected.
  std::map<Term, NodeId> leader_of_term_;
  std::map<LogIndex, Entry> applied_anywhere_;
  std::map<LogIndex, CommittedEntry> committed_anywhere_;
  std::vector<std::string> violations_;
  bool tracing_ = false;
  std::vector<std::string> trace_;
};

// --- The seeded randomized workload -------------------------------------------------

// A run of `steps` random actions — ticks, Ready processing, delivery out of order,
// drops, duplicates, proposals, partitions, crashes and restarts (a crash loses
// everything not persisted), ReadIndex, leadership transfers, compaction,
// membership changes — with the invariants checked throughout, then a liveness
// phase: faults healed, a leader must commit a final entry on every member within
// 200 ticks.
struct RandomRunOptions {
  int voters = 3;
  int steps = 3000;
  bool pre_vote = true;
  bool check_quorum = true;
  bool crashes = true;
  bool compaction = true;
  bool membership_changes = true;
  // For mutation testing only (RaftMutations); violations are then collected, not
  // failed on.
  RaftMutations mutations = {};
  bool collect_violations = false;
  // Proposals go to whichever node was drawn if it believes it leads (a client
  // that still talks to a deposed or cut-off leader), so stale leaders grow
  // divergent suffixes; otherwise to the leader of the highest term.
  bool propose_to_stale_leaders = false;
  // Config::external_leader_failure_detection, with a noisy detector: now and
  // then a random node reports its leader as failed, right or wrong.
  bool external_leader_failure_detection = false;
};

struct RandomRunResult {
  // Entries applied on the first member in the end (0 if the run stopped early).
  size_t applied = 0;
  // The run stops at the first step that produced a violation.
  std::vector<std::string> violations;
  bool live = false;  // the liveness phase committed the final entry everywhere.
  std::string liveness_detail;  // each node's state, when not live.
  uint64_t snapshots_installed = 0;
  uint64_t membership_changes = 0;
};

RandomRunResult RunRandomCluster(uint64_t seed, const RandomRunOptions& run);

// --- Helpers for tests that drive one Raft by hand -----------------------------

struct RaftOptions {
  int voters = 3;
  bool pre_vote = false;
  bool check_quorum = false;
  HardState hard_state = {};
  std::vector<Entry> entries = {};
  int election_ticks = 10;
};

inline Raft NewRaft(uint64_t id, const RaftOptions& options = {}) {
  Config config;
  config.id = NodeId(static_cast<uint32_t>(id));
  config.election_ticks = options.election_ticks;
  config.pre_vote = options.pre_vote;
  config.check_quorum = options.check_quorum;
  config.seed = id;
  RestoreState restore;
  for (int i = 1; i <= options.voters; ++i) restore.membership.voters.push_back(NodeId(i));
  restore.hard_state = options.hard_state;
  restore.entries = options.entries;
  return Raft(config, std::move(restore));
}

// Entries with the given terms at indexes 1, 2, ...
inline std::vector<Entry> EntriesWithTerms(std::initializer_list<uint64_t> terms) {
  std::vector<Entry> entries = {};
  for (uint64_t term : terms) entries.push_back({Term(term), LogIndex(entries.size() + 1), EntryType::kNormal, {}});
  return entries;
}

inline Message MakeMessage(MessageType type, uint64_t from, uint64_t to, uint64_t term) {
  Message message;
  message.type = type;
  message.from = NodeId(static_cast<uint32_t>(from));
  message.to = NodeId(static_cast<uint32_t>(to));
  message.term = Term(term);
  return message;
}

// Marks the whole log durable, as the node shell's Advance would.
inline void PersistAll(Raft& raft) { raft.OnStable(raft.log().last_index(), raft.log().last_term()); }

// Makes node `raft` (of a 3-voter cluster) leader by granting it one vote.
inline void MakeLeader(Raft& raft) {
  raft.Campaign();
  if (raft.role() == Role::kPreCandidate) {
    Message grant = MakeMessage(MessageType::kPreVoteResponse, raft.id().value() % 3 + 1, raft.id().value(),
                                raft.term().value() + 1);
    MURPHY_ASSERT(raft.Step(grant).ok());
  }
  Message grant = MakeMessage(MessageType::kVoteResponse, raft.id().value() % 3 + 1, raft.id().value(),
                              raft.term().value());
  MURPHY_ASSERT(raft.Step(grant).ok());
  MURPHY_ASSERT(raft.role() == Role::kLeader);
  PersistAll(raft);
  raft.TakeMessages();
}

// The harness's state machine serialized: the entries applied, in order.
std::string EncodeAppliedEntries(const std::vector<Entry>& entries);
Result<std::vector<Entry>> DecodeAppliedEntries(const std::string& data);

inline std::vector<Message> MessagesOfType(const std::vector<Message>& messages, MessageType type) {
  std::vector<Message> result;
  for (const Message& message : messages) {
    if (message.type == type) result.push_back(message);
  }
  return result;
}

}  // namespace murphy::raft::testing
