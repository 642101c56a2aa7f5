#include "murphy/resilience/retry_policy.h"

#include <string>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

RetryState::RetryState(const RetryOptions& options, RetryRequest request, RetryThrottle* throttle)
    : request_(std::move(request)),
      attempt_timeout_(options.attempt_timeout),
      throttle_(throttle),
      backoff_(options.backoff),
      retries_permitted_(request_.idempotence == Idempotence::kIdempotent || request_.key.has_value()) {
  MURPHY_ASSERT(options.attempt_timeout > Duration::Zero());
}

Attempt RetryState::BeginAttempt(Instant now) {
  MURPHY_ASSERT_MSG(!done_, "BeginAttempt after the retry loop ended");
  MURPHY_ASSERT_MSG(!in_flight_, "BeginAttempt while an attempt is in flight");
  in_flight_ = true;
  ++attempts_;
  Attempt attempt;
  attempt.number = attempts_;
  attempt.key = request_.key;
  attempt.deadline = request_.deadline.Child(now, attempt_timeout_);
  return attempt;
}

RetryDecision RetryState::Finish(Status status, RetryEnd end) {
  done_ = true;
  return RetryDecision::Done(std::move(status), end);
}

RetryDecision RetryState::GiveUp(Status last, RetryEnd end) {
  if (!any_outcome_unknown_) return Finish(std::move(last), end);
  std::string message = "outcome unknown: an attempt may have been applied; gave up after ";
  message += std::to_string(attempts_);
  message += attempts_ == 1 ? " attempt (" : " attempts (";
  message += RetryEndName(end);
  message += "), last: ";
  message += last.ToString();
  return Finish(DeadlineExceededError(message), end);
}

RetryDecision RetryState::OnResult(Status status, Instant now, Rng& rng) {
  MURPHY_ASSERT_MSG(in_flight_, "OnResult without an attempt in flight");
  MURPHY_ASSERT(!done_);
  in_flight_ = false;

  if (status.ok()) return Finish(std::move(status), RetryEnd::kSucceeded);
  const bool unknown = status.outcome_unknown();
  if (unknown) any_outcome_unknown_ = true;
  if (!status.retryable() && !unknown) return Finish(std::move(status), RetryEnd::kNotRetryable);
  // Not GiveUp: without retries there was exactly one attempt, and its status
  // (DEADLINE_EXCEEDED included) already says all there is to say.
  if (!retries_permitted_) return Finish(std::move(status), RetryEnd::kNotIdempotent);
  if (request_.deadline.Expired(now)) return GiveUp(std::move(status), RetryEnd::kDeadline);

  const std::optional<Duration> delay = backoff_.NextDelay(rng);
  if (!delay.has_value()) return GiveUp(std::move(status), RetryEnd::kRetriesExhausted);
  // Never wait past the deadline: the retry would have no time left to run.
  if (!request_.deadline.is_infinite() && now + *delay >= request_.deadline.when()) {
    return GiveUp(std::move(status), RetryEnd::kDeadline);
  }
  // The budget is asked last, so that a retry refused for another reason does not
  // spend it.
  if (throttle_ != nullptr && !throttle_->TryAcquireRetry(now, rng)) {
    return GiveUp(std::move(status), RetryEnd::kBudgetExhausted);
  }
  return RetryDecision::RetryAfter(*delay);
}

std::string_view RetryEndName(RetryEnd end) {
  switch (end) {
    case RetryEnd::kSucceeded:
      return "succeeded";
    case RetryEnd::kNotRetryable:
      return "not retryable";
    case RetryEnd::kNotIdempotent:
      return "not idempotent and no idempotency key";
    case RetryEnd::kRetriesExhausted:
      return "retries exhausted";
    case RetryEnd::kDeadline:
      return "deadline";
    case RetryEnd::kBudgetExhausted:
      return "retry budget exhausted";
  }
  MURPHY_UNREACHABLE();
}

}  // namespace murphy
