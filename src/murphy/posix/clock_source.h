// murphy/posix/clock_source.h — where PosixEnv reads its clocks, made injectable.
//
// Contract: a `ClockSource` answers the three clocks of env.h — monotonic
// (CLOCK_MONOTONIC), wall (CLOCK_REALTIME) and boot (CLOCK_BOOTTIME, which keeps
// counting while the machine is suspended). `RealClockSource` reads them with
// clock_gettime(2). `FakeClockSource` holds values a test sets by hand, so code that
// reacts to a suspension (SuspensionDetector) can be tested without suspending a
// machine: a suspension is `fake.Suspend(Seconds(5))` (boot and wall advance,
// monotonic does not).
// Thread safety: RealClockSource is stateless and safe from any thread;
// FakeClockSource has one owner (the test's loop thread).
// Ownership: PosixEnv and SuspensionDetector borrow a ClockSource; it must outlive
// them.
#pragma once

#include "murphy/core/time.h"

namespace murphy::posix {

class ClockSource {
 public:
  virtual ~ClockSource() = default;
  virtual Instant MonotonicNow() = 0;
  virtual WallTime WallNow() = 0;
  virtual Instant BootNow() = 0;
};

// The host's clocks. clock_gettime on these clocks cannot fail on Linux; a failure
// is treated as a broken invariant (asserted).
class RealClockSource final : public ClockSource {
 public:
  Instant MonotonicNow() override;
  WallTime WallNow() override;
  Instant BootNow() override;

  // A process-wide instance (stateless, so sharing it is harmless).
  static RealClockSource* Default();
};

// Clocks that move only when told to. Starts with all three at their origin, the
// wall clock at `wall_origin`.
class FakeClockSource final : public ClockSource {
 public:
  explicit FakeClockSource(WallTime wall_origin = WallTime::FromNanoseconds(int64_t{1767225600} * 1'000'000'000))
      : wall_(wall_origin) {}

  Instant MonotonicNow() override { return monotonic_; }
  WallTime WallNow() override { return wall_; }
  Instant BootNow() override { return boot_; }

  // Time passes while the process runs: all three clocks advance.
  void Advance(Duration duration) {
    monotonic_ += duration;
    boot_ += duration;
    wall_ += duration;
  }
  // The machine sleeps: boot and wall time advance, the monotonic clock stands still.
  void Suspend(Duration duration) {
    boot_ += duration;
    wall_ += duration;
  }
  // An NTP step or an operator: only the wall clock moves (either way).
  void StepWall(Duration offset) { wall_ += offset; }

 private:
  Instant monotonic_;
  Instant boot_;
  WallTime wall_;
};

}  // namespace murphy::posix
