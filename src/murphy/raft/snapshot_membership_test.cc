// Rule tests for log compaction with snapshots (Raft §7, thesis §5) and
// single-server membership changes (thesis §4), each citing the rule it checks.
#include <gtest/gtest.h>

#include "murphy/raft/cluster_for_test.h"
#include "murphy/raft/durability.h"
#include "murphy/raft/membership.h"

namespace murphy::raft::testing {
namespace {

Cluster ElectedCluster(const ClusterOptions& options) {
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  MURPHY_ASSERT(cluster.Leader() == NodeId(1));
  return cluster;
}

void ProposeAndStabilize(Cluster& cluster, NodeId leader, int count) {
  for (int i = 0; i < count; ++i) {
    ASSERT_TRUE(cluster.Propose(leader, "e" + std::to_string(i)).ok());
    cluster.Stabilize();
  }
}

ClusterOptions WithLearner() {
  ClusterOptions options;
  options.learners = 1;
  return options;
}

Message Chunk(uint64_t from, uint64_t term, uint64_t index, uint64_t log_term, uint64_t size, uint64_t offset,
              std::string data) {
  Message message = MakeMessage(MessageType::kSnapshot, from, 1, term);
  message.index = LogIndex(index);
  message.log_term = Term(log_term);
  message.snapshot_membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  message.snapshot_size = size;
  message.chunk_offset = offset;
  message.data = std::move(data);
  return message;
}

// --- Snapshots -----------------------------------------------------------------------

TEST(SnapshotTest, CompactChecksItsArgumentsAndRecordsMetadata) {
  Cluster cluster = ElectedCluster({});
  ProposeAndStabilize(cluster, NodeId(1), 3);
  RawNode& node = cluster.node(NodeId(1));
  const LogIndex applied = node.raft().log().applied();
  EXPECT_EQ(node.Compact(applied.next(), "x").code(), StatusCode::kFailedPrecondition);  // not applied yet
  Config small = node.raft().config();
  EXPECT_EQ(node.Compact(applied, std::string(small.max_snapshot_bytes + 1, 'x')).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(cluster.Compact(NodeId(1), LogIndex(2)).ok());
  EXPECT_EQ(node.Compact(LogIndex(2), "x").code(), StatusCode::kFailedPrecondition);  // already there
  const Raft& raft = node.raft();
  EXPECT_EQ(raft.log().offset(), LogIndex(2));
  EXPECT_EQ(raft.log().offset_term(), raft.term());
  ASSERT_TRUE(raft.snapshot().has_value());
  EXPECT_EQ(raft.snapshot()->metadata.index, LogIndex(2));
  EXPECT_EQ(raft.snapshot()->metadata.membership, raft.membership());
  EXPECT_EQ(cluster.storage(NodeId(1)).offset(), LogIndex(2));
}

// Raft §7: a leader that no longer has the entries a follower needs sends its
// snapshot; the follower's Ready carries it to persist and restore before later
// entries, and it then continues with entries.
TEST(SnapshotTest, LaggingFollowerCatchesUpThroughSnapshot) {
  ClusterOptions options;
  options.base.snapshot_chunk_bytes = 16;
  Cluster cluster = ElectedCluster(options);
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  ProposeAndStabilize(cluster, NodeId(1), 10);
  ASSERT_TRUE(cluster.Compact(NodeId(1)).ok());
  cluster.Heal();
  ProposeAndStabilize(cluster, NodeId(1), 1);
  for (int i = 0; i < 5; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  EXPECT_EQ(cluster.applied(NodeId(3)), cluster.applied(NodeId(1)));
  ASSERT_TRUE(cluster.storage(NodeId(3)).snapshot().has_value());
  EXPECT_EQ(cluster.storage(NodeId(3)).offset(), cluster.raft(NodeId(1)).log().offset());
  EXPECT_EQ(cluster.raft(NodeId(3)).log().last_index(), cluster.raft(NodeId(1)).log().last_index());
}

// Runs the cluster to quiescence without delivering anything to or from `held`
// (its messages stay in flight, in order).
void StabilizeHolding(Cluster& cluster, NodeId held) {
  for (int round = 0; round < 1000; ++round) {
    bool progress = false;
    for (uint32_t id = 1; id <= 3; ++id) progress = cluster.ProcessReady(NodeId(id)) || progress;
    for (size_t i = 0; i < cluster.in_flight();) {
      const Message& message = cluster.in_flight_at(i);
      if (message.from == held || message.to == held) {
        ++i;
        continue;
      }
      cluster.DeliverAt(i);
      progress = true;
    }
    if (!progress) return;
  }
}

// Delivers the first in-flight message from `from` to `to`; false if none.
bool DeliverFirst(Cluster& cluster, NodeId from, NodeId to, MessageType type) {
  for (size_t i = 0; i < cluster.in_flight(); ++i) {
    const Message& message = cluster.in_flight_at(i);
    if (message.from == from && message.to == to && message.type == type) {
      cluster.DeliverAt(i);
      cluster.ProcessReady(to);
      return true;
    }
  }
  return false;
}

// A leader that compacts again while a follower is receiving a snapshot keeps
// sending the one it started (and the entries after it), instead of restarting
// with the newer one: with snapshots taken more often than one transfer lasts,
// restarting never finishes (the livelock of the system benchmark).
TEST(SnapshotTest, LeaderFinishesTheSnapshotItStartedAndKeepsTheEntriesAfterIt) {
  ClusterOptions options;
  options.base.snapshot_chunk_bytes = 16;
  Cluster cluster = ElectedCluster(options);
  const NodeId leader(1), follower(3);
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  ProposeAndStabilize(cluster, leader, 10);
  ASSERT_TRUE(cluster.Compact(leader).ok());
  const LogIndex first = cluster.raft(leader).snapshot()->metadata.index;
  cluster.Heal();
  ASSERT_TRUE(cluster.Propose(leader, "after-heal").ok());
  StabilizeHolding(cluster, follower);
  // Heartbeats reach the follower again; its answers make the leader stream the
  // snapshot (it needs compacted entries).
  auto snapshot_in_flight = [&] {
    for (size_t i = 0; i < cluster.in_flight(); ++i) {
      const Message& message = cluster.in_flight_at(i);
      if (message.to == follower && message.type == MessageType::kSnapshot) return true;
    }
    return false;
  };
  for (int round = 0; round < 20 && !snapshot_in_flight(); ++round) {
    cluster.Tick(leader);
    cluster.ProcessReady(leader);
    while (DeliverFirst(cluster, leader, follower, MessageType::kHeartbeat) ||
           DeliverFirst(cluster, leader, follower, MessageType::kAppend) ||
           DeliverFirst(cluster, follower, leader, MessageType::kHeartbeatResponse) ||
           DeliverFirst(cluster, follower, leader, MessageType::kAppendResponse)) {
    }
  }
  ASSERT_TRUE(snapshot_in_flight());
  // Part of the first snapshot reaches the follower and is acknowledged.
  ASSERT_TRUE(DeliverFirst(cluster, leader, follower, MessageType::kSnapshot));
  ASSERT_TRUE(DeliverFirst(cluster, follower, leader, MessageType::kSnapshotResponse));
  ASSERT_EQ(cluster.raft(leader).progress(follower).state(), ProgressState::kSnapshot);
  ASSERT_GT(cluster.raft(leader).progress(follower).acked_chunks(), 0u);
  // The leader moves on and compacts again.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cluster.Propose(leader, "more" + std::to_string(i)).ok());
  StabilizeHolding(cluster, follower);
  ASSERT_TRUE(cluster.Compact(leader).ok());
  const Raft& raft = cluster.raft(leader);
  EXPECT_GT(raft.snapshot()->metadata.index, first);
  EXPECT_EQ(raft.log().offset(), first);  // the entries after the snapshot being sent stay
  EXPECT_EQ(raft.progress(follower).pending_snapshot(), first);
  cluster.Stabilize();
  for (int i = 0; i < 5; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  // The follower got the first snapshot, then entries, and is level.
  ASSERT_TRUE(cluster.storage(follower).snapshot().has_value());
  EXPECT_EQ(cluster.storage(follower).snapshot()->metadata.index, first);
  EXPECT_EQ(cluster.applied(follower), cluster.applied(leader));
  EXPECT_EQ(cluster.raft(follower).log().last_index(), raft.log().last_index());
  EXPECT_EQ(raft.progress(follower).state(), ProgressState::kReplicate);
  // With the transfer over, the next compaction drops the retained entries.
  ASSERT_TRUE(cluster.Propose(leader, "last").ok());
  cluster.Stabilize();
  ASSERT_TRUE(cluster.Compact(leader).ok());
  EXPECT_EQ(raft.log().offset(), raft.snapshot()->metadata.index);
}

// As etcd: a follower whose log holds the snapshot's last entry needs no snapshot;
// it commits up to it and says so.
TEST(SnapshotTest, FollowerHoldingTheLastEntryCommitsInsteadOfInstalling) {
  Raft raft = NewRaft(1, {.entries = EntriesWithTerms({1, 1, 1})});
  ASSERT_TRUE(raft.Step(Chunk(2, 1, 2, 1, 4, 0, "abcd")).ok());
  EXPECT_FALSE(raft.HasUnstableSnapshot());
  EXPECT_EQ(raft.log().committed(), LogIndex(2));
  EXPECT_EQ(raft.log().last_index(), LogIndex(3));
  std::vector<Message> responses = MessagesOfType(raft.TakeMessages(), MessageType::kAppendResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].index, LogIndex(2));
}

// Reassembly: in order only; a gap or duplicate is dropped and answered with the
// byte expected; a different leader or term restarts from scratch; the final
// chunk installs the snapshot, replacing a conflicting log entirely.
TEST(SnapshotTest, FollowerReassemblesChunksInOrderAndRestartsCleanly) {
  Raft raft = NewRaft(1, {.entries = EntriesWithTerms({1, 1})});
  auto last_ack = [&]() {
    std::vector<Message> acks = MessagesOfType(raft.TakeMessages(), MessageType::kSnapshotResponse);
    MURPHY_ASSERT(!acks.empty());
    return acks.back();
  };
  ASSERT_TRUE(raft.Step(Chunk(2, 2, 5, 2, 10, 0, "0123")).ok());
  EXPECT_EQ(last_ack().chunk_offset, 4u);
  ASSERT_TRUE(raft.Step(Chunk(2, 2, 5, 2, 10, 8, "89")).ok());  // a gap
  EXPECT_EQ(last_ack().chunk_offset, 4u);
  ASSERT_TRUE(raft.Step(Chunk(2, 2, 5, 2, 10, 0, "0123")).ok());  // a duplicate
  EXPECT_EQ(last_ack().chunk_offset, 4u);
  // A new leader in a new term: what we hold is not its snapshot.
  ASSERT_TRUE(raft.Step(Chunk(3, 3, 5, 2, 10, 4, "4567")).ok());
  EXPECT_EQ(last_ack().chunk_offset, 0u);
  ASSERT_TRUE(raft.Step(Chunk(3, 3, 5, 2, 10, 0, "0123")).ok());
  ASSERT_TRUE(raft.Step(Chunk(3, 3, 5, 2, 10, 4, "4567")).ok());
  EXPECT_FALSE(raft.HasUnstableSnapshot());
  raft.TakeMessages();
  ASSERT_TRUE(raft.Step(Chunk(3, 3, 5, 2, 10, 8, "89")).ok());
  ASSERT_TRUE(raft.HasUnstableSnapshot());
  EXPECT_EQ(raft.snapshot()->data, "0123456789");
  EXPECT_EQ(raft.log().offset(), LogIndex(5));
  EXPECT_EQ(raft.log().last_index(), LogIndex(5));
  EXPECT_EQ(raft.log().committed(), LogIndex(5));
  std::vector<Message> responses = MessagesOfType(raft.TakeMessages(), MessageType::kAppendResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].index, LogIndex(5));
}

// Bounded memory: a follower refuses, at the first chunk, a snapshot larger than
// it may buffer.
TEST(SnapshotTest, FollowerRefusesOversizedSnapshot) {
  Config config;
  config.id = NodeId(1);
  config.max_snapshot_bytes = 8;
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  Raft raft(config, std::move(restore));
  ASSERT_TRUE(raft.Step(Chunk(2, 1, 5, 1, 9, 0, "0123")).ok());
  std::vector<Message> acks = MessagesOfType(raft.TakeMessages(), MessageType::kSnapshotResponse);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_TRUE(acks[0].reject);
  EXPECT_FALSE(raft.HasUnstableSnapshot());
}

// Persist before send: the installed snapshot is acknowledged only after the Ready
// carrying it is durable (CheckSendAllowed agrees), and the Ready orders snapshot
// before entries.
TEST(SnapshotTest, InstallAcknowledgedOnlyAfterSnapshotIsDurable) {
  Config config;
  config.id = NodeId(1);
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  RawNode node(config, std::move(restore));
  ASSERT_TRUE(node.Step(Chunk(2, 1, 5, 1, 3, 0, "abc")).ok());
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 1);
  append.index = LogIndex(5);
  append.log_term = Term(1);
  append.entries = {{Term(1), LogIndex(6), EntryType::kNormal, "after"}};
  ASSERT_TRUE(node.Step(append).ok());
  Ready ready = node.GetReady();
  ASSERT_TRUE(ready.snapshot.has_value());
  EXPECT_EQ(ready.snapshot->data, "abc");
  ASSERT_EQ(ready.entries.size(), 1u);
  EXPECT_EQ(ready.entries[0].index, LogIndex(6));
  EXPECT_TRUE(ready.committed_entries.empty());
  std::vector<Message> acks = MessagesOfType(ready.messages_after_persist, MessageType::kAppendResponse);
  ASSERT_EQ(acks.size(), 2u);
  MemoryStorage storage(Membership{{NodeId(1), NodeId(2), NodeId(3)}, {}});
  EXPECT_FALSE(CheckSendAllowed(acks[0], storage.durable()).ok());
  storage.Persist(ready);
  EXPECT_TRUE(CheckSendAllowed(acks[0], storage.durable()).ok());
  EXPECT_TRUE(CheckSendAllowed(acks[1], storage.durable()).ok());
  node.Advance();
  EXPECT_FALSE(node.raft().HasUnstableSnapshot());
  EXPECT_EQ(node.raft().log().applied(), LogIndex(5));
  EXPECT_EQ(node.raft().log().stable(), LogIndex(6));
}

// Restart from a snapshot plus later entries: the state machine comes back from
// the snapshot, the log resumes after it, and the node rejoins.
TEST(SnapshotTest, RestartFromSnapshotAndLaterEntries) {
  Cluster cluster = ElectedCluster({});
  ProposeAndStabilize(cluster, NodeId(1), 5);
  ASSERT_TRUE(cluster.Compact(NodeId(2), LogIndex(4)).ok());
  ProposeAndStabilize(cluster, NodeId(1), 2);
  const std::vector<Entry> before = cluster.applied(NodeId(2));
  cluster.Crash(NodeId(2));
  cluster.Restart(NodeId(2));
  EXPECT_EQ(cluster.raft(NodeId(2)).log().offset(), LogIndex(4));
  EXPECT_EQ(cluster.raft(NodeId(2)).log().applied(), LogIndex(4));
  cluster.Stabilize();
  ProposeAndStabilize(cluster, NodeId(1), 1);
  for (int i = 0; i < 3; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  EXPECT_EQ(cluster.applied(NodeId(2)).size(), before.size() + 1);
  EXPECT_EQ(cluster.applied(NodeId(2)), cluster.applied(NodeId(1)));
}

// A follower far behind catches up through a chunked snapshot while a fifth of
// all messages are lost (chunks, acknowledgements, appends alike).
TEST(SnapshotTest, FarBehindFollowerCatchesUpUnderMessageLoss) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    ClusterOptions options;
    options.seed = seed;
    options.base.snapshot_chunk_bytes = 32;
    options.base.max_inflight_snapshot_chunks = 3;
    Cluster cluster = ElectedCluster(options);
    cluster.Crash(NodeId(3));
    ProposeAndStabilize(cluster, NodeId(1), 200);
    ASSERT_TRUE(cluster.Compact(NodeId(1)).ok());
    ASSERT_TRUE(cluster.Compact(NodeId(2)).ok());
    cluster.Restart(NodeId(3));
    Rng rng(seed);
    bool caught_up = false;
    for (int step = 0; step < 20000 && !caught_up; ++step) {
      uint64_t action = rng.Uniform(10);
      NodeId id(static_cast<uint32_t>(1 + rng.Uniform(3)));
      if (action < 1) {
        cluster.TickAll();
      } else if (action < 4) {
        cluster.ProcessReady(id);
      } else if (cluster.in_flight() > 0) {
        size_t position = rng.Uniform(cluster.in_flight());
        if (rng.Bernoulli(0.2)) {
          cluster.DropAt(position);
        } else {
          cluster.DeliverAt(position);
        }
      }
      caught_up = cluster.applied(NodeId(3)).size() >= 201;
      if (HasFailure()) return;
    }
    EXPECT_TRUE(caught_up);
    EXPECT_TRUE(cluster.storage(NodeId(3)).snapshot().has_value());
    cluster.CheckLogMatching();
  }
}

// --- Membership changes ---------------------------------------------------------------

TEST(MembershipTest, ApplyConfigChangeRefusesWhatDoesNotFit) {
  Membership membership{{NodeId(1), NodeId(2)}, {NodeId(3)}};
  EXPECT_FALSE(ApplyConfigChange(membership, {ConfigChangeType::kAddLearner, NodeId(2)}).ok());
  EXPECT_FALSE(ApplyConfigChange(membership, {ConfigChangeType::kPromote, NodeId(2)}).ok());
  EXPECT_FALSE(ApplyConfigChange(membership, {ConfigChangeType::kRemove, NodeId(4)}).ok());
  EXPECT_FALSE(ApplyConfigChange(membership, {ConfigChangeType::kAddLearner, kNoNode}).ok());
  EXPECT_FALSE(ApplyConfigChange(Membership{{NodeId(1)}, {}}, {ConfigChangeType::kRemove, NodeId(1)}).ok());
  Result<Membership> promoted = ApplyConfigChange(membership, {ConfigChangeType::kPromote, NodeId(3)});
  ASSERT_TRUE(promoted.ok());
  EXPECT_EQ(*promoted, (Membership{{NodeId(1), NodeId(2), NodeId(3)}, {}}));
  EXPECT_EQ(VoterDistance(membership, *promoted), 1u);
  ConfigChange change{ConfigChangeType::kRemove, NodeId(70000)};
  EXPECT_EQ(*DecodeConfigChange(EncodeConfigChange(change)), change);
  EXPECT_FALSE(DecodeConfigChange("").ok());
}

// A learner receives the log but neither votes nor counts towards commitment.
TEST(MembershipTest, LearnerNeitherVotesNorCountsForCommit) {
  Cluster cluster = ElectedCluster(WithLearner());
  cluster.Partition({{NodeId(1), NodeId(4)}, {NodeId(2), NodeId(3)}});
  Result<LogIndex> index = cluster.Propose(NodeId(1), "x");
  ASSERT_TRUE(index.ok());
  cluster.Stabilize();
  EXPECT_EQ(cluster.raft(NodeId(4)).log().last_index(), *index);  // replicated to the learner
  EXPECT_LT(cluster.raft(NodeId(1)).log().committed(), *index);    // but not committed by it
  for (int i = 0; i < 100; ++i) cluster.Tick(NodeId(4));
  cluster.Stabilize();
  EXPECT_EQ(cluster.raft(NodeId(4)).role(), Role::kFollower);  // never campaigns
}

// The 2015 fix: no change before the leader has committed an entry of its term;
// and one change at a time.
TEST(MembershipTest, ChangesWaitForCommitInTermAndForThePreviousChange) {
  Cluster cluster(ClusterOptions{});
  cluster.Campaign(NodeId(1));
  while (cluster.raft(NodeId(1)).role() != Role::kLeader) {
    cluster.ProcessReady(NodeId(1));
    cluster.DeliverAll();
    cluster.ProcessReady(NodeId(2));
    cluster.ProcessReady(NodeId(3));
    cluster.DeliverAll();
  }
  ConfigChange add{ConfigChangeType::kAddLearner, NodeId(4)};
  EXPECT_EQ(cluster.ProposeMembershipChange(NodeId(1), add).status().code(), StatusCode::kUnavailable);
  cluster.Stabilize();
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), add).ok());
  EXPECT_EQ(cluster.ProposeMembershipChange(NodeId(1), {ConfigChangeType::kRemove, NodeId(3)}).status().code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(cluster.ProposeMembershipChange(NodeId(2), add).status().code(), StatusCode::kUnavailable);
}

