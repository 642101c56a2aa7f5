#include "murphy/detect/phi_accrual_detector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <deque>

#include "murphy/core/rng.h"
#include "murphy/detect/per_peer.h"

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

// Akka's own two-branch form, kept here as the reference for our stable form.
double AkkaPhi(double time_difference, double mean, double standard_deviation) {
  const double y = (time_difference - mean) / standard_deviation;
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  if (time_difference > mean) return -std::log10(e / (1.0 + e));
  return -std::log10(1.0 - 1.0 / (1.0 + e));
}

// Root of y (1.5976 + 0.070566 y^2) = ln(1e8 - 1), i.e. LogisticPhi(y) = 8, worked
// by hand with two Newton steps from y = 5.2 (see the crossing tests).
constexpr double kYAtPhiEight = 5.22599;

TEST(PhiAccrualConfigTest, Validates) {
  EXPECT_TRUE(ValidatePhiAccrualConfig({}).ok());
  PhiAccrualConfig config;
  config.threshold = 0;
  EXPECT_FALSE(ValidatePhiAccrualConfig(config).ok());
  config = {};
  config.max_sample_count = 1;
  EXPECT_FALSE(ValidatePhiAccrualConfig(config).ok());
  config = {};
  config.min_standard_deviation = Duration::Zero();
  EXPECT_FALSE(ValidatePhiAccrualConfig(config).ok());
  config = {};
  config.acceptable_heartbeat_pause = -Seconds(1);
  EXPECT_FALSE(ValidatePhiAccrualConfig(config).ok());
  config = {};
  config.first_heartbeat_estimate = Duration::Zero();
  EXPECT_FALSE(ValidatePhiAccrualConfig(config).ok());
}

