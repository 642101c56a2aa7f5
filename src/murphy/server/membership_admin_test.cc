// Runtime membership changes in simulation: NodeShell's ProposeMembershipChange and
// join mode, driven by MembershipAdmin, on the same code murphyd runs. A 3-node
// cluster adds node 4 (which catches up from a snapshot and is promoted), loses its
// leader and keeps working with four members, then removes a node; the removed
// node, restarted with its stale configuration, does not disrupt the cluster.
#include "murphy/server/membership_admin.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/node/client_protocol.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/node/node_checkers.h"
#include "murphy/node/node_shell.h"
#include "murphy/sim/simulator.h"

namespace murphy::server {
namespace {

using node::KvStateMachine;
using node::NodeShell;

class MembershipCluster {
 public:
  explicit MembershipCluster(uint64_t seed) : sim_(Options(seed)) {
    checkers_ = std::make_unique<node::NodeCheckers>([this] { return sim_.now(); });
    for (int i = 1; i <= 3; ++i) {
      sim_.AddProcess("node" + std::to_string(i), [this](Env& env) { return MakeNode(env, /*join=*/false); });
    }
  }

  static sim::SimOptions Options(uint64_t seed) {
    sim::SimOptions options;
    options.seed = seed;
    return options;
  }

  std::unique_ptr<sim::Process> MakeNode(Env& env, bool join) {
    node::NodeOptions options;
    if (!join) options.members = {NodeId(1), NodeId(2), NodeId(3)};
    options.join = join;
    options.observer = checkers_.get();
    // Never by count: the only snapshot is the one a runtime member forces.
    options.snapshot_every_entries = 0;
    const NodeId self = env.self();
    options.on_membership = [this, self](const raft::Membership& membership) {
      reported_[self].push_back(membership);
    };
    return sim::Hold(std::make_unique<NodeShell>(env, options, std::make_unique<KvStateMachine>()));
  }

  NodeId StartJoiningNode() {
    return sim_.AddProcess("joiner", [this](Env& env) { return MakeNode(env, /*join=*/true); });
  }

  sim::Simulator& sim() { return sim_; }
  NodeShell* node(NodeId id) { return sim_.alive(id) ? sim_.ProcessAs<NodeShell>(id) : nullptr; }
  const std::vector<raft::Membership>& reported(NodeId id) { return reported_[id]; }
  const KvStateMachine& machine(NodeId id) {
    return static_cast<const KvStateMachine&>(node(id)->state_machine());
  }

  std::optional<NodeId> Leader() {
    std::optional<NodeId> leader;
    Term best;
    for (const NodeId id : sim_.nodes()) {
      NodeShell* shell = node(id);
      if (shell != nullptr && shell->is_leader() && (!leader.has_value() || shell->term() > best)) {
        leader = id;
        best = shell->term();
      }
    }
    return leader;
  }

  NodeId WaitForLeader() {
    const Result<bool> found =
        sim_.RunUntil([this] { return Leader().has_value(); }, sim_.now() + Seconds(10));
    EXPECT_TRUE(found.ok() && *found) << "seed " << sim_.seed();
    return Leader().value_or(raft::kNoNode);
  }

  // Puts key=value through the leader and runs until every live member applied it.
  void Put(const std::string& key, int64_t value) {
    const NodeId leader = WaitForLeader();
    ASSERT_NE(leader, raft::kNoNode);
    Result<LogIndex> index = node(leader)->ProposeCommand(
        node::EncodeCommand({77, ++sequence_, node::EncodeKvOperation({node::KvOp::kPut, key, value, 0})}));
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    const Result<bool> applied = sim_.RunUntil(
        [&] {
          for (const NodeId id : node(leader)->membership().voters) {
            if (node(id) != nullptr && node(id)->applied_index() < *index) return false;
          }
          return true;
        },
        sim_.now() + Seconds(10));
    ASSERT_TRUE(applied.ok() && *applied) << "seed " << sim_.seed() << " key " << key;
  }

