// murphy/resilience/deadline.h — an absolute deadline on the monotonic clock.
//
// Contract: a `Deadline` is a point on the monotonic clock (`Instant`) after which
// the caller no longer wants an answer, or "infinite" (no deadline). It is a value:
// trivially copyable, no clock is read — every query takes `now` as an argument.
//
// Why absolute and not a per-call timeout: a request that fans out or retries must
// share one budget. A child call gets `Child(now, own_timeout)`, the earlier of the
// parent's deadline and its own timeout, so no sub-call can outlive its caller (gRPC
// deadline propagation). Between processes the deadline travels as the *remaining
// budget* (a Duration), never as an Instant: monotonic clocks of two processes share
// no origin (the chapter's "monotonic clocks are meaningless across machines"). The
// receiver re-anchors the budget on its own clock with `FromWireBudget`. The budget
// starts counting on arrival, so the receiver's deadline is late by the one-way
// transit time; a sender that cares subtracts an estimate of it (`margin`).
//
// Thread safety: values; safe to share.
#pragma once

#include "murphy/core/time.h"

namespace murphy {

class Deadline {
 public:
  // No deadline (the same as Infinite()).
  constexpr Deadline() = default;
  // No deadline: never expires, Remaining() is Duration::Infinite().
  static constexpr Deadline Infinite() { return Deadline(Instant::Max()); }
  // Expires at `when`.
  static constexpr Deadline At(Instant when) { return Deadline(when); }
  // Expires `timeout` after `now` (saturating). An infinite timeout gives an infinite
  // deadline; a zero or negative timeout gives a deadline that has already expired.
  static constexpr Deadline After(Instant now, Duration timeout) {
    if (timeout == Duration::Infinite()) return Infinite();
    return Deadline(now + timeout);
  }
  // Re-anchors a budget received from the wire on the local clock; see the contract.
  static constexpr Deadline FromWireBudget(Instant now, Duration budget) { return After(now, budget); }

  constexpr Instant when() const { return when_; }
  constexpr bool is_infinite() const { return when_ == Instant::Max(); }

  // True once `now` has reached the deadline ([.., when) is the live range).
  constexpr bool Expired(Instant now) const { return !is_infinite() && now >= when_; }

  // Time left at `now`: zero once expired, Duration::Infinite() for no deadline.
  constexpr Duration Remaining(Instant now) const {
    if (is_infinite()) return Duration::Infinite();
    if (now >= when_) return Duration::Zero();
    return when_ - now;
  }

  // The deadline for a sub-call started at `now` with its own `timeout`: the earlier
  // of this deadline and now + timeout, so a child never outlives its parent.
  constexpr Deadline Child(Instant now, Duration timeout) const {
    const Deadline own = After(now, timeout);
    return own.when_ < when_ ? own : *this;
  }

  // The remaining budget to put on the wire, minus `margin` (an estimate of the
  // one-way transit time, so the receiver does not work past our deadline); never
  // negative; Duration::Infinite() for no deadline. REQUIRES: margin >= 0.
  constexpr Duration ToWireBudget(Instant now, Duration margin = Duration::Zero()) const {
    if (is_infinite()) return Duration::Infinite();
    const Duration remaining = Remaining(now) - margin;
    return remaining < Duration::Zero() ? Duration::Zero() : remaining;
  }

  constexpr auto operator<=>(const Deadline&) const = default;

 private:
  explicit constexpr Deadline(Instant when) : when_(when) {}
  Instant when_ = Instant::Max();
};

// The earlier of two deadlines.
constexpr Deadline Earlier(Deadline a, Deadline b) { return a.when() < b.when() ? a : b; }

}  // namespace murphy
