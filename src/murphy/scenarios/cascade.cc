// cascade — "Practical Patterns: Circuit Breaker".
//
// The story: ten callers (front ends) each make about 25 calls a second to one
// dependency. The dependency works through a bounded queue (200 requests) one request
// at a time; a request normally takes 2 ms (capacity 500/s, so it runs at 50 %). From
// t = 5 s to t = 12 s its backend is slow: 50 ms per request (capacity 20/s). Each
// caller waits 100 ms for an answer, then gives up on the attempt and retries, up to
// 4 attempts per call (a full queue answers "overloaded" at once, which is retried
// too). The dependency does not know that a caller gave up: it still serves the
// abandoned requests at the head of its queue.
//
// Without the remedy: the queue fills during the slow period and every attempt fails,
// so every call makes 4 attempts — about 1000 attempts/s offered to a dependency that
// serves 500/s even when healthy again. After t = 12 s its queue stays full, every
// request waits ~400 ms (longer than the caller's timeout), is served after its caller
// gave up, and is retried: goodput stays near zero long after the slowness ended (a
// metastable failure — the cascade: the callers are now as stuck as the dependency).
// With the remedy: a CircuitBreaker per caller (resilience/; a window of 10 calls,
// trips at 50 % failures or 50 % calls slower than 75 ms, open 0.5 s doubling to 2 s,
// 3 successful probes to close) counts timeouts, overload answers and slow calls; it
// opens, the caller fails fast without sending (and without retrying), the
// dependency's queue drains, half-open probes test it, and the breaker closes once
// probes succeed — goodput recovers within seconds of the slowness ending.
//
// The checker (thresholds stated): calls are bucketed by issue time in 500 ms
// windows; a window is healthy when at least 90 % of its calls succeed. Recovery is
// the start of the first window after the slowness ended from which every window up
// to the end of the measurement (t = 28 s) is healthy; it must come within 5 s of the
// end of the slowness. Queue depth (peak, and mean from 2 s after the slowness) and
// the work wasted on abandoned requests are reported as figures.
#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/resilience/circuit_breaker.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr int kCallers = 10;
constexpr Duration kMeanCallInterval = Milliseconds(40);  // per caller: ~25 calls/s
constexpr size_t kQueueLimit = 200;
constexpr Duration kFastService = Milliseconds(2);
constexpr Duration kSlowService = Milliseconds(50);
constexpr Instant kSlowFrom = Instant() + Seconds(5);
constexpr Instant kSlowUntil = Instant() + Seconds(12);
constexpr Duration kAttemptTimeout = Milliseconds(100);
constexpr int kMaxAttempts = 4;
constexpr Duration kRetryDelay = Milliseconds(10);
constexpr Instant kStopIssuing = Instant() + Seconds(28);
constexpr Instant kRunEnd = Instant() + Seconds(30);
constexpr Duration kWindow = Milliseconds(500);
constexpr double kHealthyRatio = 0.9;
constexpr Duration kRecoveryObjective = Seconds(5);
constexpr Duration kDepthSample = Milliseconds(100);
constexpr uint8_t kCallType = 11;
constexpr uint8_t kAnswerType = 12;
constexpr uint8_t kServed = 0;
constexpr uint8_t kOverloaded = 1;

// The dependency's backend: how long one request takes at a given time. The scenario's
// fault: slow between kSlowFrom and kSlowUntil.
Duration ServiceTime(Instant now) { return now >= kSlowFrom && now < kSlowUntil ? kSlowService : kFastService; }

struct AttemptKey {
  uint32_t caller;
  uint64_t call;
  uint32_t attempt;
  auto operator<=>(const AttemptKey&) const = default;
};

struct Ledger {
  const sim::Simulator* simulator = nullptr;
  size_t queue_depth = 0;
  size_t peak_queue_depth = 0;
  int64_t served = 0;
  int64_t served_abandoned = 0;  // served after the caller had given up on it
  int64_t overloaded = 0;
  int64_t attempts = 0;
  int64_t failed_fast = 0;  // refused by an open breaker without sending
  std::map<AttemptKey, bool> abandoned;
  // Per window of issue time: calls issued, calls that succeeded.
  std::map<int64_t, std::pair<int64_t, int64_t>> windows;
};

int64_t WindowOf(Instant when) { return when.nanoseconds() / kWindow.nanoseconds(); }

Bytes EncodeCall(uint64_t call, uint32_t attempt) {
  ByteWriter writer;
  writer.PutU64(call);
  writer.PutU32(attempt);
  return EncodeFrame(kCallType, writer.bytes());
}

