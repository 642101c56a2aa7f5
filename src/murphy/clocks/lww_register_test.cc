// The chapter's "Clock Skew and Last-Write-Wins" story, run three ways.
#include "murphy/clocks/lww_register.h"

#include <gtest/gtest.h>

#include <string>

#include "murphy/clocks/hybrid_clock.h"
#include "murphy/clocks/multi_value_register.h"

namespace murphy {
namespace {

// 10:00:00 on some day, true time.
constexpr int64_t kTenOClockNs = int64_t{1767261600} * 1'000'000'000;
const NodeId kNodeA(1);
const NodeId kNodeB(2);

// True time, and two machines: A's clock is 5 s fast, B's is correct.
struct World {
  WallTime true_time = WallTime::FromNanoseconds(kTenOClockNs);
  WallTime ClockA() const { return true_time + Seconds(5); }
  WallTime ClockB() const { return true_time; }
};

TEST(LwwRegisterTest, TiesAreBrokenByNodeId) {
  LwwRegister<int, WallTime> replica;
  const WallTime at = WallTime::FromNanoseconds(kTenOClockNs);
  EXPECT_TRUE(replica.Write(1, at, NodeId(1)));
  EXPECT_TRUE(replica.Write(2, at, NodeId(2)));
  EXPECT_FALSE(replica.Write(3, at, NodeId(1)));
  EXPECT_EQ(replica.current()->value, 2);
  EXPECT_FALSE(replica.Write(2, at, NodeId(2))) << "the same write again changes nothing";
}

// A writes x=1 at 10:00:00 true time (its clock says 10:00:05). One second later B
// reads x=1 and writes x=2 (its clock says 10:00:01). Both writes are acknowledged.
// After anti-entropy both replicas hold x=1: the later, acknowledged write is gone.
TEST(LwwRegisterTest, WallClockLwwSilentlyLosesTheLaterWriteUnderSkew) {
  World world;
  LwwRegister<int, WallTime> replica_a;
  LwwRegister<int, WallTime> replica_b;
  ASSERT_TRUE(replica_a.Write(1, world.ClockA(), kNodeA));  // acknowledged
  ASSERT_TRUE(replica_b.Merge(replica_a));                  // B reads x=1
  world.true_time += Seconds(1);
  // B's write is applied locally over x=1? No: its timestamp is older, so even B's own
  // replica refuses it — yet a real store has already acknowledged it to the client.
  EXPECT_FALSE(replica_b.Write(2, world.ClockB(), kNodeB));
  replica_a.Merge(replica_b);
  EXPECT_EQ(replica_a.current()->value, 1);
  EXPECT_EQ(replica_b.current()->value, 1) << "x=2, the later write in true time, is lost";
}

// The same story with each replica applying its own write first (the usual case: the
// write lands locally, anti-entropy happens later). Still loses x=2 after merging.
TEST(LwwRegisterTest, WallClockLwwLosesTheLaterWriteAfterAntiEntropy) {
  World world;
  LwwRegister<int, WallTime> replica_a;
  LwwRegister<int, WallTime> replica_b;
  ASSERT_TRUE(replica_a.Write(1, world.ClockA(), kNodeA));
  world.true_time += Seconds(1);
  ASSERT_TRUE(replica_b.Write(2, world.ClockB(), kNodeB));  // B's replica shows x=2 ...
  EXPECT_EQ(replica_b.current()->value, 2);
  replica_a.Merge(replica_b);
  replica_b.Merge(replica_a);
  EXPECT_EQ(replica_a.current()->value, 1);
  EXPECT_EQ(replica_b.current()->value, 1) << "... until anti-entropy silently discards it";
}

// With HLC timestamps: B has seen A's write (it read x=1, so its HLC was updated with
// the timestamp of that write), so B's write is stamped above it and wins.
TEST(LwwRegisterTest, HlcLwwKeepsTheCausallyLaterWrite) {
  World world;
  HybridClock clock_a([&world] { return world.ClockA(); }, Seconds(10));
  HybridClock clock_b([&world] { return world.ClockB(); }, Seconds(10));
  LwwRegister<int, HlcTimestamp> replica_a;
  LwwRegister<int, HlcTimestamp> replica_b;
  ASSERT_TRUE(replica_a.Write(1, clock_a.Now(), kNodeA));
  ASSERT_TRUE(replica_b.Merge(replica_a));
  ASSERT_TRUE(clock_b.Update(replica_b.current()->timestamp).ok());  // B read x=1
  world.true_time += Seconds(1);
  EXPECT_TRUE(replica_b.Write(2, clock_b.Now(), kNodeB));
  replica_a.Merge(replica_b);
  EXPECT_EQ(replica_a.current()->value, 2);
  EXPECT_EQ(replica_b.current()->value, 2);
}

// With the usual max offset (500 ms), B refuses to take A's timestamp at all: the skew
// is reported loudly instead of losing data silently.
TEST(LwwRegisterTest, HlcGuardReportsTheSkewInsteadOfLosingData) {
  World world;
  HybridClock clock_a([&world] { return world.ClockA(); }, Milliseconds(500));
  HybridClock clock_b([&world] { return world.ClockB(); }, Milliseconds(500));
  const HlcTimestamp write_a = clock_a.Now();
  const Status status = clock_b.Update(write_a);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
}

// With a multi-value register, writes that did not see each other are both kept; a
// write that saw the other replaces it.
TEST(LwwRegisterTest, VersionVectorRegisterKeepsConcurrentWritesAsSiblings) {
  MultiValueRegister<int> replica_a;
  MultiValueRegister<int> replica_b;
  ASSERT_TRUE(replica_a.Write(kNodeA, 1, VectorClock()).ok());
  ASSERT_TRUE(replica_b.Write(kNodeB, 2, VectorClock()).ok());  // did not see x=1
  ASSERT_TRUE(replica_a.Merge(replica_b).ok());
  ASSERT_TRUE(replica_b.Merge(replica_a).ok());
  EXPECT_EQ(replica_a.Values(), (std::vector<int>{1, 2}));
  EXPECT_EQ(replica_b.Values(), (std::vector<int>{1, 2}));
  // B's next write, having read both, replaces both everywhere.
  ASSERT_TRUE(replica_b.Write(kNodeB, 3, replica_b.Context()).ok());
  ASSERT_TRUE(replica_a.Merge(replica_b).ok());
  EXPECT_EQ(replica_a.Values(), std::vector<int>{3});
}

// And in the chapter's exact story (B read x=1 first), x=2 replaces x=1: no loss.
TEST(LwwRegisterTest, VersionVectorRegisterKeepsTheCausallyLaterWrite) {
  MultiValueRegister<int> replica_a;
  MultiValueRegister<int> replica_b;
  ASSERT_TRUE(replica_a.Write(kNodeA, 1, VectorClock()).ok());
  ASSERT_TRUE(replica_b.Merge(replica_a).ok());
  ASSERT_TRUE(replica_b.Write(kNodeB, 2, replica_b.Context()).ok());
  ASSERT_TRUE(replica_a.Merge(replica_b).ok());
  EXPECT_EQ(replica_a.Values(), std::vector<int>{2});
}

}  // namespace
}  // namespace murphy
