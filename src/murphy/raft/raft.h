// murphy/raft/raft.h — the pure Raft state machine (etcd raft's raft.go).
//
// Contract: `Raft` is deterministic: its only inputs are `Tick()` (one logical clock
// tick), `Step(message)`, and local requests (`Campaign`, `Propose`, `ReadIndex`,
// `TransferLeadership`); its outputs are queued messages and the changes to its log
// and hard state, which `RawNode` (raw_node.h) packages into a Ready. It never reads a
// clock, never does I/O and draws randomness only from an `Rng` seeded by `Config`.
//
// What is implemented, and where it departs from the thesis (Ongaro 2014):
// - Elections with a randomized timeout in [election_ticks, 2 * election_ticks)
//   (§3.4), PreVote (§9.6) and CheckQuorum (§6.2 "leader lease" on votes, §9.6),
//   both on by default.
// - Replication with batching and bounded pipelining (etcd's Progress), fast
//   backtracking by conflict term (§5.3), and the commit rule that counts only
//   entries of the current term (§5.4.2, §3.6.2). A new leader appends an empty
//   entry so that it can commit (and serve ReadIndex) promptly (§6.4).
// - ReadIndex (§6.4) confirmed by a heartbeat round, and leadership transfer with
//   TimeoutNow (§3.10).
// - Departures: proposals and ReadIndex are not forwarded from followers to the
//   leader (etcd does); a non-leader returns Unavailable and the node shell, which
//   knows the leader from SoftState, redirects the client. Log compaction,
//   snapshots and membership changes are not implemented yet: the membership is
//   fixed at construction.
// Thread safety: none. One owner (the node's event loop) drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/raft/log.h"
#include "murphy/raft/progress.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

struct Config {
  NodeId id = kNoNode;
  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_ticks, 2 * election_ticks) starts an election.
  int election_ticks = 10;
  // A leader sends heartbeats every heartbeat_ticks. REQUIRES < election_ticks.
  int heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  // Limits (ARCHITECTURE: "put a limit on everything").
  uint64_t max_entries_per_message = 64;
  uint64_t max_bytes_per_message = 1 << 20;
  size_t max_inflight_messages = 64;        // per follower, in kReplicate.
  uint64_t max_uncommitted_bytes = 16 << 20;  // proposals beyond it are refused.
  uint64_t max_entry_bytes = 1 << 20;       // one proposal's payload.
  uint64_t max_apply_bytes_per_ready = 4 << 20;
  size_t max_pending_reads = 1024;
  // Seeds the randomized election timeout; give every node its own.
  uint64_t seed = 1;

  // OK, or InvalidArgument naming the first bad field.
  Status Validate() const;
};

// What a node recovers from its storage on start (all zero for a brand-new node).
struct RestoreState {
  HardState hard_state;
  Membership membership;  // the bootstrap configuration.
  std::vector<Entry> entries;
  // The index up to which the state machine has already applied (it will not be
  // given those entries again). REQUIRES <= hard_state.commit.
  LogIndex applied;
};

class Raft {
 public:
  // REQUIRES: config.Validate().ok(); restore.membership contains config.id (as a
  // voter or learner); restore.entries start at index 1.
  Raft(const Config& config, RestoreState restore);

  // --- Inputs ----------------------------------------------------------------
  // One logical tick of time.
  void Tick();
  // Processes a message from a peer. Returns InvalidArgument for a message that is
  // not for us or not from a member (it is ignored); OK otherwise, including for
  // stale messages that are deliberately ignored.
  Status Step(const Message& message);
  // Starts an election now (as if the election timer fired). No-op for a leader or
  // a learner.
  void Campaign();
  // Appends `data` as a new entry if this node is leader and returns its index.
  // Unavailable if not leader or a leadership transfer is in progress;
  // ResourceExhausted if the uncommitted-bytes limit is hit; InvalidArgument if
  // the payload exceeds max_entry_bytes.
  Result<LogIndex> Propose(std::string data);
  // Starts a linearizable read identified by `request_id`; a ReadState with it
  // appears in a later Ready once leadership is confirmed. Unavailable if not leader
  // or the leader has not committed an entry of its term yet (retry shortly);
  // ResourceExhausted beyond max_pending_reads.
  Status ReadIndex(uint64_t request_id);
  // Hands leadership to `target` (thesis §3.10). FailedPrecondition if not leader
  // or the target is not another voter. While the transfer is pending (up to an
  // election timeout) proposals are refused.
  Status TransferLeadership(NodeId target);