// Thesis §4.2.1: a learner is promoted only once it has caught up.
TEST(MembershipTest, PromotionWaitsForTheLearnerToCatchUp) {
  Cluster cluster = ElectedCluster(WithLearner());
  cluster.Partition({{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}});
  ProposeAndStabilize(cluster, NodeId(1), 2);
  ConfigChange promote{ConfigChangeType::kPromote, NodeId(4)};
  EXPECT_EQ(cluster.ProposeMembershipChange(NodeId(1), promote).status().code(),
            StatusCode::kFailedPrecondition);
  cluster.Heal();
  cluster.TickAll();
  cluster.Stabilize();
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), promote).ok());
  cluster.Stabilize();
  EXPECT_TRUE(cluster.raft(NodeId(2)).membership().IsVoter(NodeId(4)));
}

// Thesis §4.1: a configuration takes effect when appended — before it commits —
// on followers too, and is undone if the entry is truncated away.
TEST(MembershipTest, ConfigurationEffectiveOnAppendAndRolledBackOnTruncation) {
  Raft raft = NewRaft(1, {.entries = EntriesWithTerms({1})});
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 1);
  append.index = LogIndex(1);
  append.log_term = Term(1);
  append.entries = {{Term(1), LogIndex(2), EntryType::kConfigChange,
                     EncodeConfigChange({ConfigChangeType::kRemove, NodeId(3)})}};
  ASSERT_TRUE(raft.Step(append).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(0));
  EXPECT_EQ(raft.membership(), (Membership{{NodeId(1), NodeId(2)}, {}}));
  EXPECT_EQ(raft.soft_state().membership, raft.membership());
  // A leader of term 2 replaces index 2 with an ordinary entry.
  Message replace = MakeMessage(MessageType::kAppend, 3, 1, 2);
  replace.index = LogIndex(1);
  replace.log_term = Term(1);
  replace.entries = {{Term(2), LogIndex(2), EntryType::kNormal, "x"}};
  ASSERT_TRUE(raft.Step(replace).ok());
  EXPECT_EQ(raft.membership(), (Membership{{NodeId(1), NodeId(2), NodeId(3)}, {}}));
}

