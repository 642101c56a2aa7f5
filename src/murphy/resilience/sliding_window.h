// murphy/resilience/sliding_window.h — event counts over a sliding time window.
//
// Contract: `BucketedCounter<kSeries>` counts events of `kSeries` kinds (e.g.
// requests and retries) over the last `bucket_count` buckets of `bucket_width` each,
// the classic bucketed approximation of a sliding window (resilience4j's time-based
// window, Finagle's retry budget): the window covers the current bucket and the
// `bucket_count - 1` before it, so an event is forgotten between
// (bucket_count - 1) * width and bucket_count * width after it happened.
// Time comes in as `now`; if `now` goes backward it is treated as the current bucket
// (monotonic clocks don't, but callers may pass slightly stale readings).
// Memory is allocated once, in the constructor; Add() and Sum() never allocate and
// cost O(1) amortised (expired buckets are cleared as time passes them).
// Thread safety: not thread-safe. Ownership: owns its buckets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/core/time.h"

namespace murphy {

template <size_t kSeries>
class BucketedCounter {
 public:
  static constexpr int kMaxBuckets = 100'000;

  // REQUIRES: bucket_width > 0 and finite; 1 <= bucket_count <= kMaxBuckets.
  BucketedCounter(Duration bucket_width, int bucket_count)
      : bucket_width_nanoseconds_(bucket_width.nanoseconds()),
        buckets_(static_cast<size_t>(bucket_count)) {
    MURPHY_ASSERT(bucket_width > Duration::Zero());
    MURPHY_ASSERT(!bucket_width.is_infinite());
    MURPHY_ASSERT(bucket_count >= 1);
    MURPHY_ASSERT(bucket_count <= kMaxBuckets);
    Clear();
  }

  // Adds `amount` events of kind `series` at `now`. REQUIRES: series < kSeries.
  void Add(Instant now, size_t series, int64_t amount = 1) {
    MURPHY_ASSERT(series < kSeries);
    Advance(now);
    buckets_[current_slot_][series] += amount;
    totals_[series] += amount;
  }

  // Events of kind `series` in the window ending at `now`. REQUIRES: series < kSeries.
  int64_t Sum(Instant now, size_t series) {
    MURPHY_ASSERT(series < kSeries);
    Advance(now);
    return totals_[series];
  }

  // Forgets every event.
  void Clear() {
    for (auto& bucket : buckets_) bucket.fill(0);
    totals_.fill(0);
    started_ = false;
  }

  Duration window() const {
    return Duration::FromNanoseconds(bucket_width_nanoseconds_) * static_cast<int64_t>(buckets_.size());
  }

 private:
  int64_t BucketIndex(Instant now) const {
    const int64_t t = now.nanoseconds();
    int64_t index = t / bucket_width_nanoseconds_;
    if (t % bucket_width_nanoseconds_ < 0) --index;  // floor for times before the origin
    return index;
  }

  void Advance(Instant now) {
    // Fast path, no division: still inside the current bucket (or behind it).
    if (started_ && now.nanoseconds() < next_bucket_start_nanoseconds_) return;
    const int64_t index = BucketIndex(now);
    const auto count = static_cast<int64_t>(buckets_.size());
    if (!started_) {
      started_ = true;
      current_index_ = index;
      current_slot_ = Slot(index);
      next_bucket_start_nanoseconds_ = NextBucketStart(index);
      return;
    }
    if (index <= current_index_) return;
    // The gap is computed unsigned: with a 1 ns width the indices can span the whole
    // int64 range, and a signed difference would overflow.
    const uint64_t gap = static_cast<uint64_t>(index) - static_cast<uint64_t>(current_index_);
    if (gap >= static_cast<uint64_t>(count)) {
      for (auto& bucket : buckets_) bucket.fill(0);
      totals_.fill(0);
    } else {
      for (uint64_t step = 1; step <= gap; ++step) {
        auto& bucket = buckets_[Slot(current_index_ + static_cast<int64_t>(step))];
        for (size_t series = 0; series < kSeries; ++series) totals_[series] -= bucket[series];
        bucket.fill(0);
      }
    }
    current_index_ = index;
    current_slot_ = Slot(index);
    next_bucket_start_nanoseconds_ = NextBucketStart(index);
  }

  // Where bucket `index` + 1 starts, saturating at the end of time.
  int64_t NextBucketStart(int64_t index) const {
    int64_t next = 0;
    int64_t start = 0;
    if (__builtin_add_overflow(index, 1, &next)) return internal::kInt64Max;
    if (__builtin_mul_overflow(next, bucket_width_nanoseconds_, &start)) return internal::kInt64Max;
    return start;
  }

  size_t Slot(int64_t index) const {
    const auto count = static_cast<int64_t>(buckets_.size());
    int64_t slot = index % count;
    if (slot < 0) slot += count;
    return static_cast<size_t>(slot);
  }

  int64_t bucket_width_nanoseconds_;
  std::vector<std::array<int64_t, kSeries>> buckets_;
  std::array<int64_t, kSeries> totals_{};
  int64_t current_index_ = 0;
  int64_t next_bucket_start_nanoseconds_ = 0;
  size_t current_slot_ = 0;
  bool started_ = false;
};

}  // namespace murphy
