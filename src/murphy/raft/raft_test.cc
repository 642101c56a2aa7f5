// Tests of what goes beyond the paper's basic rules: PreVote, CheckQuorum, the
// leader lease on votes, ReadIndex, leadership transfer, flow control and limits,
// and the Ready contract.
#include <gtest/gtest.h>

#include "murphy/raft/cluster_for_test.h"
#include "murphy/raft/durability.h"
#include "murphy/raft/storage.h"

namespace murphy::raft::testing {
namespace {

Cluster ElectedCluster(int voters, bool pre_vote = true, bool check_quorum = true) {
  ClusterOptions options;
  options.voters = voters;
  options.base.pre_vote = pre_vote;
  options.base.check_quorum = check_quorum;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  MURPHY_ASSERT(cluster.Leader() == NodeId(1));
  return cluster;
}

void TickAndStabilize(Cluster& cluster, int ticks) {
  for (int i = 0; i < ticks; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
}

// Thesis §9.6: with PreVote, a node cut off from the cluster keeps failing its
// pre-vote and so never increments its term; when it returns, the leader stays.
TEST(PreVoteTest, PartitionedNodeReturningDoesNotBumpTerm) {
  Cluster cluster = ElectedCluster(3);
  const Term term = cluster.raft(NodeId(1)).term();
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  TickAndStabilize(cluster, 100);
  EXPECT_EQ(cluster.raft(NodeId(3)).term(), term);
  EXPECT_EQ(cluster.raft(NodeId(3)).role(), Role::kPreCandidate);
  cluster.Heal();
  TickAndStabilize(cluster, 30);
  EXPECT_EQ(cluster.Leader(), NodeId(1));
  EXPECT_EQ(cluster.raft(NodeId(1)).term(), term);
  EXPECT_EQ(cluster.raft(NodeId(3)).leader(), NodeId(1));
}

// The same story without PreVote or CheckQuorum: the returning node's inflated term
// deposes the working leader (the disruption PreVote exists to prevent).
TEST(PreVoteTest, WithoutPreVoteReturningNodeDisruptsLeader) {
  Cluster cluster = ElectedCluster(3, /*pre_vote=*/false, /*check_quorum=*/false);
  const Term term = cluster.raft(NodeId(1)).term();
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  TickAndStabilize(cluster, 100);
  EXPECT_GT(cluster.raft(NodeId(3)).term(), term);
  cluster.Heal();
  TickAndStabilize(cluster, 30);
  EXPECT_GT(cluster.raft(NodeId(1)).term(), term);
}

// A pre-vote is refused by a node that heard from a leader within the election
// timeout, even when the asker's log is up to date.
TEST(PreVoteTest, PreVoteRefusedWhileLeaderIsHeard) {
  Raft raft = NewRaft(1, {.pre_vote = true});
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 2, 1, 1)).ok());
  raft.TakeMessages();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kPreVote, 3, 1, 2)).ok());
  EXPECT_TRUE(raft.TakeMessages().empty());
  EXPECT_EQ(raft.term(), Term(1));
  // Once the leader has been silent for an election timeout, it is granted, and
  // still without changing the voter's term or vote.
  for (int i = 0; i < 10; ++i) raft.Tick();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kPreVote, 3, 1, 2)).ok());
  std::vector<Message> responses = MessagesOfType(raft.TakeMessages(), MessageType::kPreVoteResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_FALSE(responses[0].reject);
  EXPECT_EQ(responses[0].term, Term(2));
  EXPECT_EQ(raft.term(), Term(1));
  EXPECT_EQ(raft.vote(), kNoNode);
}

// A pre-candidate that wins its pre-vote then runs a real election.
TEST(PreVoteTest, PreCandidateWithMajorityCampaigns) {
  Raft raft = NewRaft(1, {.pre_vote = true});
  raft.Campaign();
  EXPECT_EQ(raft.role(), Role::kPreCandidate);
  EXPECT_EQ(raft.term(), Term(0));
  std::vector<Message> requests = MessagesOfType(raft.TakeMessages(), MessageType::kPreVote);
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].term, Term(1));
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kPreVoteResponse, 2, 1, 1)).ok());
  EXPECT_EQ(raft.role(), Role::kCandidate);
  EXPECT_EQ(raft.term(), Term(1));
}

