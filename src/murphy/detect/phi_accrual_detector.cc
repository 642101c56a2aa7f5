#include "murphy/detect/phi_accrual_detector.h"

#include <cmath>

#include "murphy/core/assert.h"

namespace murphy {
namespace {
constexpr int64_t kMaxSampleCount = 1'000'000;
constexpr double kLn10 = 2.302585092994045684;
}  // namespace

Status ValidatePhiAccrualConfig(const PhiAccrualConfig& config) {
  if (!(config.threshold > 0.0)) return InvalidArgumentError("threshold must be > 0");
  if (config.max_sample_count < 2 || config.max_sample_count > kMaxSampleCount) {
    return InvalidArgumentError("max_sample_count must be in [2, 1000000]");
  }
  if (config.min_standard_deviation <= Duration::Zero()) {
    return InvalidArgumentError("min_standard_deviation must be > 0");
  }
  if (config.acceptable_heartbeat_pause < Duration::Zero()) {
    return InvalidArgumentError("acceptable_heartbeat_pause must be >= 0");
  }
  if (config.first_heartbeat_estimate <= Duration::Zero() ||
      config.first_heartbeat_estimate > IntervalHistory::kMaxInterval) {
    return InvalidArgumentError("first_heartbeat_estimate must be in (0, 1h]");
  }
  return Status::Ok();
}

IntervalHistory::IntervalHistory(int64_t capacity) : ring_nanoseconds_(static_cast<size_t>(capacity), 0) {
  MURPHY_ASSERT(capacity > 0);
}

void IntervalHistory::Add(Duration interval) {
  MURPHY_ASSERT(interval >= Duration::Zero());
  const int64_t value = Min(interval, kMaxInterval).nanoseconds();
  int64_t& slot = ring_nanoseconds_[static_cast<size_t>(next_)];
  if (count_ == capacity()) {
    sum_nanoseconds_ -= slot;
    sum_squares_ -= static_cast<unsigned __int128>(slot) * static_cast<unsigned __int128>(slot);
  } else {
    ++count_;
  }
  slot = value;
  sum_nanoseconds_ += value;
  sum_squares_ += static_cast<unsigned __int128>(value) * static_cast<unsigned __int128>(value);
  next_ = (next_ + 1) % capacity();
}

void IntervalHistory::Clear() {
  count_ = 0;
  next_ = 0;
  sum_nanoseconds_ = 0;
  sum_squares_ = 0;
}

double IntervalHistory::MeanNanoseconds() const {
  MURPHY_ASSERT(count_ > 0);
  return static_cast<double>(sum_nanoseconds_) / static_cast<double>(count_);
}

double IntervalHistory::StandardDeviationNanoseconds() const {
  MURPHY_ASSERT(count_ > 0);
  // n^2 * variance = n * sum_sq - sum^2, exact in 128-bit integers and >= 0 by
  // Cauchy-Schwarz; only the final division rounds.
  const auto n = static_cast<unsigned __int128>(count_);
  const auto sum = static_cast<unsigned __int128>(sum_nanoseconds_);
  const unsigned __int128 scaled_variance = n * sum_squares_ - sum * sum;
  MURPHY_ASSERT(n * sum_squares_ >= sum * sum);
  const double count = static_cast<double>(count_);
  return std::sqrt(static_cast<double>(scaled_variance)) / count;
}

double LogisticPhi(double y) {
  const double z = y * (1.5976 + 0.070566 * y * y);
  // softplus(z) = log(1 + exp(z)), computed without overflow for large z.
  const double softplus = z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z));
  return softplus / kLn10;
}

PhiAccrualDetector::PhiAccrualDetector(const PhiAccrualConfig& config)
    : config_(config), history_(config.max_sample_count) {
  MURPHY_ASSERT_MSG(ValidatePhiAccrualConfig(config).ok(), "invalid PhiAccrualConfig");
  pause_nanoseconds_ = static_cast<double>(config.acceptable_heartbeat_pause.nanoseconds());
  Bootstrap();
}

void PhiAccrualDetector::Bootstrap() {
  // Akka: two intervals at estimate -+ estimate / 4, i.e. mean = estimate and a rather
  // high standard deviation, since nothing is known about the peer yet.
  const Duration estimate = config_.first_heartbeat_estimate;
  history_.Clear();
  history_.Add(estimate - estimate / 4);
  history_.Add(estimate + estimate / 4);
  RefreshStatistics();
}

void PhiAccrualDetector::RefreshStatistics() {
  mean_nanoseconds_ = history_.MeanNanoseconds();
  standard_deviation_nanoseconds_ = history_.StandardDeviationNanoseconds();
  const double floor = static_cast<double>(config_.min_standard_deviation.nanoseconds());
  shifted_mean_nanoseconds_ = mean_nanoseconds_ + pause_nanoseconds_;
  inverse_standard_deviation_ = 1.0 / std::fmax(standard_deviation_nanoseconds_, floor);
  // A zero mean (heartbeats in a burst at one instant) would make the exponential
  // model divide by zero; one nanosecond is the resolution of our clock anyway.
  exponential_scale_ = 1.0 / (std::fmax(mean_nanoseconds_, 1.0) * kLn10);
}

void PhiAccrualDetector::Heartbeat(Instant now) {
  if (!arrivals_.monitoring()) {
    // A new peer (Akka restarts from the bootstrap history here, which is also our
    // state after construction).
    arrivals_.Arrive(now);
    return;
  }
  // Decide before Arrive() moves the last arrival: was the peer suspected just now?
  const bool available = !Suspect(now);
  const std::optional<Duration> interval = arrivals_.Arrive(now);
  if (interval.has_value() && available) {
    history_.Add(*interval);
    RefreshStatistics();
  }
}

double PhiAccrualDetector::PhiAfter(Duration elapsed) const {
  const auto t = static_cast<double>(elapsed.nanoseconds());
  if (config_.distribution == PhiDistribution::kNormal) {
    return LogisticPhi((t - shifted_mean_nanoseconds_) * inverse_standard_deviation_);
  }
  return std::fmax(t - pause_nanoseconds_, 0.0) * exponential_scale_;
}

double PhiAccrualDetector::Suspicion(Instant now) const {
  if (!arrivals_.monitoring()) return 0.0;
  return PhiAfter(arrivals_.Elapsed(now));
}

std::string_view PhiAccrualDetector::name() const {
  return config_.distribution == PhiDistribution::kNormal ? "phi-normal" : "phi-exponential";
}

}  // namespace murphy
