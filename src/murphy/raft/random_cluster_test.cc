// Seeded randomized runs of a whole cluster under message loss, duplication,
// reordering, partitions and crashes, with snapshots/compaction at random points
// and membership changes (two spare nodes join as learners, get promoted, members
// get removed), with the safety invariants checked throughout (cluster_for_test.h),
// and a liveness check once the faults stop.
#include <gtest/gtest.h>

#include <gtest/gtest-spi.h>

#include <cstdio>

#include "murphy/core/rng.h"
#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
namespace {

struct RunOptions {
  int voters = 3;
  int steps = 3000;
  bool pre_vote = true;
  bool check_quorum = true;
  bool crashes = true;
  bool compaction = true;
  bool membership_changes = true;
};

// What the runs exercised, so that a test can insist they did.
struct Exercised {
  uint64_t snapshots_installed = 0;
  uint64_t membership_changes = 0;
};
Exercised exercised;

// Returns the number of entries applied in the end.
size_t RunRandom(uint64_t seed, const RunOptions& run) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  ClusterOptions options;
  options.voters = run.voters;
  options.seed = seed;
  options.base.pre_vote = run.pre_vote;
  options.base.check_quorum = run.check_quorum;
  options.base.max_entries_per_message = 3;
  options.base.max_inflight_messages = 4;
  options.base.snapshot_chunk_bytes = 48;
  options.base.max_inflight_snapshot_chunks = 3;
  Cluster cluster(options);
  Rng rng(seed);
  if (run.membership_changes) {
    // Two spare nodes, started as joining nodes are; changes may bring them in.
    cluster.AddNode(NodeId(static_cast<uint32_t>(run.voters + 1)));
    cluster.AddNode(NodeId(static_cast<uint32_t>(run.voters + 2)));
  }
  std::vector<NodeId> ids = cluster.ids();
  auto any_node = [&] { return ids[rng.Uniform(ids.size())]; };
  int proposals = 0;
  for (int step = 0; step < run.steps; ++step) {
    uint64_t action = rng.Uniform(100);
    NodeId id = any_node();
    if (action < 15) {
      if (cluster.alive(id)) cluster.Tick(id);
    } else if (action < 30) {
      cluster.ProcessReady(id);
    } else if (action < 60) {
      if (cluster.in_flight() > 0) cluster.DeliverAt(rng.Uniform(cluster.in_flight()));
    } else if (action < 63) {
      if (cluster.in_flight() > 0) cluster.DropAt(rng.Uniform(cluster.in_flight()));
    } else if (action < 65) {
      if (cluster.in_flight() > 0) cluster.DeliverAt(rng.Uniform(cluster.in_flight()), /*duplicate=*/true);
    } else if (action < 80) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        Result<LogIndex> index = cluster.Propose(*leader, "v" + std::to_string(proposals));
        if (index.ok()) ++proposals;
      }
    } else if (action < 82) {
      // Split the nodes into two random groups.
      std::vector<NodeId> first;
      std::vector<NodeId> second;
      for (NodeId node : ids) (rng.Bernoulli(0.5) ? first : second).push_back(node);
      cluster.Partition({first, second});
    } else if (action < 85) {
      cluster.Heal();
    } else if (action < 86) {
      if (run.crashes && cluster.alive(id)) cluster.Crash(id);
    } else if (action < 90) {
      if (!cluster.alive(id)) cluster.Restart(id);
    } else if (action < 92) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        cluster.ReadIndex(*leader, static_cast<uint64_t>(step)).IgnoreError();
      }
    } else if (action < 93) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        cluster.TransferLeadership(*leader, id).IgnoreError();
      }
    } else if (action < 95) {
      if (run.compaction && cluster.alive(id) && rng.Bernoulli(0.5)) cluster.Compact(id).IgnoreError();
    } else if (action < 97) {
      if (std::optional<NodeId> leader = cluster.Leader(); leader.has_value() && run.membership_changes) {
        const Membership& membership = cluster.raft(*leader).membership();
        ConfigChange change{ConfigChangeType::kAddLearner, id};
        if (membership.IsLearner(id)) change.type = ConfigChangeType::kPromote;
        // Removals are rarer, and keep at least 3 voters so the run stays live.
        if (membership.IsVoter(id)) {
          if (membership.voters.size() <= 3 || rng.Bernoulli(0.5)) continue;
          change.type = ConfigChangeType::kRemove;
        }
        if (cluster.ProposeMembershipChange(*leader, change).ok()) ++exercised.membership_changes;
      }
    } else {
      if (cluster.alive(id)) cluster.Tick(id);
    }
    if (step % 500 == 0) cluster.CheckLogMatching();
    if (::testing::Test::HasFailure()) return 0;
  }
  cluster.CheckLogMatching();

  // Liveness: with the faults gone, a leader emerges and commits a new entry on
  // every member of its configuration within a bounded number of ticks. Nodes
  // outside it (removed) are shut down once it is known, as the node shell does.
  cluster.Heal();
  for (NodeId id : ids) {
    if (!cluster.alive(id)) cluster.Restart(id);
  }
  cluster.Stabilize();
  bool committed = false;
  LogIndex final_index;  // 0: not proposed (or lost) yet.
  for (int tick = 0; tick < 200 && !committed; ++tick) {
    cluster.TickAll();
    cluster.Stabilize();
    std::optional<NodeId> leader = cluster.Leader();
    if (!leader.has_value()) continue;
    // A leader change may have truncated it away; then propose it again.
    const RaftLog& log = cluster.raft(*leader).log();
    if (final_index > log.last_index() ||
        (final_index > log.offset() && log.EntryAt(final_index).data != "final")) {
      final_index = LogIndex(0);
    }
    if (final_index.value() == 0) {
      Result<LogIndex> index = cluster.Propose(*leader, "final");
      if (index.ok()) final_index = *index;
      cluster.Stabilize();
      continue;
    }
    const Membership members = cluster.raft(*leader).membership();
    std::vector<NodeId> member_ids;
    for (NodeId id : cluster.ids()) {
      if (members.Contains(id)) {
        member_ids.push_back(id);
      } else if (cluster.alive(id)) {
        cluster.Crash(id);
      }
    }
    ids = member_ids;
    committed = true;
    for (NodeId id : ids) {
      if (cluster.applied(id).size() < final_index.value()) committed = false;
    }
  }
  for (NodeId id : cluster.ids()) {
    if (cluster.alive(id)) exercised.snapshots_installed += cluster.raft(id).snapshots_installed();
  }
  EXPECT_TRUE(committed) << "no progress after healing" << [&] {
    std::string text;
    for (NodeId id : cluster.ids()) text += "\n" + cluster.Describe(id);
    return text;
  }();
  cluster.CheckLogMatching();
  // All state machines agree entirely up to the final entry (a leader change at
  // the very end may leave a new leader's no-op applied on some members only).
  auto prefix = [&](NodeId id) {
    const std::vector<Entry>& applied = cluster.applied(id);
    return std::vector<Entry>(applied.begin(),
                              applied.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(
                                                    applied.size(), final_index.value())));
  };
  for (NodeId id : ids) EXPECT_EQ(prefix(id), prefix(ids[0])) << "node " << ToString(id);
  // The run must have exercised something: entries beyond the final one committed.
  return cluster.applied(ids[0]).size();
}

