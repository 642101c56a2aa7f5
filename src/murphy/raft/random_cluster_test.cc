// Seeded randomized runs of a whole cluster under message loss, duplication,
// reordering, partitions and crashes, with the safety invariants checked throughout
// (cluster_for_test.h), and a liveness check once the faults stop.
#include <gtest/gtest.h>

#include <gtest/gtest-spi.h>

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
};

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
  Cluster cluster(options);
  Rng rng(seed);
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
    } else {
      if (cluster.alive(id)) cluster.Tick(id);
    }
    if (step % 500 == 0) cluster.CheckLogMatching();
    if (::testing::Test::HasFailure()) return 0;
  }
  cluster.CheckLogMatching();

  // Liveness: with the faults gone, a leader emerges and commits a new entry
  // everywhere within a bounded number of ticks.
  cluster.Heal();
  for (NodeId id : ids) {
    if (!cluster.alive(id)) cluster.Restart(id);
  }
  cluster.Stabilize();
  bool committed = false;
  std::optional<LogIndex> final_index;
  for (int tick = 0; tick < 200 && !committed; ++tick) {
    cluster.TickAll();
    cluster.Stabilize();
    if (!final_index.has_value()) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        Result<LogIndex> index = cluster.Propose(*leader, "final");
        if (index.ok()) final_index = *index;
        cluster.Stabilize();
      }
    }
    if (final_index.has_value()) {
      committed = true;
      for (NodeId id : ids) {
        const std::vector<Entry>& applied = cluster.applied(id);
        if (applied.size() < final_index->value()) committed = false;
      }
    }
  }
  EXPECT_TRUE(committed) << "no progress after healing";
  cluster.CheckLogMatching();
  // All state machines agree entirely once caught up.
  for (NodeId id : ids) EXPECT_EQ(cluster.applied(id), cluster.applied(ids[0]));
  // The run must have exercised something: entries beyond the final one committed.
  return cluster.applied(ids[0]).size();
}

TEST(RandomClusterTest, ThreeNodesWithPreVoteAndCheckQuorum) {
  size_t applied = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    applied += RunRandom(seed, {});
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 300u);
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
