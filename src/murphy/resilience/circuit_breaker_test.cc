#include "murphy/resilience/circuit_breaker.h"

#include <gtest/gtest.h>

#include <set>
#include <type_traits>
#include <utility>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

using S = BreakerState;

Instant At(Duration since_origin) { return Instant() + since_origin; }

CircuitBreakerOptions SmallOptions() {
  CircuitBreakerOptions options;
  options.sliding_window_size = 10;
  options.minimum_number_of_calls = 10;
  options.failure_rate_threshold = 0.5;
  options.slow_call_rate_threshold = 1.0;
  options.slow_call_duration_threshold = Seconds(1);
  options.wait_duration_in_open_state = Seconds(10);
  options.open_duration_multiplier = 2.0;
  options.max_wait_duration_in_open_state = Seconds(35);
  options.stable_close_duration = Minutes(1);
  options.successes_to_close = 3;
  options.max_concurrent_probes = 1;
  options.max_wait_duration_in_half_open_state = Seconds(30);
  return options;
}

void Call(CircuitBreaker& breaker, CallOutcome outcome, Instant now, Duration took = Duration::Zero()) {
  BreakerPermit permit = breaker.TryAcquire(now);
  ASSERT_TRUE(permit.admitted());
  breaker.Record(std::move(permit), outcome, now + took);
}

// Records every transition, and checks it against this test's own table of edges.
struct TransitionLog {
  explicit TransitionLog(CircuitBreaker& breaker) {
    breaker.AddListener([this](const BreakerTransition& t) { transitions.push_back(t); });
  }
  std::vector<BreakerTransition> transitions;
};

void TripFromClosed(CircuitBreaker& breaker, Instant now) {
  for (int i = 0; i < 10; ++i) Call(breaker, CallOutcome::kFailure, now);
  ASSERT_EQ(breaker.state(), S::kOpen);
}

TEST(CircuitBreakerTest, PermitIsMoveOnly) {
  static_assert(!std::is_copy_constructible_v<BreakerPermit>);
  static_assert(!std::is_copy_assignable_v<BreakerPermit>);
  static_assert(std::is_nothrow_move_constructible_v<BreakerPermit>);
}

TEST(CircuitBreakerTest, TripsAtTheFailureRateOnlyAfterMinimumCalls) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TransitionLog log(breaker);
  for (int i = 0; i < 9; ++i) Call(breaker, CallOutcome::kFailure, At(Seconds(1)));
  EXPECT_EQ(breaker.state(), S::kClosed);  // 9 calls < minimum of 10
  Call(breaker, CallOutcome::kSuccess, At(Seconds(1)));
  EXPECT_EQ(breaker.state(), S::kOpen);  // 9/10 >= 0.5
  ASSERT_EQ(log.transitions.size(), 1u);
  EXPECT_EQ(log.transitions[0].from, S::kClosed);
  EXPECT_EQ(log.transitions[0].to, S::kOpen);
  EXPECT_EQ(log.transitions[0].at, At(Seconds(1)));
}

TEST(CircuitBreakerTest, BelowThresholdStaysClosedAndWindowSlides) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  // 4 failures in 10: 40 % < 50 %.
  for (int i = 0; i < 4; ++i) Call(breaker, CallOutcome::kFailure, Instant());
  for (int i = 0; i < 6; ++i) Call(breaker, CallOutcome::kSuccess, Instant());
  EXPECT_EQ(breaker.state(), S::kClosed);
  EXPECT_DOUBLE_EQ(breaker.FailureRate(Instant()), 0.4);
  // Ten more successes push the failures out of the count-based window.
  for (int i = 0; i < 10; ++i) Call(breaker, CallOutcome::kSuccess, Instant());
  EXPECT_DOUBLE_EQ(breaker.FailureRate(Instant()), 0.0);
  // Now 4 failures again leave it closed: the old ones are gone.
  for (int i = 0; i < 4; ++i) Call(breaker, CallOutcome::kFailure, Instant());
  EXPECT_EQ(breaker.state(), S::kClosed);
  Call(breaker, CallOutcome::kFailure, Instant());
  EXPECT_EQ(breaker.state(), S::kOpen);  // 5 of the last 10
}

