#include "murphy/resilience/sliding_window.h"

#include <gtest/gtest.h>

#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

Instant At(Duration since_origin) { return Instant() + since_origin; }

TEST(BucketedCounterTest, CountsWithinTheWindowAndForgetsAfterIt) {
  BucketedCounter<2> counter(Seconds(1), 3);  // window of 3 s
  EXPECT_EQ(counter.window(), Seconds(3));
  counter.Add(At(Milliseconds(100)), 0);
  counter.Add(At(Milliseconds(1'100)), 0, 2);
  counter.Add(At(Milliseconds(1'200)), 1);
  EXPECT_EQ(counter.Sum(At(Milliseconds(2'999)), 0), 3);
  EXPECT_EQ(counter.Sum(At(Milliseconds(2'999)), 1), 1);
  // Bucket [0 s, 1 s) leaves when bucket [3 s, 4 s) begins.
  EXPECT_EQ(counter.Sum(At(Seconds(3)), 0), 2);
  EXPECT_EQ(counter.Sum(At(Seconds(4)), 0), 0);
  EXPECT_EQ(counter.Sum(At(Seconds(4)), 1), 0);
}

TEST(BucketedCounterTest, LongGapClearsEverything) {
  BucketedCounter<1> counter(Milliseconds(10), 5);
  for (int i = 0; i < 5; ++i) counter.Add(At(Milliseconds(10 * i)), 0);
  EXPECT_EQ(counter.Sum(At(Milliseconds(49)), 0), 5);
  EXPECT_EQ(counter.Sum(At(Hours(1)), 0), 0);
  counter.Add(At(Hours(1)), 0);
  EXPECT_EQ(counter.Sum(At(Hours(1)), 0), 1);
}

TEST(BucketedCounterTest, BackwardTimeCountsInTheCurrentBucket) {
  BucketedCounter<1> counter(Seconds(1), 2);
  counter.Add(At(Seconds(10)), 0);
  counter.Add(At(Seconds(5)), 0);  // stale reading: no rewind, no loss
  EXPECT_EQ(counter.Sum(At(Seconds(10)), 0), 2);
  EXPECT_EQ(counter.Sum(At(Seconds(12)), 0), 0);
}

TEST(BucketedCounterTest, ClearForgets) {
  BucketedCounter<1> counter(Seconds(1), 4);
  counter.Add(At(Seconds(1)), 0, 7);
  counter.Clear();
  EXPECT_EQ(counter.Sum(At(Seconds(1)), 0), 0);
}

// Property: against a brute-force model (keep every event, count those whose bucket
// is among the last `count` buckets), including instants before the origin.
TEST(BucketedCounterTest, MatchesBruteForceModel) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const int64_t width = rng.UniformInRange(1, 50);
    const int count = static_cast<int>(rng.UniformInRange(1, 8));
    BucketedCounter<2> counter(Nanoseconds(width), count);
    struct Event {
      int64_t bucket;
      size_t series;
      int64_t amount;
    };
    std::vector<Event> events;
    int64_t t = rng.UniformInRange(-1000, 1000);
    auto floor_div = [](int64_t a, int64_t b) { return a / b - ((a % b) < 0 ? 1 : 0); };
    for (int step = 0; step < 2000; ++step) {
      t += rng.UniformInRange(0, width * 3);
      const Instant now = Instant::FromNanoseconds(t);
      if (rng.Bernoulli(0.6)) {
        const auto series = static_cast<size_t>(rng.Uniform(2));
        const int64_t amount = rng.UniformInRange(1, 3);
        counter.Add(now, series, amount);
        events.push_back({floor_div(t, width), series, amount});
      }
      const int64_t current = floor_div(t, width);
      for (size_t series = 0; series < 2; ++series) {
        int64_t expected = 0;
        for (const Event& event : events) {
          if (event.series == series && event.bucket > current - count) expected += event.amount;
        }
        ASSERT_EQ(counter.Sum(now, series), expected) << "seed " << seed << " step " << step;
      }
    }
  }
}

}  // namespace
}  // namespace murphy
