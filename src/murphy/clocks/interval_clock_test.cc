#include "murphy/clocks/interval_clock.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

constexpr int64_t kStartNs = int64_t{1767225600} * 1'000'000'000;

// One machine: a wall clock that is `skew` off true time and a monotonic clock that
// follows true time. Tests advance `true_time` by hand.
struct FakeMachine {
  WallTime true_time = WallTime::FromNanoseconds(kStartNs);
  Duration skew = Duration::Zero();
  Duration stepped = Duration::Zero();  // operator steps of the wall clock
  IntervalClock::WallClock Wall() {
    return [this] { return true_time + skew + stepped; };
  }
  IntervalClock::MonotonicClock Monotonic() {
    return [this] { return Instant::FromNanoseconds(0) + (true_time - WallTime::FromNanoseconds(kStartNs)); };
  }
  void Advance(Duration d) { true_time += d; }
};

IntervalClock::Options DefaultOptions() {
  IntervalClock::Options options;
  options.max_drift_ppm = 50.0;
  options.sync_expiry = Seconds(16);
  options.max_bound = Milliseconds(100);
  options.wall_jump_tolerance = Milliseconds(1);
  return options;
}

TEST(IntervalClockTest, UnknownBeforeFirstSyncIsUnbounded) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  EXPECT_EQ(clock.status(), ClockSyncStatus::kUnknown);
  EXPECT_EQ(clock.Now(), (TimeInterval{WallTime::Min(), WallTime::Max()}));
  EXPECT_TRUE(clock.Bound().is_infinite());
  EXPECT_FALSE(clock.After(WallTime::FromNanoseconds(0)));
  EXPECT_FALSE(clock.Before(WallTime::FromNanoseconds(kStartNs * 2)));
  EXPECT_EQ(clock.CommitWait(machine.true_time).status().code(), StatusCode::kUnavailable);
}

TEST(IntervalClockTest, BoundIsSyncErrorPlusDriftTimesElapsedMonotonic) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  ASSERT_TRUE(clock.OnSync(Milliseconds(2)).ok());
  EXPECT_EQ(clock.status(), ClockSyncStatus::kSynchronized);
  EXPECT_EQ(clock.Bound(), Milliseconds(2));
  machine.Advance(Seconds(10));
  // 50 ppm x 10 s = 500 us.
  EXPECT_EQ(clock.Bound(), Milliseconds(2) + Microseconds(500));
  const TimeInterval interval = clock.Now();
  EXPECT_EQ(interval.earliest, machine.true_time - Microseconds(2500));
  EXPECT_EQ(interval.latest, machine.true_time + Microseconds(2500));
  EXPECT_EQ(interval.width(), Microseconds(5000));
  EXPECT_TRUE(interval.Contains(machine.true_time));
}

TEST(IntervalClockTest, StatusMovesToFreeRunningThenUnknown) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  ASSERT_TRUE(clock.OnSync(Milliseconds(50)).ok());
  machine.Advance(Seconds(17));
  EXPECT_EQ(clock.status(), ClockSyncStatus::kFreeRunning);
  EXPECT_LT(clock.Now().width(), Milliseconds(102));
  // 50 ms + 50 ppm x 1001 s = 100.05 ms > max_bound.
  machine.Advance(Seconds(1001 - 17));
  EXPECT_EQ(clock.status(), ClockSyncStatus::kUnknown);
  EXPECT_EQ(clock.Now().earliest, WallTime::Min());
  ASSERT_TRUE(clock.OnSync(Milliseconds(1)).ok());
  EXPECT_EQ(clock.status(), ClockSyncStatus::kSynchronized);
}

TEST(IntervalClockTest, SteppedWallClockMakesStatusUnknown) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  ASSERT_TRUE(clock.OnSync(Milliseconds(1)).ok());
  machine.Advance(Seconds(1));
  machine.stepped = Milliseconds(900);  // ntpdate, an operator, a VM migration
  EXPECT_EQ(clock.status(), ClockSyncStatus::kUnknown);
  EXPECT_FALSE(clock.After(machine.true_time - Seconds(10)));
  machine.stepped = Microseconds(500);  // within tolerance
  EXPECT_EQ(clock.status(), ClockSyncStatus::kSynchronized);
}