TEST(CircuitBreakerTest, SlowCallsTrip) {
  CircuitBreakerOptions options = SmallOptions();
  options.slow_call_rate_threshold = 0.8;
  CircuitBreaker breaker(options, Instant());
  for (int i = 0; i < 2; ++i) Call(breaker, CallOutcome::kSuccess, Instant());
  for (int i = 0; i < 7; ++i) Call(breaker, CallOutcome::kSuccess, Instant(), Seconds(2));
  Call(breaker, CallOutcome::kSuccess, Instant(), Milliseconds(999));  // just under
  EXPECT_EQ(breaker.state(), S::kClosed);
  EXPECT_DOUBLE_EQ(breaker.SlowCallRate(Instant()), 0.7);
  // Exactly the threshold is slow; the oldest (fast) call leaves the window: 8 of 10.
  Call(breaker, CallOutcome::kSuccess, Instant(), Seconds(1));
  EXPECT_EQ(breaker.state(), S::kOpen);
  EXPECT_EQ(breaker.metrics().slow_calls, 8);
}

TEST(CircuitBreakerTest, OpenRejectsThenHalfOpenAdmitsBoundedProbes) {
  CircuitBreakerOptions options = SmallOptions();
  options.max_concurrent_probes = 2;
  CircuitBreaker breaker(options, Instant());
  TripFromClosed(breaker, At(Seconds(1)));
  EXPECT_EQ(breaker.open_until(), At(Seconds(11)));
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(10))).admitted());
  EXPECT_EQ(breaker.metrics().rejected_calls, 1);
  BreakerPermit first = breaker.TryAcquire(At(Seconds(11)));
  EXPECT_EQ(breaker.state(), S::kHalfOpen);
  ASSERT_TRUE(first.is_probe());
  BreakerPermit second = breaker.TryAcquire(At(Seconds(11)));
  ASSERT_TRUE(second.is_probe());
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(11))).admitted());  // 2 in flight
  breaker.Record(std::move(first), CallOutcome::kSuccess, At(Seconds(11)));
  // 1 success + 1 in flight; 3 needed: one more probe may go.
  BreakerPermit third = breaker.TryAcquire(At(Seconds(11)));
  ASSERT_TRUE(third.is_probe());
  // 1 success + 2 in flight = 3: no more probes than needed to close.
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(11))).admitted());
  breaker.Record(std::move(second), CallOutcome::kSuccess, At(Seconds(11)));
  EXPECT_EQ(breaker.state(), S::kHalfOpen);
  breaker.Record(std::move(third), CallOutcome::kSuccess, At(Seconds(11)));
  EXPECT_EQ(breaker.state(), S::kClosed);
  EXPECT_TRUE(breaker.TryAcquire(At(Seconds(11))).admitted());
}

TEST(CircuitBreakerTest, FailedOrSlowProbeReopensWithLongerWait) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TripFromClosed(breaker, Instant());
  EXPECT_EQ(breaker.consecutive_trips(), 1);
  // Probe fails: open again for 20 s.
  Call(breaker, CallOutcome::kFailure, At(Seconds(10)));
  EXPECT_EQ(breaker.state(), S::kOpen);
  EXPECT_EQ(breaker.open_until(), At(Seconds(30)));
  // A slow but successful probe also re-opens: 40 s capped at 35 s.
  Call(breaker, CallOutcome::kSuccess, At(Seconds(31)), Seconds(1));
  EXPECT_EQ(breaker.state(), S::kOpen);
  EXPECT_EQ(breaker.consecutive_trips(), 3);
  EXPECT_EQ(breaker.open_until(), At(Seconds(32)) + Seconds(35));
}

TEST(CircuitBreakerTest, OpenDurationResetsAfterAStableClose) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TripFromClosed(breaker, Instant());
  Call(breaker, CallOutcome::kFailure, At(Seconds(10)));  // trip 2
  for (int i = 0; i < 3; ++i) Call(breaker, CallOutcome::kSuccess, At(Seconds(31)));
  ASSERT_EQ(breaker.state(), S::kClosed);
  // Trips again soon after closing: the wait keeps growing (40 s, capped at 35 s).
  TripFromClosed(breaker, At(Seconds(40)));
  EXPECT_EQ(breaker.consecutive_trips(), 3);
  for (int i = 0; i < 3; ++i) Call(breaker, CallOutcome::kSuccess, At(Seconds(80)));
  ASSERT_EQ(breaker.state(), S::kClosed);
  // Closed for over a minute: a new incident starts from the base wait.
  TripFromClosed(breaker, At(Seconds(200)));
  EXPECT_EQ(breaker.consecutive_trips(), 1);
  EXPECT_EQ(breaker.open_until(), At(Seconds(210)));
}

