// murphy/resilience/retry_policy.h — whether and when to retry one logical request.
//
// Contract: `RetryState` is the pure attempt loop of one logical request. The
// caller (a client over Env, or the simulator) drives it:
//
//   RetryState retry(options, request, &budget);
//   for (;;) {
//     Attempt attempt = retry.BeginAttempt(now);   // send attempt.key, attempt.deadline
//     Status status = ...result of the attempt...;
//     RetryDecision decision = retry.OnResult(std::move(status), now, rng);
//     if (decision.done()) return decision.status();
//     ...schedule the next attempt after decision.delay()...
//   }
//
// Nothing here sleeps or reads a clock. The rules, from the retry meaning of Status
// codes (ARCHITECTURE.md, "Errors") and gRPC's retry design (gRFC A6):
// - OK ends the loop. A code that is neither retryable (IsRetryable: UNAVAILABLE,
//   RESOURCE_EXHAUSTED) nor outcome-unknown (DEADLINE_EXCEEDED) ends it with that
//   status: the server answered, and asking again cannot change the answer.
// - A non-idempotent request without an idempotency key is never retried, whatever
//   the code: "no retry" rather than an error, so the caller sees the real status.
//   Even UNAVAILABLE is not trusted here, because transports also report a
//   connection that broke *after* the request left as unavailable — and a second
//   send could apply it twice (the chapter's six fates; scenario `request-fate`).
// - DEADLINE_EXCEEDED means the outcome is unknown; it is retried only when the
//   request is idempotent or carries an idempotency key (the server then applies it
//   at most once).
// - Every attempt carries the same key (the one in `RetryRequest`); BeginAttempt
//   hands it out, so there is no way to mint a new key per attempt.
// - The delay comes from Backoff (bounded by max_retries). A retry whose wait would
//   end at or after the request's Deadline is not scheduled; nor is one the
//   RetryThrottle (retry budget) refuses.
// - Giving up (retries, deadline or budget exhausted) returns the last attempt's
//   status — unless any attempt's outcome was unknown: then DEADLINE_EXCEEDED with
//   "outcome unknown", because the request may have been applied and the caller
//   must not read the result as "failed".
//
// Thread safety: not thread-safe; one RetryState per logical request.
// Ownership: the RetryThrottle, if any, is borrowed and must outlive the state.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/resilience/backoff.h"
#include "murphy/resilience/deadline.h"
#include "murphy/resilience/idempotency_key.h"
#include "murphy/resilience/retry_budget.h"

namespace murphy {

enum class Idempotence : uint8_t {
  // Applying it twice has the same effect as once (a read, "set x = 5").
  kIdempotent,
  // Applying it twice differs ("x += 1", "append"): needs a key to be retried.
  kNonIdempotent,
};

struct RetryOptions {
  BackoffOptions backoff;
  // Each attempt's own timeout, within the request's deadline (Deadline::Child).
  Duration attempt_timeout = Duration::Infinite();
};

// The logical request being retried.
struct RetryRequest {
  Idempotence idempotence = Idempotence::kNonIdempotent;
  std::optional<IdempotencyKey> key;
  Deadline deadline = Deadline::Infinite();
};

// What to send for one attempt.
struct Attempt {
  int number = 0;  // 1 for the first attempt
  std::optional<IdempotencyKey> key;
  Deadline deadline;  // min(request deadline, now + attempt_timeout)
};

// Why the loop ended (for metrics and tests).
enum class RetryEnd : uint8_t {
  kSucceeded,
  kNotRetryable,        // the server's answer is definitive
  kNotIdempotent,       // non-idempotent and no key: never retried
  kRetriesExhausted,    // Backoff's max_retries reached
  kDeadline,            // the next wait would end past the deadline
  kBudgetExhausted,     // the RetryThrottle refused
};

class RetryDecision {
 public:
  static RetryDecision Done(Status status, RetryEnd end) { return RetryDecision(std::move(status), end); }
  static RetryDecision RetryAfter(Duration delay) { return RetryDecision(delay); }

  bool done() const { return done_; }
  // REQUIRES: done().
  const Status& status() const& {
    MURPHY_ASSERT(done_);
    return status_;
  }
  Status status() && {
    MURPHY_ASSERT(done_);
    return std::move(status_);
  }
  // REQUIRES: done().
  RetryEnd end() const {
    MURPHY_ASSERT(done_);
    return end_;
  }
  // REQUIRES: !done().
  Duration delay() const {
    MURPHY_ASSERT(!done_);
    return delay_;
  }

 private:
  RetryDecision(Status status, RetryEnd end) : done_(true), status_(std::move(status)), end_(end) {}
  explicit RetryDecision(Duration delay) : done_(false), delay_(delay) {}

  bool done_;
  Status status_;
  RetryEnd end_ = RetryEnd::kSucceeded;
  Duration delay_;
};

class RetryState {
 public:
  // REQUIRES: throttle (if not null) outlives this object.
  RetryState(const RetryOptions& options, RetryRequest request, RetryThrottle* throttle = nullptr);

  // Starts the next attempt at `now`. REQUIRES: !done() and no attempt in flight.
  Attempt BeginAttempt(Instant now);

  // The outcome of the attempt in flight, observed at `now`; see the contract for
  // the rules. REQUIRES: an attempt is in flight (BeginAttempt was called).
  RetryDecision OnResult(Status status, Instant now, Rng& rng);

  bool done() const { return done_; }
  int attempts() const { return attempts_; }
  bool any_outcome_unknown() const { return any_outcome_unknown_; }
  // Whether a timed-out attempt may be sent again (idempotent, or keyed).
  bool retries_permitted() const { return retries_permitted_; }
  const RetryRequest& request() const { return request_; }

 private:
  RetryDecision Finish(Status status, RetryEnd end);
  RetryDecision GiveUp(Status last, RetryEnd end);

  RetryRequest request_;
  Duration attempt_timeout_;
  RetryThrottle* throttle_;
  Backoff backoff_;
  bool retries_permitted_;
  int attempts_ = 0;
  bool in_flight_ = false;
  bool done_ = false;
  bool any_outcome_unknown_ = false;
};

std::string_view RetryEndName(RetryEnd end);

}  // namespace murphy
