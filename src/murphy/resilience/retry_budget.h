// murphy/resilience/retry_budget.h — limits on how much load retries may add.
//
// Contract: per-request retry limits (Backoff::max_retries) bound one request, not
// the fleet: when a server fails every call, N clients with 3 retries each send 4N
// calls — the retry storm that turns an overload into an outage (Google SRE book,
// "Handling Overload"). A retry budget bounds the *amplification* across requests.
// Three classic budgets, each usable on its own or through the `RetryThrottle`
// interface that RetryState consults just before it schedules a retry:
//
// (a) RetryTokenBucket — gRPC's retry throttling (gRFC A6, "retryThrottling"): a
//     bucket of max_tokens; every attempt that fails (retryable code or timeout)
//     takes 1 token, every success adds token_ratio; retries are allowed only while
//     tokens > max_tokens / 2. Against a server that fails everything, at most about
//     max_tokens / 2 retries happen in total before throttling starts.
// (b) RetryRatioBudget — the SRE book's per-client budget: retries may be at most
//     `ratio` (10 %) of the requests seen over a sliding window, plus a small reserve
//     so that a client with little traffic can still retry (Finagle's
//     minRetriesPerSec). A retry counts when it is *scheduled*, so retries waiting in
//     backoff already use the budget. Load is bounded by (1 + ratio) x requests +
//     reserve.
// (c) AdaptiveThrottle — the SRE book's client-side adaptive throttling: over a
//     window the client counts `requests` (everything the application tried,
//     including what it rejected locally) and `accepts` (what the backend accepted)
//     and rejects each new request locally with probability
//     P = max(0, (requests - K * accepts) / (requests + 1)). It applies to first
//     attempts and retries alike; it is the only one of the three that also sheds
//     first attempts.
//
// Time is passed in as `now`; randomness through the caller's Rng. Memory is
// allocated in constructors only. Thread safety: not thread-safe; one per client
// event loop. Ownership: values; hold no references.
#pragma once

#include <cstdint>

#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/resilience/sliding_window.h"

namespace murphy {

// The question RetryState asks before scheduling a retry.
class RetryThrottle {
 public:
  virtual ~RetryThrottle() = default;
  // True: the retry may be scheduled, and it has been counted against the budget.
  // False: the budget is spent; the caller gives up with the status it has.
  virtual bool TryAcquireRetry(Instant now, Rng& rng) = 0;
};

struct RetryTokenBucketOptions {
  // gRPC's maxTokens. REQUIRES: 0 < max_tokens <= 1000 (gRPC's range).
  double max_tokens = 10;
  // gRPC's tokenRatio, kept to 3 decimal places as gRPC does. REQUIRES: 0 < r <= 1.
  double token_ratio = 0.1;
};

class RetryTokenBucket final : public RetryThrottle {
 public:
  explicit RetryTokenBucket(const RetryTokenBucketOptions& options);

  // An attempt (first or retry) succeeded: +token_ratio, up to max_tokens.
  void RecordSuccess();
  // An attempt failed with a retryable code or timed out: -1 token, down to 0.
  void RecordFailure();
  // OK → success; retryable or outcome-unknown codes → failure; any other code is a
  // definitive answer from a working server and changes nothing.
  void Record(StatusCode code);

  bool retries_allowed() const { return milli_tokens_ > max_milli_tokens_ / 2; }
  bool TryAcquireRetry(Instant now, Rng& rng) override;

  double tokens() const { return static_cast<double>(milli_tokens_) / 1000.0; }

 private:
  // Fixed point (thousandths), as in gRPC, so that +0.1 ten times is exactly +1.
  int64_t max_milli_tokens_;
  int64_t ratio_milli_tokens_;
  int64_t milli_tokens_;
};

struct RetryRatioBudgetOptions {
  // Retries allowed per first attempt in the window. REQUIRES: 0 <= ratio <= 1000.
  double ratio = 0.1;
  // Retries always allowed per window, whatever the traffic (the reserve).
  // REQUIRES: >= 0.
  int64_t min_retries_per_window = 10;
  // The window: bucket_count buckets of bucket_width (10 s by default).
  Duration bucket_width = Seconds(1);
  int bucket_count = 10;
};

class RetryRatioBudget final : public RetryThrottle {
 public:
  explicit RetryRatioBudget(const RetryRatioBudgetOptions& options);

  // A first attempt was sent at `now`.
  void RecordRequest(Instant now);
  // Allowed iff retries + 1 <= ratio * requests + min_retries_per_window over the
  // window; an allowed retry is counted at once (it is now scheduled).
  bool TryAcquireRetry(Instant now, Rng& rng) override;

  int64_t requests(Instant now) { return window_.Sum(now, kRequests); }
  int64_t retries(Instant now) { return window_.Sum(now, kRetries); }

 private:
  static constexpr size_t kRequests = 0;
  static constexpr size_t kRetries = 1;
  double ratio_;
  int64_t min_retries_per_window_;
  BucketedCounter<2> window_;
};

struct AdaptiveThrottleOptions {
  // The SRE book's K: the client allows K times as many requests as the backend
  // accepts before it starts shedding. 2 is the book's suggestion; lower is more
  // aggressive. REQUIRES: K >= 1.
  double k = 2.0;
  // The window; the book uses the last two minutes.
  Duration bucket_width = Seconds(1);
  int bucket_count = 120;
};

class AdaptiveThrottle final : public RetryThrottle {
 public:
  explicit AdaptiveThrottle(const AdaptiveThrottleOptions& options);

  // P = max(0, (requests - K * accepts) / (requests + 1)) over the window at `now`.
  double RejectProbability(Instant now);
  // Call before sending any attempt. Counts it as a request, then rejects it locally
  // with probability RejectProbability (drawn from `rng`): false means do not send.
  bool AllowRequest(Instant now, Rng& rng);
  // The backend accepted an attempt (it answered with anything but an overload
  // rejection: OK, or a definitive error).
  void RecordAccepted(Instant now);
  // RecordAccepted when `code` is not an overload/unavailability signal.
  void Record(StatusCode code, Instant now);

  // A retry is just another request.
  bool TryAcquireRetry(Instant now, Rng& rng) override { return AllowRequest(now, rng); }

  int64_t requests(Instant now) { return window_.Sum(now, kRequests); }
  int64_t accepts(Instant now) { return window_.Sum(now, kAccepts); }

 private:
  static constexpr size_t kRequests = 0;
  static constexpr size_t kAccepts = 1;
  double k_;
  BucketedCounter<2> window_;
};

}  // namespace murphy