TEST(CircuitBreakerTest, StaleResultsDoNotCount) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  BreakerPermit early = breaker.TryAcquire(Instant());
  ASSERT_TRUE(early.admitted());
  TripFromClosed(breaker, Instant());
  // Half-open, then the early (closed-state) call reports a failure: ignored.
  BreakerPermit probe = breaker.TryAcquire(At(Seconds(10)));
  ASSERT_TRUE(probe.is_probe());
  breaker.Record(std::move(early), CallOutcome::kFailure, At(Seconds(10)));
  EXPECT_EQ(breaker.state(), S::kHalfOpen);
  EXPECT_EQ(breaker.metrics().stale_results, 1);
  EXPECT_EQ(breaker.probes_in_flight(), 1);
  breaker.Record(std::move(probe), CallOutcome::kSuccess, At(Seconds(10)));
  EXPECT_EQ(breaker.probes_in_flight(), 0);
}

TEST(CircuitBreakerTest, ReleaseFreesAProbeSlot) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TripFromClosed(breaker, Instant());
  BreakerPermit probe = breaker.TryAcquire(At(Seconds(10)));
  ASSERT_TRUE(probe.is_probe());
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(10))).admitted());
  breaker.Release(std::move(probe));
  EXPECT_TRUE(breaker.TryAcquire(At(Seconds(10))).is_probe());
  EXPECT_EQ(breaker.metrics().released_calls, 1);
}

TEST(CircuitBreakerTest, LostProbeDoesNotWedgeHalfOpen) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TripFromClosed(breaker, Instant());
  BreakerPermit lost = breaker.TryAcquire(At(Seconds(10)));
  ASSERT_TRUE(lost.is_probe());
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(39))).admitted());
  // 30 s in half-open without an answer: open again, then a fresh half-open.
  EXPECT_FALSE(breaker.TryAcquire(At(Seconds(40))).admitted());
  EXPECT_EQ(breaker.state(), S::kOpen);
  EXPECT_TRUE(breaker.TryAcquire(At(Seconds(60))).is_probe());
}

TEST(CircuitBreakerTest, IsolateAndReset) {
  CircuitBreaker breaker(SmallOptions(), Instant());
  TransitionLog log(breaker);
  breaker.Isolate(Instant());
  breaker.Isolate(Instant());  // no-op
  EXPECT_EQ(breaker.state(), S::kForcedOpen);
  EXPECT_FALSE(breaker.TryAcquire(At(Hours(10))).admitted());
  breaker.Reset(At(Hours(10)));
  EXPECT_EQ(breaker.state(), S::kClosed);
  EXPECT_TRUE(breaker.TryAcquire(At(Hours(10))).admitted());
  ASSERT_EQ(log.transitions.size(), 2u);
  EXPECT_EQ(log.transitions[1].from, S::kForcedOpen);
  EXPECT_EQ(log.transitions[1].to, S::kClosed);
  EXPECT_EQ(breaker.metrics().transitions, 2);
  EXPECT_EQ(breaker.metrics().transitions_to[static_cast<size_t>(S::kForcedOpen)], 1);
}

TEST(CircuitBreakerTest, TimeBasedWindowForgetsOldFailures) {
  CircuitBreakerOptions options = SmallOptions();
  options.sliding_window_type = SlidingWindowType::kTimeBased;
  options.sliding_window_size = 10;  // ten 1-s buckets
  options.minimum_number_of_calls = 5;
  CircuitBreaker breaker(options, Instant());
  for (int i = 0; i < 4; ++i) Call(breaker, CallOutcome::kFailure, At(Seconds(1)));
  EXPECT_EQ(breaker.state(), S::kClosed);  // 4 < minimum
  // 20 s later those failures are gone; 4 successes + 1 failure: 20 %.
  for (int i = 0; i < 4; ++i) Call(breaker, CallOutcome::kSuccess, At(Seconds(21)));
  Call(breaker, CallOutcome::kFailure, At(Seconds(21)));
  EXPECT_EQ(breaker.state(), S::kClosed);
  EXPECT_DOUBLE_EQ(breaker.FailureRate(At(Seconds(21))), 0.2);
  for (int i = 0; i < 2; ++i) Call(breaker, CallOutcome::kFailure, At(Seconds(22)));
  EXPECT_EQ(breaker.state(), S::kClosed);  // 3 of 7
  Call(breaker, CallOutcome::kFailure, At(Seconds(22)));
  EXPECT_EQ(breaker.state(), S::kOpen);  // 4 of 8
}

