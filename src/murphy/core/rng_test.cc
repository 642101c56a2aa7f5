#include "murphy/core/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace murphy {
namespace {

TEST(RngTest, SameSeedSameSequence) {
  Rng a(42);
  Rng b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.NextU64(), b.NextU64());
  Rng c(43);
  EXPECT_NE(Rng(42).NextU64(), c.NextU64());
}

TEST(RngTest, SequenceIsPinned) {
  // Pins the generator: a change here would silently change every recorded seed's
  // replay, so it must be deliberate.
  Rng rng(1);
  const uint64_t first = rng.NextU64();
  const uint64_t second = rng.NextU64();
  Rng again(1);
  EXPECT_EQ(again.NextU64(), first);
  EXPECT_EQ(again.NextU64(), second);
  EXPECT_EQ(first, 0xb3f2af6d0fc710c5ULL);
}

TEST(RngTest, UniformStaysInBoundsAndCoversThem) {
  Rng rng(7);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t value = rng.Uniform(10);
    ASSERT_LT(value, 10U);
    ++counts[value];
  }
  for (int count : counts) EXPECT_NEAR(count, 10'000, 600);
  for (int i = 0; i < 10'000; ++i) {
    const int64_t value = rng.UniformInRange(-3, 3);
    ASSERT_GE(value, -3);
    ASSERT_LE(value, 3);
  }
  EXPECT_EQ(rng.UniformInRange(5, 5), 5);
}

TEST(RngTest, DistributionsHaveTheirMeans) {
  Rng rng(11);
  constexpr int kSamples = 200'000;
  double uniform_sum = 0;
  double exponential_sum = 0;
  double normal_sum = 0;
  double normal_squares = 0;
  int heads = 0;
  for (int i = 0; i < kSamples; ++i) {
    const double u = rng.UniformDouble();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    uniform_sum += u;
    exponential_sum += rng.Exponential(3.0);
    const double n = rng.Normal();
    normal_sum += n;
    normal_squares += n * n;
    heads += rng.Bernoulli(0.25) ? 1 : 0;
    ASSERT_GE(rng.Pareto(2.0, 1.5), 2.0);
  }
  EXPECT_NEAR(uniform_sum / kSamples, 0.5, 0.01);
  EXPECT_NEAR(exponential_sum / kSamples, 3.0, 0.05);
  EXPECT_NEAR(normal_sum / kSamples, 0.0, 0.01);
  EXPECT_NEAR(normal_squares / kSamples, 1.0, 0.02);
  EXPECT_NEAR(static_cast<double>(heads) / kSamples, 0.25, 0.01);
  EXPECT_FALSE(rng.Bernoulli(0.0));
  EXPECT_TRUE(rng.Bernoulli(1.0));
}

TEST(RngTest, DurationsStayInRange) {
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    const Duration d = rng.UniformDuration(Milliseconds(150), Milliseconds(300));
    ASSERT_GE(d, Milliseconds(150));
    ASSERT_LE(d, Milliseconds(300));
    ASSERT_GE(rng.ExponentialDuration(Milliseconds(10)), Duration::Zero());
  }
}

TEST(RngTest, ForkIsDeterministicAndIndependent) {
  Rng a(5);
  Rng b(5);
  Rng fork_a = a.Fork();
  Rng fork_b = b.Fork();
  EXPECT_EQ(fork_a.NextU64(), fork_b.NextU64());
  EXPECT_NE(fork_a.NextU64(), a.NextU64());
}

}  // namespace
}  // namespace murphy
