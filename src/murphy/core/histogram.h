// murphy/core/histogram.h — a latency histogram with fixed buckets, for metrics.
//
// Contract: `LatencyHistogram` counts durations into kLatencyBucketBounds (upper
// bounds, inclusive, in seconds: 0.5 ms ... 10 s, the Prometheus client defaults
// extended below 5 ms because a loopback commit takes about a millisecond) plus an
// overflow bucket (+Inf), and keeps their sum. Counts are per bucket (not cumulative);
// the exporter accumulates. Negative durations count as zero. O(log buckets) per
// Record, no allocation. Thread safety: none. Pure.
#pragma once

#include <array>
#include <cstdint>

#include "murphy/core/time.h"

namespace murphy {

inline constexpr std::array<double, 14> kLatencyBucketBounds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0};

class LatencyHistogram {
 public:
  void Record(Duration duration);

  // counts()[i] for bound i; counts()[kLatencyBucketBounds.size()] is +Inf.
  const std::array<uint64_t, kLatencyBucketBounds.size() + 1>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  double sum_seconds() const { return sum_seconds_; }

 private:
  std::array<uint64_t, kLatencyBucketBounds.size() + 1> counts_{};
  uint64_t count_ = 0;
  double sum_seconds_ = 0;
};

}  // namespace murphy
