#include "murphy/clocks/hybrid_clock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

// 2026-01-01T00:00:00Z, a multiple of the HLC granularity for readable tests.
constexpr int64_t kStartNs = (int64_t{1767225600} * 1'000'000'000 / 65536) * 65536;

struct FakeWallClock {
  WallTime now = WallTime::FromNanoseconds(kStartNs);
  HybridClock::PhysicalClock AsFunction() {
    return [this] { return now; };
  }
};

HlcTimestamp At(int64_t wall_ns, uint16_t logical) {
  return HlcTimestamp{WallTime::FromNanoseconds(wall_ns), logical};
}

TEST(HlcTimestampTest, PackRoundTripsAndKeepsOrder) {
  Rng rng(7);
  for (int i = 0; i < 10000; ++i) {
    SCOPED_TRACE(i);
    const auto random_timestamp = [&] {
      // Small ranges for the wall make equal walls (logical decides) frequent.
      const int64_t ticks =
          rng.Bernoulli(0.5) ? rng.UniformInRange(0, 3) : rng.UniformInRange(0, (int64_t{1} << 47) - 1);
      return At(ticks * kHlcWallGranularity.nanoseconds(), static_cast<uint16_t>(rng.Uniform(65536)));
    };
    const HlcTimestamp a = random_timestamp();
    const HlcTimestamp b = random_timestamp();
    ASSERT_TRUE(a.IsValid());
    const Result<HlcTimestamp> back = HlcTimestamp::Unpack(a.Pack());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, a);
    EXPECT_EQ(a < b, a.Pack() < b.Pack());
    EXPECT_EQ(a == b, a.Pack() == b.Pack());
  }
}

TEST(HlcTimestampTest, PackLayoutIs48BitsOfWallThen16BitsOfLogical) {
  const HlcTimestamp timestamp = At(3 * 65536, 7);
  EXPECT_EQ(timestamp.Pack(), (uint64_t{3} << 16) | 7);
  EXPECT_EQ(HlcTimestamp::Unpack(uint64_t{1} << 63).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(At(65536 + 1, 0).IsValid()) << "unquantised wall";
  EXPECT_FALSE(At(-65536, 0).IsValid()) << "before the epoch";
}

TEST(HlcTimestampTest, QuantizeRoundsDownAndClampsNegative) {
  EXPECT_EQ(QuantizeHlcWall(WallTime::FromNanoseconds(65536 * 5 + 65535)).nanoseconds(), 65536 * 5);
  EXPECT_EQ(QuantizeHlcWall(WallTime::FromNanoseconds(-5)).nanoseconds(), 0);
}

TEST(HybridClockTest, FollowsPhysicalTimeAndCountsWithinATick) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Milliseconds(500));
  EXPECT_EQ(clock.Now(), At(kStartNs, 0));
  EXPECT_EQ(clock.Now(), At(kStartNs, 1)) << "stalled physical clock: logical counts";
  physical.now += Nanoseconds(100);  // still inside the same 65.536 us tick
  EXPECT_EQ(clock.Now(), At(kStartNs, 2));
  physical.now += Milliseconds(1);
  EXPECT_EQ(clock.Now(), At(QuantizeHlcWall(physical.now).nanoseconds(), 0))
      << "logical resets on a new wall";
}

TEST(HybridClockTest, BackwardJumpIsReportedAndAbsorbed) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Milliseconds(500));
  std::vector<Duration> observed;
  clock.SetBackwardJumpObserver([&](Duration jump) { observed.push_back(jump); });
  const HlcTimestamp before = clock.Now();
  physical.now -= Seconds(2);
  const HlcTimestamp after = clock.Now();
  EXPECT_GT(after, before);
  EXPECT_EQ(after.wall, before.wall) << "the HLC does not follow the physical clock backward";
  EXPECT_EQ(clock.backward_jumps(), 1u);
  EXPECT_EQ(clock.last_backward_jump(), Seconds(2));
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0], Seconds(2));
  physical.now += Milliseconds(1);  // forward again, still behind: no new jump
  EXPECT_GT(clock.Now(), after);
  EXPECT_EQ(clock.backward_jumps(), 1u);
}

TEST(HybridClockTest, UpdateRatchetsSoNextNowIsAboveRemote) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Milliseconds(500));
  const HlcTimestamp remote = At(kStartNs + 100 * 65536, 42);  // ~6.5 ms ahead
  ASSERT_TRUE(clock.Update(remote).ok());
  EXPECT_EQ(clock.last(), remote);
  EXPECT_EQ(clock.Now(), At(remote.wall.nanoseconds(), 43));
  // An older remote does not move the clock.
  ASSERT_TRUE(clock.Update(At(kStartNs, 0)).ok());
  EXPECT_EQ(clock.Now(), At(remote.wall.nanoseconds(), 44));
}

TEST(HybridClockTest, UpdateRefusesRemoteBeyondMaxOffset) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Milliseconds(500));
  const HlcTimestamp first = clock.Now();
  const HlcTimestamp far = HlcTimestamp{QuantizeHlcWall(physical.now + Seconds(5)), 0};
  const Status status = clock.Update(far);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("max offset"), std::string_view::npos) << status.ToString();
  EXPECT_EQ(clock.last(), first) << "refused: no silent jump";
  EXPECT_EQ(clock.rejected_updates(), 1u);
  // Just inside the bound is accepted.
  const HlcTimestamp near = HlcTimestamp{QuantizeHlcWall(physical.now + Milliseconds(500)), 0};
  EXPECT_TRUE(clock.Update(near).ok());
  EXPECT_EQ(clock.Update(At(65536 + 3, 0)).code(), StatusCode::kInvalidArgument);
}

