#include "murphy/resilience/retry_budget.h"

#include <gtest/gtest.h>

#include "murphy/resilience/retry_policy.h"

namespace murphy {
namespace {

Instant At(Duration since_origin) { return Instant() + since_origin; }

TEST(RetryTokenBucketTest, RetriesStopAtHalfTheTokens) {
  RetryTokenBucket bucket(RetryTokenBucketOptions{10, 0.1});
  Rng rng(1);
  EXPECT_DOUBLE_EQ(bucket.tokens(), 10);
  for (int i = 0; i < 4; ++i) bucket.RecordFailure();
  EXPECT_DOUBLE_EQ(bucket.tokens(), 6);
  EXPECT_TRUE(bucket.TryAcquireRetry(Instant(), rng));
  bucket.RecordFailure();
  EXPECT_DOUBLE_EQ(bucket.tokens(), 5);
  EXPECT_FALSE(bucket.TryAcquireRetry(Instant(), rng));  // 5 is not > 10 / 2
  // Ten successes add exactly one token (fixed point, as gRPC).
  for (int i = 0; i < 10; ++i) bucket.RecordSuccess();
  EXPECT_DOUBLE_EQ(bucket.tokens(), 6);
  EXPECT_TRUE(bucket.retries_allowed());
  // Bounded on both sides.
  for (int i = 0; i < 1000; ++i) bucket.RecordSuccess();
  EXPECT_DOUBLE_EQ(bucket.tokens(), 10);
  for (int i = 0; i < 1000; ++i) bucket.RecordFailure();
  EXPECT_DOUBLE_EQ(bucket.tokens(), 0);
}

TEST(RetryTokenBucketTest, RecordMapsCodes) {
  RetryTokenBucket bucket(RetryTokenBucketOptions{10, 0.5});
  bucket.Record(StatusCode::kUnavailable);
  bucket.Record(StatusCode::kDeadlineExceeded);
  bucket.Record(StatusCode::kResourceExhausted);
  EXPECT_DOUBLE_EQ(bucket.tokens(), 7);
  bucket.Record(StatusCode::kNotFound);  // a definitive answer: no change
  EXPECT_DOUBLE_EQ(bucket.tokens(), 7);
  bucket.Record(StatusCode::kOk);
  EXPECT_DOUBLE_EQ(bucket.tokens(), 7.5);
}

TEST(RetryRatioBudgetTest, RetriesAreAFractionOfRequestsPlusReserve) {
  RetryRatioBudget budget(RetryRatioBudgetOptions{0.1, 2, Seconds(1), 10});
  Rng rng(1);
  for (int i = 0; i < 50; ++i) budget.RecordRequest(At(Milliseconds(i)));
  // 0.1 x 50 + 2 = 7 retries; they count when scheduled, before any of them runs.
  int granted = 0;
  while (budget.TryAcquireRetry(At(Milliseconds(100)), rng)) ++granted;
  EXPECT_EQ(granted, 7);
  EXPECT_EQ(budget.retries(At(Milliseconds(100))), 7);
  // The window forgets: 10 s later the requests and retries are gone; the reserve
  // alone remains.
  EXPECT_EQ(budget.requests(At(Seconds(11))), 0);
  granted = 0;
  while (budget.TryAcquireRetry(At(Seconds(11)), rng)) ++granted;
  EXPECT_EQ(granted, 2);
}

TEST(AdaptiveThrottleTest, RejectProbabilityFollowsTheFormula) {
  AdaptiveThrottle throttle(AdaptiveThrottleOptions{2.0, Seconds(1), 120});
  Rng rng(1);
  EXPECT_DOUBLE_EQ(throttle.RejectProbability(Instant()), 0.0);
  for (int i = 0; i < 100; ++i) (void)throttle.AllowRequest(Instant(), rng);
  for (int i = 0; i < 25; ++i) throttle.RecordAccepted(Instant());
  EXPECT_EQ(throttle.requests(Instant()), 100);
  EXPECT_DOUBLE_EQ(throttle.RejectProbability(Instant()), (100.0 - 2.0 * 25) / 101.0);
  for (int i = 0; i < 25; ++i) throttle.RecordAccepted(Instant());
  EXPECT_DOUBLE_EQ(throttle.RejectProbability(Instant()), 0.0);  // max(0, ...)
  // After two minutes everything is forgotten.
  EXPECT_DOUBLE_EQ(throttle.RejectProbability(At(Minutes(3))), 0.0);
}

TEST(AdaptiveThrottleTest, HealthyBackendIsNeverThrottled) {
  AdaptiveThrottle throttle(AdaptiveThrottleOptions{});
  Rng rng(5);
  for (int i = 0; i < 10'000; ++i) {
    const Instant now = At(Milliseconds(i));
    ASSERT_TRUE(throttle.AllowRequest(now, rng));
    throttle.Record(StatusCode::kNotFound, now);  // a definitive answer is an accept
  }
}

TEST(AdaptiveThrottleTest, SendRateTracksKTimesAccepts) {
  // Clients offer 10 requests per ms; the backend can take 2 per ms and rejects the
  // rest. The book's fixed point: the client sends about K x accepts (4 per ms), so
  // the backend spends at most half its effort on rejections instead of 80 %.
  AdaptiveThrottle throttle(AdaptiveThrottleOptions{2.0, Milliseconds(100), 10});
  Rng rng(9);
  int64_t offered = 0;
  int64_t sent = 0;
  int64_t accepted = 0;
  for (int ms = 0; ms < 10'000; ++ms) {
    const Instant now = At(Milliseconds(ms));
    int capacity = 2;
    for (int i = 0; i < 10; ++i) {
      ++offered;
      if (!throttle.AllowRequest(now, rng)) continue;
      ++sent;
      if (capacity > 0) {
        --capacity;
        ++accepted;
        throttle.RecordAccepted(now);
      }
    }
  }
  EXPECT_NEAR(static_cast<double>(accepted) / static_cast<double>(offered), 0.2, 0.01);
  const double sent_per_accept = static_cast<double>(sent) / static_cast<double>(accepted);
  EXPECT_GT(sent_per_accept, 1.8);
  EXPECT_LT(sent_per_accept, 2.3);
}

// Amplification under a server that fails every call: N requests, each allowed up
// to 3 retries. Without a budget the server sees 4N attempts.
struct Load {
  int64_t requests = 0;
  int64_t attempts = 0;
};

template <typename Budget, typename BeforeFirst, typename AfterAttempt>
Load RunAgainstDeadServer(Budget* budget, BeforeFirst before_first, AfterAttempt after_attempt) {
  constexpr int kRequests = 1000;
  RetryOptions options;
  options.backoff.base = Milliseconds(1);
  options.backoff.cap = Milliseconds(2);
  options.backoff.max_retries = 3;
  options.backoff.jitter = Jitter::kFull;
  Rng rng(11);
  Load load;
  for (int i = 0; i < kRequests; ++i) {
    Instant now = At(Milliseconds(10 * i));
    ++load.requests;
    if (!before_first(now, rng)) continue;
    RetryState state(options, RetryRequest{Idempotence::kIdempotent, std::nullopt, Deadline()}, budget);
    while (true) {
      (void)state.BeginAttempt(now);
      ++load.attempts;
      after_attempt(now);
      const RetryDecision decision = state.OnResult(UnavailableError("down"), now, rng);
      if (decision.done()) break;
      now = now + decision.delay();
    }
  }
  return load;
}

TEST(RetryBudgetAmplificationTest, NoBudgetQuadruplesTheLoad) {
  const Load load = RunAgainstDeadServer<RetryThrottle>(
      nullptr, [](Instant, Rng&) { return true; }, [](Instant) {});
  EXPECT_EQ(load.attempts, 4 * load.requests);
}

TEST(RetryBudgetAmplificationTest, TokenBucketBoundsRetries) {
  RetryTokenBucket bucket(RetryTokenBucketOptions{10, 0.1});
  const Load load = RunAgainstDeadServer(
      &bucket, [](Instant, Rng&) { return true; }, [&](Instant) { bucket.RecordFailure(); });
  // Only while tokens > 5 may a retry go: at most max_tokens / 2 retries in all.
  EXPECT_LE(load.attempts, load.requests + 5);
  EXPECT_GT(load.attempts, load.requests);
}

TEST(RetryBudgetAmplificationTest, RatioBudgetKeepsLoadWithinTenPercent) {
  RetryRatioBudget budget(RetryRatioBudgetOptions{0.1, 0, Seconds(1), 10});
  const Load load = RunAgainstDeadServer(
      &budget,
      [&](Instant now, Rng&) {
        budget.RecordRequest(now);
        return true;
      },
      [](Instant) {});
  EXPECT_LE(static_cast<double>(load.attempts), 1.1 * static_cast<double>(load.requests));
  EXPECT_GT(static_cast<double>(load.attempts), 1.05 * static_cast<double>(load.requests));
}

TEST(RetryBudgetAmplificationTest, AdaptiveThrottleShedsLoadOfADeadServer) {
  AdaptiveThrottle throttle(AdaptiveThrottleOptions{2.0, Seconds(1), 120});
  const Load load = RunAgainstDeadServer(
      &throttle, [&](Instant now, Rng& rng) { return throttle.AllowRequest(now, rng); }, [](Instant) {});
  // Nothing is accepted, so P approaches requests / (requests + 1): nearly all of
  // the load, first attempts included, is shed locally.
  EXPECT_LE(static_cast<double>(load.attempts), 0.1 * static_cast<double>(load.requests));
  EXPECT_GE(load.attempts, 1);
}

}  // namespace
}  // namespace murphy
