// murphy/resilience/circuit_breaker.h — a circuit breaker with bounded half-open probing.
//
// Contract: a `CircuitBreaker` guards calls to one dependency. While the dependency
// is healthy it is CLOSED and admits every call. When, over a sliding window of
// recent calls, the failure rate or the slow-call rate reaches its threshold, it
// trips to OPEN and rejects calls at once ("fail fast"), so that callers stop
// queueing on a dependency that cannot answer and stop piling retries onto it —
// the cascade of the chapter's "Circuit Breaker" section (scenario `cascade`).
// After an open duration it lets a few probe calls through (HALF_OPEN): enough
// consecutive successful probes close it; any failed or slow probe re-opens it.
// FORCED_OPEN is a manual isolation that only Reset() ends.
//
// Design follows resilience4j's CircuitBreaker; the options map to its settings:
//   sliding_window_type               slidingWindowType (COUNT_BASED / TIME_BASED)
//   sliding_window_size               slidingWindowSize (calls, or buckets of
//                                     time_bucket_width — resilience4j: seconds)
//   minimum_number_of_calls           minimumNumberOfCalls
//   failure_rate_threshold            failureRateThreshold (a fraction, not percent)
//   slow_call_rate_threshold          slowCallRateThreshold (a fraction)
//   slow_call_duration_threshold      slowCallDurationThreshold
//   wait_duration_in_open_state       waitDurationInOpenState
//   open_duration_multiplier,         waitIntervalFunctionInOpenState =
//     max_wait_duration_in_open_state   IntervalFunction.ofExponentialBackoff(...)
//   successes_to_close                permittedNumberOfCallsInHalfOpenState
//   max_wait_duration_in_half_open_state  maxWaitDurationInHalfOpenState
// Tighter than resilience4j, on purpose:
// - Half-open admits at most `max_concurrent_probes` calls *at once* and never
//   more than are still needed to close (resilience4j admits all permitted calls
//   together, which is a small thundering herd onto a dependency that just
//   recovered); closing needs `successes_to_close` consecutive successes, and a
//   single failed or slow probe re-opens (resilience4j computes a rate over them).
// - The open duration grows on repeated trips (base x multiplier^(trips-1), capped)
//   and the growth resets once the breaker has stayed closed for
//   `stable_close_duration` (no resilience4j equivalent; its interval function
//   counts attempts without a reset rule).
// - The open-to-half-open move happens lazily in TryAcquire (resilience4j's
//   automaticTransitionFromOpenToHalfOpenEnabled = false): this class owns no timer.
// - Half-open is bounded in time by default (resilience4j: unbounded), so a probe
//   whose result is lost cannot wedge the breaker.
//
// Permits: TryAcquire returns a move-only `BreakerPermit`; Record/Release consume it
// (pass it with std::move), and a consumed permit asserts if used again, so one
// probe cannot be recorded twice. A permit carries the breaker's generation (bumped
// on every state change): the result of a call admitted before a transition is
// counted in the metrics but does not influence the new state's decisions.
//
// Rejections are not Status values, so that failing fast allocates nothing; use
// RejectedError() when a Status is needed. TryAcquire and Record never allocate.
// Listeners run synchronously inside the transition and must not call back into the
// breaker (asserted).
// Thread safety: not thread-safe; one breaker per event loop. Ownership: owns its
// window and listeners.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/resilience/sliding_window.h"

