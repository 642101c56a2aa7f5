// Membership contexts (etcd's ConfChange.Context: a new member's address) and nodes
// that join with no configuration: the context is kept through changes, snapshots
// and the wire; encodings without contexts stay byte-for-byte what older builds
// wrote; a node with the empty configuration never campaigns and accepts the log
// only on top of a snapshot.
#include <gtest/gtest.h>

#include "murphy/raft/cluster_for_test.h"
#include "murphy/raft/membership.h"
#include "murphy/raft/message_codec.h"

namespace murphy::raft::testing {
namespace {

ConfigChange Add(uint32_t node, std::string context) {
  return {ConfigChangeType::kAddLearner, NodeId(node), std::move(context)};
}
ConfigChange Promote(uint32_t node) { return {ConfigChangeType::kPromote, NodeId(node)}; }
ConfigChange Remove(uint32_t node) { return {ConfigChangeType::kRemove, NodeId(node)}; }

// --- ConfigChange payload ------------------------------------------------------------

TEST(ConfigChangeContextTest, WithoutContextTheBytesAreThoseOfVersionOne) {
  // [type][node varint], as the encoder wrote before contexts existed.
  EXPECT_EQ(EncodeConfigChange(Promote(4)), std::string("\x02\x04", 2));
  EXPECT_EQ(EncodeConfigChange(Remove(300)), std::string("\x03\xac\x02", 3));
  Result<ConfigChange> old = DecodeConfigChange(std::string("\x01\x07", 2));
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(*old, (ConfigChange{ConfigChangeType::kAddLearner, NodeId(7)}));
}

TEST(ConfigChangeContextTest, ContextRoundTripsAndBadPayloadsAreErrors) {
  const ConfigChange change = Add(4, "127.0.0.1:7004");
  const std::string bytes = EncodeConfigChange(change);
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kConfigChangeVersion2);
  Result<ConfigChange> decoded = DecodeConfigChange(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, change);
  EXPECT_EQ(DescribeConfigChange(change), "add-learner 4 context=127.0.0.1:7004");
  // Every truncation of a valid payload is refused, never a crash.
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(DecodeConfigChange(bytes.substr(0, length)).ok()) << length;
  }
  EXPECT_FALSE(DecodeConfigChange(bytes + "x").ok());
  // Version 2 with an empty context is not something the encoder writes.
  EXPECT_FALSE(DecodeConfigChange(std::string("\x20\x01\x04\x00", 4)).ok());
  // An oversized context.
  std::string oversized("\x20\x01\x04", 3);
  oversized += std::string("\x81\x04", 2);  // length 513
  oversized += std::string(513, 'a');
  EXPECT_FALSE(DecodeConfigChange(oversized).ok());
  EXPECT_EQ(ApplyConfigChange({{NodeId(1)}, {}}, Add(4, std::string(kMaxConfigChangeContextBytes + 1, 'a')))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(ConfigChangeContextTest, ApplySetsKeepsAndDropsTheContext) {
  Membership membership{{NodeId(1), NodeId(2), NodeId(3)}, {}};
  Result<Membership> added = ApplyConfigChange(membership, Add(4, "h:4"));
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->ContextOf(NodeId(4)), "h:4");
  EXPECT_EQ(added->ContextOf(NodeId(1)), "");
  Result<Membership> promoted = ApplyConfigChange(*added, Promote(4));
  ASSERT_TRUE(promoted.ok());
  EXPECT_TRUE(promoted->IsVoter(NodeId(4)));
  EXPECT_EQ(promoted->ContextOf(NodeId(4)), "h:4");
  EXPECT_EQ(DescribeMembership(*promoted), "voters=(1 2 3 4) contexts=(4=h:4)");
  Result<Membership> removed = ApplyConfigChange(*promoted, Remove(4));
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->contexts.empty());
  EXPECT_EQ(*removed, membership);
}

// --- Message codec -------------------------------------------------------------------

