// murphy/detect/phi_accrual_detector.h — the phi accrual failure detector.
//
// Source: N. Hayashibara, X. Défago, R. Yared, T. Katayama, "The phi Accrual Failure
// Detector" (JAIST IS-RR-2004-010), with the semantics and defaults of Akka's
// `akka.remote.PhiAccrualFailureDetector`, and Cassandra's exponential variant
// (`org.apache.cassandra.gms.FailureDetector`, ArrivalWindow).
//
// Instead of a yes/no answer the detector outputs phi = -log10(P(a heartbeat arrives
// later than now)), where the distribution of inter-arrival times is estimated from a
// bounded window of recent intervals. phi = 1 means a 10% chance the peer is fine and
// merely late, phi = 8 a 1e-8 chance. The peer is suspected when phi >= threshold.
//
// Normal model (Akka, the default):
//   mean' = mean + acceptable_heartbeat_pause, sd' = max(sd, min_standard_deviation),
//   y = (t - mean') / sd', and P(later) is approximated with the logistic
//   approximation of the normal CDF (Bowling et al. 2009, "A logistic approximation
//   to the cumulative normal distribution"): P(later) = 1 / (1 + exp(z)),
//   z = y (1.5976 + 0.070566 y^2). Akka writes phi = -log10(e / (1 + e)) with
//   e = exp(-z), choosing between two algebraically equal forms by the sign of y; we
//   compute the same value as log10(1 + exp(z)) through a stable softplus, which is
//   finite for every t (Akka's form reaches +infinity once exp(-z) underflows).
// Exponential model (Cassandra): P(later) = exp(-t' / mean), so
//   phi = log10(e) * t' / mean, with t' = max(0, t - acceptable_heartbeat_pause).
//   Cassandra has no pause allowance; set it to zero for Cassandra's exact formula.
// History (Akka): the window is bootstrapped with two intervals, first_estimate -+
//   first_estimate / 4 (mean = first estimate, sd = first estimate / 4), so that a peer
//   that sent one heartbeat and died is still detected. An interval is learned only
//   if the peer was not suspected when its heartbeat arrived (a heartbeat after a
//   long silence would skew the statistics). Before the first heartbeat phi = 0.
// Statistics: a ring buffer of at most max_sample_count intervals with running sums of
//   the intervals and of their squares, kept as exact integers (nanoseconds, and
//   128-bit nanoseconds squared), so mean and variance are O(1) and never drift no
//   matter how many samples enter and leave the window; the variance is computed as
//   (n * sum_sq - sum^2) / n^2 exactly before one rounding to double. Mean and sd are
//   refreshed on each heartbeat, so Suspicion(now) is one exp and one log1p.
// Thread safety: none (one event loop). Ownership: a value type.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/detect/failure_detector.h"

namespace murphy {

enum class PhiDistribution : uint8_t {
  kNormal,       // Akka
  kExponential,  // Cassandra
};

struct PhiAccrualConfig {
  double threshold = 8.0;
  int64_t max_sample_count = 1000;
  Duration min_standard_deviation = Milliseconds(100);
  Duration acceptable_heartbeat_pause = Seconds(3);
  Duration first_heartbeat_estimate = Seconds(1);
  PhiDistribution distribution = PhiDistribution::kNormal;
};

// OK, or InvalidArgument: threshold > 0, 2 <= max_sample_count <= 1'000'000 (the
// bootstrap needs two slots), min_standard_deviation > 0, acceptable pause >= 0,
// 0 < first_heartbeat_estimate <= 1 hour.
Status ValidatePhiAccrualConfig(const PhiAccrualConfig& config);

// A bounded window of intervals with exact running sums. A value type.
class IntervalHistory {
 public:
  // Intervals are clamped to this so that the exact sums cannot overflow.
  static constexpr Duration kMaxInterval = Hours(1);

  // REQUIRES: capacity > 0.
  explicit IntervalHistory(int64_t capacity);

  // Appends an interval, dropping the oldest when full. REQUIRES: interval >= 0.
  void Add(Duration interval);
  void Clear();

  int64_t count() const { return count_; }
  int64_t capacity() const { return static_cast<int64_t>(ring_nanoseconds_.size()); }
  // Population mean and standard deviation in nanoseconds. REQUIRES: count() > 0.
  double MeanNanoseconds() const;
  double StandardDeviationNanoseconds() const;

 private:
  std::vector<int64_t> ring_nanoseconds_;
  int64_t count_ = 0;
  int64_t next_ = 0;
  int64_t sum_nanoseconds_ = 0;
  unsigned __int128 sum_squares_ = 0;  // nanoseconds squared; <= 1e6 * (3.6e12)^2 < 2^128
};

class PhiAccrualDetector final : public FailureDetector {
 public:
  using Config = PhiAccrualConfig;

  // REQUIRES: ValidatePhiAccrualConfig(config).ok().
  explicit PhiAccrualDetector(const PhiAccrualConfig& config = {});

  // Records a heartbeat; learns the interval since the previous one unless the peer
  // was suspected at `now` or a local pause intervened.
  void Heartbeat(Instant now) override;
  // phi >= threshold (Akka's isAvailable is phi < threshold).
  bool Suspect(Instant now) const override { return Suspicion(now) >= config_.threshold; }
  // phi at `now`: 0 before the first heartbeat, finite and non-decreasing in silence.
  double Suspicion(Instant now) const override;
  void NoteLocalPause(Instant from, Duration length) override { arrivals_.NoteLocalPause(from, length); }
  std::string_view name() const override;

  // phi after `elapsed` of silence under the current statistics (Suspicion without
  // the tracker); exposed for tests and plots.
  double PhiAfter(Duration elapsed) const;

  const PhiAccrualConfig& config() const { return config_; }
  const IntervalHistory& history() const { return history_; }
  // The statistics phi currently uses, in nanoseconds (before the pause allowance and
  // the standard deviation floor).
  double mean_nanoseconds() const { return mean_nanoseconds_; }
  double standard_deviation_nanoseconds() const { return standard_deviation_nanoseconds_; }

 private:
  void Bootstrap();
  void RefreshStatistics();

  PhiAccrualConfig config_;
  IntervalHistory history_;
  ArrivalTracker arrivals_;
  double mean_nanoseconds_ = 0;
  double standard_deviation_nanoseconds_ = 0;
  // Derived once per heartbeat so that PhiAfter() is a few multiplications, an exp
  // and a log1p: mean + pause, 1 / max(sd, floor), 1 / (mean * ln 10).
  double shifted_mean_nanoseconds_ = 0;
  double inverse_standard_deviation_ = 0;
  double exponential_scale_ = 0;
  double pause_nanoseconds_ = 0;
};

// The logistic-approximation phi of the normal model for a standardized y, in the
// stable form log10(1 + exp(y (1.5976 + 0.070566 y^2))). Exposed for tests.
double LogisticPhi(double y);

}  // namespace murphy
