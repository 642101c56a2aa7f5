#include "murphy/detect/failure_detector.h"

#include "murphy/core/assert.h"

namespace murphy {

std::optional<Duration> ArrivalTracker::Arrive(Instant now) {
  std::optional<Duration> interval;
  if (last_arrival_.has_value()) {
    MURPHY_ASSERT_MSG(now >= *last_arrival_, "heartbeats must arrive in time order");
    if (!skip_next_interval_) interval = now - *last_arrival_;
  }
  skip_next_interval_ = false;
  last_arrival_ = now;
  return interval;
}

Duration ArrivalTracker::Elapsed(Instant now) const {
  MURPHY_ASSERT(last_arrival_.has_value());
  return Max(Duration::Zero(), now - *last_arrival_);
}

void ArrivalTracker::NoteLocalPause(Instant from, Duration length) {
  MURPHY_ASSERT(length >= Duration::Zero());
  if (!last_arrival_.has_value()) return;
  const Instant pause_end = from + length;
  if (pause_end <= *last_arrival_) return;  // the pause is older than our evidence
  // Restart the silence clock at the end of the pause, rather than only subtracting
  // the pause: heartbeats the peer sent while we were frozen are still queued in our
  // socket, and we must not convict before we have read them.
  last_arrival_ = pause_end;
  skip_next_interval_ = true;
}

LocalPauseMonitor::LocalPauseMonitor(Duration max_gap) : max_gap_(max_gap) {
  MURPHY_ASSERT(max_gap > Duration::Zero());
}

std::optional<LocalPauseMonitor::Pause> LocalPauseMonitor::Observe(Instant now) {
  std::optional<Pause> pause;
  if (previous_.has_value()) {
    MURPHY_ASSERT_MSG(now >= *previous_, "clock readings must not go backward");
    const Duration gap = now - *previous_;
    if (gap > max_gap_) pause = Pause{*previous_, gap};
  }
  previous_ = now;
  return pause;
}

}  // namespace murphy
