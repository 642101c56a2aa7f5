#include "murphy/core/histogram.h"

#include <algorithm>

namespace murphy {

void LatencyHistogram::Record(Duration duration) {
  const double seconds = std::max(0.0, ToSecondsDouble(duration));
  const auto bucket = std::lower_bound(kLatencyBucketBounds.begin(), kLatencyBucketBounds.end(), seconds);
  ++counts_[static_cast<size_t>(bucket - kLatencyBucketBounds.begin())];
  ++count_;
  sum_seconds_ += seconds;
}

}  // namespace murphy