// Thesis §6.2: a leader that cannot hear a majority steps down within an election
// timeout (CheckQuorum).
TEST(CheckQuorumTest, IsolatedLeaderStepsDownWithinElectionTimeout) {
  Cluster cluster = ElectedCluster(3);
  const int election_ticks = cluster.raft(NodeId(1)).config().election_ticks;
  cluster.Partition({{NodeId(1)}, {NodeId(2), NodeId(3)}});
  int ticks = 0;
  while (cluster.raft(NodeId(1)).role() == Role::kLeader) {
    cluster.Tick(NodeId(1));
    cluster.Stabilize();
    ++ticks;
    ASSERT_LE(ticks, election_ticks);
  }
  EXPECT_EQ(cluster.raft(NodeId(1)).role(), Role::kFollower);
  // ...and a deposed leader serves no reads.
  EXPECT_FALSE(cluster.ReadIndex(NodeId(1), 1).ok());
}

TEST(CheckQuorumTest, LeaderWithQuorumStaysLeader) {
  Cluster cluster = ElectedCluster(5);
  cluster.Partition({{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4), NodeId(5)}});
  TickAndStabilize(cluster, 100);
  EXPECT_EQ(cluster.Leader(), NodeId(1));
}

// With CheckQuorum, followers that heard from the leader recently ignore vote
// requests (the leader lease on votes): no answer, no term change.
TEST(CheckQuorumTest, FollowerInLeaseIgnoresVoteRequest) {
  Raft raft = NewRaft(1, {.check_quorum = true});
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kAppend, 2, 1, 1)).ok());
  raft.TakeMessages();
  Message vote = MakeMessage(MessageType::kVote, 3, 1, 5);
  vote.index = LogIndex(10);
  vote.log_term = Term(4);
  ASSERT_TRUE(raft.Step(vote).ok());
  EXPECT_TRUE(raft.TakeMessages().empty());
  EXPECT_EQ(raft.term(), Term(1));
  // A vote started by a leadership transfer bypasses the lease.
  vote.leader_transfer = true;
  ASSERT_TRUE(raft.Step(vote).ok());
  EXPECT_EQ(raft.term(), Term(5));
  EXPECT_EQ(raft.vote(), NodeId(3));
}

// A leader of an old term that comes back is told the current term and steps down.
TEST(CheckQuorumTest, StaleLeaderIsToldTheNewTerm) {
  Raft raft = NewRaft(1, {.check_quorum = true, .hard_state = {Term(5), kNoNode, LogIndex(0)}});
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 2, 1, 3)).ok());
  std::vector<Message> responses = raft.TakeMessages();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].type, MessageType::kAppendResponse);
  EXPECT_EQ(responses[0].term, Term(5));
}

TEST(ReadIndexTest, LeaderServesReadAfterHeartbeatQuorum) {
  Cluster cluster = ElectedCluster(3);
  ASSERT_TRUE(cluster.Propose(NodeId(1), "x").ok());
  cluster.Stabilize();
  ASSERT_TRUE(cluster.ReadIndex(NodeId(1), 42).ok());
  cluster.Stabilize();
  ASSERT_EQ(cluster.reads(NodeId(1)).size(), 1u);
  EXPECT_EQ(cluster.reads(NodeId(1))[0].request_id, 42u);
  EXPECT_EQ(cluster.reads(NodeId(1))[0].index, LogIndex(2));
}

TEST(ReadIndexTest, PartitionedLeaderCannotConfirmRead) {
  Cluster cluster = ElectedCluster(3);
  cluster.Partition({{NodeId(1)}, {NodeId(2), NodeId(3)}});
  ASSERT_TRUE(cluster.ReadIndex(NodeId(1), 7).ok());
  cluster.Stabilize();
  EXPECT_TRUE(cluster.reads(NodeId(1)).empty());
  // A heartbeat answer from one follower is a quorum of 3 with the leader.
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  cluster.Tick(NodeId(1));
  cluster.Stabilize();
  EXPECT_EQ(cluster.reads(NodeId(1)).size(), 1u);
}

TEST(ReadIndexTest, RefusedUntilLeaderCommitsInItsTerm) {
  Raft raft = NewRaft(1);
  raft.Campaign();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, 2, 1, 1)).ok());
  ASSERT_EQ(raft.role(), Role::kLeader);
  Status status = raft.ReadIndex(1);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(NewRaft(2).ReadIndex(1).code(), StatusCode::kUnavailable);  // a follower
}

TEST(TransferTest, LeadershipMovesToTarget) {
  Cluster cluster = ElectedCluster(3);
  ASSERT_TRUE(cluster.Propose(NodeId(1), "x").ok());
  cluster.Stabilize();
  const Term term = cluster.raft(NodeId(1)).term();
  ASSERT_TRUE(cluster.TransferLeadership(NodeId(1), NodeId(3)).ok());
  cluster.Stabilize();
  EXPECT_EQ(cluster.Leader(), NodeId(3));
  EXPECT_EQ(cluster.raft(NodeId(3)).term(), term.next());
  EXPECT_EQ(cluster.raft(NodeId(1)).leader(), NodeId(3));
}

