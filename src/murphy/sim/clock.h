// murphy/sim/clock.h — the clocks of one simulated machine, as functions of true time.
//
// Contract: a `SimClock` answers "what do this machine's monotonic, boot and wall
// clocks read at true time t?" for the simulator. It never reads a real clock. All
// three clocks are driven by one local oscillator whose rate is 1 + drift (drift in
// parts per million; real quartz is typically within ±200 ppm, and the chapter's
// Google figure is 200 ppm). On top of the oscillator:
// - the boot clock is the oscillator itself (Linux CLOCK_BOOTTIME): it keeps counting
//   while the machine is suspended;
// - the monotonic clock is the oscillator minus the time spent suspended (Linux
//   CLOCK_MONOTONIC stops during suspend), so BootNow() − MonotonicNow() grows by the
//   length of every VM suspend — the chapter's live-migration story. It never goes
//   backward, and a GC-like pause (which is not a suspension) does not stop it;
// - the wall clock is the oscillator plus an adjustment that steps (NTP step,
//   operator error, Jepsen's clock "bump"), slews (NTP slew at a bounded rate) or is
//   reset to true time (resync).
// Changes take effect at a true time `t` that must not go backward between calls
// (REQUIRES: t >= the time of the previous change). Thread safety: none; a value
// owned by one simulated process.
#pragma once

#include <cstdint>

#include "murphy/core/time.h"

namespace murphy::sim {

class SimClock {
 public:
  // The NTP-like slew rate used by Resync(kSlew): 500 ppm, ntpd's maximum.
  static constexpr double kSlewRate = 500e-6;

  // A clock created at true time `now` whose monotonic and boot clocks read
  // `monotonic_start` then, and whose wall clock reads `true_wall_origin` + now +
  // `wall_offset` (true_wall_origin is the wall time at true time zero).
  SimClock(Instant now, Instant monotonic_start, WallTime true_wall_origin, Duration wall_offset);

  Instant Monotonic(Instant now) const;
  Instant Boot(Instant now) const;
  WallTime Wall(Instant now) const;
  // The error of the wall clock against true wall time (positive: ahead).
  Duration WallOffset(Instant now) const { return Wall(now) - TrueWall(now); }
  WallTime TrueWall(Instant now) const { return true_wall_origin_ + now.since_origin(); }

  double drift_ppm() const { return drift_ppm_; }
  bool suspended() const { return suspended_; }

  // Changes the oscillator rate from `now` on. REQUIRES: -500'000 < ppm <= 1'000'000
  // (the clock must keep moving forward).
  void SetDriftPpm(Instant now, double ppm);
  // Steps the wall clock by `amount` (negative: backward). Cancels a slew.
  void StepWall(Instant now, Duration amount);
  // Sets the wall clock's error to `offset` at once. Cancels a slew.
  void SetWallOffset(Instant now, Duration offset);
  enum class Resync { kStep, kSlew };
  // Brings the wall clock back to true time: at once (kStep) or gradually at
  // kSlewRate (kSlew). Drift is left alone (the oscillator is what it is).
  void ResyncWall(Instant now, Resync how);
  // Stops the monotonic clock (VM suspend); boot and wall keep counting.
  // REQUIRES: !suspended().
  void Suspend(Instant now);
  // REQUIRES: suspended().
  void Resume(Instant now);

  // The earliest true time >= the last change at which Monotonic() >= `target`;
  // Instant::Max() while suspended. Used to schedule timers on the local clock.
  Instant TrueTimeWhenMonotonicReaches(Instant target) const;

 private:
  // Oscillator reading (nanoseconds since this clock's creation) at true time t.
  int64_t Local(Instant now) const;
  int64_t WallAdjust(Instant now) const;
  void Rebase(Instant now);

  Instant base_true_;          // true time of the last change
  int64_t base_local_ = 0;     // oscillator at base_true_
  double drift_ppm_ = 0;
  Instant monotonic_start_;    // monotonic and boot readings when local == 0
  WallTime true_wall_origin_;
  int64_t suspended_local_ = 0;        // oscillator time spent in finished suspensions
  int64_t suspend_start_local_ = 0;
  bool suspended_ = false;
  // Wall = oscillator + adjustment. While slewing, the adjustment moves from
  // slew_from_ toward adjust_ at kSlewRate from slew_start_ on.
  int64_t adjust_ = 0;
  bool slewing_ = false;
  int64_t slew_from_ = 0;
  Instant slew_start_;
};

}  // namespace murphy::sim
