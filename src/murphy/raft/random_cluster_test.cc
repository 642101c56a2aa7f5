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

// What the runs exercised, so that a test can insist they did.
struct Exercised {
  uint64_t snapshots_installed = 0;
  uint64_t membership_changes = 0;
};
Exercised exercised;

// Returns the number of entries applied in the end.
size_t RunRandom(uint64_t seed, const RandomRunOptions& run) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  RandomRunResult result = RunRandomCluster(seed, run);
  exercised.snapshots_installed += result.snapshots_installed;
  exercised.membership_changes += result.membership_changes;
  if (!result.violations.empty()) return 0;  // already reported, with the seed.
  EXPECT_TRUE(result.live) << "no progress after healing" << result.liveness_detail;
  return result.applied;
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