TEST(TransferTest, CatchesTargetUpFirstAndRefusesProposalsMeanwhile) {
  Cluster cluster = ElectedCluster(3);
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  ASSERT_TRUE(cluster.Propose(NodeId(1), "x").ok());
  cluster.Stabilize();
  ASSERT_TRUE(cluster.TransferLeadership(NodeId(1), NodeId(3)).ok());
  EXPECT_EQ(cluster.Propose(NodeId(1), "y").status().code(), StatusCode::kUnavailable);
  cluster.Heal();
  cluster.Tick(NodeId(1));  // a heartbeat makes node 3 ask for the missing entry.
  cluster.Stabilize();
  EXPECT_EQ(cluster.Leader(), NodeId(3));
  EXPECT_EQ(cluster.raft(NodeId(3)).log().committed(), cluster.raft(NodeId(3)).log().last_index());
}

TEST(TransferTest, AbortsAfterElectionTimeout) {
  Cluster cluster = ElectedCluster(3);
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  ASSERT_TRUE(cluster.TransferLeadership(NodeId(1), NodeId(3)).ok());
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(cluster.raft(NodeId(1)).transfer_target(), NodeId(3));
    cluster.Tick(NodeId(1));
    cluster.Stabilize();
  }
  EXPECT_EQ(cluster.raft(NodeId(1)).transfer_target(), kNoNode);
  EXPECT_EQ(cluster.Leader(), NodeId(1));
  EXPECT_TRUE(cluster.Propose(NodeId(1), "y").ok());
}

