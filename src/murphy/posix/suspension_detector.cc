#include "murphy/posix/suspension_detector.h"

#include "murphy/core/assert.h"

namespace murphy::posix {

SuspensionDetector::SuspensionDetector(ClockSource* clock, Duration threshold)
    : clock_(clock), threshold_(threshold) {
  MURPHY_ASSERT(clock_ != nullptr);
  MURPHY_ASSERT(threshold_ > Duration::Zero());
  last_offset_ = ReadOffset();
}

Duration SuspensionDetector::ReadOffset() {
  // monotonic, boot, monotonic: the boot reading was taken somewhere inside the
  // bracket, so boot − first_monotonic overstates the offset by at most the bracket.
  // Retry a few times if the thread was preempted in between; keep the tightest.
  constexpr int kAttempts = 4;
  Duration best_offset;
  Duration best_bracket = Duration::Infinite();
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const Instant before = clock_->MonotonicNow();
    const Instant boot = clock_->BootNow();
    const Instant after = clock_->MonotonicNow();
    const Duration bracket = after - before;
    if (bracket < best_bracket) {
      best_bracket = bracket;
      best_offset = boot - before;
    }
    if (best_bracket <= threshold_ / 4) break;
  }
  return best_offset;
}

std::optional<Duration> SuspensionDetector::Check() {
  const Duration offset = ReadOffset();
  const Duration growth = offset - last_offset_;
  // The offset never shrinks on a real machine; reading noise may make it look so.
  // Always move the baseline, so that one suspension is reported once.
  last_offset_ = offset;
  if (growth <= threshold_) return std::nullopt;
  ++suspensions_;
  total_suspended_ += growth;
  if (observer_) observer_(growth);
  return growth;
}

}  // namespace murphy::posix
