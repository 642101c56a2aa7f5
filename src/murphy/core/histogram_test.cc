#include "murphy/core/histogram.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

TEST(LatencyHistogram, CountsIntoInclusiveUpperBounds) {
  LatencyHistogram histogram;
  histogram.Record(Microseconds(500));   // exactly the first bound: first bucket
  histogram.Record(Microseconds(501));   // just above: second bucket
  histogram.Record(Milliseconds(3));     // (2.5 ms, 5 ms]
  histogram.Record(Seconds(11));         // beyond 10 s: +Inf
  histogram.Record(Milliseconds(-1));    // negative: zero, first bucket
  const auto& counts = histogram.counts();
  EXPECT_EQ(counts[0], 2u);
  EXPECT_EQ(counts[1], 1u);
  EXPECT_EQ(counts[3], 1u);
  EXPECT_EQ(counts[kLatencyBucketBounds.size()], 1u);
  EXPECT_EQ(histogram.count(), 5u);
  EXPECT_NEAR(histogram.sum_seconds(), 0.0005 + 0.000501 + 0.003 + 11, 1e-9);
  uint64_t total = 0;
  for (const uint64_t count : counts) total += count;
  EXPECT_EQ(total, histogram.count());
}

}  // namespace
}  // namespace murphy
