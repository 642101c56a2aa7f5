#include "murphy/resilience/circuit_breaker.h"

#include <cmath>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "CLOSED";
    case BreakerState::kOpen:
      return "OPEN";
    case BreakerState::kHalfOpen:
      return "HALF_OPEN";
    case BreakerState::kForcedOpen:
      return "FORCED_OPEN";
  }
  MURPHY_UNREACHABLE();
}

bool IsAllowedBreakerTransition(BreakerState from, BreakerState to) {
  using S = BreakerState;
  if (from == to) return false;
  // Isolation is possible from anywhere; Reset() leads to CLOSED from anywhere.
  if (to == S::kForcedOpen || to == S::kClosed) return true;
  switch (from) {
    case S::kClosed:
      return to == S::kOpen;
    case S::kOpen:
      return to == S::kHalfOpen;
    case S::kHalfOpen:
      return to == S::kOpen;
    case S::kForcedOpen:
      return false;  // only Reset() leaves FORCED_OPEN
  }
  MURPHY_UNREACHABLE();
}

CallOutcome CallOutcomeOf(StatusCode code) {
  switch (code) {
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return CallOutcome::kFailure;
    default:
      return CallOutcome::kSuccess;
  }
}

Status CircuitBreaker::RejectedError() { return UnavailableError("circuit breaker open"); }

CircuitBreaker::Window::Window(const CircuitBreakerOptions& options)
    : type_(options.sliding_window_type),
      ring_(options.sliding_window_type == SlidingWindowType::kCountBased
                ? static_cast<size_t>(options.sliding_window_size)
                : 0),
      buckets_(options.time_bucket_width,
               options.sliding_window_type == SlidingWindowType::kTimeBased ? options.sliding_window_size : 1) {}

void CircuitBreaker::Window::Add(bool failure, bool slow, Instant now) {
  if (type_ == SlidingWindowType::kTimeBased) {
    buckets_.Add(now, 0);
    if (failure) buckets_.Add(now, 1);
    if (slow) buckets_.Add(now, 2);
    return;
  }
  const auto flags = static_cast<uint8_t>((failure ? kFailureBit : 0) | (slow ? kSlowBit : 0));
  if (totals_.calls == static_cast<int64_t>(ring_.size())) {
    // Full: the oldest outcome (at next_) leaves the window.
    const uint8_t old = ring_[next_];
    totals_.failures -= (old & kFailureBit) != 0 ? 1 : 0;
    totals_.slow -= (old & kSlowBit) != 0 ? 1 : 0;
  } else {
    ++totals_.calls;
  }
  ring_[next_] = flags;
  totals_.failures += failure ? 1 : 0;
  totals_.slow += slow ? 1 : 0;
  if (++next_ == ring_.size()) next_ = 0;
}

CircuitBreaker::Totals CircuitBreaker::Window::Sum(Instant now) {
  if (type_ == SlidingWindowType::kTimeBased) {
    return Totals{buckets_.Sum(now, 0), buckets_.Sum(now, 1), buckets_.Sum(now, 2)};
  }
  return totals_;
}

