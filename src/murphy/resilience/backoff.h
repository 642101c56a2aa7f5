// murphy/resilience/backoff.h — capped exponential backoff with jitter.
//
// Contract: `Backoff` hands out the delays to wait before retry 1, 2, ... of one
// operation, up to `max_retries` of them; then it says "no more attempts" (nullopt).
// It never sleeps: the caller schedules the returned delay on its Env or event loop.
// Randomness comes from the caller's `Rng&`, so a simulation replays bit for bit.
//
// With ceiling(n) = min(cap, base * multiplier^n) for retry n = 0, 1, ..., the jitter
// modes are those of Brooker 2015, "Exponential Backoff And Jitter" (AWS
// Architecture Blog), whose simulation shows why jitter matters: un-jittered clients
// that failed together retry together (the thundering herd), and full jitter does
// the least total work:
//   kNone          delay = ceiling(n)
//   kFull          delay = uniform[0, ceiling(n)]                  mean ceiling(n)/2
//   kEqual         delay = ceiling(n)/2 + uniform[0, ceiling(n)/2] mean 3/4 ceiling(n)
//   kDecorrelated  delay = min(cap, uniform[base, 3 * previous]), previous starts at
//                  base; `multiplier` is not used (Brooker's formula fixes it at 3).
// (The chapter's snippet adds +0..10 % to the delay; that keeps clients that failed
// together nearly synchronised, which is exactly what Brooker measured to be bad.)
//
// Cost: ceiling(n) is carried from one call to the next (one multiply, no pow()),
// so NextDelay() is a few nanoseconds. Thread safety: not thread-safe; one Backoff
// per operation. Ownership: a value; holds no references.
#pragma once

#include <cstdint>
#include <optional>

#include "murphy/core/rng.h"
#include "murphy/core/time.h"

namespace murphy {

enum class Jitter : uint8_t { kNone, kFull, kEqual, kDecorrelated };

struct BackoffOptions {
  // The first ceiling (and the floor of decorrelated jitter). REQUIRES: > 0.
  Duration base = Milliseconds(100);
  // Growth per retry. REQUIRES: >= 1 and finite.
  double multiplier = 2.0;
  // No delay exceeds this. REQUIRES: cap >= base, finite.
  Duration cap = Seconds(10);
  Jitter jitter = Jitter::kFull;
  // How many delays NextDelay() hands out before saying "no more". A limit on
  // everything: REQUIRES 0 <= max_retries <= kMaxRetries.
  int max_retries = 5;

  static constexpr int kMaxRetries = 1'000'000;
};

class Backoff {
 public:
  // REQUIRES: options satisfy the REQUIRES of BackoffOptions (asserted).
  explicit Backoff(const BackoffOptions& options);

  // The delay before the next retry, or nullopt once max_retries delays were given.
  std::optional<Duration> NextDelay(Rng& rng) {
    if (retries_ >= options_.max_retries) return std::nullopt;
    ++retries_;
    const int64_t ceiling = ceiling_nanoseconds_;
    int64_t delay = 0;
    switch (options_.jitter) {
      case Jitter::kNone:
        delay = ceiling;
        break;
      case Jitter::kFull:
        delay = rng.UniformInRange(0, ceiling);
        break;
      case Jitter::kEqual: {
        const int64_t half = ceiling / 2;
        delay = (ceiling - half) + rng.UniformInRange(0, half);
        break;
      }
      case Jitter::kDecorrelated: {
        const int64_t high = SaturatingTriple(previous_nanoseconds_);
        delay = rng.UniformInRange(base_nanoseconds_, high);
        if (delay > cap_nanoseconds_) delay = cap_nanoseconds_;
        previous_nanoseconds_ = delay;
        break;
      }
    }
    Grow();
    return Duration::FromNanoseconds(delay);
  }

  // Forget the history: the next delay is the first one again (e.g. after a success
  // on a long-lived connection).
  void Reset();

  // Delays handed out since construction or the last Reset().
  int retries() const { return retries_; }
  // ceiling(n) for the next delay (before jitter); what kNone would return.
  Duration ceiling() const { return Duration::FromNanoseconds(ceiling_nanoseconds_); }
  const BackoffOptions& options() const { return options_; }

 private:
  static int64_t SaturatingTriple(int64_t value) {
    return value > internal::kInt64Max / 3 ? internal::kInt64Max : value * 3;
  }
  void Grow() {
    if (ceiling_nanoseconds_ >= cap_nanoseconds_) return;
    const double next = static_cast<double>(ceiling_nanoseconds_) * options_.multiplier;
    // Compare in double first: the product may not fit in int64.
    ceiling_nanoseconds_ =
        next >= static_cast<double>(cap_nanoseconds_) ? cap_nanoseconds_ : static_cast<int64_t>(next);
  }

  BackoffOptions options_;
  int64_t base_nanoseconds_;
  int64_t cap_nanoseconds_;
  int64_t ceiling_nanoseconds_;
  int64_t previous_nanoseconds_;  // decorrelated jitter's last delay
  int retries_ = 0;
};

}  // namespace murphy
