#include "murphy/check/raft_invariants.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace murphy {
namespace {

Instant At(int64_t t) { return Instant::FromNanoseconds(t * 1'000'000); }
NodeId N(uint32_t node) { return NodeId(node); }

// Entries from index `from`, given as {term, data hash} pairs.
std::vector<RaftLogEntry> Entries(uint64_t from, std::vector<std::pair<uint64_t, uint64_t>> terms_and_data) {
  std::vector<RaftLogEntry> entries;
  for (const auto& [term, data] : terms_and_data) entries.push_back({LogIndex(from++), Term(term), data});
  return entries;
}

void Observe(RaftSafetyChecker& checker, const RaftObservation& observation) {
  const Status status = checker.Observe(observation);
  ASSERT_TRUE(status.ok()) << status.ToString();
}

// A healthy run: leader 1 in term 1 replicates two entries and an uncommitted third;
// node 2 wins term 2 without the third, which node 1 then truncates.
void HealthyRun(RaftSafetyChecker& checker) {
  Observe(checker, RaftObservation::BecameLeader(At(1), N(1), Term(1)));
  for (uint32_t node = 1; node <= 3; ++node) {
    Observe(checker, RaftObservation::Log(At(2), N(node), LogIndex(1), Entries(1, {{1, 0xa}, {1, 0xb}})));
  }
  Observe(checker, RaftObservation::Committed(At(3), N(1), Term(1), LogIndex(2)));
  Observe(checker, RaftObservation::Committed(At(4), N(2), Term(1), LogIndex(2)));
  for (uint32_t node = 1; node <= 3; ++node) {
    Observe(checker, RaftObservation::Applied(At(5), N(node), LogIndex(1), 0xa));
    Observe(checker, RaftObservation::Applied(At(5), N(node), LogIndex(2), 0xb));
  }
  Observe(checker, RaftObservation::Log(At(6), N(1), LogIndex(3), Entries(3, {{1, 0xc}})));
  Observe(checker, RaftObservation::BecameLeader(At(7), N(2), Term(2)));
  Observe(checker, RaftObservation::BecameLeader(At(7), N(2), Term(2)));  // Reported twice: harmless.
  Observe(checker, RaftObservation::Log(At(8), N(2), LogIndex(3), Entries(3, {{2, 0xd}})));
  Observe(checker, RaftObservation::Log(At(8), N(1), LogIndex(3), Entries(3, {{2, 0xd}})));
  Observe(checker, RaftObservation::Log(At(8), N(3), LogIndex(3), Entries(3, {{2, 0xd}})));
  Observe(checker, RaftObservation::Committed(At(9), N(2), Term(2), LogIndex(3)));
  Observe(checker, RaftObservation::Committed(At(9), N(1), Term(2), LogIndex(3)));
  Observe(checker, RaftObservation::Applied(At(10), N(1), LogIndex(3), 0xd));
}

TEST(RaftSafetyTest, HealthyRunWithTruncationHasNoViolation) {
  RaftSafetyChecker checker;
  HealthyRun(checker);
  EXPECT_TRUE(checker.ok()) << checker.Report();
  EXPECT_EQ(checker.Report(), "raft safety: ok\n");
}

TEST(RaftSafetyTest, TwoLeadersInOneTermViolateElectionSafety) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::BecameLeader(At(1), N(1), Term(3)));
  Observe(checker, RaftObservation::BecameLeader(At(2), N(2), Term(4)));
  EXPECT_TRUE(checker.ok());
  Observe(checker, RaftObservation::BecameLeader(At(5), N(3), Term(3)));
  ASSERT_EQ(checker.violation_count(), 1u);
  const RaftViolation& violation = checker.violations()[0];
  EXPECT_EQ(violation.invariant, RaftInvariant::kElectionSafety);
  EXPECT_EQ(violation.time, At(5));
  EXPECT_EQ(violation.description, "term 3 has two leaders: node 1 (at +0.001000000s) and node 3 (at +0.005000000s)");
}

TEST(RaftSafetyTest, DifferentEntriesAtOneIndexAndTermViolateLogMatching) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(1, {{1, 0xa}})));
  Observe(checker, RaftObservation::Log(At(2), N(2), LogIndex(1), Entries(1, {{1, 0xf}})));
  ASSERT_FALSE(checker.ok());
  EXPECT_EQ(checker.violations()[0].invariant, RaftInvariant::kLogMatching);
  EXPECT_NE(checker.violations()[0].description.find("two different entries at index 1 in term 1"),
            std::string::npos);
}

TEST(RaftSafetyTest, SameEntryAfterDifferentPrefixesViolatesLogMatching) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(1, {{1, 0xa}, {3, 0xc}})));
  Observe(checker, RaftObservation::Log(At(2), N(2), LogIndex(1), Entries(1, {{2, 0xb}, {3, 0xc}})));
  ASSERT_EQ(checker.violation_count(), 1u);
  EXPECT_EQ(checker.violations()[0].invariant, RaftInvariant::kLogMatching);
  EXPECT_NE(checker.violations()[0].description.find("both hold index 2 of term 3 but their logs differ at index 1"),
            std::string::npos)
      << checker.violations()[0].description;
}

