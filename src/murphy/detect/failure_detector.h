// murphy/detect/failure_detector.h — the common interface of heartbeat failure
// detectors, and the local-pause guard they share.
//
// Contract:
// - A `FailureDetector` watches one peer. The owner calls `Heartbeat(now)` whenever a
//   heartbeat (or any message that proves liveness) arrives, and asks `Suspect(now)`
//   or `Suspicion(now)` when it needs a decision. Time is always an argument: no
//   detector reads a clock, so simulation and tests replay exactly.
// - Before the first heartbeat a detector is "not monitoring" and suspects nobody
//   (Akka's rule: a connection that never spoke is not declared dead by the detector;
//   whoever opened it owns that timeout).
// - `Suspicion(now)` is a continuous, non-negative level that grows with silence;
//   phi for the accrual detectors, elapsed / timeout for the timeout detectors.
//   `Suspect(now)` is the boolean decision derived from it by each detector.
// - `NoteLocalPause(from, length)`: the owner observed that it was itself paused (GC,
//   VM steal, SIGSTOP) for [from, from + length). Silence during the owner's own pause
//   says nothing about the peer, so the detector convicts nobody for that window: the
//   silence clock restarts at the end of the pause and the next inter-arrival interval
//   (skewed by the pause) is not learned from. `LocalPauseMonitor` below turns a gap
//   between consecutive readings of the owner's clock into such a signal.
// - The interface uses virtual calls so the demo and Raft can swap detectors at run
//   time. The concrete detectors are `final`, so code that holds a concrete type (the
//   benchmarks, a node that fixed its choice) gets direct, inlinable calls.
// Thread safety: none; one detector belongs to one event loop. Ownership: detectors
// own their state by value and hold no references.
#pragma once

#include <optional>
#include <string_view>

#include "murphy/core/time.h"

namespace murphy {

class FailureDetector {
 public:
  virtual ~FailureDetector() = default;

  // Records a heartbeat that arrived at `now`.
  // REQUIRES: `now` is not earlier than the previous heartbeat.
  virtual void Heartbeat(Instant now) = 0;
  // Whether the peer is suspected at `now`. False before the first heartbeat.
  // A `now` earlier than the last heartbeat counts as zero silence.
  virtual bool Suspect(Instant now) const = 0;
  // The suspicion level at `now` (>= 0; 0 before the first heartbeat).
  virtual double Suspicion(Instant now) const = 0;
  // The owner was paused during [from, from + length). REQUIRES: length >= 0, and the
  // pause has ended (from + length is not later than the next Heartbeat's `now`).
  virtual void NoteLocalPause(Instant from, Duration length) = 0;
  // A short stable name for reports: "fixed-timeout", "phi-normal", ...
  virtual std::string_view name() const = 0;
};

// Tracks the last heartbeat and applies the local-pause guard; the shared core of
// every detector here. A value type; not a FailureDetector itself.
class ArrivalTracker {
 public:
  bool monitoring() const { return last_arrival_.has_value(); }
  // REQUIRES: monitoring().
  Instant last_arrival() const { return *last_arrival_; }

  // Records an arrival. Returns the inter-arrival interval to learn from, or nullopt
  // for the first arrival and for the first arrival after a local pause.
  // REQUIRES: now >= last_arrival() when monitoring.
  std::optional<Duration> Arrive(Instant now);
  // Silence since the last arrival (or since the end of the last local pause), never
  // negative. REQUIRES: monitoring().
  Duration Elapsed(Instant now) const;
  // See FailureDetector::NoteLocalPause. No effect before the first arrival.
  void NoteLocalPause(Instant from, Duration length);

 private:
  std::optional<Instant> last_arrival_;
  bool skip_next_interval_ = false;
};

// Notices the owner's own pauses from the gaps between consecutive readings of its
// clock: an event loop that ticks every 10 ms and sees a 2 s gap was not running for
// most of those 2 s. The owner passes the returned pause to its detectors'
// NoteLocalPause. Thread safety: none. A value type.
class LocalPauseMonitor {
 public:
  struct Pause {
    Instant from;
    Duration length;
  };

  // REQUIRES: max_gap > 0 — gaps longer than this are reported as pauses.
  explicit LocalPauseMonitor(Duration max_gap);

  // Records a reading of the owner's clock. Returns the pause [previous reading, now)
  // when the gap exceeds max_gap, nullopt otherwise (and on the first reading).
  // REQUIRES: now is not earlier than the previous reading.
  std::optional<Pause> Observe(Instant now);

 private:
  Duration max_gap_;
  std::optional<Instant> previous_;
};

}  // namespace murphy
