#include "murphy/clocks/interval_clock.h"

#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

const char* ClockSyncStatusName(ClockSyncStatus status) {
  switch (status) {
    case ClockSyncStatus::kUnknown:
      return "unknown";
    case ClockSyncStatus::kSynchronized:
      return "synchronized";
    case ClockSyncStatus::kFreeRunning:
      return "free_running";
  }
  MURPHY_UNREACHABLE();
}

IntervalClock::IntervalClock(WallClock wall_clock, MonotonicClock monotonic_clock, Options options)
    : wall_clock_(std::move(wall_clock)),
      monotonic_clock_(std::move(monotonic_clock)),
      options_(options),
      max_drift_rate_(options.max_drift_ppm / 1e6) {
  MURPHY_ASSERT(wall_clock_ != nullptr);
  MURPHY_ASSERT(monotonic_clock_ != nullptr);
  MURPHY_ASSERT(options_.max_drift_ppm >= 0.0);
  MURPHY_ASSERT(options_.max_drift_ppm < 1e6);
  MURPHY_ASSERT(options_.sync_expiry >= Duration::Zero());
  MURPHY_ASSERT(options_.max_bound >= Duration::Zero());
  MURPHY_ASSERT(options_.wall_jump_tolerance >= Duration::Zero());
}

Status IntervalClock::OnSync(Duration error) {
  if (error < Duration::Zero() || error.is_infinite()) {
    return InvalidArgumentError("sync error bound must be finite and non-negative, got " +
                                FormatDuration(error));
  }
  synced_ = true;
  sync_error_ = error;
  sync_monotonic_ = monotonic_clock_();
  sync_wall_ = wall_clock_();
  return Status::Ok();
}

Duration IntervalClock::Evaluate(WallTime* wall, ClockSyncStatus* status) {
  *wall = wall_clock_();
  if (!synced_) {
    *status = ClockSyncStatus::kUnknown;
    return Duration::Infinite();
  }
  const Duration since_sync = monotonic_clock_() - sync_monotonic_;
  MURPHY_ASSERT_MSG(since_sync >= Duration::Zero(), "monotonic clock went backward");
  const Duration drift = since_sync * max_drift_rate_;
  // Both clocks count the same seconds; beyond their relative drift (at most twice the
  // rate, one each way) a difference means the wall clock was stepped.
  const Duration discrepancy = Abs((*wall - sync_wall_) - since_sync);
  if (discrepancy > 2 * drift + options_.wall_jump_tolerance) {
    *status = ClockSyncStatus::kUnknown;
    return Duration::Infinite();
  }
  const Duration bound = sync_error_ + drift;
  if (bound > options_.max_bound) {
    *status = ClockSyncStatus::kUnknown;
    return Duration::Infinite();
  }
  *status =
      since_sync > options_.sync_expiry ? ClockSyncStatus::kFreeRunning : ClockSyncStatus::kSynchronized;
  return bound;
}

TimeInterval IntervalClock::Now() {
  WallTime wall;
  ClockSyncStatus status;
  const Duration bound = Evaluate(&wall, &status);
  if (status == ClockSyncStatus::kUnknown) return TimeInterval{WallTime::Min(), WallTime::Max()};
  return TimeInterval{wall - bound, wall + bound};
}

ClockSyncStatus IntervalClock::status() {
  WallTime wall;
  ClockSyncStatus status;
  Evaluate(&wall, &status);
  return status;
}

Duration IntervalClock::Bound() {
  WallTime wall;
  ClockSyncStatus status;
  return Evaluate(&wall, &status);
}

bool IntervalClock::After(WallTime t) { return t < Now().earliest; }

bool IntervalClock::Before(WallTime t) { return t > Now().latest; }

Result<Duration> IntervalClock::CommitWait(WallTime t) {
  WallTime wall;
  ClockSyncStatus status;
  const Duration bound = Evaluate(&wall, &status);
  if (status == ClockSyncStatus::kUnknown) {
    return UnavailableError("interval clock has no usable bound (status unknown); commit wait impossible");
  }
  const WallTime earliest = wall - bound;
  if (t < earliest) return Duration::Zero();
  // earliest must gain (t - earliest) + 1ns; it advances at (1 - drift) per second
  // because the bound keeps growing while we wait. Round up so one wait suffices.
  const Duration gap = (t - earliest) + Nanoseconds(1);
  Duration wait = gap * (1.0 / (1.0 - max_drift_rate_));
  if (wait < gap) wait = gap;
  return wait + Nanoseconds(1);
}

}  // namespace murphy
