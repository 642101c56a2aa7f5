#include "murphy/detect/quantile_timeout.h"

#include <algorithm>
#include <cmath>

#include "murphy/core/assert.h"

namespace murphy {
namespace {
constexpr int64_t kMaxWindowSampleCount = 1'000'000;
}  // namespace

Status ValidateQuantileTimeoutConfig(const QuantileTimeoutConfig& config) {
  if (!(config.quantile > 0.0 && config.quantile <= 1.0)) return InvalidArgumentError("quantile must be in (0, 1]");
  if (!(config.multiplier >= 1.0)) return InvalidArgumentError("multiplier must be >= 1");
  if (config.floor <= Duration::Zero()) return InvalidArgumentError("floor must be > 0");
  if (config.ceiling < config.floor) return InvalidArgumentError("ceiling must be >= floor");
  if (config.initial_timeout < config.floor || config.initial_timeout > config.ceiling) {
    return InvalidArgumentError("initial_timeout must be within [floor, ceiling]");
  }
  if (config.window_sample_count <= 0 || config.window_sample_count > kMaxWindowSampleCount) {
    return InvalidArgumentError("window_sample_count must be in [1, 1000000]");
  }
  return Status::Ok();
}

QuantileTimeout::QuantileTimeout(const QuantileTimeoutConfig& config) : config_(config) {
  MURPHY_ASSERT_MSG(ValidateQuantileTimeoutConfig(config).ok(), "invalid QuantileTimeoutConfig");
  const auto capacity = static_cast<size_t>(config.window_sample_count);
  ring_nanoseconds_.reserve(capacity);
  sorted_nanoseconds_.reserve(capacity);
}

void QuantileTimeout::AddSample(Duration sample) {
  MURPHY_ASSERT(sample >= Duration::Zero());
  const int64_t value = Min(sample, config_.ceiling).nanoseconds();
  const auto capacity = static_cast<size_t>(config_.window_sample_count);
  if (ring_nanoseconds_.size() < capacity) {
    ring_nanoseconds_.push_back(value);
  } else {
    // Evict the oldest sample from the sorted copy; any equal value will do.
    const int64_t oldest = ring_nanoseconds_[next_];
    const auto position = std::lower_bound(sorted_nanoseconds_.begin(), sorted_nanoseconds_.end(), oldest);
    MURPHY_ASSERT(position != sorted_nanoseconds_.end() && *position == oldest);
    sorted_nanoseconds_.erase(position);
    ring_nanoseconds_[next_] = value;
  }
  next_ = (next_ + 1) % capacity;
  sorted_nanoseconds_.insert(std::upper_bound(sorted_nanoseconds_.begin(), sorted_nanoseconds_.end(), value),
                             value);
  MURPHY_ASSERT(sorted_nanoseconds_.size() == ring_nanoseconds_.size());
}

Duration QuantileTimeout::Quantile() const {
  MURPHY_ASSERT(!sorted_nanoseconds_.empty());
  const double count = static_cast<double>(sorted_nanoseconds_.size());
  // Nearest rank; the max() guards the q * n < 1 case, the min() rounding above n.
  const auto rank = static_cast<size_t>(std::ceil(config_.quantile * count));
  const size_t index = std::min(std::max<size_t>(rank, 1), sorted_nanoseconds_.size()) - 1;
  return Nanoseconds(sorted_nanoseconds_[index]);
}

Duration QuantileTimeout::Timeout() const {
  if (sorted_nanoseconds_.empty()) return config_.initial_timeout;
  return Min(Max(Quantile() * config_.multiplier, config_.floor), config_.ceiling);
}

void QuantileTimeoutDetector::Heartbeat(Instant now) {
  if (const std::optional<Duration> interval = arrivals_.Arrive(now)) timeout_.AddSample(*interval);
}

bool QuantileTimeoutDetector::Suspect(Instant now) const {
  return arrivals_.monitoring() && arrivals_.Elapsed(now) > timeout_.Timeout();
}

double QuantileTimeoutDetector::Suspicion(Instant now) const {
  if (!arrivals_.monitoring()) return 0.0;
  return ToSecondsDouble(arrivals_.Elapsed(now)) / ToSecondsDouble(timeout_.Timeout());
}

}  // namespace murphy
