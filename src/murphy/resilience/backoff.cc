#include "murphy/resilience/backoff.h"

#include <cmath>

#include "murphy/core/assert.h"

namespace murphy {

Backoff::Backoff(const BackoffOptions& options)
    : options_(options),
      base_nanoseconds_(options.base.nanoseconds()),
      cap_nanoseconds_(options.cap.nanoseconds()),
      ceiling_nanoseconds_(options.base.nanoseconds()),
      previous_nanoseconds_(options.base.nanoseconds()) {
  MURPHY_ASSERT(options.base > Duration::Zero());
  MURPHY_ASSERT(!options.cap.is_infinite());
  MURPHY_ASSERT(options.cap >= options.base);
  MURPHY_ASSERT(std::isfinite(options.multiplier));
  MURPHY_ASSERT(options.multiplier >= 1.0);
  MURPHY_ASSERT(options.max_retries >= 0);
  MURPHY_ASSERT(options.max_retries <= BackoffOptions::kMaxRetries);
}

void Backoff::Reset() {
  retries_ = 0;
  ceiling_nanoseconds_ = base_nanoseconds_;
  previous_nanoseconds_ = base_nanoseconds_;
}

}  // namespace murphy