TEST(HybridClockTest, InfiniteMaxOffsetDisablesTheGuard) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Duration::Infinite());
  EXPECT_TRUE(clock.Update(HlcTimestamp{QuantizeHlcWall(physical.now + Hours(24)), 0}).ok());
}

TEST(HybridClockTest, LogicalOverflowAdvancesTheWallByOneTick) {
  FakeWallClock physical;
  HybridClock clock(physical.AsFunction(), Milliseconds(500));
  HlcTimestamp previous = clock.Now();
  for (int i = 0; i < 65535; ++i) {
    const HlcTimestamp next = clock.Now();
    ASSERT_GT(next, previous);
    previous = next;
  }
  EXPECT_EQ(previous, At(kStartNs, kHlcMaxLogical));
  EXPECT_EQ(clock.logical_overflows(), 0u);
  const HlcTimestamp overflowed = clock.Now();
  EXPECT_EQ(overflowed, At(kStartNs + kHlcWallGranularity.nanoseconds(), 0));
  EXPECT_EQ(clock.logical_overflows(), 1u);
  // A remote at the logical limit overflows on the next Now() too.
  ASSERT_TRUE(clock.Update(At(kStartNs + 2 * 65536, kHlcMaxLogical)).ok());
  EXPECT_EQ(clock.Now(), At(kStartNs + 3 * 65536, 0));
  EXPECT_EQ(clock.logical_overflows(), 2u);
}

// Seeded random sequences of physical forward jumps, backward jumps, stalls and remote
// updates (some beyond the guard). Properties: Now() strictly increases; after Now(),
// wall >= quantised physical time; wall <= highest physical reading + max offset (+ one
// tick per logical overflow); an update is refused iff it is beyond the guard, and an
// accepted one is below the next Now().
TEST(HybridClockTest, PropertyMonotonicAndBoundedUnderRandomPhysicalJumps) {
  const Duration max_offset = Milliseconds(250);
  uint64_t total_backward_jumps = 0;
  uint64_t total_rejections = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    FakeWallClock physical;
    HybridClock clock(physical.AsFunction(), max_offset);
    WallTime highest_physical = physical.now;
    HlcTimestamp previous = clock.Now();
    uint64_t expected_backward_jumps = 0;
    for (int step = 0; step < 2000; ++step) {
      const uint64_t action = rng.Uniform(10);
      if (action < 3) {
        physical.now += rng.UniformDuration(Nanoseconds(1), Milliseconds(20));
      } else if (action < 4) {
        physical.now -= rng.UniformDuration(Nanoseconds(1), Seconds(1));
        ++expected_backward_jumps;
      } else if (action < 6) {
        // stall
      } else if (action < 8) {
        const HlcTimestamp remote{
            QuantizeHlcWall(physical.now + rng.UniformDuration(-Seconds(1), Milliseconds(400))),
            static_cast<uint16_t>(rng.Uniform(1000))};
        const bool beyond_guard = remote.wall - physical.now > max_offset;
        const Status status = clock.Update(remote);
        ASSERT_EQ(!status.ok(), beyond_guard) << status.ToString();
        if (!status.ok()) {
          EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
          ++total_rejections;
        } else {
          EXPECT_GE(clock.last(), remote);
          const HlcTimestamp next = clock.Now();
          EXPECT_GT(next, remote);
          EXPECT_GT(next, previous);
          previous = next;
        }
        continue;
      }
      highest_physical = std::max(highest_physical, physical.now);
      const HlcTimestamp next = clock.Now();
      ASSERT_GT(next, previous) << previous.ToString() << " then " << next.ToString();
      ASSERT_GT(next.Pack(), previous.Pack());
      EXPECT_GE(next.wall, QuantizeHlcWall(physical.now));
      const Duration slack =
          max_offset + kHlcWallGranularity * static_cast<int64_t>(clock.logical_overflows());
      EXPECT_LE(next.wall - highest_physical, slack);
      previous = next;
    }
    EXPECT_EQ(clock.backward_jumps(), expected_backward_jumps);
    total_backward_jumps += clock.backward_jumps();
  }
  EXPECT_GT(total_backward_jumps, 1000u);
  EXPECT_GT(total_rejections, 100u) << "the generator must exercise the guard";
}

// Causality across nodes: a message's receive, stamped by Update + Now at the target,
// is above its send, for random exchanges between clocks with bounded skew.
TEST(HybridClockTest, PropertyReceiveIsAboveSendAcrossSkewedNodes) {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    WallTime true_time = WallTime::FromNanoseconds(kStartNs);
    std::vector<Duration> skews = {Duration::Zero(), Milliseconds(100), -Milliseconds(100)};
    std::vector<HybridClock> clocks;
    for (size_t i = 0; i < skews.size(); ++i) {
      clocks.emplace_back([&true_time, &skews, i] { return true_time + skews[i]; }, Milliseconds(500));
    }
    struct Message {
      size_t target;
      HlcTimestamp sent;
    };
    std::vector<Message> in_flight;
    for (int step = 0; step < 1000; ++step) {
      true_time += rng.UniformDuration(Duration::Zero(), Microseconds(300));
      const size_t node = rng.Uniform(clocks.size());
      if (rng.Bernoulli(0.5) || in_flight.empty()) {
        in_flight.push_back({rng.Uniform(clocks.size()), clocks[node].Now()});
      } else {
        const size_t pick = rng.Uniform(in_flight.size());
        const Message message = in_flight[pick];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(pick));
        ASSERT_TRUE(clocks[message.target].Update(message.sent).ok());
        EXPECT_GT(clocks[message.target].Now(), message.sent);
      }
    }
  }
}

}  // namespace
}  // namespace murphy