// A node outside its configuration (joining, or removed) never campaigns.
TEST(MembershipTest, NodeOutsideItsConfigurationDoesNotCampaign) {
  Config config;
  config.id = NodeId(4);
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  Raft raft(config, std::move(restore));
  for (int i = 0; i < 100; ++i) raft.Tick();
  raft.Campaign();
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_TRUE(raft.TakeMessages().empty());
}

// Thesis §4.2.2: a leader that removes itself keeps leading, without counting
// itself, until the removal commits; then it steps down.
TEST(MembershipTest, RemovedLeaderStepsDownOnceRemovalCommits) {
  Cluster cluster = ElectedCluster({});
  ProposeAndStabilize(cluster, NodeId(1), 1);
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), {ConfigChangeType::kRemove, NodeId(1)}).ok());
  // Voters are now {2, 3}: node 2 alone is not a majority without node 1.
  cluster.Stabilize();
  EXPECT_EQ(cluster.raft(NodeId(1)).role(), Role::kLeader);
  EXPECT_TRUE(cluster.raft(NodeId(1)).ChangePending());
  cluster.Heal();
  cluster.TickAll();
  cluster.Stabilize();
  EXPECT_EQ(cluster.raft(NodeId(1)).role(), Role::kFollower);
  EXPECT_FALSE(cluster.raft(NodeId(3)).membership().Contains(NodeId(1)));
}

// Snapshots carry the membership: a node added after a compaction learns the
// configuration (including itself) from the snapshot.
TEST(MembershipTest, SnapshotCarriesMembershipToAJoiningNode) {
  Cluster cluster = ElectedCluster({});
  ProposeAndStabilize(cluster, NodeId(1), 3);
  cluster.AddNode(NodeId(4));
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), {ConfigChangeType::kAddLearner, NodeId(4)}).ok());
  cluster.Partition({{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}});
  cluster.Stabilize();
  ProposeAndStabilize(cluster, NodeId(1), 1);
  ASSERT_TRUE(cluster.Compact(NodeId(1)).ok());
  cluster.Heal();
  for (int i = 0; i < 3; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  ASSERT_TRUE(cluster.storage(NodeId(4)).snapshot().has_value());
  EXPECT_TRUE(cluster.storage(NodeId(4)).snapshot()->metadata.membership.IsLearner(NodeId(4)));
  EXPECT_TRUE(cluster.raft(NodeId(4)).membership().IsLearner(NodeId(4)));
  EXPECT_EQ(cluster.applied(NodeId(4)), cluster.applied(NodeId(1)));
}

}  // namespace
}  // namespace murphy::raft::testing
