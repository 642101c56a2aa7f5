#include "murphy/detect/rfc6298.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

// A config without the 1 s floor, so the RFC's formulas show through.
Rfc6298Config Unclamped() {
  Rfc6298Config config;
  config.min_rto = Milliseconds(1);
  config.initial_rto = Seconds(1);
  config.max_rto = Seconds(60);
  config.clock_granularity = Milliseconds(10);
  return config;
}

TEST(Rfc6298Test, ValidatesConfig) {
  EXPECT_TRUE(ValidateRfc6298Config({}).ok());
  Rfc6298Config config;
  config.min_rto = Duration::Zero();
  EXPECT_EQ(ValidateRfc6298Config(config).code(), StatusCode::kInvalidArgument);
  config = {};
  config.max_rto = Milliseconds(500);
  EXPECT_EQ(ValidateRfc6298Config(config).code(), StatusCode::kInvalidArgument);
  config = {};
  config.clock_granularity = -Milliseconds(1);
  EXPECT_EQ(ValidateRfc6298Config(config).code(), StatusCode::kInvalidArgument);
}

TEST(Rfc6298Test, InitialRtoIsOneSecond) {  // (2.1)
  Rfc6298Estimator estimator;
  EXPECT_FALSE(estimator.has_sample());
  EXPECT_EQ(estimator.Rto(), Seconds(1));
}

TEST(Rfc6298Test, FollowsTheRfcStepByStep) {
  Rfc6298Estimator estimator(Unclamped());
  // (2.2) first R = 100 ms: SRTT = 100, RTTVAR = 50, RTO = 100 + max(10, 4 * 50) = 300.
  estimator.OnSample(Milliseconds(100), false);
  EXPECT_EQ(estimator.smoothed_rtt(), Milliseconds(100));
  EXPECT_EQ(estimator.rtt_variation(), Milliseconds(50));
  EXPECT_EQ(estimator.Rto(), Milliseconds(300));
  // (2.3) R' = 200 ms: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 (old SRTT!),
  // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5, RTO = 112.5 + 4 * 62.5 = 362.5.
  estimator.OnSample(Milliseconds(200), false);
  EXPECT_EQ(estimator.rtt_variation(), Microseconds(62'500));
  EXPECT_EQ(estimator.smoothed_rtt(), Microseconds(112'500));
  EXPECT_EQ(estimator.Rto(), Microseconds(362'500));
  // R' = 112.5 ms exactly: RTTVAR = 3/4 * 62.5 = 46.875, SRTT unchanged,
  // RTO = 112.5 + 187.5 = 300.
  estimator.OnSample(Microseconds(112'500), false);
  EXPECT_EQ(estimator.rtt_variation(), Microseconds(46'875));
  EXPECT_EQ(estimator.smoothed_rtt(), Microseconds(112'500));
  EXPECT_EQ(estimator.Rto(), Milliseconds(300));
}

TEST(Rfc6298Test, ClockGranularityBoundsTheVarianceTerm) {
  Rfc6298Estimator estimator(Unclamped());
  for (int i = 0; i < 100; ++i) estimator.OnSample(Milliseconds(50), false);
  // RTTVAR has decayed to (almost) nothing; G = 10 ms takes over.
  EXPECT_LT(4 * estimator.rtt_variation(), Milliseconds(10));
  EXPECT_EQ(estimator.Rto(), Milliseconds(60));
}

TEST(Rfc6298Test, ClampsToMinimumAndMaximum) {  // (2.4), (2.5)
  Rfc6298Estimator estimator;  // min 1 s
  estimator.OnSample(Milliseconds(10), false);
  EXPECT_EQ(estimator.Rto(), Seconds(1));
  estimator.OnSample(Minutes(10), false);
  EXPECT_EQ(estimator.Rto(), Seconds(60));
}

TEST(Rfc6298Test, KarnIgnoresRetransmittedSamplesAndBacksOff) {
  Rfc6298Estimator estimator(Unclamped());
  estimator.OnSample(Milliseconds(100), false);
  ASSERT_EQ(estimator.Rto(), Milliseconds(300));
  estimator.OnTimeout();  // (5.5) double
  EXPECT_EQ(estimator.Rto(), Milliseconds(600));
  estimator.OnTimeout();
  EXPECT_EQ(estimator.Rto(), Milliseconds(1200));
  EXPECT_EQ(estimator.backoff_count(), 2);
  // A reply to the retransmission: ambiguous, ignored, backoff kept (Karn).
  estimator.OnSample(Milliseconds(5), true);
  EXPECT_EQ(estimator.Rto(), Milliseconds(1200));
  EXPECT_EQ(estimator.smoothed_rtt(), Milliseconds(100));
  // A valid sample recomputes the RTO from SRTT/RTTVAR and ends the backoff:
  // RTTVAR = 3/4 * 50 + 1/4 * 0 = 37.5, RTO = 100 + 150 = 250.
  estimator.OnSample(Milliseconds(100), false);
  EXPECT_EQ(estimator.Rto(), Milliseconds(250));
  EXPECT_EQ(estimator.backoff_count(), 0);
}

TEST(Rfc6298Test, BackoffStopsAtTheMaximum) {
  Rfc6298Estimator estimator;
  for (int i = 0; i < 100; ++i) estimator.OnTimeout();
  EXPECT_EQ(estimator.Rto(), Seconds(60));
  EXPECT_EQ(estimator.backoff_count(), 6);  // 1 2 4 8 16 32 -> 60
}

TEST(Rfc6298Test, RtoStaysWithinBoundsOnRandomInput) {
  Rng rng(6298);
  const Rfc6298Config config;
  Rfc6298Estimator estimator(config);
  for (int i = 0; i < 20'000; ++i) {
    if (rng.Bernoulli(0.1)) {
      estimator.OnTimeout();
    } else {
      estimator.OnSample(rng.ExponentialDuration(Milliseconds(rng.Bernoulli(0.01) ? 100'000 : 200)),
                         rng.Bernoulli(0.1));
    }
    ASSERT_GE(estimator.Rto(), config.min_rto) << "seed 6298 step " << i;
    ASSERT_LE(estimator.Rto(), config.max_rto) << "seed 6298 step " << i;
    ASSERT_GE(estimator.rtt_variation(), Duration::Zero()) << "seed 6298 step " << i;
  }
}

TEST(Rfc6298DetectorTest, LearnsInterArrivalTimes) {
  Rfc6298Config config = Unclamped();
  Rfc6298Detector detector(config);
  EXPECT_EQ(detector.name(), "rfc6298");
  detector.Heartbeat(At(Seconds(0)));
  EXPECT_FALSE(detector.estimator().has_sample());
  detector.Heartbeat(At(Seconds(1)));
  // First sample 1 s: RTO = 1 + 4 * 0.5 = 3 s.
  EXPECT_EQ(detector.estimator().Rto(), Seconds(3));
  EXPECT_FALSE(detector.Suspect(At(Seconds(4))));
  EXPECT_TRUE(detector.Suspect(At(Seconds(4) + Nanoseconds(1))));
  EXPECT_DOUBLE_EQ(detector.Suspicion(At(Milliseconds(2500))), 0.5);
}

}  // namespace
}  // namespace murphy
