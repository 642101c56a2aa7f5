#include "murphy/detect/rfc6298.h"

#include "murphy/core/assert.h"

namespace murphy {
namespace {
constexpr int64_t kClockMultiplier = 4;  // K
}  // namespace

Status ValidateRfc6298Config(const Rfc6298Config& config) {
  if (config.min_rto <= Duration::Zero()) return InvalidArgumentError("min_rto must be > 0");
  if (config.initial_rto < config.min_rto) return InvalidArgumentError("initial_rto must be >= min_rto");
  if (config.max_rto < config.initial_rto) return InvalidArgumentError("max_rto must be >= initial_rto");
  if (config.clock_granularity < Duration::Zero()) {
    return InvalidArgumentError("clock_granularity must be >= 0");
  }
  return Status::Ok();
}

Rfc6298Estimator::Rfc6298Estimator(const Rfc6298Config& config) : config_(config), rto_(config.initial_rto) {
  MURPHY_ASSERT_MSG(ValidateRfc6298Config(config).ok(), "invalid Rfc6298Config");
}

Duration Rfc6298Estimator::ClampedRto(Duration rto) const {
  return Min(Max(rto, config_.min_rto), config_.max_rto);
}

void Rfc6298Estimator::OnSample(Duration rtt, bool retransmitted) {
  MURPHY_ASSERT(rtt >= Duration::Zero());
  if (retransmitted) return;  // Karn: ambiguous sample; keep the backed-off RTO.
  const Duration sample = Min(rtt, kMaxSample);
  if (!has_sample_) {
    smoothed_rtt_ = sample;
    rtt_variation_ = sample / 2;
    has_sample_ = true;
  } else {
    // RTTVAR first, with the old SRTT, as (2.3) orders it.
    rtt_variation_ = (3 * rtt_variation_ + Abs(smoothed_rtt_ - sample)) / 4;
    smoothed_rtt_ = (7 * smoothed_rtt_ + sample) / 8;
  }
  rto_ = ClampedRto(smoothed_rtt_ + Max(config_.clock_granularity, kClockMultiplier * rtt_variation_));
  backoff_count_ = 0;
}

void Rfc6298Estimator::OnTimeout() {
  // Once at max_rto further doubling changes nothing, so the count stops there too:
  // it is bounded by log2(max_rto / min_rto).
  if (rto_ >= config_.max_rto) return;
  rto_ = Min(2 * rto_, config_.max_rto);
  ++backoff_count_;
}

void Rfc6298Detector::Heartbeat(Instant now) {
  if (const std::optional<Duration> interval = arrivals_.Arrive(now)) {
    estimator_.OnSample(*interval, /*retransmitted=*/false);
  }
}

bool Rfc6298Detector::Suspect(Instant now) const {
  return arrivals_.monitoring() && arrivals_.Elapsed(now) > estimator_.Rto();
}

double Rfc6298Detector::Suspicion(Instant now) const {
  if (!arrivals_.monitoring()) return 0.0;
  return ToSecondsDouble(arrivals_.Elapsed(now)) / ToSecondsDouble(estimator_.Rto());
}

}  // namespace murphy
