// murphy/detect/fixed_timeout_detector.h — the baseline: suspect a peer when it has
// been silent for longer than a fixed timeout.
//
// This is the detector the chapter's "Timeout Dilemma" starts from: a short timeout
// convicts peers that were only slow (a GC pause, a latency spike); a long one leaves
// a crashed peer unnoticed for the whole timeout. It is kept as the yardstick the
// adaptive detectors are measured against (detect/evaluation.h).
// Suspicion(now) = elapsed / timeout, so Suspect(now) <=> Suspicion(now) > 1.
// Thread safety: none (one event loop). Ownership: a value type.
#pragma once

#include <string_view>

#include "murphy/core/time.h"
#include "murphy/detect/failure_detector.h"

namespace murphy {

class FixedTimeoutDetector final : public FailureDetector {
 public:
  // REQUIRES: timeout > 0.
  explicit FixedTimeoutDetector(Duration timeout);

  void Heartbeat(Instant now) override { arrivals_.Arrive(now); }
  // True iff monitoring and now - last heartbeat > timeout.
  bool Suspect(Instant now) const override;
  double Suspicion(Instant now) const override;
  void NoteLocalPause(Instant from, Duration length) override { arrivals_.NoteLocalPause(from, length); }
  std::string_view name() const override { return "fixed-timeout"; }

  Duration timeout() const { return timeout_; }

 private:
  Duration timeout_;
  ArrivalTracker arrivals_;
};

}  // namespace murphy