TEST(MessageContextCodecTest, SnapshotMembershipContextsTravelAndOldVersionStillDecodes) {
  Message message = MakeMessage(MessageType::kSnapshot, 1, 4, 3);
  message.index = LogIndex(9);
  message.log_term = Term(3);
  message.snapshot_membership = {{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}};
  message.snapshot_size = 2;
  message.data = "ab";
  // No contexts: version 2, what older builds wrote and read.
  Bytes plain = EncodeMessage(message);
  EXPECT_EQ(plain[0], kMessageEncodingVersion);
  Result<Message> decoded = DecodeMessage(plain);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, message);

  message.snapshot_membership.contexts = {{NodeId(2), "b:2"}, {NodeId(4), "d:4"}};
  Bytes with_contexts = EncodeMessage(message);
  EXPECT_EQ(with_contexts[0], kMessageEncodingVersionWithContexts);
  decoded = DecodeMessage(with_contexts);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, message);
  for (size_t length = 0; length < with_contexts.size(); ++length) {
    EXPECT_FALSE(DecodeMessage(std::span(with_contexts.data(), length)).ok()) << length;
  }

  message.snapshot_membership.contexts = {{NodeId(5), "e:5"}};  // not a member
  EXPECT_EQ(DecodeMessage(EncodeMessage(message)).status().code(), StatusCode::kInvalidArgument);
}

// --- A node with no configuration ----------------------------------------------------

Raft Unconfigured(uint32_t id) {
  Config config;
  config.id = NodeId(id);
  return Raft(config, RestoreState{});
}