void CircuitBreaker::Window::Clear() {
  next_ = 0;
  totals_ = Totals{0, 0, 0};
  buckets_.Clear();
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options, Instant now)
    : options_(options), window_(options), closed_since_(now) {
  MURPHY_ASSERT(options.sliding_window_size >= 1);
  MURPHY_ASSERT(options.sliding_window_size <= 100'000);
  MURPHY_ASSERT(options.time_bucket_width > Duration::Zero());
  MURPHY_ASSERT(options.minimum_number_of_calls >= 1);
  if (options.sliding_window_type == SlidingWindowType::kCountBased) {
    MURPHY_ASSERT_MSG(options.minimum_number_of_calls <= options.sliding_window_size,
                      "a count-based window never holds minimum_number_of_calls calls");
  }
  MURPHY_ASSERT(options.failure_rate_threshold > 0);
  MURPHY_ASSERT(options.failure_rate_threshold <= 1);
  MURPHY_ASSERT(options.slow_call_rate_threshold > 0);
  MURPHY_ASSERT(options.slow_call_rate_threshold <= 1);
  MURPHY_ASSERT(options.slow_call_duration_threshold > Duration::Zero());
  MURPHY_ASSERT(options.wait_duration_in_open_state > Duration::Zero());
  MURPHY_ASSERT(std::isfinite(options.open_duration_multiplier));
  MURPHY_ASSERT(options.open_duration_multiplier >= 1.0);
  MURPHY_ASSERT(options.max_wait_duration_in_open_state >= options.wait_duration_in_open_state);
  MURPHY_ASSERT(!options.max_wait_duration_in_open_state.is_infinite());
  MURPHY_ASSERT(options.stable_close_duration >= Duration::Zero());
  MURPHY_ASSERT(options.successes_to_close >= 1);
  MURPHY_ASSERT(options.max_concurrent_probes >= 1);
  MURPHY_ASSERT(options.max_concurrent_probes <= options.successes_to_close);
  MURPHY_ASSERT(options.max_wait_duration_in_half_open_state > Duration::Zero());
}

BreakerPermit CircuitBreaker::TryAcquire(Instant now) {
  MURPHY_ASSERT_MSG(!notifying_, "a breaker listener called back into the breaker");
  switch (state_) {
    case BreakerState::kClosed:
      ++metrics_.permitted_calls;
      return BreakerPermit(this, generation_, now, BreakerPermit::Kind::kCall);
    case BreakerState::kOpen:
      if (now < open_until_) return Reject(now);
      EnterHalfOpen(now);
      break;
    case BreakerState::kHalfOpen:
      if (now - half_open_since_ >= options_.max_wait_duration_in_half_open_state) {
        // The probes' results never came back; treat the silence as a failed probe.
        Trip(now);
        return Reject(now);
      }
      break;
    case BreakerState::kForcedOpen:
      return Reject(now);
  }
  MURPHY_ASSERT(state_ == BreakerState::kHalfOpen);
  // Admit no more probes than are still needed to close, and only so many at once.
  if (probes_in_flight_ >= options_.max_concurrent_probes ||
      probe_successes_ + probes_in_flight_ >= options_.successes_to_close) {
    return Reject(now);
  }
  ++probes_in_flight_;
  ++metrics_.permitted_calls;
  return BreakerPermit(this, generation_, now, BreakerPermit::Kind::kProbe);
}

BreakerPermit CircuitBreaker::Reject(Instant now) {
  ++metrics_.rejected_calls;
  return BreakerPermit(this, generation_, now, BreakerPermit::Kind::kRejected);
}

void CircuitBreaker::Record(BreakerPermit&& permit, CallOutcome outcome, Instant now) {
  MURPHY_ASSERT_MSG(!notifying_, "a breaker listener called back into the breaker");
  MURPHY_ASSERT_MSG(permit.issuer_ == this, "permit from another breaker");
  MURPHY_ASSERT_MSG(permit.kind_ != BreakerPermit::Kind::kSpent, "permit recorded or released twice");
  MURPHY_ASSERT_MSG(permit.kind_ != BreakerPermit::Kind::kRejected, "recording a rejected call");
  const BreakerPermit::Kind kind = permit.kind_;
  permit.kind_ = BreakerPermit::Kind::kSpent;

  const bool failure = outcome == CallOutcome::kFailure;
  const bool slow = now - permit.acquired_at_ >= options_.slow_call_duration_threshold;
  ++(failure ? metrics_.failed_calls : metrics_.successful_calls);
  if (slow) ++metrics_.slow_calls;
  if (permit.generation_ != generation_) {
    ++metrics_.stale_results;
    return;
  }

  if (kind == BreakerPermit::Kind::kCall) {
    MURPHY_ASSERT(state_ == BreakerState::kClosed);
    window_.Add(failure, slow, now);
    const Totals totals = window_.Sum(now);
    if (totals.calls < options_.minimum_number_of_calls) return;
    const auto calls = static_cast<double>(totals.calls);
    if (static_cast<double>(totals.failures) >= options_.failure_rate_threshold * calls ||
        static_cast<double>(totals.slow) >= options_.slow_call_rate_threshold * calls) {
      Trip(now);
    }
    return;
  }

  MURPHY_ASSERT(kind == BreakerPermit::Kind::kProbe);
  MURPHY_ASSERT(state_ == BreakerState::kHalfOpen);
  MURPHY_ASSERT(probes_in_flight_ > 0);
  --probes_in_flight_;
  // A slow probe is a failed probe: the dependency answers, but not well enough to
  // take full traffic again.
  if (failure || slow) {
    Trip(now);
    return;
  }
  if (++probe_successes_ >= options_.successes_to_close) EnterClosed(now);
}

void CircuitBreaker::Release(BreakerPermit&& permit) {
  MURPHY_ASSERT_MSG(!notifying_, "a breaker listener called back into the breaker");
  MURPHY_ASSERT_MSG(permit.issuer_ == this, "permit from another breaker");
  MURPHY_ASSERT_MSG(permit.kind_ != BreakerPermit::Kind::kSpent, "permit recorded or released twice");
  MURPHY_ASSERT_MSG(permit.kind_ != BreakerPermit::Kind::kRejected, "releasing a rejected call");
  const BreakerPermit::Kind kind = permit.kind_;
  permit.kind_ = BreakerPermit::Kind::kSpent;
  ++metrics_.released_calls;
  if (kind == BreakerPermit::Kind::kProbe && permit.generation_ == generation_) {
    MURPHY_ASSERT(probes_in_flight_ > 0);
    --probes_in_flight_;
  }
}

void CircuitBreaker::Isolate(Instant now) {
  MURPHY_ASSERT_MSG(!notifying_, "a breaker listener called back into the breaker");
  if (state_ == BreakerState::kForcedOpen) return;
  TransitionTo(BreakerState::kForcedOpen, now);
}

void CircuitBreaker::Reset(Instant now) {
  MURPHY_ASSERT_MSG(!notifying_, "a breaker listener called back into the breaker");
  consecutive_trips_ = 0;
  if (state_ == BreakerState::kClosed) {
    // No transition, but a fresh start: in-flight calls become stale.
    ++generation_;
    window_.Clear();
    closed_since_ = now;
    return;
  }
  EnterClosed(now);
}

void CircuitBreaker::AddListener(Listener listener) {
  MURPHY_ASSERT(static_cast<int>(listeners_.size()) < kMaxListeners);
  MURPHY_ASSERT(listener != nullptr);
  listeners_.push_back(std::move(listener));
}

double CircuitBreaker::FailureRate(Instant now) {
  const Totals totals = window_.Sum(now);
  return totals.calls == 0 ? 0.0 : static_cast<double>(totals.failures) / static_cast<double>(totals.calls);
}

double CircuitBreaker::SlowCallRate(Instant now) {
  const Totals totals = window_.Sum(now);
  return totals.calls == 0 ? 0.0 : static_cast<double>(totals.slow) / static_cast<double>(totals.calls);
}

Duration CircuitBreaker::OpenDurationForTrip(int trip) const {
  // base x multiplier^(trip - 1), capped; a loop rather than pow() so the result is
  // exact for integral multipliers, and it stops as soon as the cap is reached.
  Duration duration = options_.wait_duration_in_open_state;
  for (int i = 1; i < trip && duration < options_.max_wait_duration_in_open_state; ++i) {
    duration = duration * options_.open_duration_multiplier;
  }
  return Min(duration, options_.max_wait_duration_in_open_state);
}

void CircuitBreaker::Trip(Instant now) {
  MURPHY_ASSERT(state_ == BreakerState::kClosed || state_ == BreakerState::kHalfOpen);
  if (state_ == BreakerState::kClosed && now - closed_since_ >= options_.stable_close_duration) {
    consecutive_trips_ = 0;  // it had recovered; this is a new incident
  }
  if (consecutive_trips_ < 1'000'000) ++consecutive_trips_;
  open_until_ = now + OpenDurationForTrip(consecutive_trips_);
  TransitionTo(BreakerState::kOpen, now);
}

void CircuitBreaker::EnterHalfOpen(Instant now) {
  half_open_since_ = now;
  probes_in_flight_ = 0;
  probe_successes_ = 0;
  TransitionTo(BreakerState::kHalfOpen, now);
}

void CircuitBreaker::EnterClosed(Instant now) {
  closed_since_ = now;
  window_.Clear();
  TransitionTo(BreakerState::kClosed, now);
}

void CircuitBreaker::TransitionTo(BreakerState to, Instant now) {
  const BreakerState from = state_;
  MURPHY_ASSERT_MSG(IsAllowedBreakerTransition(from, to), "circuit breaker transition not allowed");
  state_ = to;
  ++generation_;  // results of calls admitted before now are stale
  probes_in_flight_ = to == BreakerState::kHalfOpen ? probes_in_flight_ : 0;
  if (to != BreakerState::kClosed) window_.Clear();
  ++metrics_.transitions;
  ++metrics_.transitions_to[static_cast<size_t>(to)];
  notifying_ = true;
  const BreakerTransition transition{from, to, now};
  for (const Listener& listener : listeners_) listener(transition);
  notifying_ = false;
}

}  // namespace murphy