TEST(RaftSafetyTest, LeaderWithoutACommittedEntryViolatesLeaderCompleteness) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(1, {{1, 0xa}, {1, 0xb}})));
  Observe(checker, RaftObservation::Log(At(1), N(2), LogIndex(1), Entries(1, {{1, 0xa}, {1, 0xb}})));
  Observe(checker, RaftObservation::Log(At(1), N(3), LogIndex(1), Entries(1, {{1, 0xa}})));
  Observe(checker, RaftObservation::Committed(At(2), N(1), Term(1), LogIndex(2)));
  // Node 3 lacks index 2, committed in term 1, yet wins term 2 (a broken vote rule).
  Observe(checker, RaftObservation::BecameLeader(At(3), N(3), Term(2)));
  ASSERT_EQ(checker.violation_count(), 1u);
  EXPECT_EQ(checker.violations()[0].invariant, RaftInvariant::kLeaderCompleteness);
  EXPECT_NE(checker.violations()[0].description.find("node 3 became leader of term 2"), std::string::npos);
  EXPECT_NE(checker.violations()[0].description.find("has only 1 entries"), std::string::npos);
}

TEST(RaftSafetyTest, CommitSeenAfterTheElectionStillJudgesTheLeader) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(1, {{1, 0xa}})));
  Observe(checker, RaftObservation::Log(At(1), N(2), LogIndex(1), Entries(1, {{1, 0xb}})));  // Log matching.
  const uint64_t before = checker.violation_count();
  Observe(checker, RaftObservation::BecameLeader(At(2), N(2), Term(2)));
  Observe(checker, RaftObservation::Committed(At(3), N(1), Term(1), LogIndex(1)));
  ASSERT_EQ(checker.violation_count(), before + 1);
  EXPECT_EQ(checker.violations().back().invariant, RaftInvariant::kLeaderCompleteness);
  EXPECT_NE(checker.violations().back().description.find("its log holds (index 1, term 1, data 000000000000000b)"),
            std::string::npos)
      << checker.violations().back().description;
}

TEST(RaftSafetyTest, LeaderOfTheCommitTermOrEarlierIsNotJudged) {
  // An entry committed in term 3 need not be in the log of term 2's leader.
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::BecameLeader(At(1), N(2), Term(2)));
  Observe(checker, RaftObservation::Log(At(2), N(1), LogIndex(1), Entries(1, {{3, 0xa}})));
  Observe(checker, RaftObservation::Committed(At(3), N(1), Term(3), LogIndex(1)));
  EXPECT_TRUE(checker.ok()) << checker.Report();
}

TEST(RaftSafetyTest, DifferentAppliedEntriesViolateStateMachineSafety) {
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Applied(At(1), N(1), LogIndex(7), 0xa));
  Observe(checker, RaftObservation::Applied(At(2), N(2), LogIndex(7), 0xa));
  EXPECT_TRUE(checker.ok());
  Observe(checker, RaftObservation::Applied(At(3), N(3), LogIndex(7), 0xb));
  ASSERT_EQ(checker.violation_count(), 1u);
  EXPECT_EQ(checker.violations()[0].invariant, RaftInvariant::kStateMachineSafety);
  EXPECT_NE(checker.Report().find("state machine safety at +0.003000000s: two different entries applied at index 7"),
            std::string::npos)
      << checker.Report();
}

TEST(RaftSafetyTest, DifferentCommittedEntriesViolateStateMachineSafety) {
  // Split brain: two leaders in different terms each "commit" their own entry 1
  // (a commit rule without a quorum).
  RaftSafetyChecker checker;
  Observe(checker, RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(1, {{1, 0xa}})));
  Observe(checker, RaftObservation::Committed(At(2), N(1), Term(1), LogIndex(1)));
  Observe(checker, RaftObservation::Log(At(3), N(2), LogIndex(1), Entries(1, {{2, 0xb}})));
  Observe(checker, RaftObservation::Committed(At(4), N(2), Term(2), LogIndex(1)));
  ASSERT_FALSE(checker.ok());
  EXPECT_EQ(checker.violations()[0].invariant, RaftInvariant::kStateMachineSafety);
  EXPECT_NE(checker.violations()[0].description.find("two different entries committed at index 1"),
            std::string::npos);
}

TEST(RaftSafetyTest, MalformedObservationsAreInvalidArguments) {
  RaftSafetyChecker checker;
  EXPECT_EQ(checker.Observe(RaftObservation::Log(At(1), N(1), LogIndex(2), Entries(2, {{1, 0xa}}))).code(),
            StatusCode::kInvalidArgument);  // A gap: index 1 was never reported.
  EXPECT_EQ(checker.Observe(RaftObservation::Log(At(1), N(1), LogIndex(1), Entries(2, {{1, 0xa}}))).code(),
            StatusCode::kInvalidArgument);  // Entries do not start at `from`.
  EXPECT_EQ(checker.Observe(RaftObservation::Committed(At(1), N(1), Term(1), LogIndex(1))).code(),
            StatusCode::kInvalidArgument);  // Commit beyond the observed log.
  EXPECT_TRUE(checker.ok());
}

TEST(RaftSafetyTest, KeepsViolationsUpToItsLimitAndCountsTheRest) {
  RaftSafetyChecker checker(/*max_violations_kept=*/2);
  for (uint32_t node = 2; node <= 5; ++node) {
    Observe(checker, RaftObservation::BecameLeader(At(node), N(1), Term(1)));
    Observe(checker, RaftObservation::BecameLeader(At(node), N(node), Term(1)));
  }
  EXPECT_EQ(checker.violation_count(), 4u);
  EXPECT_EQ(checker.violations().size(), 2u);
  EXPECT_NE(checker.Report().find("... and 2 more"), std::string::npos);
}

}  // namespace
}  // namespace murphy