namespace murphy {

enum class BreakerState : uint8_t { kClosed, kOpen, kHalfOpen, kForcedOpen };
inline constexpr int kBreakerStateCount = 4;
std::string_view BreakerStateName(BreakerState state);
// The edges a breaker may take (asserted on every transition).
bool IsAllowedBreakerTransition(BreakerState from, BreakerState to);

enum class CallOutcome : uint8_t { kSuccess, kFailure };
// How a call's Status counts for the dependency's health: unavailability, overload,
// timeouts and internal errors/corruption are failures; every other answer,
// including client errors (INVALID_ARGUMENT, NOT_FOUND, ...), shows that the
// dependency works and counts as a success (resilience4j's recordExceptions).
CallOutcome CallOutcomeOf(StatusCode code);

enum class SlidingWindowType : uint8_t { kCountBased, kTimeBased };

struct CircuitBreakerOptions {
  SlidingWindowType sliding_window_type = SlidingWindowType::kCountBased;
  // Calls (count-based) or buckets (time-based). REQUIRES: 1 <= size <= 100'000.
  int sliding_window_size = 100;
  // Time-based only: the width of one bucket. REQUIRES: > 0.
  Duration time_bucket_width = Seconds(1);
  // No verdict before this many calls are in the window. REQUIRES: >= 1, and
  // <= sliding_window_size when count-based (else it could never be reached).
  int minimum_number_of_calls = 100;
  // Trip when failures / calls >= this. REQUIRES: 0 < threshold <= 1.
  double failure_rate_threshold = 0.5;
  // Trip when slow calls / calls >= this. REQUIRES: 0 < threshold <= 1.
  double slow_call_rate_threshold = 1.0;
  // A call at least this long is slow. REQUIRES: > 0.
  Duration slow_call_duration_threshold = Seconds(60);
  // Open duration after the first trip. REQUIRES: > 0.
  Duration wait_duration_in_open_state = Seconds(60);
  // Growth of the open duration per consecutive trip. REQUIRES: >= 1.
  double open_duration_multiplier = 2.0;
  // Cap on the open duration. REQUIRES: >= wait_duration_in_open_state, finite.
  Duration max_wait_duration_in_open_state = Minutes(10);
  // Closed this long without tripping → the next trip waits the base duration again.
  Duration stable_close_duration = Minutes(5);
  // Half-open: consecutive successful probes needed to close. REQUIRES: >= 1.
  int successes_to_close = 3;
  // Half-open: probes in flight at once. REQUIRES: 1 <= N <= successes_to_close.
  int max_concurrent_probes = 1;
  // Half-open longer than this (probes lost or never sent) → open again.
  // REQUIRES: > 0 (Duration::Infinite() allowed).
  Duration max_wait_duration_in_half_open_state = Seconds(60);
};

struct BreakerTransition {
  BreakerState from;
  BreakerState to;
  Instant at;
};

struct CircuitBreakerMetrics {
  int64_t permitted_calls = 0;  // admitted by TryAcquire (calls and probes)
  int64_t rejected_calls = 0;
  int64_t successful_calls = 0;
  int64_t failed_calls = 0;
  int64_t slow_calls = 0;
  int64_t released_calls = 0;  // admitted but released unrecorded
  int64_t stale_results = 0;   // recorded after the state changed; not counted
  int64_t transitions = 0;
  std::array<int64_t, kBreakerStateCount> transitions_to{};  // indexed by target state
};

class CircuitBreaker;

// The right to make one call (or one half-open probe), or a rejection.
class [[nodiscard]] BreakerPermit {
 public:
  BreakerPermit(const BreakerPermit&) = delete;
  BreakerPermit& operator=(const BreakerPermit&) = delete;
  BreakerPermit(BreakerPermit&& other) noexcept { *this = std::move(other); }
  BreakerPermit& operator=(BreakerPermit&& other) noexcept {
    issuer_ = other.issuer_;
    generation_ = other.generation_;
    acquired_at_ = other.acquired_at_;
    kind_ = other.kind_;
    other.kind_ = Kind::kSpent;
    return *this;
  }
  ~BreakerPermit() = default;

  // True if the call may go ahead (and must then be Record()ed or Release()d).
  bool admitted() const { return kind_ == Kind::kCall || kind_ == Kind::kProbe; }
  explicit operator bool() const { return admitted(); }
  bool is_probe() const { return kind_ == Kind::kProbe; }
  Instant acquired_at() const { return acquired_at_; }

