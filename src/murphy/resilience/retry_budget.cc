#include "murphy/resilience/retry_budget.h"

#include <cmath>

#include "murphy/core/assert.h"

namespace murphy {

RetryTokenBucket::RetryTokenBucket(const RetryTokenBucketOptions& options)
    : max_milli_tokens_(std::llround(options.max_tokens * 1000.0)),
      ratio_milli_tokens_(std::llround(options.token_ratio * 1000.0)),
      milli_tokens_(max_milli_tokens_) {
  MURPHY_ASSERT(options.max_tokens > 0);
  MURPHY_ASSERT(options.max_tokens <= 1000);
  MURPHY_ASSERT(options.token_ratio > 0);
  MURPHY_ASSERT(options.token_ratio <= 1);
  MURPHY_ASSERT(ratio_milli_tokens_ >= 1);
}

void RetryTokenBucket::RecordSuccess() {
  milli_tokens_ += ratio_milli_tokens_;
  if (milli_tokens_ > max_milli_tokens_) milli_tokens_ = max_milli_tokens_;
}

void RetryTokenBucket::RecordFailure() {
  milli_tokens_ -= 1000;
  if (milli_tokens_ < 0) milli_tokens_ = 0;
}

void RetryTokenBucket::Record(StatusCode code) {
  if (code == StatusCode::kOk) {
    RecordSuccess();
  } else if (IsRetryable(code) || IsOutcomeUnknown(code)) {
    RecordFailure();
  }
}

bool RetryTokenBucket::TryAcquireRetry(Instant /*now*/, Rng& /*rng*/) { return retries_allowed(); }

RetryRatioBudget::RetryRatioBudget(const RetryRatioBudgetOptions& options)
    : ratio_(options.ratio),
      min_retries_per_window_(options.min_retries_per_window),
      window_(options.bucket_width, options.bucket_count) {
  MURPHY_ASSERT(options.ratio >= 0);
  MURPHY_ASSERT(options.ratio <= 1000);
  MURPHY_ASSERT(options.min_retries_per_window >= 0);
}

void RetryRatioBudget::RecordRequest(Instant now) { window_.Add(now, kRequests); }

bool RetryRatioBudget::TryAcquireRetry(Instant now, Rng& /*rng*/) {
  const int64_t requests = window_.Sum(now, kRequests);
  const int64_t retries = window_.Sum(now, kRetries);
  const double allowed = ratio_ * static_cast<double>(requests) + static_cast<double>(min_retries_per_window_);
  if (static_cast<double>(retries + 1) > allowed) return false;
  window_.Add(now, kRetries);
  return true;
}

AdaptiveThrottle::AdaptiveThrottle(const AdaptiveThrottleOptions& options)
    : k_(options.k), window_(options.bucket_width, options.bucket_count) {
  MURPHY_ASSERT(std::isfinite(options.k));
  MURPHY_ASSERT(options.k >= 1.0);
}

double AdaptiveThrottle::RejectProbability(Instant now) {
  const auto requests = static_cast<double>(window_.Sum(now, kRequests));
  const auto accepts = static_cast<double>(window_.Sum(now, kAccepts));
  const double probability = (requests - k_ * accepts) / (requests + 1.0);
  return probability > 0 ? probability : 0.0;
}

bool AdaptiveThrottle::AllowRequest(Instant now, Rng& rng) {
  // Probability first, then count: the book's formula is evaluated over the requests
  // seen so far, and a rejected request still counts (it is what keeps P up while
  // the backend is down).
  const double probability = RejectProbability(now);
  window_.Add(now, kRequests);
  return !rng.Bernoulli(probability);
}

void AdaptiveThrottle::RecordAccepted(Instant now) { window_.Add(now, kAccepts); }

void AdaptiveThrottle::Record(StatusCode code, Instant now) {
  if (code == StatusCode::kUnavailable || code == StatusCode::kResourceExhausted ||
      code == StatusCode::kDeadlineExceeded) {
    return;
  }
  RecordAccepted(now);
}

}  // namespace murphy
