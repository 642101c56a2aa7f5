// Mutation check (STYLE.md: "a checker is proven able to fail"). Each RaftMutations
// switch plants one known safety bug; the seeded randomized workload
// (RunRandomCluster, with loss, duplication, reordering, partitions and crashes
// that lose unsynced state) must flag it through an invariant checker within a
// bounded number of seeds, and the same seeds must be clean without the bug.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
namespace {

// The bound on seeds per mutation: a checker that needs more than this to notice
// a bug this blatant is too weak to trust.
constexpr uint64_t kMaxSeeds = 1000;

// The workload every mutation runs under; the same seeds must be clean without it.
RandomRunOptions Workload(RandomRunOptions base, const RaftMutations& mutations) {
  base.mutations = mutations;
  base.collect_violations = true;
  base.propose_to_stale_leaders = true;
  return base;
}

struct Caught {
  uint64_t seed = 0;  // 0: not caught.
  std::string violation;
};

// The first seed whose run some checker flags, and the first one flagged by the
// checker named `invariant` (a violation message starts with its checker's name;
// a Status adds its code in front).
struct Catches {
  Caught any;
  Caught expected;
};

Catches FirstCaught(const RandomRunOptions& base, const RaftMutations& mutations, const std::string& invariant) {
  Catches catches;
  for (uint64_t seed = 1; seed <= kMaxSeeds && catches.expected.seed == 0; ++seed) {
    RandomRunResult result = RunRandomCluster(seed, Workload(base, mutations));
    if (result.violations.empty()) continue;
    const std::string& first = result.violations.front();
    if (catches.any.seed == 0) catches.any = {seed, first};
    if (first.find(invariant) != std::string::npos) catches.expected = {seed, first};
  }
  return catches;
}

// The named checker must catch the mutation within kMaxSeeds, and every seed up
// to there must be clean (and live) without it, so what was flagged is the
// seeded bug, not noise.
void ExpectCaught(const char* name, const RaftMutations& mutations, const std::string& invariant,
                  const RandomRunOptions& base = {}) {
  ASSERT_TRUE(mutations.any());
  Catches catches = FirstCaught(base, mutations, invariant);
  if (catches.any.seed != 0) {
    std::printf("mutation %s: first caught at seed %llu by: %s\n", name,
                static_cast<unsigned long long>(catches.any.seed), catches.any.violation.c_str());
  }
  ASSERT_NE(catches.expected.seed, 0u) << name << ": not caught by " << invariant << " in seeds 1.." << kMaxSeeds;
  if (catches.expected.seed != catches.any.seed) {
    std::printf("mutation %s: caught by %s at seed %llu: %s\n", name, invariant.c_str(),
                static_cast<unsigned long long>(catches.expected.seed), catches.expected.violation.c_str());
  }
  for (uint64_t seed = 1; seed <= catches.expected.seed; ++seed) {
    RandomRunResult clean = RunRandomCluster(seed, Workload(base, {}));
    ASSERT_TRUE(clean.violations.empty()) << "seed " << seed << " without mutation: " << clean.violations.front();
    ASSERT_TRUE(clean.live) << "seed " << seed << " without mutation is not live" << clean.liveness_detail;
  }
}

TEST(MutationTest, DefaultsAreOff) {
  Config config;
  EXPECT_FALSE(config.mutations.any());
}

TEST(MutationTest, CommitWithoutQuorumIsCaught) {
  ExpectCaught("commit_without_quorum", {.commit_without_quorum = true}, "leader completeness");
}

TEST(MutationTest, VoteTwiceInTermIsCaught) {
  ExpectCaught("vote_twice_in_term", {.vote_twice_in_term = true}, "election safety");
}

TEST(MutationTest, AckBeforeSyncIsCaught) {
  ExpectCaught("ack_before_sync", {.ack_before_sync = true}, "sent before synced");
}

TEST(MutationTest, SkipAppendTermCheckIsCaught) {
  // Plain Raft: with CheckQuorum a cut-off leader steps down within an election
  // timeout and PreVote keeps terms steady, so stale appends are rare; without
  // them stale leaders linger, which is where the term check matters most.
  ExpectCaught("skip_append_term_check", {.skip_append_term_check = true}, "acknowledged entries kept",
               {.pre_vote = false, .check_quorum = false});
}

}  // namespace
}  // namespace murphy::raft::testing
