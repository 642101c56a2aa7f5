#include "murphy/detect/quantile_timeout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/detect/per_peer.h"

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

TEST(QuantileTimeoutTest, ValidatesConfig) {
  EXPECT_TRUE(ValidateQuantileTimeoutConfig({}).ok());
  QuantileTimeoutConfig config;
  config.quantile = 0;
  EXPECT_FALSE(ValidateQuantileTimeoutConfig(config).ok());
  config = {};
  config.multiplier = 0.5;
  EXPECT_FALSE(ValidateQuantileTimeoutConfig(config).ok());
  config = {};
  config.ceiling = Milliseconds(1);
  EXPECT_FALSE(ValidateQuantileTimeoutConfig(config).ok());
  config = {};
  config.window_sample_count = 0;
  EXPECT_FALSE(ValidateQuantileTimeoutConfig(config).ok());
}

TEST(QuantileTimeoutTest, InitialTimeoutBeforeAnySample) {
  QuantileTimeout timeout;
  EXPECT_EQ(timeout.sample_count(), 0);
  EXPECT_EQ(timeout.Timeout(), Seconds(1));
}

TEST(QuantileTimeoutTest, NearestRankP99TimesK) {
  QuantileTimeout timeout;  // P99, k = 2
  // 1..100 ms in a scrambled order: P99 (nearest rank 99 of 100) is 99 ms.
  for (int i = 0; i < 100; ++i) timeout.AddSample(Milliseconds((i * 37) % 100 + 1));
  EXPECT_EQ(timeout.Quantile(), Milliseconds(99));
  EXPECT_EQ(timeout.Timeout(), Milliseconds(198));
  // One more sample of 1 s: rank ceil(0.99 * 101) = 100 of 101 -> 100 ms.
  timeout.AddSample(Seconds(1));
  EXPECT_EQ(timeout.Quantile(), Milliseconds(100));
}

TEST(QuantileTimeoutTest, FloorAndCeiling) {
  QuantileTimeoutConfig config;
  config.floor = Milliseconds(50);
  config.ceiling = Seconds(5);
  QuantileTimeout timeout(config);
  timeout.AddSample(Milliseconds(1));
  EXPECT_EQ(timeout.Timeout(), Milliseconds(50));
  for (int i = 0; i < 10; ++i) timeout.AddSample(Seconds(100));
  EXPECT_EQ(timeout.Timeout(), Seconds(5));
}

TEST(QuantileTimeoutTest, OldSamplesLeaveTheWindow) {
  QuantileTimeoutConfig config;
  config.window_sample_count = 10;
  QuantileTimeout timeout(config);
  for (int i = 0; i < 10; ++i) timeout.AddSample(Seconds(5));
  EXPECT_EQ(timeout.Timeout(), Seconds(10));
  for (int i = 0; i < 9; ++i) timeout.AddSample(Milliseconds(100));
  EXPECT_EQ(timeout.Timeout(), Seconds(10));  // one slow sample left: it is the P99
  timeout.AddSample(Milliseconds(100));
  EXPECT_EQ(timeout.Timeout(), Milliseconds(200));
  EXPECT_EQ(timeout.sample_count(), 10);
}

// Property: matches a sort-the-window reference for random windows and quantiles.
TEST(QuantileTimeoutTest, MatchesReferenceOnRandomInput) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    QuantileTimeoutConfig config;
    config.window_sample_count = static_cast<int64_t>(rng.UniformInRange(1, 64));
    config.quantile = 0.5 + 0.5 * rng.UniformDouble();
    config.multiplier = 1.0;
    config.floor = Nanoseconds(1);
    QuantileTimeout timeout(config);
    std::deque<int64_t> window;
    for (int i = 0; i < 2000; ++i) {
      // Few distinct values, so duplicates are exercised in eviction.
      const int64_t value = rng.UniformInRange(0, 20) * 1'000'000;
      timeout.AddSample(Nanoseconds(value));
      window.push_back(value);
      if (static_cast<int64_t>(window.size()) > config.window_sample_count) window.pop_front();
      std::vector<int64_t> sorted(window.begin(), window.end());
      std::sort(sorted.begin(), sorted.end());
      const auto rank = static_cast<size_t>(std::ceil(config.quantile * static_cast<double>(sorted.size())));
      ASSERT_EQ(timeout.Quantile(), Nanoseconds(sorted[std::max<size_t>(rank, 1) - 1]))
          << "seed " << seed << " step " << i;
    }
  }
}

TEST(QuantileTimeoutDetectorTest, SuspectsAfterKTimesP99OfIntervals) {
  QuantileTimeoutDetector detector;
  EXPECT_EQ(detector.name(), "quantile");
  for (int i = 0; i <= 100; ++i) detector.Heartbeat(At(Seconds(i)));
  EXPECT_EQ(detector.timeout().Timeout(), Seconds(2));
  EXPECT_FALSE(detector.Suspect(At(Seconds(102))));
  EXPECT_TRUE(detector.Suspect(At(Seconds(102) + Nanoseconds(1))));
  EXPECT_DOUBLE_EQ(detector.Suspicion(At(Seconds(101))), 0.5);
}

// "One slow host must not inflate it for all."
TEST(PerPeerTest, OneSlowPeerDoesNotChangeAnotherPeersTimeout) {
  PerPeer<QuantileTimeout> timeouts(8, QuantileTimeoutConfig{});
  QuantileTimeout shared;  // the design per-peer windows avoid: one window for all
  const NodeId fast(1);
  const NodeId slow(2);
  Rng rng(99);
  for (int i = 0; i < 500; ++i) {
    const Duration sample = Milliseconds(10) + rng.UniformDuration(Duration::Zero(), Milliseconds(2));
    (*timeouts.FindOrAdd(fast))->AddSample(sample);
    shared.AddSample(sample);
  }
  const Duration fast_timeout_before = timeouts.Find(fast)->Timeout();
  for (int i = 0; i < 500; ++i) {
    const Duration sample = Seconds(2) + rng.UniformDuration(Duration::Zero(), Seconds(3));
    (*timeouts.FindOrAdd(slow))->AddSample(sample);
    shared.AddSample(sample);
  }
  EXPECT_EQ(timeouts.Find(fast)->Timeout(), fast_timeout_before);
  EXPECT_LE(fast_timeout_before, Milliseconds(24));
  EXPECT_GE(timeouts.Find(slow)->Timeout(), Seconds(8));

  // One shared window would have given the fast peer the slow peer's timeout.
  EXPECT_GT(shared.Timeout(), 100 * fast_timeout_before);
}

TEST(PerPeerTest, IsBoundedAndRemovable) {
  PerPeer<QuantileTimeout> timeouts(2, QuantileTimeoutConfig{});
  EXPECT_TRUE(timeouts.FindOrAdd(NodeId(1)).ok());
  EXPECT_TRUE(timeouts.FindOrAdd(NodeId(2)).ok());
  EXPECT_TRUE(timeouts.FindOrAdd(NodeId(1)).ok());  // existing: fine
  const Result<QuantileTimeout*> third = timeouts.FindOrAdd(NodeId(3));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(timeouts.size(), 2);
  EXPECT_EQ(timeouts.Find(NodeId(3)), nullptr);
  EXPECT_TRUE(timeouts.Remove(NodeId(1)));
  EXPECT_FALSE(timeouts.Remove(NodeId(1)));
  EXPECT_TRUE(timeouts.FindOrAdd(NodeId(3)).ok());
}

}  // namespace
}  // namespace murphy
