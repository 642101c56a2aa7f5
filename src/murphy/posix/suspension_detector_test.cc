#include "murphy/posix/suspension_detector.h"

#include <gtest/gtest.h>

#include <vector>

namespace murphy::posix {
namespace {

TEST(SuspensionDetectorTest, ClocksAdvancingTogetherAreNotASuspension) {
  FakeClockSource clock;
  SuspensionDetector detector(&clock);
  clock.Advance(Seconds(10));
  EXPECT_EQ(detector.Check(), std::nullopt);
  clock.Advance(Hours(1));
  EXPECT_EQ(detector.Check(), std::nullopt);
  EXPECT_EQ(detector.suspensions(), 0u);
}

TEST(SuspensionDetectorTest, BootClockGrowthIsReportedOnceWithItsLength) {
  FakeClockSource clock;
  SuspensionDetector detector(&clock, Milliseconds(50));
  std::vector<Duration> observed;
  detector.set_observer([&](Duration suspended) { observed.push_back(suspended); });
  clock.Advance(Seconds(1));
  clock.Suspend(Seconds(5));
  clock.Advance(Seconds(1));
  EXPECT_EQ(detector.Check(), Seconds(5));
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0], Seconds(5));
  // The same suspension is not reported again.
  clock.Advance(Seconds(1));
  EXPECT_EQ(detector.Check(), std::nullopt);
  clock.Suspend(Milliseconds(300));
  EXPECT_EQ(detector.Check(), Milliseconds(300));
  EXPECT_EQ(detector.suspensions(), 2u);
  EXPECT_EQ(detector.total_suspended(), Seconds(5) + Milliseconds(300));
  EXPECT_EQ(observed.size(), 2u);
}

TEST(SuspensionDetectorTest, GrowthAtOrBelowTheThresholdIsNoise) {
  FakeClockSource clock;
  SuspensionDetector detector(&clock, Milliseconds(50));
  clock.Suspend(Milliseconds(50));
  EXPECT_EQ(detector.Check(), std::nullopt);
  clock.Suspend(Milliseconds(51));
  EXPECT_EQ(detector.Check(), Milliseconds(51));
}

TEST(SuspensionDetectorTest, AWallClockStepIsNotASuspension) {
  FakeClockSource clock;
  SuspensionDetector detector(&clock);
  clock.StepWall(-Hours(1));
  EXPECT_EQ(detector.Check(), std::nullopt);
  clock.StepWall(Hours(2));
  EXPECT_EQ(detector.Check(), std::nullopt);
}

TEST(SuspensionDetectorTest, SuspensionBeforeTheFirstCheckAfterConstructionCounts) {
  FakeClockSource clock;
  clock.Suspend(Hours(3));  // before construction: part of the baseline
  SuspensionDetector detector(&clock);
  EXPECT_EQ(detector.Check(), std::nullopt);
  clock.Suspend(Seconds(2));
  EXPECT_EQ(detector.Check(), Seconds(2));
}

TEST(SuspensionDetectorTest, RealClocksAreConsistent) {
  RealClockSource* clock = RealClockSource::Default();
  const Instant monotonic = clock->MonotonicNow();
  const Instant boot = clock->BootNow();
  // BOOTTIME = MONOTONIC + time suspended since boot, read a moment later.
  EXPECT_GE(boot, monotonic);
  EXPECT_GE(clock->MonotonicNow(), monotonic);
  EXPECT_GT(clock->WallNow(), WallTime::FromNanoseconds(int64_t{1'600'000'000} * 1'000'000'000));
  SuspensionDetector detector(clock);
  // A unit test does not suspend the machine (and a preempted read is filtered out).
  EXPECT_EQ(detector.Check(), std::nullopt);
}

}  // namespace
}  // namespace murphy::posix