TEST(CircuitBreakerTest, OutcomeOfStatusCodes) {
  EXPECT_EQ(CallOutcomeOf(StatusCode::kOk), CallOutcome::kSuccess);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kNotFound), CallOutcome::kSuccess);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kInvalidArgument), CallOutcome::kSuccess);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kUnavailable), CallOutcome::kFailure);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kDeadlineExceeded), CallOutcome::kFailure);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kResourceExhausted), CallOutcome::kFailure);
  EXPECT_EQ(CallOutcomeOf(StatusCode::kInternal), CallOutcome::kFailure);
  EXPECT_EQ(CircuitBreaker::RejectedError().code(), StatusCode::kUnavailable);
  EXPECT_EQ(BreakerStateName(S::kHalfOpen), "HALF_OPEN");
}

TEST(CircuitBreakerDeathTest, PermitCannotBeRecordedTwice) {
  EXPECT_DEATH(
      {
        CircuitBreaker breaker(SmallOptions(), Instant());
        BreakerPermit permit = breaker.TryAcquire(Instant());
        BreakerPermit moved = std::move(permit);
        breaker.Record(std::move(moved), CallOutcome::kSuccess, Instant());
        breaker.Record(std::move(moved), CallOutcome::kSuccess, Instant());
      },
      "twice");
  EXPECT_DEATH(
      {
        CircuitBreaker breaker(SmallOptions(), Instant());
        BreakerPermit permit = breaker.TryAcquire(Instant());
        BreakerPermit moved = std::move(permit);
        breaker.Record(std::move(permit), CallOutcome::kSuccess, Instant());  // the moved-from one
      },
      "twice");
  EXPECT_DEATH(
      {
        CircuitBreaker breaker(SmallOptions(), Instant());
        CircuitBreaker other(SmallOptions(), Instant());
        breaker.Record(other.TryAcquire(Instant()), CallOutcome::kSuccess, Instant());
      },
      "another breaker");
  EXPECT_DEATH(
      {
        CircuitBreaker breaker(SmallOptions(), Instant());
        breaker.AddListener([&](const BreakerTransition&) { (void)breaker.TryAcquire(Instant()); });
        breaker.Isolate(Instant());
      },
      "listener");
}

// The edges this test accepts, written out independently of the implementation.
bool EdgeAllowed(S from, S to) {
  static const std::set<std::pair<S, S>> kEdges = {
      {S::kClosed, S::kOpen},       {S::kClosed, S::kForcedOpen},  {S::kOpen, S::kHalfOpen},
      {S::kOpen, S::kClosed},       {S::kOpen, S::kForcedOpen},    {S::kHalfOpen, S::kOpen},
      {S::kHalfOpen, S::kClosed},   {S::kHalfOpen, S::kForcedOpen}, {S::kForcedOpen, S::kClosed},
  };
  return kEdges.count({from, to}) == 1;
}