Bytes EncodeAnswer(uint64_t call, uint32_t attempt, uint8_t result) {
  ByteWriter writer;
  writer.PutU64(call);
  writer.PutU32(attempt);
  writer.PutU8(result);
  return EncodeFrame(kAnswerType, writer.bytes());
}

// The dependency: a bounded FIFO queue served one request at a time.
class Dependency {
 public:
  Dependency(Env& env, Ledger* ledger) : env_(env), ledger_(ledger) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnCall(source, payload); });
  }
  ~Dependency() { env_.CancelTimer(timer_); }
  Dependency(const Dependency&) = delete;
  Dependency& operator=(const Dependency&) = delete;

 private:
  struct Job {
    NodeId caller;
    uint64_t call;
    uint32_t attempt;
  };

  void OnCall(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok() || frame->type != kCallType) return;
    ByteReader reader(frame->payload);
    Job job{source, 0, 0};
    if (!reader.GetU64(&job.call) || !reader.GetU32(&job.attempt)) return;
    if (queue_.size() >= kQueueLimit) {
      ++ledger_->overloaded;
      env_.Send(source, EncodeAnswer(job.call, job.attempt, kOverloaded));
      return;
    }
    queue_.push_back(job);
    Publish();
    if (!busy_) Serve();
  }

  void Serve() {
    MURPHY_ASSERT(!queue_.empty());
    busy_ = true;
    // The backend's slowness is a fault of the world, scheduled in true time.
    timer_ = env_.SetTimer(ServiceTime(ledger_->simulator->now()), [this] {
      const Job job = queue_.front();
      queue_.pop_front();
      Publish();
      ++ledger_->served;
      if (ledger_->abandoned.contains({job.caller.value(), job.call, job.attempt})) ++ledger_->served_abandoned;
      env_.Send(job.caller, EncodeAnswer(job.call, job.attempt, kServed));
      busy_ = false;
      if (!queue_.empty()) Serve();
    });
  }

  void Publish() {
    ledger_->queue_depth = queue_.size();
    ledger_->peak_queue_depth = std::max(ledger_->peak_queue_depth, queue_.size());
  }

  Env& env_;
  Ledger* ledger_;
  std::deque<Job> queue_;
  bool busy_ = false;
  TimerId timer_;
};

CircuitBreakerOptions BreakerOptions() {
  CircuitBreakerOptions options;
  options.sliding_window_type = SlidingWindowType::kCountBased;
  options.sliding_window_size = 10;
  options.minimum_number_of_calls = 5;
  options.failure_rate_threshold = 0.5;
  options.slow_call_rate_threshold = 0.5;
  options.slow_call_duration_threshold = Milliseconds(75);
  options.wait_duration_in_open_state = Milliseconds(500);
  options.open_duration_multiplier = 2.0;
  options.max_wait_duration_in_open_state = Seconds(2);
  options.stable_close_duration = Seconds(10);
  options.successes_to_close = 3;
  options.max_concurrent_probes = 1;
  options.max_wait_duration_in_half_open_state = Seconds(1);
  return options;
}

// One logical call of a caller.
struct Call {
  Instant issued;  // true time
  uint32_t attempt = 0;
  TimerId timer;
  std::optional<BreakerPermit> permit;
};