TEST(RandomClusterTest, ThreeNodesWithPreVoteAndCheckQuorum) {
  size_t applied = 0;
  exercised = {};
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    applied += RunRandom(seed, {});
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 300u);
  // The runs did take the new paths, not just the old ones.
  EXPECT_GT(exercised.snapshots_installed, 50u);
  EXPECT_GT(exercised.membership_changes, 100u);
  std::printf("snapshots installed %llu, membership changes %llu\n",
              static_cast<unsigned long long>(exercised.snapshots_installed),
              static_cast<unsigned long long>(exercised.membership_changes));
}

TEST(RandomClusterTest, FiveNodes) {
  size_t applied = 0;
  for (uint64_t seed = 1000; seed <= 1100; ++seed) {
    applied += RunRandom(seed, {.voters = 5});
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 101u);
}

TEST(RandomClusterTest, PlainRaftWithoutPreVoteOrCheckQuorum) {
  size_t applied = 0;
  for (uint64_t seed = 2000; seed <= 2100; ++seed) {
    applied += RunRandom(seed, {.pre_vote = false, .check_quorum = false});
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 101u);
}

TEST(RandomClusterTest, SingleNode) {
  size_t applied = 0;
  for (uint64_t seed = 300; seed <= 305; ++seed) {
    applied += RunRandom(seed, {.voters = 1, .steps = 500});
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 6u);
}

// The checkers can fail: a forged append from a second "leader" of the same term
// gives two nodes different entries at one (index, term), which log matching flags.
TEST(RandomClusterTest, LogMatchingCheckCatchesForgedLeader) {
  ClusterOptions options;
  options.base.check_quorum = false;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  const Term term = cluster.raft(NodeId(1)).term();
  cluster.Partition({{NodeId(1), NodeId(3)}, {NodeId(2)}});
  ASSERT_TRUE(cluster.Propose(NodeId(1), "x").ok());
  cluster.Stabilize();
  Message forged;
  forged.type = MessageType::kAppend;
  forged.from = NodeId(3);
  forged.to = NodeId(2);
  forged.term = term;
  forged.index = LogIndex(1);
  forged.log_term = term;
  forged.entries = {{term, LogIndex(2), EntryType::kNormal, "evil"}};
  ASSERT_TRUE(cluster.node(NodeId(2)).Step(forged).ok());
  EXPECT_NONFATAL_FAILURE(cluster.CheckLogMatching(), "log matching");
}

}  // namespace
}  // namespace murphy::raft::testing