 private:
  friend class CircuitBreaker;
  enum class Kind : uint8_t { kRejected, kCall, kProbe, kSpent };
  BreakerPermit(const CircuitBreaker* issuer, uint64_t generation, Instant acquired_at, Kind kind)
      : issuer_(issuer), generation_(generation), acquired_at_(acquired_at), kind_(kind) {}

  const CircuitBreaker* issuer_ = nullptr;
  uint64_t generation_ = 0;
  Instant acquired_at_;
  Kind kind_ = Kind::kSpent;
};

class CircuitBreaker {
 public:
  using Listener = std::function<void(const BreakerTransition&)>;
  static constexpr int kMaxListeners = 16;

  // Starts CLOSED at `now`. REQUIRES: options satisfy their REQUIRES (asserted).
  CircuitBreaker(const CircuitBreakerOptions& options, Instant now);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks to make a call at `now`. Admitted in CLOSED; in OPEN once the open duration
  // has passed (moving to HALF_OPEN) within the probe limits; otherwise rejected.
  BreakerPermit TryAcquire(Instant now);

  // The admitted call finished at `now` with `outcome`; its duration is
  // now - permit.acquired_at(). REQUIRES: permit admitted by this breaker and not yet
  // recorded or released (asserted).
  void Record(BreakerPermit&& permit, CallOutcome outcome, Instant now);
  // The admitted call was not made or was cancelled: give the permit back without
  // an outcome. REQUIRES: as for Record.
  void Release(BreakerPermit&& permit);

  // Manual isolation: FORCED_OPEN until Reset(). No-op if already forced open.
  void Isolate(Instant now);
  // Back to CLOSED with an empty window and no trip history.
  void Reset(Instant now);

  // REQUIRES: fewer than kMaxListeners listeners.
  void AddListener(Listener listener);

  BreakerState state() const { return state_; }
  const CircuitBreakerMetrics& metrics() const { return metrics_; }
  // Trips since the last stable close (the exponent of the open duration).
  int consecutive_trips() const { return consecutive_trips_; }
  // When OPEN ends (meaningful in OPEN only).
  Instant open_until() const { return open_until_; }
  int probes_in_flight() const { return probes_in_flight_; }
  // Rates over the current window (0 when empty).
  double FailureRate(Instant now);
  double SlowCallRate(Instant now);

  // UNAVAILABLE "circuit breaker open": what a rejected call should report.
  static Status RejectedError();

 private:
  struct Totals {
    int64_t calls;
    int64_t failures;
    int64_t slow;
  };
  // The sliding window of CLOSED-state outcomes, count- or time-based.
  class Window {
   public:
    explicit Window(const CircuitBreakerOptions& options);
    void Add(bool failure, bool slow, Instant now);
    Totals Sum(Instant now);
    void Clear();

   private:
    static constexpr uint8_t kFailureBit = 1;
    static constexpr uint8_t kSlowBit = 2;
    SlidingWindowType type_;
    // Count-based: a ring of the last outcomes, with running totals.
    std::vector<uint8_t> ring_;
    size_t next_ = 0;
    Totals totals_{0, 0, 0};
    // Time-based.
    BucketedCounter<3> buckets_;
  };

  void TransitionTo(BreakerState to, Instant now);
  void Trip(Instant now);
  void EnterHalfOpen(Instant now);
  void EnterClosed(Instant now);
  BreakerPermit Reject(Instant now);
  Duration OpenDurationForTrip(int trip) const;

  CircuitBreakerOptions options_;
  BreakerState state_ = BreakerState::kClosed;
  uint64_t generation_ = 1;
  Window window_;
  Instant closed_since_;
  Instant open_until_;
  Instant half_open_since_;
  int consecutive_trips_ = 0;
  int probes_in_flight_ = 0;
  int probe_successes_ = 0;
  bool notifying_ = false;
  CircuitBreakerMetrics metrics_;
  std::vector<Listener> listeners_;
};

}  // namespace murphy
