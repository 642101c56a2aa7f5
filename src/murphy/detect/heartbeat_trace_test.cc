#include "murphy/detect/heartbeat_trace.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace murphy {
namespace {

TEST(HeartbeatTraceTest, RejectsInvalidConfig) {
  Rng rng(1);
  HeartbeatTraceConfig config;
  config.interval = Duration::Zero();
  EXPECT_EQ(GenerateHeartbeatTrace(config, rng).status().code(), StatusCode::kInvalidArgument);
  config = {};
  config.crash_after = Hours(1);  // beyond the 10 min length
  EXPECT_FALSE(GenerateHeartbeatTrace(config, rng).ok());
  config = {};
  config.max_heartbeat_count = 10;
  EXPECT_FALSE(GenerateHeartbeatTrace(config, rng).ok());
  config = {};
  config.pause_probability = 1.0;
  EXPECT_FALSE(GenerateHeartbeatTrace(config, rng).ok());
}

TEST(HeartbeatTraceTest, SameSeedSameTrace) {
  HeartbeatTraceConfig config;
  config.pause_probability = 0.02;
  config.spike_probability = 0.05;
  config.jitter_distribution = JitterDistribution::kExponential;
  Rng first_rng(42);
  Rng second_rng(42);
  Rng other_rng(43);
  const HeartbeatTrace first = *GenerateHeartbeatTrace(config, first_rng);
  const HeartbeatTrace second = *GenerateHeartbeatTrace(config, second_rng);
  const HeartbeatTrace other = *GenerateHeartbeatTrace(config, other_rng);
  EXPECT_EQ(first.arrivals, second.arrivals);
  EXPECT_EQ(first.pauses.size(), second.pauses.size());
  EXPECT_NE(first.arrivals, other.arrivals);
}

TEST(HeartbeatTraceTest, RegularTraceWithoutFaults) {
  HeartbeatTraceConfig config;
  config.jitter = Duration::Zero();
  config.length = Seconds(100);
  Rng rng(1);
  const HeartbeatTrace trace = *GenerateHeartbeatTrace(config, rng);
  ASSERT_EQ(trace.arrivals.size(), 100u);
  for (size_t i = 0; i < trace.arrivals.size(); ++i) {
    EXPECT_EQ(trace.arrivals[i], config.start + Seconds(static_cast<int64_t>(i)) + Milliseconds(1));
  }
  EXPECT_FALSE(trace.crash.has_value());
  EXPECT_EQ(trace.end, config.start + Seconds(100));
}

TEST(HeartbeatTraceTest, PausesLeaveGapsAndTheCrashEndsTheTrace) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    HeartbeatTraceConfig config;
    config.pause_probability = 0.02;
    config.pause_min = Seconds(2);
    config.pause_max = Seconds(5);
    config.crash_after = Minutes(8);
    Rng rng(seed);
    const HeartbeatTrace trace = *GenerateHeartbeatTrace(config, rng);
    ASSERT_TRUE(std::is_sorted(trace.arrivals.begin(), trace.arrivals.end()));
    ASSERT_TRUE(trace.crash.has_value());
    // Nothing is sent after the crash; what was in flight lands within a few jitters.
    EXPECT_LE(trace.arrivals.back(), *trace.crash + Milliseconds(200)) << "seed " << seed;
    EXPECT_FALSE(trace.pauses.empty()) << "seed " << seed;
    // Every pause shows up as a gap of at least its length minus jitter.
    for (const HeartbeatTrace::Span& pause : trace.pauses) {
      if (pause.from + pause.length >= *trace.crash) continue;
      const auto after = std::upper_bound(trace.arrivals.begin(), trace.arrivals.end(), pause.from + Milliseconds(200));
      ASSERT_NE(after, trace.arrivals.end());
      if (after == trace.arrivals.begin()) continue;  // a pause before the first heartbeat
      EXPECT_GE(*after - *(after - 1), pause.length + Seconds(1) - Milliseconds(300)) << "seed " << seed;
    }
  }
}

}  // namespace
}  // namespace murphy
