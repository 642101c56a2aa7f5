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
//   knows the leader from SoftState, redirects the client.
// - Log compaction and snapshots (thesis §5): the node shell takes a snapshot of
//   its state machine at an applied index and hands it over with `Compact(index,
//   data)`; Raft keeps that latest snapshot (metadata and bytes, bounded by
//   max_snapshot_bytes) to send to followers that need compacted entries, in
//   chunks (kSnapshot messages, Progress's kSnapshot state). Keeping the bytes here
//   is the simplest correct way to have them at hand when a follower needs them;
//   the cost is one copy of the state machine in memory. A follower reassembles
//   one snapshot at a time (bounded by max_snapshot_bytes), restarting on a new
//   leader, term or snapshot; a chunk out of order is dropped and the follower
//   reports the byte it expects. Like etcd, a follower whose log already holds the
//   snapshot's last entry does not install it: it just commits up to it.
//   A leader sends each follower the snapshot it started with until that transfer
//   ends (the follower has it, refuses it, or leaves kSnapshot), even when it
//   compacts again meanwhile, and keeps the log entries after the oldest snapshot
//   still being sent: otherwise a transfer slower than the snapshot interval
//   restarts from scratch with every new snapshot and never finishes (a follower
//   that never catches up). The pin is dropped when the follower has not answered
//   for an election timeout, so a dead follower does not keep the log from being
//   compacted; the price is one more copy of a snapshot (and the entries after
//   it) in memory while a transfer is in progress.
// - Membership changes (thesis §4): single-server changes (membership.h), one at a
//   time, each effective as soon as it is in a node's log (appended, not
//   committed) and undone if truncated; a leader proposes one only after it has
//   committed an entry of its term and the previous change is committed (the fix
//   for the single-server bug Ongaro reported in 2015). A leader that removed
//   itself keeps leading (without counting itself) until the removal commits,
//   then steps down (§4.2.2). Nodes outside their configuration never campaign.
//   A node that joins an existing cluster starts with the empty configuration
//   (RestoreState::membership empty, no snapshot): it never campaigns (it is no
//   voter) and accepts the log only on top of a snapshot, because the bootstrap
//   configuration of the cluster is in no log entry (see HandleAppend); once the
//   leader's snapshot is installed it is an ordinary member (or non-member).
//   Each member's opaque context (Membership::contexts) is kept with the
//   configuration and travels in snapshots; Raft never reads it.
//   Departure: messages are accepted from any node id, not just members, because
//   configurations differ between nodes while a change spreads: a node that joined
//   must hear from a leader its old configuration does not list (as in etcd).
// Thread safety: none. One owner (the node's event loop) drives it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/raft/log.h"
#include "murphy/raft/membership.h"
#include "murphy/raft/progress.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

// Seeded bugs, for mutation testing only; never set in production. Each switch
// plants one known safety bug at the exact code point that enforces the rule, so
// that a test can prove the invariant checkers (cluster_for_test.h, and the node
// shell's simulator workload) are able to fail: a run with a switch on must be
// flagged within a bounded number of seeds (mutation_test.cc). All false by
// default; RawNode and Raft behave exactly as without this struct when all are
// false. A simulator may set them through Config::mutations to check its own
// checkers the same way.
struct RaftMutations {
  // The leader counts one vote short when it advances the commit index (in a
  // 3-voter cluster: it commits what any single voter, itself included, holds).
  // Broken: Raft §5.3/§5.4 (an entry is committed once a majority stores it).
  bool commit_without_quorum = false;
  // A follower that already voted in this term grants a different candidate of
  // the same term too. Broken: Raft §5.2 (at most one vote per term).
  bool vote_twice_in_term = false;
  // RawNode puts append acknowledgements and vote grants in Ready::messages
  // (sent before persisting) instead of messages_after_persist. Broken: thesis
  // §3.8 / §10.2.1 (acknowledge only what is durable).
  bool ack_before_sync = false;
  // A follower accepts an append from a leader of an older term (answering with
  // its own term, so that leader still steps down). Broken: Raft §5.1 / Figure 2
  // AppendEntries receiver rule 1 (reply false if term < currentTerm).
  bool skip_append_term_check = false;

