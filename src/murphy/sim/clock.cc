#include "murphy/sim/clock.h"

#include <cmath>

#include "murphy/core/assert.h"

namespace murphy::sim {

SimClock::SimClock(Instant now, Instant monotonic_start, WallTime true_wall_origin, Duration wall_offset)
    : base_true_(now), monotonic_start_(monotonic_start), true_wall_origin_(true_wall_origin) {
  // Wall(now) = Local(now) + adjust = 0 + adjust must equal true wall + offset.
  adjust_ = (TrueWall(now) + wall_offset).nanoseconds();
}

int64_t SimClock::Local(Instant now) const {
  MURPHY_ASSERT(now >= base_true_);
  const int64_t elapsed = (now - base_true_).nanoseconds();
  // The drift part is small, so rounding it through a double loses nothing that
  // matters; the result is non-decreasing in `now` because |drift| < 1.
  const auto drift = static_cast<int64_t>(std::llround(static_cast<double>(elapsed) * drift_ppm_ * 1e-6));
  return base_local_ + elapsed + drift;
}

int64_t SimClock::WallAdjust(Instant now) const {
  if (!slewing_) return adjust_;
  const auto moved = static_cast<int64_t>(static_cast<double>((now - slew_start_).nanoseconds()) * kSlewRate);
  const int64_t distance = adjust_ - slew_from_;
  if (distance >= 0) return moved >= distance ? adjust_ : slew_from_ + moved;
  return moved >= -distance ? adjust_ : slew_from_ - moved;
}

void SimClock::Rebase(Instant now) {
  const int64_t local = Local(now);
  const int64_t adjust = WallAdjust(now);
  base_local_ = local;
  base_true_ = now;
  if (slewing_ && adjust == adjust_) slewing_ = false;
  if (slewing_) {
    slew_from_ = adjust;
    slew_start_ = now;
  }
}

Instant SimClock::Boot(Instant now) const { return monotonic_start_ + Nanoseconds(Local(now)); }

Instant SimClock::Monotonic(Instant now) const {
  const int64_t local = suspended_ ? suspend_start_local_ : Local(now);
  return monotonic_start_ + Nanoseconds(local - suspended_local_);
}

WallTime SimClock::Wall(Instant now) const {
  return WallTime::FromNanoseconds(Local(now) + WallAdjust(now));
}

void SimClock::SetDriftPpm(Instant now, double ppm) {
  MURPHY_ASSERT(ppm > -500'000);
  MURPHY_ASSERT(ppm <= 1'000'000);
  Rebase(now);
  drift_ppm_ = ppm;
}

void SimClock::StepWall(Instant now, Duration amount) {
  Rebase(now);
  adjust_ = WallAdjust(now) + amount.nanoseconds();
  slewing_ = false;
}

void SimClock::SetWallOffset(Instant now, Duration offset) {
  Rebase(now);
  adjust_ = (TrueWall(now) + offset).nanoseconds() - Local(now);
  slewing_ = false;
}

void SimClock::ResyncWall(Instant now, Resync how) {
  Rebase(now);
  const int64_t current = WallAdjust(now);
  adjust_ = TrueWall(now).nanoseconds() - Local(now);
  slewing_ = how == Resync::kSlew && current != adjust_;
  slew_from_ = current;
  slew_start_ = now;
}

void SimClock::Suspend(Instant now) {
  MURPHY_ASSERT(!suspended_);
  suspend_start_local_ = Local(now);
  suspended_ = true;
}

void SimClock::Resume(Instant now) {
  MURPHY_ASSERT(suspended_);
  suspended_local_ += Local(now) - suspend_start_local_;
  suspended_ = false;
}

Instant SimClock::TrueTimeWhenMonotonicReaches(Instant target) const {
  if (suspended_) return Instant::Max();
  if (target == Instant::Max()) return Instant::Max();
  const int64_t local_target = (target - monotonic_start_).nanoseconds() + suspended_local_;
  const int64_t delta = local_target - base_local_;
  if (delta <= 0) return base_true_;
  const double rate = 1.0 + drift_ppm_ * 1e-6;
  const double estimate = std::ceil(static_cast<double>(delta) / rate);
  if (estimate >= 9.0e18) return Instant::Max();
  Instant when = base_true_ + Nanoseconds(static_cast<int64_t>(estimate));
  // Rounding may leave the estimate a few nanoseconds early; step forward until the
  // monotonic clock has really reached the target (bounded: the error is tiny).
  for (int step = 0; step < 64 && Local(when) < local_target; ++step) when += Nanoseconds(1);
  MURPHY_ASSERT(Local(when) >= local_target);
  return when;
}

}  // namespace murphy::sim