// A front end: issues calls as a Poisson process; each call makes up to kMaxAttempts
// attempts, each given up after kAttemptTimeout. With a breaker, every attempt needs
// a permit, and a refused permit fails the call at once.
class Caller {
 public:
  Caller(Env& env, NodeId dependency, Ledger* ledger, bool with_breaker)
      : env_(env), dependency_(dependency), ledger_(ledger) {
    if (with_breaker) breaker_.emplace(BreakerOptions(), env_.MonotonicNow());
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnAnswer(source, payload); });
    issue_timer_ = env_.SetTimer(env_.rng().ExponentialDuration(kMeanCallInterval), [this] { Issue(); });
  }
  ~Caller() {
    env_.CancelTimer(issue_timer_);
    for (auto& [id, call] : calls_) env_.CancelTimer(call.timer);
  }
  Caller(const Caller&) = delete;
  Caller& operator=(const Caller&) = delete;

  int64_t breaker_opens() const {
    return breaker_ ? breaker_->metrics().transitions_to[static_cast<int>(BreakerState::kOpen)] : 0;
  }

 private:
  void Issue() {
    // The measurement is kept in true time (the ledger's); the caller's own timing
    // (timeouts, the breaker) runs on its monotonic clock.
    const Instant true_now = ledger_->simulator->now();
    if (true_now >= kStopIssuing) return;
    const uint64_t id = next_call_++;
    Call& call = calls_[id];
    call.issued = true_now;
    ++ledger_->windows[WindowOf(true_now)].first;
    Attempt(id);
    issue_timer_ = env_.SetTimer(env_.rng().ExponentialDuration(kMeanCallInterval), [this] { Issue(); });
  }

  void Attempt(uint64_t id) {
    Call& call = calls_.at(id);
    const Instant now = env_.MonotonicNow();
    if (breaker_) {
      BreakerPermit permit = breaker_->TryAcquire(now);
      if (!permit.admitted()) {
        ++ledger_->failed_fast;
        calls_.erase(id);  // fail fast: no request, no retry
        return;
      }
      call.permit.emplace(std::move(permit));
    }
    ++call.attempt;
    ++ledger_->attempts;
    env_.Send(dependency_, EncodeCall(id, call.attempt));
    call.timer = env_.SetTimer(kAttemptTimeout, [this, id] {
      Call& timed_out = calls_.at(id);
      ledger_->abandoned[{env_.self().value(), id, timed_out.attempt}] = true;
      Failed(id);
    });
  }

  // The attempt failed (timeout or overload): record it, retry or give up.
  void Failed(uint64_t id) {
    Call& call = calls_.at(id);
    Record(call, CallOutcome::kFailure);
    if (call.attempt >= static_cast<uint32_t>(kMaxAttempts)) {
      calls_.erase(id);
      return;
    }
    call.timer = env_.SetTimer(kRetryDelay, [this, id] { Attempt(id); });
  }

  void Record(Call& call, CallOutcome outcome) {
    if (!breaker_ || !call.permit) return;
    breaker_->Record(std::move(*call.permit), outcome, env_.MonotonicNow());
    call.permit.reset();
  }

  void OnAnswer(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (source != dependency_ || !frame.ok() || frame->type != kAnswerType) return;
    ByteReader reader(frame->payload);
    uint64_t id = 0;
    uint32_t attempt = 0;
    uint8_t result = 0;
    if (!reader.GetU64(&id) || !reader.GetU32(&attempt) || !reader.GetU8(&result)) return;
    const auto found = calls_.find(id);
    // An answer to an attempt we gave up on is wasted work.
    if (found == calls_.end() || found->second.attempt != attempt) return;
    Call& call = found->second;
    if (ledger_->abandoned.contains({env_.self().value(), id, attempt})) return;
    env_.CancelTimer(call.timer);
    if (result == kOverloaded) {
      Failed(id);
      return;
    }
    Record(call, CallOutcome::kSuccess);
    ++ledger_->windows[WindowOf(call.issued)].second;
    calls_.erase(found);
  }

  Env& env_;
  NodeId dependency_;
  Ledger* ledger_;
  std::optional<CircuitBreaker> breaker_;
  std::map<uint64_t, Call> calls_;
  uint64_t next_call_ = 1;
  TimerId issue_timer_;
};

std::string Percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.0f%%", 100 * fraction);
  return buffer;
}

class Cascade final : public Scenario {
 public:
  std::string_view name() const override { return "cascade"; }
  std::string_view section() const override { return "Circuit Breaker"; }
  std::string_view remedy() const override { return "a circuit breaker per caller: fail fast, probe, close"; }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
    simulator.SetAllLinks(scenarios::UniformLink(Microseconds(200), Milliseconds(2)));
    Ledger ledger;
    ledger.simulator = &simulator;
    const NodeId dependency = simulator.AddProcess(
        "dependency", [&ledger](Env& env) { return sim::Hold(std::make_unique<Dependency>(env, &ledger)); });
    std::vector<NodeId> callers;
    for (int i = 0; i < kCallers; ++i) {
      callers.push_back(simulator.AddProcess("caller" + std::to_string(i + 1), [&ledger, dependency, with_remedy](Env& env) {
        return sim::Hold(std::make_unique<Caller>(env, dependency, &ledger, with_remedy));
      }));
    }
    double depth_sum_after = 0;
    int depth_samples_after = 0;
    for (Instant at = Instant() + kDepthSample; at <= kRunEnd; at += kDepthSample) {
      scenarios::RunTo(simulator, at);
      if (at >= kSlowUntil + Seconds(2) && at < kStopIssuing) {
        depth_sum_after += static_cast<double>(ledger.queue_depth);
        ++depth_samples_after;
      }
    }
    int64_t breaker_opens = 0;
    for (const NodeId caller : callers) breaker_opens += simulator.ProcessAs<Caller>(caller)->breaker_opens();

