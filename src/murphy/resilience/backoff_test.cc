#include "murphy/resilience/backoff.h"

#include <gtest/gtest.h>

#include <vector>

namespace murphy {
namespace {

BackoffOptions Options(Jitter jitter, int max_retries = 8) {
  BackoffOptions options;
  options.base = Milliseconds(100);
  options.multiplier = 2.0;
  options.cap = Milliseconds(3'000);
  options.jitter = jitter;
  options.max_retries = max_retries;
  return options;
}

TEST(BackoffTest, NoJitterIsCappedExponential) {
  Backoff backoff(Options(Jitter::kNone, 7));
  Rng rng(1);
  const std::vector<int64_t> expected_ms = {100, 200, 400, 800, 1600, 3000, 3000};
  for (const int64_t ms : expected_ms) {
    const auto delay = backoff.NextDelay(rng);
    ASSERT_TRUE(delay.has_value());
    EXPECT_EQ(*delay, Milliseconds(ms));
  }
  EXPECT_FALSE(backoff.NextDelay(rng).has_value());
  EXPECT_FALSE(backoff.NextDelay(rng).has_value());
  EXPECT_EQ(backoff.retries(), 7);
}

TEST(BackoffTest, ResetStartsOver) {
  Backoff backoff(Options(Jitter::kNone, 3));
  Rng rng(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(backoff.NextDelay(rng).has_value());
  EXPECT_FALSE(backoff.NextDelay(rng).has_value());
  backoff.Reset();
  EXPECT_EQ(backoff.retries(), 0);
  EXPECT_EQ(backoff.NextDelay(rng), Milliseconds(100));
}

TEST(BackoffTest, ZeroRetriesGivesNoDelay) {
  Backoff backoff(Options(Jitter::kFull, 0));
  Rng rng(1);
  EXPECT_FALSE(backoff.NextDelay(rng).has_value());
}

TEST(BackoffTest, FractionalMultiplier) {
  BackoffOptions options = Options(Jitter::kNone, 4);
  options.multiplier = 1.5;
  Backoff backoff(options);
  Rng rng(1);
  EXPECT_EQ(backoff.NextDelay(rng), Milliseconds(100));
  EXPECT_EQ(backoff.NextDelay(rng), Milliseconds(150));
  EXPECT_EQ(backoff.NextDelay(rng), Milliseconds(225));
  EXPECT_EQ(backoff.NextDelay(rng), Microseconds(337'500));
}

TEST(BackoffTest, HugeCapDoesNotOverflow) {
  BackoffOptions options = Options(Jitter::kNone, 200);
  options.cap = Hours(24 * 365 * 100);
  Backoff backoff(options);
  Rng rng(1);
  Duration previous = Duration::Zero();
  while (const auto delay = backoff.NextDelay(rng)) {
    ASSERT_GE(*delay, previous);
    ASSERT_LE(*delay, options.cap);
    previous = *delay;
  }
  EXPECT_EQ(previous, options.cap);
}

TEST(BackoffTest, SameSeedSameDelays) {
  for (const Jitter jitter : {Jitter::kFull, Jitter::kEqual, Jitter::kDecorrelated}) {
    Backoff first(Options(jitter));
    Backoff second(Options(jitter));
    Rng first_rng(42);
    Rng second_rng(42);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(first.NextDelay(first_rng), second.NextDelay(second_rng));
  }
}

// Property: every delay lies within its mode's bounds (Brooker 2015's formulas).
TEST(BackoffTest, DelaysWithinBoundsPerMode) {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Rng rng(seed);
    BackoffOptions options;
    options.base = Microseconds(rng.UniformInRange(1, 1000));
    options.cap = options.base * rng.UniformInRange(1, 500);
    options.multiplier = 1.0 + rng.UniformDouble() * 3.0;
    options.max_retries = 30;
    for (const Jitter jitter : {Jitter::kNone, Jitter::kFull, Jitter::kEqual, Jitter::kDecorrelated}) {
      options.jitter = jitter;
      Backoff backoff(options);
      Duration previous = options.base;
      for (int n = 0; n < options.max_retries; ++n) {
        const Duration ceiling = backoff.ceiling();
        ASSERT_LE(ceiling, options.cap);
        ASSERT_GE(ceiling, options.base);
        const auto delay = backoff.NextDelay(rng);
        ASSERT_TRUE(delay.has_value());
        switch (jitter) {
          case Jitter::kNone:
            ASSERT_EQ(*delay, ceiling) << "seed " << seed;
            break;
          case Jitter::kFull:
            ASSERT_GE(*delay, Duration::Zero()) << "seed " << seed;
            ASSERT_LE(*delay, ceiling) << "seed " << seed;
            break;
          case Jitter::kEqual:
            ASSERT_GE(*delay, ceiling / 2) << "seed " << seed;
            ASSERT_LE(*delay, ceiling) << "seed " << seed;
            break;
          case Jitter::kDecorrelated:
            ASSERT_GE(*delay, options.base) << "seed " << seed;
            ASSERT_LE(*delay, Min(options.cap, previous * 3)) << "seed " << seed;
            previous = *delay;
            break;
        }
      }
      ASSERT_FALSE(backoff.NextDelay(rng).has_value());
    }
  }
}

// Property: the sample mean of the n-th delay is close to the theoretical mean.
// full: ceiling(n)/2; equal: 3/4 ceiling(n); none: ceiling(n); decorrelated (cap out
// of reach): m(1) = 2 base, m(n+1) = (base + 3 m(n)) / 2, since E[uniform[a, b]] =
// (a + b) / 2 and the previous delay starts at base.
TEST(BackoffTest, SampleMeansMatchTheory) {
  constexpr int kSamples = 20'000;
  constexpr int kRetries = 6;
  Rng rng(7);
  for (const Jitter jitter : {Jitter::kNone, Jitter::kFull, Jitter::kEqual, Jitter::kDecorrelated}) {
    BackoffOptions options = Options(jitter, kRetries);
    options.cap = jitter == Jitter::kDecorrelated ? Seconds(1'000) : Milliseconds(3'000);
    std::vector<double> sums(kRetries, 0.0);
    std::vector<double> ceilings(kRetries, 0.0);
    for (int sample = 0; sample < kSamples; ++sample) {
      Backoff backoff(options);
      for (int n = 0; n < kRetries; ++n) {
        ceilings[static_cast<size_t>(n)] = ToMillisecondsDouble(backoff.ceiling());
        sums[static_cast<size_t>(n)] += ToMillisecondsDouble(*backoff.NextDelay(rng));
      }
    }
    const double base = ToMillisecondsDouble(options.base);
    double decorrelated_mean = base;
    for (int n = 0; n < kRetries; ++n) {
      const double mean = sums[static_cast<size_t>(n)] / kSamples;
      const double ceiling = ceilings[static_cast<size_t>(n)];
      double expected = 0;
      switch (jitter) {
        case Jitter::kNone:
          expected = ceiling;
          break;
        case Jitter::kFull:
          expected = ceiling / 2;
          break;
        case Jitter::kEqual:
          expected = ceiling * 3 / 4;
          break;
        case Jitter::kDecorrelated:
          decorrelated_mean = (base + 3 * decorrelated_mean) / 2;
          expected = decorrelated_mean;
          break;
      }
      // Standard error is at most (range / sqrt(12)) / sqrt(20000) < 0.3 % of the
      // range; the decorrelated chain compounds, so allow 2 % (well above 5 sigma).
      EXPECT_NEAR(mean, expected, expected * 0.02) << "jitter " << static_cast<int>(jitter) << " n " << n;
    }
  }
}

}  // namespace
}  // namespace murphy
