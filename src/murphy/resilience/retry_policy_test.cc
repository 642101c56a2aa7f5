#include "murphy/resilience/retry_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "murphy/resilience/idempotency_store.h"

namespace murphy {
namespace {

Instant At(Duration since_origin) { return Instant() + since_origin; }

RetryOptions Options(int max_retries, Jitter jitter = Jitter::kNone) {
  RetryOptions options;
  options.backoff.base = Milliseconds(100);
  options.backoff.multiplier = 2.0;
  options.backoff.cap = Seconds(10);
  options.backoff.jitter = jitter;
  options.backoff.max_retries = max_retries;
  return options;
}

RetryRequest Idempotent(Deadline deadline = Deadline::Infinite()) {
  return RetryRequest{Idempotence::kIdempotent, std::nullopt, deadline};
}

// Drives a RetryState against a scripted server; returns the final decision.
struct LoopRun {
  std::vector<Attempt> attempts;
  std::vector<Duration> delays;
  Status status;
  RetryEnd end = RetryEnd::kSucceeded;
};
LoopRun Drive(RetryState& state, const std::vector<Status>& script, Rng& rng, Instant start = Instant()) {
  LoopRun run;
  Instant now = start;
  for (size_t i = 0;; ++i) {
    run.attempts.push_back(state.BeginAttempt(now));
    const Status status = i < script.size() ? script[i] : script.back();
    RetryDecision decision = state.OnResult(status, now, rng);
    if (decision.done()) {
      run.end = decision.end();
      run.status = std::move(decision).status();
      return run;
    }
    run.delays.push_back(decision.delay());
    now = now + decision.delay();
  }
}

TEST(RetryPolicyTest, SuccessEndsAtOnce) {
  RetryState state(Options(3), Idempotent());
  Rng rng(1);
  const LoopRun run = Drive(state, {Status::Ok()}, rng);
  EXPECT_TRUE(run.status.ok());
  EXPECT_EQ(run.end, RetryEnd::kSucceeded);
  EXPECT_EQ(state.attempts(), 1);
  EXPECT_TRUE(state.done());
}

TEST(RetryPolicyTest, RetriesRetryableCodesWithBackoff) {
  RetryState state(Options(3), Idempotent());
  Rng rng(1);
  const LoopRun run = Drive(state, {UnavailableError("a"), ResourceExhaustedError("b"), Status::Ok()}, rng);
  EXPECT_TRUE(run.status.ok());
  EXPECT_EQ(state.attempts(), 3);
  EXPECT_EQ(run.delays, (std::vector<Duration>{Milliseconds(100), Milliseconds(200)}));
  EXPECT_EQ(run.attempts[2].number, 3);
}

TEST(RetryPolicyTest, DefinitiveErrorsAreNotRetried) {
  for (const Status& status : {NotFoundError("x"), InvalidArgumentError("x"), FailedPreconditionError("x"),
                               AbortedError("x"), InternalError("x"), PermissionDeniedError("x")}) {
    RetryState state(Options(3), Idempotent());
    Rng rng(1);
    const LoopRun run = Drive(state, {status}, rng);
    EXPECT_EQ(run.status, status);
    EXPECT_EQ(run.end, RetryEnd::kNotRetryable);
    EXPECT_EQ(state.attempts(), 1);
  }
}

TEST(RetryPolicyTest, NonIdempotentWithoutKeyIsNeverRetried) {
  for (const Status& status : {UnavailableError("x"), DeadlineExceededError("x")}) {
    RetryState state(Options(3), RetryRequest{Idempotence::kNonIdempotent, std::nullopt, Deadline()});
    Rng rng(1);
    EXPECT_FALSE(state.retries_permitted());
    const LoopRun run = Drive(state, {status, Status::Ok()}, rng);
    EXPECT_EQ(run.status, status);  // the real status, not a replacement
    EXPECT_EQ(run.end, RetryEnd::kNotIdempotent);
    EXPECT_EQ(state.attempts(), 1);
  }
}

TEST(RetryPolicyTest, TimeoutRetriedWhenIdempotentOrKeyed) {
  const IdempotencyKey key = IdempotencyKey::FromClientSequence(7, 1);
  for (const RetryRequest& request :
       {Idempotent(), RetryRequest{Idempotence::kNonIdempotent, key, Deadline::Infinite()}}) {
    RetryState state(Options(3), request);
    Rng rng(1);
    const LoopRun run = Drive(state, {DeadlineExceededError("timeout"), Status::Ok()}, rng);
    EXPECT_TRUE(run.status.ok());
    EXPECT_EQ(state.attempts(), 2);
    EXPECT_TRUE(state.any_outcome_unknown());
  }
}

TEST(RetryPolicyTest, EveryAttemptCarriesTheSameKey) {
  Rng key_rng(99);
  const IdempotencyKey key = IdempotencyKey::Random(key_rng);
  RetryState state(Options(5, Jitter::kFull), RetryRequest{Idempotence::kNonIdempotent, key, Deadline()});
  Rng rng(1);
  const LoopRun run = Drive(state,
                        {DeadlineExceededError("t"), UnavailableError("u"), DeadlineExceededError("t"),
                         ResourceExhaustedError("r"), Status::Ok()},
                        rng);
  ASSERT_TRUE(run.status.ok());
  ASSERT_EQ(run.attempts.size(), 5u);
  for (const Attempt& attempt : run.attempts) {
    ASSERT_TRUE(attempt.key.has_value());
    EXPECT_EQ(*attempt.key, key);
  }
}

TEST(RetryPolicyTest, ExhaustedRetriesReturnTheLastStatus) {
  RetryState state(Options(3), Idempotent());
  Rng rng(1);
  const LoopRun run = Drive(state, {UnavailableError("down")}, rng);
  EXPECT_EQ(run.status, UnavailableError("down"));
  EXPECT_EQ(run.end, RetryEnd::kRetriesExhausted);
  EXPECT_EQ(state.attempts(), 4);  // 1 + max_retries
}

TEST(RetryPolicyTest, GivingUpAfterAnUnknownOutcomeSaysOutcomeUnknown) {
  RetryState state(Options(2), Idempotent());
  Rng rng(1);
  const LoopRun run = Drive(state, {DeadlineExceededError("t"), UnavailableError("u")}, rng);
  EXPECT_EQ(run.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(run.status.message().find("outcome unknown"), std::string_view::npos);
  EXPECT_NE(run.status.message().find("UNAVAILABLE: u"), std::string_view::npos);
  EXPECT_EQ(run.end, RetryEnd::kRetriesExhausted);
}

TEST(RetryPolicyTest, NeverWaitsPastTheDeadline) {
  // Delays 100, 200, 400, 800 ms; deadline at 1 s: attempts at 0, 100, 300, 700 ms;
  // the next wait (800 ms) would end at 1.5 s > 1 s.
  RetryState state(Options(10), Idempotent(Deadline::At(At(Seconds(1)))));
  Rng rng(1);
  const LoopRun run = Drive(state, {UnavailableError("u")}, rng);
  EXPECT_EQ(state.attempts(), 4);
  EXPECT_EQ(run.end, RetryEnd::kDeadline);
  EXPECT_EQ(run.status, UnavailableError("u"));
}

TEST(RetryPolicyTest, ExpiredDeadlineEndsTheLoop) {
  RetryState state(Options(10), Idempotent(Deadline::At(At(Seconds(1)))));
  Rng rng(1);
  (void)state.BeginAttempt(At(Milliseconds(500)));
  const RetryDecision decision = state.OnResult(DeadlineExceededError("t"), At(Seconds(1)), rng);
  ASSERT_TRUE(decision.done());
  EXPECT_EQ(decision.end(), RetryEnd::kDeadline);
  EXPECT_EQ(decision.status().code(), StatusCode::kDeadlineExceeded);
}

TEST(RetryPolicyTest, AttemptDeadlineIsWithinTheRequestDeadline) {
  RetryOptions options = Options(3);
  options.attempt_timeout = Milliseconds(300);
  RetryState state(options, Idempotent(Deadline::At(At(Seconds(1)))));
  EXPECT_EQ(state.BeginAttempt(At(Milliseconds(100))).deadline.when(), At(Milliseconds(400)));
  Rng rng(1);
  ASSERT_FALSE(state.OnResult(UnavailableError("u"), At(Milliseconds(800)), rng).done());
  EXPECT_EQ(state.BeginAttempt(At(Milliseconds(900))).deadline.when(), At(Seconds(1)));
}

// Property: whatever the jitter, deadline and failures, no retry is scheduled whose
// wait ends at or after the deadline, and the loop always ends within its limits.
TEST(RetryPolicyTest, PropertyNoRetryPastDeadline) {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    Rng rng(seed);
    RetryOptions options = Options(static_cast<int>(rng.UniformInRange(0, 12)),
                                   static_cast<Jitter>(rng.UniformInRange(0, 3)));
    const Deadline deadline = Deadline::At(At(Milliseconds(rng.UniformInRange(1, 5'000))));
    RetryState state(options, Idempotent(deadline));
    Instant now;
    while (true) {
      (void)state.BeginAttempt(now);
      now = now + Milliseconds(rng.UniformInRange(0, 50));  // the attempt takes time
      const Status status = rng.Bernoulli(0.5) ? UnavailableError("u") : DeadlineExceededError("t");
      const RetryDecision decision = state.OnResult(status, now, rng);
      if (decision.done()) {
        ASSERT_NE(decision.status().code(), StatusCode::kOk);
        break;
      }
      ASSERT_LT(now + decision.delay(), deadline.when()) << "seed " << seed;
      now = now + decision.delay();
    }
    ASSERT_LE(state.attempts(), options.backoff.max_retries + 1) << "seed " << seed;
  }
}

class CountingThrottle final : public RetryThrottle {
 public:
  explicit CountingThrottle(int allow) : allow_(allow) {}
  bool TryAcquireRetry(Instant, Rng&) override {
    ++asked_;
    return asked_ <= allow_;
  }
  int asked() const { return asked_; }

 private:
  int allow_;
  int asked_ = 0;
};

TEST(RetryPolicyTest, ThrottleRefusalEndsTheLoop) {
  CountingThrottle throttle(1);
  RetryState state(Options(5), Idempotent(), &throttle);
  Rng rng(1);
  const LoopRun run = Drive(state, {UnavailableError("u")}, rng);
  EXPECT_EQ(state.attempts(), 2);
  EXPECT_EQ(run.end, RetryEnd::kBudgetExhausted);
  EXPECT_EQ(throttle.asked(), 2);
}

TEST(RetryPolicyTest, ThrottleIsNotAskedWhenTheRetryIsRefusedAnyway) {
  CountingThrottle throttle(100);
  RetryState state(Options(0), Idempotent(), &throttle);
  Rng rng(1);
  (void)Drive(state, {UnavailableError("u")}, rng);
  RetryState not_retryable(Options(5), Idempotent(), &throttle);
  (void)Drive(not_retryable, {NotFoundError("n")}, rng);
  EXPECT_EQ(throttle.asked(), 0);
}

// request-fate in miniature: the reply is lost twice (the client sees a timeout)
// after the server applied the increment. With a key, the server applies it once.
TEST(RetryPolicyTest, KeyedRetriesAfterLostRepliesApplyOnce) {
  IdempotencyStore<int64_t> store(IdempotencyStoreOptions{});
  int64_t counter = 0;
  auto server = [&](const Attempt& attempt, Instant now) -> Result<int64_t> {
    const RequestFingerprint fingerprint = FingerprintBuilder().Add("increment").Add(1).Finish();
    MURPHY_ASSIGN_OR_RETURN(auto admission, store.Begin(*attempt.key, fingerprint, now));
    if (!admission.execute) return *admission.stored;
    counter += 1;
    store.Complete(*attempt.key, counter, now);
    return counter;
  };
  Rng rng(3);
  RetryState state(Options(5, Jitter::kFull),
                   RetryRequest{Idempotence::kNonIdempotent, IdempotencyKey::Random(rng), Deadline()});
  Instant now;
  int lost_replies = 2;
  while (true) {
    const Attempt attempt = state.BeginAttempt(now);
    const Result<int64_t> reply = server(attempt, now);
    ASSERT_TRUE(reply.ok());
    const Status seen = lost_replies-- > 0 ? DeadlineExceededError("no reply") : Status::Ok();
    const RetryDecision decision = state.OnResult(seen, now, rng);
    if (decision.done()) {
      ASSERT_TRUE(decision.status().ok());
      EXPECT_EQ(*reply, 1);
      break;
    }
    now = now + decision.delay();
  }
  EXPECT_EQ(state.attempts(), 3);
  EXPECT_EQ(counter, 1);
  EXPECT_EQ(store.metrics().replays, 2);
}

TEST(RetryPolicyDeathTest, MisuseOfTheLoopAsserts) {
  Rng rng(1);
  EXPECT_DEATH(
      {
        RetryState state(Options(3), Idempotent());
        (void)state.BeginAttempt(Instant());
        (void)state.BeginAttempt(Instant());
      },
      "in flight");
  EXPECT_DEATH(
      {
        RetryState state(Options(3), Idempotent());
        (void)state.OnResult(Status::Ok(), Instant(), rng);
      },
      "without an attempt");
  EXPECT_DEATH(
      {
        RetryState state(Options(3), Idempotent());
        (void)state.BeginAttempt(Instant());
        (void)state.OnResult(Status::Ok(), Instant(), rng);
        (void)state.BeginAttempt(Instant());
      },
      "ended");
}

TEST(RetryPolicyTest, EndNames) {
  EXPECT_EQ(RetryEndName(RetryEnd::kBudgetExhausted), "retry budget exhausted");
  EXPECT_EQ(RetryEndName(RetryEnd::kDeadline), "deadline");
}

}  // namespace
}  // namespace murphy