    // Success ratio per window of issue time; recovery after the slowness ended.
    auto ratio = [&ledger](int64_t window) {
      const auto found = ledger.windows.find(window);
      if (found == ledger.windows.end() || found->second.first == 0) return 1.0;
      return static_cast<double>(found->second.second) / static_cast<double>(found->second.first);
    };
    const int64_t fault_end_window = WindowOf(kSlowUntil);
    const int64_t last_window = WindowOf(kStopIssuing) - 1;
    std::optional<int64_t> recovered_window;
    for (int64_t window = last_window; window >= fault_end_window && ratio(window) >= kHealthyRatio; --window) {
      recovered_window = window;
    }
    int64_t issued_before = 0;
    int64_t succeeded_before = 0;
    int64_t issued_after = 0;
    int64_t succeeded_after = 0;
    for (const auto& [window, counts] : ledger.windows) {
      if (window < WindowOf(kSlowFrom)) {
        issued_before += counts.first;
        succeeded_before += counts.second;
      } else if (window >= fault_end_window && window <= last_window) {
        issued_after += counts.first;
        succeeded_after += counts.second;
      }
    }
    const double before_ratio = issued_before ? static_cast<double>(succeeded_before) / issued_before : 1.0;
    const double after_ratio = issued_after ? static_cast<double>(succeeded_after) / issued_after : 1.0;
    const double mean_depth_after = depth_samples_after ? depth_sum_after / depth_samples_after : 0;
    // Infinite: never recovered within the measurement.
    const Duration time_to_recover = recovered_window ? kWindow * *recovered_window - kSlowUntil.since_origin()
                                                      : Duration::Infinite();
    const bool recovered = recovered_window.has_value();

    RunOutcome outcome;
    outcome.Add("success_ratio_before_fault", before_ratio);
    outcome.Add("success_ratio_after_fault", after_ratio);
    outcome.Add("time_to_recover_s", recovered ? ToSecondsDouble(time_to_recover) : -1.0);
    outcome.Add("peak_queue_depth", static_cast<double>(ledger.peak_queue_depth));
    outcome.Add("mean_queue_depth_after_fault", mean_depth_after);
    outcome.Add("attempts", static_cast<double>(ledger.attempts));
    outcome.Add("served_after_caller_gave_up", static_cast<double>(ledger.served_abandoned));
    outcome.Add("overloaded_answers", static_cast<double>(ledger.overloaded));
    outcome.Add("failed_fast_calls", static_cast<double>(ledger.failed_fast));
    outcome.Add("breaker_opens", static_cast<double>(breaker_opens));

    const std::string fault = "slowness " + scenarios::FormatTrueTime(kSlowFrom) + ".." +
                              scenarios::FormatTrueTime(kSlowUntil);
    outcome.violated = !recovered || time_to_recover > kRecoveryObjective;
    if (outcome.violated) {
      outcome.violation =
          "goodput did not recover within " + FormatDuration(kRecoveryObjective) + " after the " + fault + ": " +
          (recovered ? "healthy only from " + FormatDuration(time_to_recover) + " after it"
                           : std::string("never healthy again up to ") + scenarios::FormatTrueTime(kStopIssuing)) +
          "; " + Percent(after_ratio) + " of calls issued after it succeeded, queue depth " +
          std::to_string(static_cast<int>(mean_depth_after)) + "/" + std::to_string(kQueueLimit) + " on average, " +
          std::to_string(ledger.served_abandoned) + " requests served after their caller had given up";
    }
    outcome.summary = "after the " + fault + ": " + Percent(after_ratio) + " of calls succeed (before: " +
                      Percent(before_ratio) + "), recovered " +
                      (recovered ? "after " + FormatDuration(time_to_recover) : std::string("never")) +
                      ", peak queue " + std::to_string(ledger.peak_queue_depth) + "/" + std::to_string(kQueueLimit) +
                      ", mean queue after " + std::to_string(static_cast<int>(mean_depth_after)) + ", " +
                      std::to_string(ledger.served_abandoned) + " requests wasted";
    return outcome;
  }
};

}  // namespace

const Scenario& CascadeScenario() {
  static const Cascade scenario;
  return scenario;
}

}  // namespace murphy
