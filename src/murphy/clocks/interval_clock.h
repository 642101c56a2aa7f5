// murphy/clocks/interval_clock.h — a clock that returns an interval, TrueTime-style.
//
// Sources: J. Corbett et al., "Spanner: Google's Globally-Distributed Database",
// OSDI 2012 (TT.now(), TT.after(), TT.before(), commit wait); AWS ClockBound
// (github.com/aws/clock-bound) for the error-bound formula:
//   bound = error at the last sync + max drift rate x (time since that sync),
// with the time since the sync measured on the *monotonic* clock, never on the wall
// clock whose error we are bounding.
//
// Contract:
// - Now() returns [wall - bound, wall + bound]: if the synchronisation source told the
//   truth and the oscillator drifts no faster than max_drift_ppm, true time lies inside.
// - status(): kUnknown before the first sync, when the bound has grown past
//   Options::max_bound, or when the wall clock moved inconsistently with the monotonic
//   clock since the last sync (someone stepped it: the recorded error no longer applies);
//   kFreeRunning when the last sync is older than Options::sync_expiry but the bound is
//   still usable; kSynchronized otherwise. When the status is kUnknown, Now() is the
//   unbounded interval [WallTime::Min(), WallTime::Max()] — the honest answer — so
//   After() and Before() are false for every t and CommitWait() fails.
// - Commit wait (Spanner section 4.1.2): a transaction that committed at timestamp t must
//   not be acknowledged until After(t), i.e. until t < Now().earliest; then every event
//   that starts later, on any node with a correct bound, gets a timestamp above t.
// Thread safety: none; one clock per process, used from its event loop. The injected
// clocks are called synchronously.
#pragma once

#include <cstdint>
#include <functional>

#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

struct TimeInterval {
  WallTime earliest;
  WallTime latest;

  Duration width() const { return latest - earliest; }
  bool Contains(WallTime t) const { return earliest <= t && t <= latest; }
  friend bool operator==(const TimeInterval&, const TimeInterval&) = default;
};

enum class ClockSyncStatus : uint8_t {
  kUnknown,       // no usable bound: never synced, disrupted, or bound too large
  kSynchronized,  // recently synced; the bound is tight
  kFreeRunning,   // sync lost; the bound grows with the drift rate
};
// "unknown", "synchronized", "free_running".
const char* ClockSyncStatusName(ClockSyncStatus status);

class IntervalClock {
 public:
  using WallClock = std::function<WallTime()>;
  using MonotonicClock = std::function<Instant()>;

  struct Options {
    // The worst oscillator drift believed possible, in parts per million. 50 ppm is
    // conservative for commodity crystals (4.3 s/day).
    double max_drift_ppm = 50.0;
    // Without a sync for longer than this, the clock is free-running.
    Duration sync_expiry = Seconds(16);
    // A bound larger than this is useless to callers: report kUnknown.
    Duration max_bound = Milliseconds(500);
    // How far the wall clock may move differently from the monotonic clock between
    // syncs, beyond drift, before we conclude that it was stepped.
    Duration wall_jump_tolerance = Milliseconds(1);
  };

  // REQUIRES: both clocks callable; 0 <= max_drift_ppm < 1e6; sync_expiry, max_bound
  // and wall_jump_tolerance >= 0.
  IntervalClock(WallClock wall_clock, MonotonicClock monotonic_clock, Options options);

  // Reports that the wall clock was disciplined just now and is within `error` of true
  // time (e.g. chrony's root dispersion + root delay / 2). kInvalidArgument, and no
  // change, if error is negative or infinite.
  Status OnSync(Duration error);

  TimeInterval Now();
  ClockSyncStatus status();
  // The half-width of Now() (Duration::Infinite() when the status is kUnknown).
  Duration Bound();

  // True iff t has definitely passed: t < Now().earliest.
  bool After(WallTime t);
  // True iff t has definitely not arrived: t > Now().latest.
  bool Before(WallTime t);

  // How long to wait (on the monotonic clock) until After(t) holds; Zero() if it
  // already does. Assumes the wall clock advances at ~1 s/s, so earliest advances at
  // (1 - max drift) s/s; a wall-clock slew can make the estimate short, so callers wait,
  // then re-check After(t) and wait again if needed. kUnavailable if the status is
  // kUnknown (no wait would make t certain).
  Result<Duration> CommitWait(WallTime t);

  const Options& options() const { return options_; }

 private:
  // The current bound, or Duration::Infinite() when the status is kUnknown; also
  // returns the wall reading it is centred on.
  Duration Evaluate(WallTime* wall, ClockSyncStatus* status);

  WallClock wall_clock_;
  MonotonicClock monotonic_clock_;
  Options options_;
  double max_drift_rate_;  // max_drift_ppm / 1e6
  bool synced_ = false;
  Duration sync_error_;
  Instant sync_monotonic_;
  WallTime sync_wall_;
};

}  // namespace murphy