  bool any() const {
    return commit_without_quorum || vote_twice_in_term || ack_before_sync || skip_append_term_check;
  }
};

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
  // Snapshots: the bytes per kSnapshot chunk, how many chunks may be in flight to
  // one follower, and the largest snapshot taken or accepted (a follower buffers at
  // most one incoming snapshot of at most this size). Give every node the same
  // max_snapshot_bytes: a follower refuses a larger snapshot and the leader retries.
  uint64_t snapshot_chunk_bytes = 256 << 10;
  size_t max_inflight_snapshot_chunks = 4;
  uint64_t max_snapshot_bytes = 256 << 20;
  // External leader failure detection: the node shell's failure detector (e.g.
  // phi accrual over the arrival times of the leader's heartbeats, which the shell
  // observes through Raft::leader_contacts()) decides when the leader is gone,
  // instead of the plain randomized timeout. When set:
  //   - a follower that knows a leader does not campaign when its randomized
  //     timeout expires; its own timer is only a backstop at twice that timeout
  //     (for a shell whose detector never fires). A follower that knows no leader
  //     (there is nobody to watch) keeps the plain timer;
  //   - ReportLeaderFailure() (the shell's detector suspects the leader) is
  //     accepted only once the follower has heard nothing from a leader for
  //     leader_failure_floor_ticks, so a noisy detector cannot cause an election
  //     storm; it then campaigns (PreVote first, as ever) after a random delay in
  //     [0, leader_failure_jitter_ticks) ticks, so that followers whose detectors
  //     fire together do not split the vote;
  //   - an accepted report also ends the leader lease this follower honours
  //     (see Step): its own detector says the leader is gone, so it no longer
  //     shields that leader from other nodes' pre-votes. This is what lets
  //     failover beat the election timeout; a node that still hears the leader
  //     keeps its lease, so a returning partitioned node is still refused.
  bool external_leader_failure_detection = false;
  // 0: election_ticks / 2. REQUIRES 0 <= floor <= election_ticks.
  int leader_failure_floor_ticks = 0;
  // 0: election_ticks. REQUIRES >= 0. Make it larger than a round trip: followers
  // whose detectors fire within one round trip of each other grant each other's
  // pre-votes and then split the vote (raft_bench: with 1-3 tick delays, a jitter
  // of 5 made failover slower than the plain timeout; 10 made it faster).
  int leader_failure_jitter_ticks = 0;
  // Seeds the randomized election timeout; give every node its own.
  uint64_t seed = 1;
  // For mutation testing only; never set in production (see RaftMutations).
  RaftMutations mutations = {};

  // OK, or InvalidArgument naming the first bad field.
  Status Validate() const;
};

// What a node recovers from its storage on start (all zero for a brand-new node).
struct RestoreState {
  HardState hard_state;
  // The bootstrap configuration: the one in effect at log index 0, the same on
  // every node of the cluster (a node joining later is started with it too, and an
  // empty log; it learns the rest from the log or a snapshot). Ignored when
  // `snapshot` is set: the snapshot carries the configuration at its index.
  Membership membership;
  // The latest durable snapshot, if the log was ever compacted. The state machine
  // restores from it by itself on restart (it is not handed back in a Ready); Raft
  // keeps it to send to followers.
  std::optional<Snapshot> snapshot;
  // The durable entries after the snapshot (or from index 1).
  std::vector<Entry> entries;
  // The index up to which the state machine has already applied (it will not be
  // given those entries again). REQUIRES <= hard_state.commit. At least the
  // snapshot's index is taken as applied.
  LogIndex applied;
};

class Raft {
 public:
  // REQUIRES: config.Validate().ok(); restore.entries start just after the
  // snapshot (or at index 1). The node need not be in its configuration (a node
  // that is joining, or was removed): it then follows but never campaigns.
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
  // The node shell's failure detector suspects the leader (external leader
  // failure detection, see Config). OK: a campaign is scheduled within
  // leader_failure_jitter_ticks ticks (or started now), or this node is already
  // campaigning. Unavailable: heard from a leader less than the floor ago (call
  // again while the detector still suspects). FailedPrecondition: the option is
  // off, this node leads, or it is not a voter.
  Status ReportLeaderFailure();
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
  // Appends a membership change as a kConfigChange entry if this node is leader;
  // the new configuration takes effect at once (thesis §4.1). Unavailable if not
  // leader, a transfer is pending, the leader has not yet committed an entry of
  // its term, or the previous change is not committed yet (retry later);
  // FailedPrecondition if the change does not apply (membership.h) or promotes a
  // learner that has not caught up with the commit index.
  Result<LogIndex> ProposeMembershipChange(const ConfigChange& change);
  // Log compaction: the node shell has durably stored a snapshot of its state
  // machine as of applied index `index`; Raft drops the entries up to it and keeps
  // `data` as the snapshot to send to followers that fall behind it.
  // FailedPrecondition if index is beyond applied() or not beyond the current
  // snapshot; InvalidArgument if data exceeds max_snapshot_bytes. A leader keeps
  // the entries after a snapshot it is still sending (see above): log().offset()
  // may then stay below `index` until that transfer ends.
  Status Compact(LogIndex index, std::string data);