TEST(TransferTest, RejectsBadTargets) {
  Cluster cluster = ElectedCluster(3);
  EXPECT_EQ(cluster.TransferLeadership(NodeId(1), NodeId(1)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cluster.TransferLeadership(NodeId(1), NodeId(9)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(cluster.TransferLeadership(NodeId(2), NodeId(3)).code(), StatusCode::kFailedPrecondition);
}

// Pipelining is bounded: a follower that never answers has at most
// max_inflight_messages appends outstanding, each with at most
// max_entries_per_message entries.
TEST(FlowControlTest, InflightAndBatchSizesAreBounded) {
  Config config;
  config.id = NodeId(1);
  config.max_inflight_messages = 3;
  config.max_entries_per_message = 2;
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  Raft raft(config, restore);
  MakeLeader(raft);
  Message ack = MakeMessage(MessageType::kAppendResponse, 2, 1, raft.term().value());
  ack.index = LogIndex(1);
  ASSERT_TRUE(raft.Step(ack).ok());
  raft.TakeMessages();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(raft.Propose("p").ok());
  std::vector<Message> to_two;
  for (const Message& message : raft.TakeMessages()) {
    if (message.to == NodeId(2) && message.type == MessageType::kAppend) to_two.push_back(message);
  }
  EXPECT_EQ(to_two.size(), 3u);
  for (const Message& message : to_two) EXPECT_LE(message.entries.size(), 2u);
  EXPECT_EQ(raft.progress(NodeId(2)).state(), ProgressState::kReplicate);
  EXPECT_EQ(raft.progress(NodeId(2)).inflight_count(), 3u);
  // Node 3 never answered the no-op: it is probed with a single message.
  EXPECT_EQ(raft.progress(NodeId(3)).state(), ProgressState::kProbe);
}

// Fast backtracking: a follower far behind with a divergent suffix is brought in
// line in a few round trips, not one per entry.
TEST(FlowControlTest, BacktrackingSkipsWholeTerms) {
  std::vector<Entry> leader_log;
  std::vector<Entry> follower_log;
  for (uint64_t i = 1; i <= 50; ++i) {
    leader_log.push_back({Term(i <= 10 ? 1 : 3), LogIndex(i), EntryType::kNormal, {}});
    follower_log.push_back({Term(i <= 10 ? 1 : 2), LogIndex(i), EntryType::kNormal, {}});
  }
  std::vector<Raft> nodes;
  for (uint64_t id : {1, 2, 3}) {
    nodes.push_back(NewRaft(id, {.hard_state = {Term(3), kNoNode, LogIndex(0)},
                                 .entries = id == 2 ? follower_log : leader_log}));
  }
  nodes[0].Campaign();
  int rejections = 0;
  std::vector<Message> queue = nodes[0].TakeMessages();
  for (int delivered = 0; !queue.empty() && delivered < 500; ++delivered) {
    Message message = queue.front();
    queue.erase(queue.begin());
    if (message.type == MessageType::kAppendResponse && message.reject && message.from == NodeId(2)) ++rejections;
    ASSERT_TRUE(nodes[message.to.value() - 1].Step(message).ok());
    for (Raft& node : nodes) {
      PersistAll(node);
      for (Message& out : node.TakeMessages()) queue.push_back(out);
    }
  }
  EXPECT_LE(rejections, 2);
  EXPECT_EQ(nodes[1].log().TermAtOrDie(LogIndex(50)), Term(3));
}

TEST(LimitsTest, UncommittedBytesAndEntrySizeAreBounded) {
  Config config;
  config.id = NodeId(1);
  config.max_uncommitted_bytes = 1000;
  config.max_entry_bytes = 300;
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  Raft raft(config, restore);
  MakeLeader(raft);
  EXPECT_EQ(raft.Propose(std::string(301, 'x')).status().code(), StatusCode::kInvalidArgument);
  int accepted = 0;
  Status last;
  for (int i = 0; i < 10; ++i) {
    Result<LogIndex> result = raft.Propose(std::string(200, 'x'));
    if (!result.ok()) {
      last = result.status();
      break;
    }
    ++accepted;
  }
  EXPECT_EQ(accepted, 4);  // the no-op (24) + 4 * 224 <= 1000 < + a fifth
  EXPECT_EQ(last.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(NewRaft(2).Propose("x").status().code(), StatusCode::kUnavailable);
}

// The Ready contract: a follower's acknowledgement waits for persistence; a
// leader's appends may leave at once; a candidate's vote requests wait for its
// new term and self-vote.
TEST(ReadyTest, MessagesThatDependOnDurableStateComeAfterPersist) {
  Config config;
  config.id = NodeId(1);
  config.pre_vote = false;
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  RawNode candidate(config, restore);
  candidate.Campaign();
  Ready ready = candidate.GetReady();
  ASSERT_TRUE(ready.hard_state.has_value());
  EXPECT_EQ(ready.hard_state->vote, NodeId(1));
  EXPECT_TRUE(ready.messages.empty());
  EXPECT_EQ(ready.messages_after_persist.size(), 2u);
  EXPECT_FALSE(candidate.HasReady());  // one Ready at a time.
  candidate.Advance();

  ASSERT_TRUE(candidate.Step(MakeMessage(MessageType::kVoteResponse, 2, 1, 1)).ok());
  ready = candidate.GetReady();
  ASSERT_EQ(ready.soft_state->role, Role::kLeader);
  EXPECT_FALSE(ready.hard_state.has_value() && ready.hard_state->term != Term(1));
  ASSERT_EQ(ready.entries.size(), 1u);  // the no-op
  EXPECT_EQ(ready.messages.size(), 2u);  // appends go out while the leader persists.
  EXPECT_TRUE(ready.messages_after_persist.empty());
  candidate.Advance();

  config.id = NodeId(2);
  RawNode follower(config, restore);
  Message append = MakeMessage(MessageType::kAppend, 1, 2, 1);
  append.entries = {{Term(1), LogIndex(1), EntryType::kNormal, {}}};
  ASSERT_TRUE(follower.Step(append).ok());
  ready = follower.GetReady();
  EXPECT_TRUE(ready.messages.empty());
  ASSERT_EQ(ready.messages_after_persist.size(), 1u);
  EXPECT_EQ(ready.messages_after_persist[0].type, MessageType::kAppendResponse);
  // The hook agrees: before persisting, that acknowledgement must not go out.
  EXPECT_FALSE(CheckSendAllowed(ready.messages_after_persist[0], DurableState{}).ok());
  DurableState durable{*ready.hard_state, LogIndex(1)};
  EXPECT_TRUE(CheckSendAllowed(ready.messages_after_persist[0], durable).ok());
  follower.Advance();
}

// Regression (found by the node shell's kv simulation, seed 10588, with a follower
// resuming from a VM suspend): a follower acknowledges entries of term 1 while its
// previous Ready is still being persisted, then — before its next Ready — hears a
// term-3 leader whose append truncates those entries. The term-1 acknowledgement
// must not leave with that Ready: it would vouch for entries the durable log no
// longer holds, and the deposed term-1 leader could count it towards committing
// them.
TEST(ReadyTest, AcknowledgementOfTruncatedEntriesIsNeverSent) {
  Config config;
  config.id = NodeId(2);
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  MemoryStorage storage(restore.membership);
  RawNode follower(config, restore);
  auto entry = [](uint64_t term, uint64_t index) { return Entry{Term(term), LogIndex(index), EntryType::kNormal, {}}; };

  Message first = MakeMessage(MessageType::kAppend, 1, 2, 1);
  first.entries = {entry(1, 1), entry(1, 2)};
  ASSERT_TRUE(follower.Step(first).ok());
  Ready ready = follower.GetReady();
  storage.Persist(ready);
  follower.Advance();

  // Appended and acknowledged in memory, not yet handed out in a Ready.
  Message second = MakeMessage(MessageType::kAppend, 1, 2, 1);
  second.index = LogIndex(2);
  second.log_term = Term(1);
  second.entries = {entry(1, 3), entry(1, 4)};
  ASSERT_TRUE(follower.Step(second).ok());
  // A term-3 leader overwrites index 3 on.
  Message third = MakeMessage(MessageType::kAppend, 3, 2, 3);
  third.index = LogIndex(2);
  third.log_term = Term(1);
  third.entries = {entry(3, 3)};
  ASSERT_TRUE(follower.Step(third).ok());

  ready = follower.GetReady();
  storage.Persist(ready);
  EXPECT_EQ(storage.last_index(), LogIndex(3));
  for (const Message& message : ready.messages_after_persist) {
    EXPECT_TRUE(CheckSendAllowed(message, storage.durable()).ok()) << DescribeMessage(message);
    EXPECT_EQ(message.term, Term(3)) << DescribeMessage(message);
  }
  follower.Advance();
}

TEST(ReadyTest, CommittedEntriesAreAppliedOnlyOnceDurable) {
  Config config;
  config.id = NodeId(1);
  RestoreState restore;
  restore.membership.voters = {NodeId(1)};
  RawNode node(config, restore);
  node.Campaign();
  Ready ready = node.GetReady();
  EXPECT_EQ(ready.entries.size(), 1u);
  EXPECT_TRUE(ready.committed_entries.empty());
  node.Advance();
  ASSERT_TRUE(node.HasReady());
  ready = node.GetReady();
  ASSERT_EQ(ready.committed_entries.size(), 1u);
  EXPECT_EQ(ready.hard_state->commit, LogIndex(1));
  node.Advance();
  EXPECT_FALSE(node.HasReady());
}

TEST(StepTest, RejectsMessagesNotForUs) {
  Raft raft = NewRaft(1);
  EXPECT_EQ(raft.Step(MakeMessage(MessageType::kAppend, 2, 3, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(raft.Step(MakeMessage(MessageType::kAppend, 0, 1, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(raft.Step(MakeMessage(MessageType::kAppend, 1, 1, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(raft.Step(MakeMessage(MessageType::kAppend, 2, 1, 0)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(raft.term(), Term(0));
}

// Configurations differ between nodes while a change spreads, so a node accepts a
// leader its own configuration does not list (e.g. one added after it lagged).
TEST(StepTest, AcceptsLeaderOutsideOurConfiguration) {
  Raft raft = NewRaft(1);
  EXPECT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 9, 1, 1)).ok());
  EXPECT_EQ(raft.leader(), NodeId(9));
  EXPECT_EQ(raft.term(), Term(1));
}

TEST(ConfigTest, ValidateNamesBadFields) {
  Config config;
  EXPECT_FALSE(config.Validate().ok());  // id 0
  config.id = NodeId(1);
  EXPECT_TRUE(config.Validate().ok());
  config.heartbeat_ticks = config.election_ticks;
  EXPECT_EQ(config.Validate().code(), StatusCode::kInvalidArgument);
}

TEST(RestartTest, NodeRecoversTermVoteAndLogFromStorage) {
  Cluster cluster = ElectedCluster(3);
  ASSERT_TRUE(cluster.Propose(NodeId(1), "x").ok());
  cluster.Stabilize();
  const Term term = cluster.raft(NodeId(2)).term();
  cluster.Crash(NodeId(2));
  cluster.Restart(NodeId(2));
  EXPECT_EQ(cluster.raft(NodeId(2)).term(), term);
  EXPECT_EQ(cluster.raft(NodeId(2)).vote(), NodeId(1));
  EXPECT_EQ(cluster.raft(NodeId(2)).log().last_index(), LogIndex(2));
  cluster.Tick(NodeId(1));
  cluster.Stabilize();
  EXPECT_EQ(cluster.applied(NodeId(2)).size(), 2u);
}

}  // namespace
}  // namespace murphy::raft::testing
