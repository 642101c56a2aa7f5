// murphy/posix/suspension_detector.h — notices that the machine was suspended.
//
// Contract: CLOCK_BOOTTIME keeps counting while the machine (or VM) is suspended and
// CLOCK_MONOTONIC does not, so their difference grows by exactly the time spent
// suspended. `Check()` reads both clocks and compares the difference with the one
// seen at the previous check (or construction); a growth above `threshold` is a
// suspension: it is counted, reported to the observer and returned. Code holding
// leases must then treat them as unsafe — every belief about elapsed time is off by
// the suspension (the chapter's "process pauses" taken to the whole machine).
// What it cannot see: a stopped *process* (SIGSTOP, a GC pause, a slow swap) does not
// stop either clock, so it leaves the difference unchanged; those pauses are covered
// by the lease's safe-until arithmetic, not by this detector.
// Reading the two clocks is not atomic: a preemption between the two reads would
// look like a suspension. The detector brackets the boot read between two monotonic
// reads and retries (a few times) when the bracket is wider than a quarter of the
// threshold, so a preempted read is not mistaken for a suspension.
// Thread safety: none; used from the loop thread. Ownership: borrows the ClockSource,
// which must outlive the detector; owns the observer.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "murphy/core/time.h"
#include "murphy/posix/clock_source.h"

namespace murphy::posix {

class SuspensionDetector {
 public:
  // A growth of BootNow − MonotonicNow above this counts as a suspension.
  static constexpr Duration kDefaultThreshold = Milliseconds(50);

  // REQUIRES: clock != nullptr, threshold > 0. Takes the first reading now.
  SuspensionDetector(ClockSource* clock, Duration threshold = kDefaultThreshold);

  // Called with the length of each detected suspension, from inside Check().
  void set_observer(std::function<void(Duration suspended)> observer) { observer_ = std::move(observer); }

  // Reads the clocks; returns how long the machine was suspended since the previous
  // check if that exceeds the threshold (and calls the observer), else nullopt.
  std::optional<Duration> Check();

  uint64_t suspensions() const { return suspensions_; }
  // The sum of all detected suspensions.
  Duration total_suspended() const { return total_suspended_; }
  Duration threshold() const { return threshold_; }

 private:
  // BootNow − MonotonicNow, read as tightly as the clocks allow.
  Duration ReadOffset();

  ClockSource* clock_;
  Duration threshold_;
  Duration last_offset_;
  uint64_t suspensions_ = 0;
  Duration total_suspended_;
  std::function<void(Duration)> observer_;
};

}  // namespace murphy::posix