TEST(LogisticPhiTest, MatchesAkkaWhereAkkaIsFinite) {
  for (double t = 0; t <= 3000; t += 7.5) {
    const double akka = AkkaPhi(t, 1000, 200);
    ASSERT_TRUE(std::isfinite(akka));
    EXPECT_NEAR(LogisticPhi((t - 1000) / 200), akka, 1e-9 * std::fmax(1.0, akka)) << "t = " << t;
  }
  // Far out Akka's form gives +infinity; ours stays finite and keeps growing.
  EXPECT_TRUE(std::isinf(AkkaPhi(100'000, 1000, 100)));
  EXPECT_TRUE(std::isfinite(LogisticPhi(990)));
  EXPECT_GT(LogisticPhi(990), LogisticPhi(980));
}

TEST(LogisticPhiTest, ApproximatesTheNormalTail) {
  EXPECT_NEAR(LogisticPhi(0), std::log10(2.0), 1e-12);  // P(later) = 1/2 at the mean
  for (double y = -3; y <= 3; y += 0.25) {
    const double exact = -std::log10(0.5 * std::erfc(y / std::sqrt(2.0)));
    EXPECT_NEAR(LogisticPhi(y), exact, 0.05) << "y = " << y;
  }
  EXPECT_NEAR(LogisticPhi(kYAtPhiEight), 8.0, 1e-4);
}

TEST(PhiAccrualDetectorTest, ZeroBeforeTheFirstHeartbeat) {
  PhiAccrualDetector detector;
  EXPECT_EQ(detector.Suspicion(At(Hours(1))), 0.0);
  EXPECT_FALSE(detector.Suspect(At(Hours(1))));
  EXPECT_EQ(detector.name(), "phi-normal");
}

TEST(PhiAccrualDetectorTest, BootstrapsLikeAkka) {
  PhiAccrualDetector detector;
  EXPECT_EQ(detector.history().count(), 2);
  EXPECT_DOUBLE_EQ(detector.mean_nanoseconds(), 1e9);
  EXPECT_DOUBLE_EQ(detector.standard_deviation_nanoseconds(), 0.25e9);
}

// One heartbeat, then death: mean 1 s + pause 3 s, sd 250 ms, so phi reaches 8 at
// 4 s + 0.25 s * 5.22599 = 5.3065 s.
TEST(PhiAccrualDetectorTest, DetectsAPeerThatSentOneHeartbeat) {
  PhiAccrualDetector detector;
  detector.Heartbeat(At(Seconds(10)));
  EXPECT_FALSE(detector.Suspect(At(Seconds(10) + Milliseconds(5305))));
  EXPECT_TRUE(detector.Suspect(At(Seconds(10) + Milliseconds(5308))));
}

// Regular 1 s heartbeats fill the window (the bootstrap intervals are pushed out):
// mean 1 s, sd 0 -> floor 100 ms, so phi = 8 at 1 + 3 + 0.1 * 5.22599 = 4.5226 s.
TEST(PhiAccrualDetectorTest, ThresholdCrossingForRegularHeartbeatsMatchesHandCalculation) {
  PhiAccrualDetector detector;
  for (int i = 0; i <= 1001; ++i) detector.Heartbeat(At(Seconds(i)));
  EXPECT_EQ(detector.history().count(), 1000);
  EXPECT_DOUBLE_EQ(detector.mean_nanoseconds(), 1e9);
  EXPECT_DOUBLE_EQ(detector.standard_deviation_nanoseconds(), 0.0);
  const Instant last = At(Seconds(1001));
  EXPECT_FALSE(detector.Suspect(last + Milliseconds(4522)));
  EXPECT_TRUE(detector.Suspect(last + Milliseconds(4523)));
  EXPECT_NEAR(detector.Suspicion(last + Milliseconds(4000)), std::log10(2.0), 1e-12);
}

TEST(PhiAccrualDetectorTest, PhiIsNearZeroAfterAHeartbeatAndRisesWithSilence) {
  PhiAccrualDetector detector;
  Rng rng(7);
  Instant now = At(Seconds(0));
  for (int i = 0; i < 200; ++i) {
    now += Milliseconds(1000) + rng.UniformDuration(-Milliseconds(50), Milliseconds(50));
    detector.Heartbeat(now);
  }
  EXPECT_LT(detector.Suspicion(now), 1e-10);
  double previous = detector.Suspicion(now);
  for (Duration silence = Milliseconds(10); silence <= Seconds(30); silence += Milliseconds(10)) {
    const double phi = detector.Suspicion(now + silence);
    ASSERT_TRUE(std::isfinite(phi));
    ASSERT_GE(phi, previous) << FormatDuration(silence);
    previous = phi;
  }
  EXPECT_GT(previous, 100.0);
}

TEST(PhiAccrualDetectorTest, DoesNotLearnFromTheHeartbeatThatEndsASuspicion) {
  PhiAccrualDetector detector;
  for (int i = 0; i <= 10; ++i) detector.Heartbeat(At(Seconds(i)));
  const int64_t count = detector.history().count();
  const double mean = detector.mean_nanoseconds();
  detector.Heartbeat(At(Seconds(40)));  // after 30 s of silence: suspected, not learned
  EXPECT_EQ(detector.history().count(), count);
  EXPECT_EQ(detector.mean_nanoseconds(), mean);
  detector.Heartbeat(At(Seconds(41)));  // a normal interval again: learned
  EXPECT_EQ(detector.history().count(), count + 1);
}

TEST(PhiAccrualDetectorTest, LargerAcceptablePauseDelaysSuspicion) {
  PhiAccrualConfig strict;
  strict.acceptable_heartbeat_pause = Duration::Zero();
  PhiAccrualDetector strict_detector(strict);
  PhiAccrualDetector lenient_detector;  // 3 s
  for (int i = 0; i <= 50; ++i) {
    strict_detector.Heartbeat(At(Seconds(i)));
    lenient_detector.Heartbeat(At(Seconds(i)));
  }
  const Instant probe = At(Seconds(50) + Milliseconds(2500));
  EXPECT_TRUE(strict_detector.Suspect(probe));
  EXPECT_FALSE(lenient_detector.Suspect(probe));
}

// Cassandra: phi = log10(e) * t / mean. With mean 1 s and no pause allowance,
// phi(2 s) = 0.8686 and phi = 8 at t = 8 ln 10 = 18.4207 s.
TEST(PhiAccrualDetectorTest, ExponentialModelMatchesCassandra) {
  PhiAccrualConfig config;
  config.distribution = PhiDistribution::kExponential;
  config.acceptable_heartbeat_pause = Duration::Zero();
  PhiAccrualDetector detector(config);
  EXPECT_EQ(detector.name(), "phi-exponential");
  for (int i = 0; i <= 1001; ++i) detector.Heartbeat(At(Seconds(i)));
  const Instant last = At(Seconds(1001));
  EXPECT_NEAR(detector.Suspicion(last + Seconds(2)), 2.0 * std::log10(std::exp(1.0)), 1e-12);
  EXPECT_EQ(detector.Suspicion(last), 0.0);
  EXPECT_FALSE(detector.Suspect(last + Milliseconds(18420)));
  EXPECT_TRUE(detector.Suspect(last + Milliseconds(18421)));
  // With a pause allowance the line shifts right by the allowance.
  config.acceptable_heartbeat_pause = Seconds(3);
  PhiAccrualDetector shifted(config);
  for (int i = 0; i <= 1001; ++i) shifted.Heartbeat(At(Seconds(i)));
  EXPECT_EQ(shifted.Suspicion(last + Seconds(3)), 0.0);
  EXPECT_NEAR(shifted.Suspicion(last + Seconds(5)), detector.Suspicion(last + Seconds(2)), 1e-12);
}

TEST(PhiAccrualDetectorTest, LocalPauseConvictsNobody) {
  PhiAccrualDetector detector;
  for (int i = 0; i <= 100; ++i) detector.Heartbeat(At(Seconds(i)));
  detector.NoteLocalPause(At(Seconds(100) + Milliseconds(500)), Seconds(20));
  const Instant wake = At(Seconds(120) + Milliseconds(500));
  EXPECT_LT(detector.Suspicion(wake), 1e-6);
  EXPECT_FALSE(detector.Suspect(wake + Seconds(4)));
  const int64_t count = detector.history().count();
  detector.Heartbeat(wake + Milliseconds(1));  // the queued heartbeat: interval not learned
  EXPECT_EQ(detector.history().count(), count);
}

TEST(PhiAccrualDetectorTest, PerPeerDetectorsKeepTheirOwnHistory) {
  PerPeer<PhiAccrualDetector> detectors(4, PhiAccrualConfig{});
  PhiAccrualDetector* steady = *detectors.FindOrAdd(NodeId(1));
  PhiAccrualDetector* erratic = *detectors.FindOrAdd(NodeId(2));
  Rng rng(11);
  for (int i = 0; i <= 300; ++i) {
    steady->Heartbeat(At(Seconds(i)));
    erratic->Heartbeat(At(Seconds(3 * i) + rng.UniformDuration(Duration::Zero(), Seconds(2))));
  }
  EXPECT_DOUBLE_EQ(steady->mean_nanoseconds(), 1e9);
  EXPECT_GT(erratic->mean_nanoseconds(), 2.5e9);
  EXPECT_TRUE(steady->Suspect(At(Seconds(306))));  // 6 s of silence: steady is suspect
}

// Property: the O(1) running statistics equal a from-scratch computation over the
// same window, after many samples have entered and left it (no drift).
TEST(IntervalHistoryTest, RunningSumsMatchRecomputationWithoutDrift) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Rng rng(seed);
    const int64_t capacity = rng.UniformInRange(1, 50);
    IntervalHistory history(capacity);
    std::deque<double> window;
    for (int i = 0; i < 100'000; ++i) {
      // Mix tiny and huge intervals: the worst case for naive floating sums.
      const Duration interval = rng.Bernoulli(0.01) ? rng.UniformDuration(Minutes(1), Hours(2))
                                                    : rng.UniformDuration(Duration::Zero(), Milliseconds(3));
      history.Add(interval);
      window.push_back(static_cast<double>(Min(interval, IntervalHistory::kMaxInterval).nanoseconds()));
      if (static_cast<int64_t>(window.size()) > capacity) window.pop_front();
    }
    ASSERT_EQ(history.count(), static_cast<int64_t>(window.size()));
    double sum = 0;
    for (double value : window) sum += value;
    const double mean = sum / static_cast<double>(window.size());
    double squares = 0;
    for (double value : window) squares += (value - mean) * (value - mean);
    const double deviation = std::sqrt(squares / static_cast<double>(window.size()));
    EXPECT_NEAR(history.MeanNanoseconds(), mean, 1e-9 * mean + 1e-6) << "seed " << seed;
    EXPECT_NEAR(history.StandardDeviationNanoseconds(), deviation, 1e-9 * deviation + 1e-3) << "seed " << seed;
  }
}

}  // namespace
}  // namespace murphy
