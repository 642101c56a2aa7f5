#include "murphy/core/time.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

TEST(DurationTest, ConstructsAndReadsOutInUnits) {
  EXPECT_EQ(Milliseconds(250).nanoseconds(), 250'000'000);
  EXPECT_EQ(ToMilliseconds(Seconds(3)), 3000);
  EXPECT_EQ(ToMicroseconds(Milliseconds(2)), 2000);
  EXPECT_EQ(ToSeconds(Minutes(2)), 120);
  EXPECT_EQ(Hours(1), Minutes(60));
  EXPECT_DOUBLE_EQ(ToSecondsDouble(Milliseconds(1500)), 1.5);
  EXPECT_EQ(SecondsDouble(0.25), Milliseconds(250));
  EXPECT_EQ(Seconds(10) / Milliseconds(300), 33);
  EXPECT_EQ(Seconds(10) % Seconds(3), Seconds(1));
  EXPECT_EQ(Seconds(1) * 0.5, Milliseconds(500));
  EXPECT_EQ(ToMilliseconds(Microseconds(-1500)), -1);  // truncates toward zero
}

TEST(DurationTest, SaturatesInsteadOfWrapping) {
  const Duration big = Nanoseconds(internal::kInt64Max - 5);
  EXPECT_EQ(big + Seconds(1), Duration::Infinite());
  EXPECT_EQ(-big - Seconds(1), -Duration::Infinite());
  EXPECT_EQ(Seconds(1) * internal::kInt64Max, Duration::Infinite());
  EXPECT_EQ(Seconds(-1) * internal::kInt64Max, -Duration::Infinite());
  EXPECT_EQ(Hours(internal::kInt64Max), Duration::Infinite());
  EXPECT_EQ(Seconds(1) * 1e300, Duration::Infinite());
}

TEST(DurationTest, InfinityIsSticky) {
  EXPECT_EQ(Duration::Infinite() - Hours(1000), Duration::Infinite());
  EXPECT_EQ(Duration::Infinite() / 2, Duration::Infinite());
  EXPECT_EQ(Duration::Infinite() / -2, -Duration::Infinite());
  EXPECT_EQ(Duration::Infinite() * -1, -Duration::Infinite());
  EXPECT_TRUE((Seconds(5) + Duration::Infinite()).is_infinite());
  EXPECT_EQ(ToMilliseconds(Duration::Infinite()), internal::kInt64Max);
}

TEST(DurationTest, OrdersAndTakesExtremes) {
  EXPECT_LT(Milliseconds(999), Seconds(1));
  EXPECT_EQ(Abs(Seconds(-3)), Seconds(3));
  EXPECT_EQ(Min(Seconds(1), Seconds(2)), Seconds(1));
  EXPECT_EQ(Max(Seconds(1), Seconds(2)), Seconds(2));
}

TEST(DurationTest, Formats) {
  EXPECT_EQ(FormatDuration(Milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatDuration(Milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(Microseconds(1250)), "1.25ms");
  EXPECT_EQ(FormatDuration(Nanoseconds(7)), "7ns");
  EXPECT_EQ(FormatDuration(Seconds(-3)), "-3s");
  EXPECT_EQ(FormatDuration(Duration::Infinite()), "inf");
  EXPECT_EQ(FormatDuration(Duration::Zero()), "0ns");
}

TEST(InstantTest, DifferencesAreDurations) {
  const Instant start = Instant::FromNanoseconds(1'000);
  const Instant later = start + Seconds(2);
  EXPECT_EQ(later - start, Seconds(2));
  EXPECT_EQ(start - later, Seconds(-2));
  EXPECT_LT(start, later);
  EXPECT_EQ(later - Seconds(2), start);
  EXPECT_EQ(Instant::Max() + Seconds(1), Instant::Max());
  EXPECT_EQ(FormatInstant(Instant::FromNanoseconds(12'000'000'345)), "+12.000000345s");
}

TEST(WallTimeTest, FormatsAsRfc3339) {
  EXPECT_EQ(FormatWallTime(WallTime::FromNanoseconds(0)), "1970-01-01T00:00:00.000000000Z");
  // 2026-11-26T12:00:00Z = 1795694400 s since the epoch.
  EXPECT_EQ(FormatWallTime(WallTime::FromNanoseconds(1'795'694'400'000'000'001)),
            "2026-11-26T12:00:00.000000001Z");
  EXPECT_EQ(FormatWallTime(WallTime::FromNanoseconds(-1)), "1969-12-31T23:59:59.999999999Z");
}

// Instant and WallTime are distinct types: mixing them must not compile.
template <typename A, typename B>
concept Subtractable = requires(A a, B b) { a - b; };
static_assert(Subtractable<Instant, Instant>);
static_assert(!Subtractable<Instant, WallTime>);
static_assert(!Subtractable<WallTime, Instant>);
static_assert(!std::is_convertible_v<Duration, int64_t>);
static_assert(!std::is_convertible_v<int64_t, Duration>);

}  // namespace
}  // namespace murphy
