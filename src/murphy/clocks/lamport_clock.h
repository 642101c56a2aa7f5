// murphy/clocks/lamport_clock.h — Lamport's logical clock.
//
// Source: L. Lamport, "Time, Clocks, and the Ordering of Events in a Distributed
// System", CACM 21(7), 1978 — rules IR1 (tick between local events) and IR2 (on
// receipt, advance past the timestamp the message carries).
//
// Contract: a counter that respects causality: if event a happened before event b,
// then C(a) < C(b). The converse does not hold — a smaller counter says nothing about
// causality (use VectorClock for that); to break ties into a total order, compare
// (counter, NodeId) pairs. Counters start at 0 ("no event yet"); the first event is 1.
// Overflow of 64 bits is a broken invariant (it takes 584 years at 1 GHz) and asserts.
// Thread safety: none; one clock per process, owned by its event loop.
#pragma once

#include <cstdint>

#include "murphy/core/assert.h"

namespace murphy {

class LamportClock {
 public:
  LamportClock() = default;
  // Resumes from a persisted counter (e.g. after a restart), so that timestamps keep
  // increasing across restarts.
  explicit LamportClock(uint64_t start) : time_(start) {}

  // A local event or a send: returns the event's timestamp (the previous value + 1).
  uint64_t Tick() {
    MURPHY_ASSERT(time_ < kMaxTime);
    return ++time_;
  }

  // Receipt of a message stamped `received`: returns the receive event's timestamp,
  // max(local, received) + 1, which is greater than both.
  uint64_t Update(uint64_t received) {
    if (received > time_) time_ = received;
    return Tick();
  }

  // The timestamp of the latest event (0 before any).
  uint64_t time() const { return time_; }

 private:
  static constexpr uint64_t kMaxTime = ~uint64_t{0};
  uint64_t time_ = 0;
};

}  // namespace murphy