  // --- State ------------------------------------------------------------------
  NodeId id() const { return id_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }
  Role role() const { return role_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {leader_, role_, membership_}; }
  const RaftLog& log() const { return log_; }
  // The configuration in effect: the latest in the log, committed or not.
  const Membership& membership() const { return membership_; }
  // The configuration in effect at `index` (the latest change at or before it).
  // REQUIRES: log().offset() <= index <= log().last_index().
  const Membership& MembershipAt(LogIndex index) const;
  // True while the latest configuration change in the log is not committed.
  bool ChangePending() const;
  // The latest snapshot (taken here or installed from a leader), if any.
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  // A snapshot installed from the leader that the node shell has not yet been
  // handed (in a Ready) to persist and restore.
  bool HasUnstableSnapshot() const { return snapshot_unstable_; }
  // Counts snapshot installations; RawNode uses it to tell that a Ready's entries
  // were wiped by an installation that happened after it was taken.
  uint64_t snapshots_installed() const { return snapshots_installed_; }
  const Config& config() const { return config_; }
  NodeId transfer_target() const { return transfer_target_; }
  // Counts valid contacts from a leader of the current term (appends, heartbeats,
  // snapshot chunks accepted as a follower). The node shell feeds its failure
  // detector: after Step, if this grew, call detector.Heartbeat(now); when
  // SoftState's leader changes to another node, start a fresh detector.
  uint64_t leader_contacts() const { return leader_contacts_; }
  // Ticks since the last valid contact from a leader (0 while leading).
  int leader_silence_ticks() const { return leader_silence_ticks_; }
  // A report was accepted and no leader has been heard from since.
  bool leader_suspected() const { return leader_suspected_; }
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
  // Called by RawNode after the node shell persisted (and restored) the installed
  // snapshot at `index`.
  void OnSnapshotStable(LogIndex index);
  // Called by RawNode after the node shell applied entries up to `index`.
  void OnApplied(LogIndex index) { log_.AppliedTo(index); }

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
  void HandleSnapshotChunk(const Message& message);
  void HandleSnapshotResponse(const Message& message);
  void InstallSnapshot(Snapshot snapshot);

  // Records a vote (or pre-vote) answer; returns the election's outcome so far.
  enum class Tally { kPending, kWon, kLost };
  Tally RecordVote(NodeId from, bool granted);

  void Send(Message message);
  // Sends an append to `to` if its progress allows; `send_if_empty` sends even
  // without entries (to carry the commit index). Returns true if a message went out.
  bool SendAppend(NodeId to, bool send_if_empty);
  // Sends the next snapshot chunks to `to` within its window (kSnapshot state).
  bool SendSnapshotChunks(NodeId to);
  uint64_t SnapshotChunkCount(const Snapshot& snapshot) const;
  // Leader: forgets the snapshots pinned for peers that no longer stream one (or
  // went silent for an election timeout); returns the lowest index still pinned,
  // or LogIndex(UINT64_MAX) when none is.
  LogIndex ReleaseFinishedSnapshotTransfers();
  // Commits what a quorum holds and tells the followers; then, if this leader's
  // own removal is committed, steps down (thesis §4.2.2).
  void CommitAndBroadcast();
  // Re-derives the configuration after the log changed from `from` on (appended
  // or truncated there).
  void RebuildConfigurationFrom(LogIndex from);
  // Brings the leader's progress map in line with membership_.
  void SyncProgressWithMembership();
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
  // A joining node before its first snapshot: no configuration, nothing compacted.
  bool AwaitingSnapshot() const { return base_membership_.empty() && log_.offset().value() == 0; }
  bool SoleVoter() const { return membership_.voters.size() == 1 && membership_.voters[0] == id_; }
  bool InLeaderLease() const;
  void AbortTransfer();
  // A follower heard from the leader of its term (external detection bookkeeping).
  void NoteLeaderContact();
  int LeaderFailureFloorTicks() const;
  int LeaderFailureJitterTicks() const;

  Config config_;
  NodeId id_;
  Rng rng_;
  // The configuration at log_.offset(), the configuration entries after it (in
  // index order), and the one in effect (the last of them, or the base).
  Membership base_membership_;
  struct ConfigEntry {
    LogIndex index;
    Membership membership;
  };
  std::vector<ConfigEntry> config_entries_;
  Membership membership_;
  RaftLog log_;

  std::optional<Snapshot> snapshot_;
  // Leader: the snapshot each peer in kSnapshot is being sent (pinned until its
  // transfer ends), and the latest snapshot shared with new transfers.
  std::map<NodeId, std::shared_ptr<const Snapshot>> snapshots_in_transfer_;
  std::shared_ptr<const Snapshot> shared_latest_snapshot_;
  bool snapshot_unstable_ = false;
  uint64_t snapshots_installed_ = 0;
  // Follower: the snapshot being reassembled from chunks, and who sends it.
  struct IncomingSnapshot {
    NodeId from;
    Term term;
    Snapshot snapshot;
    uint64_t size = 0;
  };
  std::optional<IncomingSnapshot> incoming_;

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
  // External leader failure detection (Config): contacts counted for the shell,
  // silence since the last one, whether the shell's detector suspects the leader,
  // and the ticks left before the campaign it asked for (-1: none scheduled).
  uint64_t leader_contacts_ = 0;
  int leader_silence_ticks_ = 0;
  bool leader_suspected_ = false;
  int detector_campaign_in_ = -1;

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