TEST(IntervalClockTest, OnSyncRejectsNegativeOrInfiniteError) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  EXPECT_EQ(clock.OnSync(-Milliseconds(1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(clock.OnSync(Duration::Infinite()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(clock.status(), ClockSyncStatus::kUnknown);
}

TEST(IntervalClockTest, AfterAndBeforeAreStrictAgainstTheInterval) {
  FakeMachine machine;
  IntervalClock clock(machine.Wall(), machine.Monotonic(), DefaultOptions());
  ASSERT_TRUE(clock.OnSync(Milliseconds(5)).ok());
  const WallTime now = machine.true_time;
  EXPECT_TRUE(clock.After(now - Milliseconds(5) - Nanoseconds(1)));
  EXPECT_FALSE(clock.After(now - Milliseconds(5)));
  EXPECT_FALSE(clock.After(now));
  EXPECT_TRUE(clock.Before(now + Milliseconds(5) + Nanoseconds(1)));
  EXPECT_FALSE(clock.Before(now + Milliseconds(5)));
}

// Property: after waiting CommitWait(t) on the monotonic clock, After(t) holds; one
// nanosecond before, for a fresh commit timestamp, it does not.
TEST(IntervalClockTest, PropertyCommitWaitIsEnoughForAfter) {
  for (uint64_t seed = 1; seed <= 500; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    FakeMachine machine;
    machine.skew = rng.UniformDuration(-Milliseconds(3), Milliseconds(3));
    IntervalClock::Options options = DefaultOptions();
    options.max_drift_ppm = static_cast<double>(rng.Uniform(1000));
    IntervalClock clock(machine.Wall(), machine.Monotonic(), options);
    ASSERT_TRUE(clock.OnSync(rng.UniformDuration(Duration::Zero(), Milliseconds(10))).ok());
    machine.Advance(rng.UniformDuration(Duration::Zero(), Seconds(10)));
    const WallTime commit = clock.Now().latest - rng.UniformDuration(Duration::Zero(), Milliseconds(5));
    const Result<Duration> wait = clock.CommitWait(commit);
    ASSERT_TRUE(wait.ok());
    if (*wait == Duration::Zero()) {
      EXPECT_TRUE(clock.After(commit));
      continue;
    }
    EXPECT_FALSE(clock.After(commit));
    machine.Advance(*wait);
    EXPECT_TRUE(clock.After(commit)) << FormatDuration(*wait);
    // And no much longer than needed: the bound grows by at most drift x wait.
    EXPECT_LE(*wait, Milliseconds(41));
  }
}

// The chapter's TrueTime box, run. Node A's clock runs 3 ms fast, node B's 3 ms slow,
// both with a correct 4 ms bound. T1 commits on A at s1 = A.Now().latest; the client
// is acknowledged and then starts T2 on B, which takes s2 = B.Now().latest. Without
// commit wait T2, which started after T1 ended in real time, gets the *smaller*
// timestamp — external consistency is violated. With commit wait it cannot.
TEST(IntervalClockTest, CommitWaitGivesExternalConsistencyUnderSkew) {
  const auto run = [](bool commit_wait) {
    FakeMachine a;
    FakeMachine b;
    a.skew = Milliseconds(3);
    b.skew = -Milliseconds(3);
    IntervalClock clock_a(a.Wall(), a.Monotonic(), DefaultOptions());
    IntervalClock clock_b(b.Wall(), b.Monotonic(), DefaultOptions());
    EXPECT_TRUE(clock_a.OnSync(Milliseconds(4)).ok());
    EXPECT_TRUE(clock_b.OnSync(Milliseconds(4)).ok());
    const WallTime s1 = clock_a.Now().latest;
    if (commit_wait) {
      const Result<Duration> wait = clock_a.CommitWait(s1);
      EXPECT_TRUE(wait.ok());
      a.Advance(*wait);
      b.Advance(*wait);
      EXPECT_TRUE(clock_a.After(s1));
    }
    // The acknowledgement reaches the client and T2 reaches B: 1 ms of real time.
    a.Advance(Milliseconds(1));
    b.Advance(Milliseconds(1));
    const WallTime s2 = clock_b.Now().latest;
    return s2 > s1;
  };
  EXPECT_FALSE(run(false)) << "without commit wait the later transaction is ordered first";
  EXPECT_TRUE(run(true)) << "with commit wait the later transaction is ordered after";
}

}  // namespace
}  // namespace murphy