TEST(UnconfiguredNodeTest, NeverCampaigns) {
  Raft raft = Unconfigured(4);
  EXPECT_TRUE(raft.membership().empty());
  for (int i = 0; i < 1000; ++i) raft.Tick();
  raft.Campaign();
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_TRUE(raft.TakeMessages().empty());
  EXPECT_EQ(raft.ReportLeaderFailure().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(raft.term(), Term(0));
}

// The bootstrap configuration is in no log entry: replaying a leader's log from
// index 1 on top of the empty configuration would make "promote 4" look like a
// one-voter cluster of node 4. So entries are refused until a snapshot arrives.
TEST(UnconfiguredNodeTest, RefusesEntriesUntilASnapshotArrives) {
  Raft raft = Unconfigured(4);
  Message append = MakeMessage(MessageType::kAppend, 1, 4, 2);
  append.entries = {{Term(1), LogIndex(1), EntryType::kNormal, "x"},
                    {Term(2), LogIndex(2), EntryType::kConfigChange, EncodeConfigChange(Add(4, "d:4"))},
                    {Term(2), LogIndex(3), EntryType::kConfigChange, EncodeConfigChange(Promote(4))}};
  append.commit = LogIndex(3);
  ASSERT_TRUE(raft.Step(append).ok());
  EXPECT_EQ(raft.log().last_index(), LogIndex(0));
  EXPECT_TRUE(raft.membership().empty());
  std::vector<Message> responses = MessagesOfType(raft.TakeMessages(), MessageType::kAppendResponse);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_TRUE(responses[0].reject);
  EXPECT_EQ(responses[0].reject_hint, LogIndex(0));
  for (int i = 0; i < 100; ++i) raft.Tick();
  EXPECT_EQ(raft.role(), Role::kFollower);

  // The snapshot brings the configuration (with contexts); entries then apply.
  Message chunk = MakeMessage(MessageType::kSnapshot, 1, 4, 2);
  chunk.index = LogIndex(2);
  chunk.log_term = Term(2);
  chunk.snapshot_membership = {{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(4)}, {{NodeId(4), "d:4"}}};
  chunk.snapshot_size = 1;
  chunk.data = "s";
  ASSERT_TRUE(raft.Step(chunk).ok());
  EXPECT_TRUE(raft.membership().IsLearner(NodeId(4)));
  EXPECT_EQ(raft.membership().ContextOf(NodeId(4)), "d:4");
  Message rest = MakeMessage(MessageType::kAppend, 1, 4, 2);
  rest.index = LogIndex(2);
  rest.log_term = Term(2);
  rest.entries = {append.entries[2]};
  ASSERT_TRUE(raft.Step(rest).ok());
  EXPECT_EQ(raft.log().last_index(), LogIndex(3));
  EXPECT_TRUE(raft.membership().IsVoter(NodeId(4)));
  EXPECT_EQ(raft.membership().voters.size(), 4u);
}

// --- In a cluster --------------------------------------------------------------------

void Settle(Cluster& cluster, int rounds = 5) {
  for (int i = 0; i < rounds; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
}

TEST(MembershipContextClusterTest, JoiningNodeWaitsForTheSnapshotThenKeepsContextsThroughCompaction) {
  Cluster cluster({});
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  ASSERT_EQ(cluster.Leader(), NodeId(1));
  ASSERT_TRUE(cluster.Propose(NodeId(1), "a").ok());
  cluster.Stabilize();
  cluster.AddUnconfiguredNode(NodeId(4));
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), Add(4, "127.0.0.1:7004")).ok());
  Settle(cluster);
  // The leader has not compacted: node 4 cannot take the log from index 1.
  EXPECT_EQ(cluster.raft(NodeId(4)).log().last_index(), LogIndex(0));
  EXPECT_TRUE(cluster.raft(NodeId(4)).membership().empty());
  EXPECT_EQ(cluster.raft(NodeId(2)).membership().ContextOf(NodeId(4)), "127.0.0.1:7004");
  ASSERT_TRUE(cluster.Compact(NodeId(1)).ok());
  EXPECT_EQ(cluster.raft(NodeId(1)).snapshot()->metadata.membership.ContextOf(NodeId(4)), "127.0.0.1:7004");
  Settle(cluster);
  ASSERT_TRUE(cluster.storage(NodeId(4)).snapshot().has_value());
  EXPECT_EQ(cluster.storage(NodeId(4)).snapshot()->metadata.membership.ContextOf(NodeId(4)), "127.0.0.1:7004");
  EXPECT_EQ(cluster.raft(NodeId(4)).log().last_index(), cluster.raft(NodeId(1)).log().last_index());
  ASSERT_TRUE(cluster.ProposeMembershipChange(NodeId(1), Promote(4)).ok());
  Settle(cluster);
  for (NodeId id : cluster.ids()) {
    EXPECT_TRUE(cluster.raft(id).membership().IsVoter(NodeId(4))) << ToString(id);
    EXPECT_EQ(cluster.raft(id).membership().ContextOf(NodeId(4)), "127.0.0.1:7004") << ToString(id);
  }
  // Restarted from its disk (a snapshot holding the contexts), node 4 still knows.
  cluster.Crash(NodeId(4));
  cluster.Restart(NodeId(4));
  EXPECT_EQ(cluster.raft(NodeId(4)).membership().ContextOf(NodeId(4)), "127.0.0.1:7004");
  // The old leader goes; the four-voter cluster (quorum 3) elects another and commits.
  cluster.Crash(NodeId(1));
  cluster.Campaign(NodeId(4));
  Settle(cluster, 30);
  std::optional<NodeId> leader = cluster.Leader();
  ASSERT_TRUE(leader.has_value());
  EXPECT_NE(*leader, NodeId(1));
  const LogIndex before = cluster.raft(*leader).log().committed();
  ASSERT_TRUE(cluster.Propose(*leader, "after").ok());
  Settle(cluster);
  EXPECT_GT(cluster.raft(*leader).log().committed(), before);
  EXPECT_TRUE(cluster.ProposeMembershipChange(*leader, Remove(4)).ok());
  Settle(cluster);
  EXPECT_FALSE(cluster.raft(NodeId(2)).membership().Contains(NodeId(4)));
  EXPECT_EQ(cluster.raft(NodeId(2)).membership().ContextOf(NodeId(4)), "");
  EXPECT_TRUE(cluster.violations().empty());
}

}  // namespace
}  // namespace murphy::raft::testing
