#include "murphy/detect/fixed_timeout_detector.h"

#include "murphy/core/assert.h"

namespace murphy {

FixedTimeoutDetector::FixedTimeoutDetector(Duration timeout) : timeout_(timeout) {
  MURPHY_ASSERT(timeout > Duration::Zero());
}

bool FixedTimeoutDetector::Suspect(Instant now) const {
  return arrivals_.monitoring() && arrivals_.Elapsed(now) > timeout_;
}

double FixedTimeoutDetector::Suspicion(Instant now) const {
  if (!arrivals_.monitoring()) return 0.0;
  return ToSecondsDouble(arrivals_.Elapsed(now)) / ToSecondsDouble(timeout_);
}

}  // namespace murphy
