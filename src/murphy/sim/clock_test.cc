#include "murphy/sim/clock.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"

namespace murphy::sim {
namespace {

const WallTime kOrigin = WallTime::FromNanoseconds(int64_t{1767225600} * 1'000'000'000);

Instant At(Duration d) { return Instant() + d; }

TEST(SimClockTest, StartsAtTrueTimeWithOffset) {
  SimClock clock(At(Seconds(1)), At(Hours(5)), kOrigin, Milliseconds(250));
  EXPECT_EQ(clock.Monotonic(At(Seconds(1))), At(Hours(5)));
  EXPECT_EQ(clock.Monotonic(At(Seconds(3))), At(Hours(5) + Seconds(2)));
  EXPECT_EQ(clock.WallOffset(At(Seconds(3))), Milliseconds(250));
  EXPECT_EQ(clock.Wall(At(Seconds(1))), kOrigin + Seconds(1) + Milliseconds(250));
}

TEST(SimClockTest, DriftChangesRateOfAllClocks) {
  SimClock clock(At(Duration()), At(Duration()), kOrigin, Duration());
  clock.SetDriftPpm(At(Duration()), 200);  // the chapter's 200 ppm: 17 s a day
  EXPECT_EQ(clock.Monotonic(At(Hours(24))) - At(Hours(24)), Microseconds(17'280'000));
  EXPECT_EQ(clock.WallOffset(At(Hours(24))), Microseconds(17'280'000));
  EXPECT_EQ(clock.TrueTimeWhenMonotonicReaches(At(Hours(24) + Microseconds(17'280'000))), At(Hours(24)));
}

TEST(SimClockTest, MonotonicNeverGoesBackwardUnderAnyChange) {
  SimClock clock(At(Duration()), At(Seconds(100)), kOrigin, Duration());
  Instant last = clock.Monotonic(At(Duration()));
  Rng rng(9);
  Instant now;
  for (int i = 0; i < 2000; ++i) {
    now += rng.UniformDuration(Duration(), Milliseconds(10));
    switch (rng.Uniform(5)) {
      case 0:
        clock.SetDriftPpm(now, static_cast<double>(rng.UniformInRange(-400'000, 400'000)));
        break;
      case 1:
        clock.StepWall(now, rng.UniformDuration(-Seconds(10), Seconds(10)));
        break;
      case 2:
        if (clock.suspended()) {
          clock.Resume(now);
        } else {
          clock.Suspend(now);
        }
        break;
      case 3:
        clock.ResyncWall(now, rng.Bernoulli(0.5) ? SimClock::Resync::kStep : SimClock::Resync::kSlew);
        break;
      default:
        break;
    }
    const Instant reading = clock.Monotonic(now);
    ASSERT_GE(reading, last) << "step " << i;
    ASSERT_GE(clock.Boot(now) - reading, Duration()) << "step " << i;
    last = reading;
  }
}

TEST(SimClockTest, SlewMovesAtABoundedRate) {
  SimClock clock(At(Duration()), At(Duration()), kOrigin, Duration());
  clock.StepWall(At(Duration()), Milliseconds(100));
  clock.ResyncWall(At(Duration()), SimClock::Resync::kSlew);
  // 500 ppm: 100 ms of error takes 200 s to remove.
  EXPECT_EQ(clock.WallOffset(At(Seconds(100))), Milliseconds(50));
  EXPECT_EQ(clock.WallOffset(At(Seconds(300))), Duration());
  // The wall clock never ran backward during the slew.
  EXPECT_GT(clock.Wall(At(Seconds(101))), clock.Wall(At(Seconds(100))));
}

TEST(SimClockTest, SuspensionGrowsBootMinusMonotonic) {
  SimClock clock(At(Duration()), At(Seconds(10)), kOrigin, Duration());
  clock.Suspend(At(Seconds(1)));
  EXPECT_EQ(clock.TrueTimeWhenMonotonicReaches(At(Seconds(20))), Instant::Max());
  clock.Resume(At(Seconds(4)));
  EXPECT_EQ(clock.Boot(At(Seconds(5))) - clock.Monotonic(At(Seconds(5))), Seconds(3));
  EXPECT_EQ(clock.Monotonic(At(Seconds(5))), At(Seconds(12)));
  EXPECT_EQ(clock.TrueTimeWhenMonotonicReaches(At(Seconds(13))), At(Seconds(6)));
}

}  // namespace
}  // namespace murphy::sim
