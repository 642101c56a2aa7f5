#include "murphy/check/fencing.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

Instant Second(int64_t seconds) { return Instant() + Seconds(seconds); }
Instant Millisecond(int64_t milliseconds) { return Instant() + Milliseconds(milliseconds); }
const NodeId kA(1);
const NodeId kB(2);

// The chapter's GC-pause timeline: A holds the lease with token 33 from 0 s, pauses
// at 5 s for 7 s; the lease expires at 10 s; B acquires with 34 at 11 s and writes;
// A wakes at 12 s and writes. `store_checks_tokens` is the mitigation.
FencingChecker GcPauseTimeline(bool store_checks_tokens) {
  FencingChecker checker("file");
  checker.RecordGrant(Second(0), kA, FencingToken(33));
  checker.RecordWrite(Second(1), kA, FencingToken(33), /*accepted=*/true);
  checker.RecordGrant(Second(11), kB, FencingToken(34));
  checker.RecordWrite(Millisecond(11'500), kB, FencingToken(34), /*accepted=*/true);
  checker.RecordWrite(Second(12), kA, FencingToken(33), /*accepted=*/!store_checks_tokens);
  checker.RecordWrite(Second(13), kB, FencingToken(34), /*accepted=*/true);  // The holder writes again.
  return checker;
}

TEST(FencingCheckerTest, CatchesTheChaptersCorruptionWithoutTokenChecks) {
  const FencingChecker checker = GcPauseTimeline(/*store_checks_tokens=*/false);
  const std::vector<FencingViolation> violations = checker.Check();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].kind, FencingViolation::Kind::kInterleaved);
  EXPECT_EQ(violations[0].writer, kA);
  EXPECT_EQ(violations[0].token, FencingToken(33));
  EXPECT_EQ(violations[0].time, Second(12));
  EXPECT_EQ(violations[0].description,
            "resource file: two holders' writes interleaved: node 1 wrote with token 33 (superseded by the grant "
            "of token 34 to node 2 at +11.000000000s) at +12.000000000s and it was accepted after node 2 had "
            "written with token 34 at +11.500000000s");
  EXPECT_NE(checker.Report().find("1 violation(s)"), std::string::npos);
}

TEST(FencingCheckerTest, PassesWhenTheStoreRejectsTheStaleToken) {
  const FencingChecker checker = GcPauseTimeline(/*store_checks_tokens=*/true);
  EXPECT_TRUE(checker.Check().empty());
  EXPECT_EQ(checker.accepted_writes(), 3u);
  EXPECT_EQ(checker.rejected_writes(), 1u);
  EXPECT_EQ(checker.Report(), "resource file: 3 writes accepted, 1 rejected, no interleaving\n");
}

TEST(FencingCheckerTest, SupersededWriteBeforeTheNewHolderWritesIsNotInterleaving) {
  // Documented limit: the store has seen nothing newer, so nothing interleaved here.
  FencingChecker checker("file");
  checker.RecordGrant(Second(0), kA, FencingToken(33));
  checker.RecordGrant(Second(11), kB, FencingToken(34));
  checker.RecordWrite(Second(12), kA, FencingToken(33), true);
  checker.RecordWrite(Second(13), kB, FencingToken(34), true);
  EXPECT_TRUE(checker.Check().empty());
}

TEST(FencingCheckerTest, WritesAreJudgedInTrueTimeOrderNotRecordingOrder) {
  FencingChecker checker("file");
  checker.RecordGrant(Second(0), kA, FencingToken(33));
  checker.RecordGrant(Second(11), kB, FencingToken(34));
  checker.RecordWrite(Second(12), kA, FencingToken(33), true);  // Recorded first, happened last.
  checker.RecordWrite(Second(11), kB, FencingToken(34), true);
  ASSERT_EQ(checker.Check().size(), 1u);
  EXPECT_EQ(checker.Check()[0].writer, kA);
}

TEST(FencingCheckerTest, CatchesATokenNeverGrantedToItsWriter) {
  FencingChecker checker("file");
  checker.RecordGrant(Second(0), kA, FencingToken(33));
  checker.RecordWrite(Second(1), kB, FencingToken(33), true);
  const std::vector<FencingViolation> violations = checker.Check();
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].kind, FencingViolation::Kind::kUngranted);
  EXPECT_NE(violations[0].description.find("never granted to node 2"), std::string::npos);
}

}  // namespace
}  // namespace murphy