  // --- State ------------------------------------------------------------------
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }
  Role role() const { return role_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {leader_, role_}; }
  const RaftLog& log() const { return log_; }
  RaftLog& mutable_log() { return log_; }
  const Membership& membership() const { return membership_; }
  const Config& config() const { return config_; }
  NodeId transfer_target() const { return transfer_target_; }
  // REQUIRES: role() == kLeader and `peer` is a member other than us.
  const Progress& progress(NodeId peer) const;

  // --- Output ---------------------------------------------------------------------
  std::vector<Message> TakeMessages();
  bool HasMessages() const { return !messages_.empty(); }
  std::vector<ReadState> TakeReadStates();
  bool HasReadStates() const { return !read_states_.empty(); }

  // Called by RawNode after the node shell made entries up to (index, term) durable.
  // The leader counts its own durable log towards quorums only from here on
  // (thesis §10.2.1: the leader may send before its own write completes).
  void OnStable(LogIndex index, Term term);

 private:
  enum class CampaignKind { kPreVote, kVote, kTransfer };

  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartCampaign(CampaignKind kind);
  void ResetRandomizedTimeout();

  void TickElection();
  void TickHeartbeat();

  // Role handlers. Each sees only messages of its own term (Step settles terms).
  void StepLeader(const Message& message);
  void StepCandidate(const Message& message);
  void StepFollower(const Message& message);

  void HandleVoteRequest(const Message& message);
  void HandleAppend(const Message& message);
  void HandleHeartbeat(const Message& message);
  void HandleAppendResponse(const Message& message);
  void HandleHeartbeatResponse(const Message& message);

  // Records a vote (or pre-vote) answer; returns the election's outcome so far.
  enum class Tally { kPending, kWon, kLost };
  Tally RecordVote(NodeId from, bool granted);

  void Send(Message message);
  // Sends an append to `to` if its progress allows; `send_if_empty` sends even
  // without entries (to carry the commit index). Returns true if a message went out.
  bool SendAppend(NodeId to, bool send_if_empty);
  void BroadcastAppend();
  void BroadcastHeartbeat(uint64_t read_round);
  bool MaybeCommit();
  size_t Quorum() const { return membership_.voters.size() / 2 + 1; }
  // CheckQuorum: has a quorum of voters (counting us) answered within the last
  // election_ticks ticks?
  bool QuorumActive() const;
  void ReleaseConfirmedReads();
  bool CommittedInCurrentTerm() const;
  LogIndex SelfMatch() const { return log_.stable(); }
  Progress& MutableProgress(NodeId peer);
  bool Promotable() const { return membership_.IsVoter(id_); }
  bool InLeaderLease() const;
  void AbortTransfer();

  Config config_;
  NodeId id_;
  Rng rng_;
  Membership membership_;
  RaftLog log_;

  Term term_;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;

  // Ticks since the last valid contact with a leader (follower) or since the last
  // quorum check (leader), and the randomized timeout it is compared with.
  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  // Ticks since construction; the leader's clock for CheckQuorum.
  uint64_t ticks_ = 0;

  // Candidate / pre-candidate: votes received in this election.
  std::map<NodeId, bool> votes_;
  // Leader: one Progress per other member.
  std::map<NodeId, Progress> progress_;
  uint64_t uncommitted_bytes_ = 0;
  NodeId transfer_target_ = kNoNode;
  int transfer_elapsed_ = 0;

  // Leader: ReadIndex requests waiting for their heartbeat round to be confirmed.
  struct PendingRead {
    uint64_t request_id;
    LogIndex index;
    uint64_t round;
  };
  std::deque<PendingRead> pending_reads_;
  uint64_t read_round_ = 0;

  std::vector<Message> messages_;
  std::vector<ReadState> read_states_;
};

}  // namespace murphy::raft