  // Runs an admin operation on the leader to completion.
  Status RunAdmin(const std::function<Status(MembershipAdmin&, std::function<void(Status)>)>& start) {
    const NodeId leader = WaitForLeader();
    MembershipAdmin admin(*node(leader), sim_.env(leader), {Milliseconds(20), Seconds(20)});
    std::optional<Status> outcome;
    const Status started = start(admin, [&outcome](Status status) { outcome = std::move(status); });
    if (!started.ok()) return started;
    const Result<bool> done =
        sim_.RunUntil([&outcome] { return outcome.has_value(); }, sim_.now() + Seconds(30));
    EXPECT_TRUE(done.ok() && *done) << "seed " << sim_.seed();
    return outcome.value_or(InternalError("admin operation did not finish"));
  }

  void ExpectChecksPass() {
    const Status verdict = checkers_->Verdict();
    EXPECT_TRUE(verdict.ok()) << "seed " << sim_.seed() << ": " << verdict.ToString();
  }

 private:
  sim::Simulator sim_;
  std::unique_ptr<node::NodeCheckers> checkers_;
  std::map<NodeId, std::vector<raft::Membership>> reported_;
  uint64_t sequence_ = 0;
};

constexpr NodeId kNew{4};

TEST(MembershipAdminTest, AddedNodeCatchesUpBySnapshotAndTheClusterSurvivesItsLeader) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    MembershipCluster cluster(seed);
    for (int i = 0; i < 20; ++i) cluster.Put("k" + std::to_string(i), i);

    // The joining node waits, unconfigured: no campaign, no term, no log.
    ASSERT_EQ(cluster.StartJoiningNode(), kNew);
    ASSERT_TRUE(cluster.sim().RunFor(Seconds(3)).ok());
    EXPECT_EQ(cluster.node(kNew)->term(), Term(0));
    EXPECT_TRUE(cluster.node(kNew)->membership().empty());
    ASSERT_FALSE(cluster.reported(kNew).empty());
    EXPECT_TRUE(cluster.reported(kNew).front().empty());

    const Status added = cluster.RunAdmin([](MembershipAdmin& admin, std::function<void(Status)> done) {
      return admin.AddMember(kNew, "127.0.0.1:7004", std::move(done));
    });
    ASSERT_TRUE(added.ok()) << "seed " << seed << ": " << added.ToString();
    ASSERT_TRUE(cluster.sim().RunFor(Seconds(1)).ok());
    NodeShell& joined = *cluster.node(kNew);
    EXPECT_GT(joined.snapshot_index(), LogIndex()) << "seed " << seed << ": caught up without a snapshot";
    EXPECT_TRUE(joined.membership().IsVoter(kNew));
    EXPECT_EQ(joined.membership().voters.size(), 4u);
    EXPECT_EQ(joined.membership().ContextOf(kNew), "127.0.0.1:7004");
    EXPECT_EQ(cluster.machine(kNew).data(), cluster.machine(NodeId(1)).data());
    EXPECT_EQ(cluster.reported(NodeId(2)).back().ContextOf(kNew), "127.0.0.1:7004");

    // A restart recovers the configuration, contexts included, from the WAL.
    cluster.sim().Crash(kNew);
    cluster.sim().Restart(kNew);
    EXPECT_EQ(cluster.reported(kNew).back().ContextOf(kNew), "127.0.0.1:7004");
    EXPECT_TRUE(cluster.reported(kNew).back().IsVoter(kNew));

    // Kill the leader: three of four voters elect another and keep committing.
    const NodeId old_leader = cluster.WaitForLeader();
    cluster.sim().Crash(old_leader);
    cluster.Put("after-crash", 1);
    const NodeId leader = cluster.WaitForLeader();
    EXPECT_NE(leader, old_leader);
    EXPECT_EQ(cluster.node(leader)->membership().voters.size(), 4u);

    // Remove the dead node; the rest is a 3-voter cluster.
    const Status removed =
        cluster.RunAdmin([old_leader](MembershipAdmin& admin, std::function<void(Status)> done) {
          return admin.RemoveMember(old_leader, std::move(done));
        });
    ASSERT_TRUE(removed.ok()) << "seed " << seed << ": " << removed.ToString();
    cluster.Put("after-remove", 2);
    EXPECT_FALSE(cluster.node(cluster.WaitForLeader())->membership().Contains(old_leader));