// Property: under random calls, outcomes, durations, releases, isolations and
// resets, (1) HALF_OPEN never has more than max_concurrent_probes probes out at
// once, nor admits more per phase than successes_to_close; (2) every transition is
// an allowed edge and starts from the state the breaker was in; (3) metrics add up.
TEST(CircuitBreakerTest, PropertyProbeCapAndAllowedEdges) {
  int64_t steps_at_probe_cap = 0;  // the cap was actually reached, not vacuous
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Rng rng(seed);
    CircuitBreakerOptions options;
    options.sliding_window_type = rng.Bernoulli(0.5) ? SlidingWindowType::kCountBased : SlidingWindowType::kTimeBased;
    options.sliding_window_size = static_cast<int>(rng.UniformInRange(1, 20));
    options.time_bucket_width = Milliseconds(rng.UniformInRange(1, 100));
    options.minimum_number_of_calls = static_cast<int>(rng.UniformInRange(1, options.sliding_window_size));
    options.failure_rate_threshold = 0.1 + 0.9 * rng.UniformDouble();
    options.slow_call_rate_threshold = 0.1 + 0.9 * rng.UniformDouble();
    options.slow_call_duration_threshold = Milliseconds(rng.UniformInRange(1, 50));
    options.wait_duration_in_open_state = Milliseconds(rng.UniformInRange(1, 100));
    options.max_wait_duration_in_open_state = options.wait_duration_in_open_state * 8;
    options.successes_to_close = static_cast<int>(rng.UniformInRange(1, 6));
    options.max_concurrent_probes = static_cast<int>(rng.UniformInRange(1, options.successes_to_close));
    options.max_wait_duration_in_half_open_state = Milliseconds(rng.UniformInRange(50, 500));
    options.stable_close_duration = Milliseconds(rng.UniformInRange(0, 1000));
    CircuitBreaker breaker(options, Instant());

    S expected_state = S::kClosed;
    int64_t phase = 0;  // bumped on every transition
    int phase_probes_admitted = 0;  // probes of this phase admitted and not released
    int64_t transitions = 0;
    breaker.AddListener([&](const BreakerTransition& t) {
      ASSERT_TRUE(EdgeAllowed(t.from, t.to)) << "seed " << seed;
      ASSERT_EQ(t.from, expected_state) << "seed " << seed;
      expected_state = t.to;
      phase_probes_admitted = 0;
      ++phase;
      ++transitions;
    });

    struct Outstanding {
      BreakerPermit permit;
      int64_t phase;
    };
    std::vector<Outstanding> outstanding;
    Instant now;
    int64_t admitted = 0;
    int64_t rejected = 0;
    for (int step = 0; step < 3000; ++step) {
      now = now + Milliseconds(rng.UniformInRange(0, 20));
      const uint64_t action = rng.Uniform(100);
      if (action < 45) {
        BreakerPermit permit = breaker.TryAcquire(now);
        if (permit.admitted()) {
          ++admitted;
          if (permit.is_probe()) ++phase_probes_admitted;
          outstanding.push_back(Outstanding{std::move(permit), phase});
        } else {
          ++rejected;
        }
      } else if (action < 93 && !outstanding.empty()) {
        const size_t index = rng.Uniform(outstanding.size());
        BreakerPermit permit = std::move(outstanding[index].permit);
        const int64_t permit_phase = outstanding[index].phase;
        outstanding.erase(outstanding.begin() + static_cast<std::ptrdiff_t>(index));
        if (rng.Bernoulli(0.1)) {
          if (permit.is_probe() && permit_phase == phase) --phase_probes_admitted;
          breaker.Release(std::move(permit));
        } else {
          const CallOutcome outcome = rng.Bernoulli(0.4) ? CallOutcome::kFailure : CallOutcome::kSuccess;
          breaker.Record(std::move(permit), outcome, now);
        }
      } else if (action == 97) {
        breaker.Isolate(now);
      } else if (action >= 98) {
        breaker.Reset(now);
      }
      ASSERT_EQ(breaker.state(), expected_state) << "seed " << seed;
      if (breaker.state() == S::kHalfOpen) {
        // Probes of this phase still out, counted by the test itself (stale probes
        // of earlier phases do not count).
        int current_probes = 0;
        for (const Outstanding& entry : outstanding) {
          current_probes += entry.permit.is_probe() && entry.phase == phase ? 1 : 0;
        }
        ASSERT_LE(current_probes, options.max_concurrent_probes) << "seed " << seed;
        ASSERT_EQ(breaker.probes_in_flight(), current_probes) << "seed " << seed;
        if (current_probes == options.max_concurrent_probes) ++steps_at_probe_cap;
        ASSERT_LE(phase_probes_admitted, options.successes_to_close) << "seed " << seed;
      }
    }
    const CircuitBreakerMetrics& metrics = breaker.metrics();
    ASSERT_EQ(metrics.permitted_calls, admitted);
    ASSERT_EQ(metrics.rejected_calls, rejected);
    ASSERT_EQ(metrics.transitions, transitions);
    ASSERT_EQ(metrics.successful_calls + metrics.failed_calls + metrics.released_calls +
                  static_cast<int64_t>(outstanding.size()),
              admitted);
  }
  EXPECT_GT(steps_at_probe_cap, 1000);
}

}  // namespace
}  // namespace murphy