    // The removed node returns with its stale configuration (it never saw its
    // removal): PreVote and CheckQuorum keep it from disturbing the leader.
    const NodeId steady_leader = cluster.WaitForLeader();
    const Term steady_term = cluster.node(steady_leader)->term();
    cluster.sim().Restart(old_leader);
    ASSERT_TRUE(cluster.sim().RunFor(Seconds(5)).ok());
    EXPECT_EQ(cluster.Leader(), steady_leader) << "seed " << seed;
    EXPECT_EQ(cluster.node(steady_leader)->term(), steady_term) << "seed " << seed;
    cluster.Put("after-return", 3);
    EXPECT_FALSE(cluster.node(old_leader)->is_leader());
    cluster.ExpectChecksPass();
  }
}

TEST(MembershipAdminTest, RefusalsAreClear) {
  MembershipCluster cluster(7);
  cluster.Put("x", 1);
  const NodeId leader = cluster.WaitForLeader();
  const NodeId follower = leader == NodeId(1) ? NodeId(2) : NodeId(1);
  EXPECT_EQ(cluster.node(follower)
                ->ProposeMembershipChange({raft::ConfigChangeType::kAddLearner, kNew, "127.0.0.1:1"})
                .status()
                .code(),
            StatusCode::kUnavailable);
  EXPECT_EQ(cluster.node(leader)
                ->ProposeMembershipChange({raft::ConfigChangeType::kPromote, NodeId(3)})
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(cluster.node(leader)
                ->ProposeMembershipChange({raft::ConfigChangeType::kAddLearner, raft::kNoNode})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  // One change at a time: the second waits for the first to commit.
  ASSERT_TRUE(
      cluster.node(leader)->ProposeMembershipChange({raft::ConfigChangeType::kAddLearner, kNew, "h:4"}).ok());
  EXPECT_EQ(cluster.node(leader)
                ->ProposeMembershipChange({raft::ConfigChangeType::kAddLearner, NodeId(5), "h:5"})
                .status()
                .code(),
            StatusCode::kUnavailable);

  MembershipAdmin admin(*cluster.node(leader), cluster.sim().env(leader));
  EXPECT_EQ(admin.AddMember(NodeId(6), "not an address", [](Status) {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(admin.AddMember(raft::kNoNode, "127.0.0.1:1", [](Status) {}).code(),
            StatusCode::kInvalidArgument);
  std::optional<Status> outcome;
  ASSERT_TRUE(
      admin.AddMember(NodeId(2), "127.0.0.1:2", [&outcome](Status status) { outcome = status; }).ok());
  EXPECT_FALSE(outcome.has_value());  // never called from inside AddMember
  EXPECT_EQ(admin.RemoveMember(NodeId(3), [](Status) {}).code(), StatusCode::kFailedPrecondition);  // busy
  ASSERT_TRUE(cluster.sim()
                  .RunUntil([&outcome] { return outcome.has_value(); }, cluster.sim().now() + Seconds(5))
                  .ok());
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code(), StatusCode::kFailedPrecondition) << outcome->ToString();  // already a member
}

TEST(MembershipAdminTest, ApplyMemberAddressesTellsTheTransportAndReportsBadContexts) {
  raft::Membership membership{
      {NodeId(1), NodeId(2)}, {NodeId(4)}, {{NodeId(1), "127.0.0.1:7001"}, {NodeId(4), "h:7004"}}};
  std::map<NodeId, std::string> told;
  auto add_peer = [&told](NodeId id, const HostPort& address) {
    told[id] = address.host + ":" + std::to_string(address.port);
    return Status::Ok();
  };
  EXPECT_TRUE(ApplyMemberAddresses(membership, NodeId(1), add_peer).ok());
  EXPECT_EQ(told, (std::map<NodeId, std::string>{{NodeId(4), "h:7004"}}));  // not self
  membership.contexts[NodeId(2)] = "no port";
  told.clear();
  const Status status = ApplyMemberAddresses(membership, NodeId(1), add_peer);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(told.size(), 1u);  // the good one is still applied
}

}  // namespace
}  // namespace murphy::server
