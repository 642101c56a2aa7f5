// thundering-herd — "Retries with backoff, jitter" (the chapter's retry section;
// Brooker 2015's comparison).
//
// The story: a server is down for the first second; 100 clients fail together and
// retry. After it recovers it serves at most `capacity` requests per 10 ms window;
// requests beyond that are rejected (overload) and retried again. Without jitter the
// clients that failed together retry together, every wave exceeds the capacity, and
// the server stays overloaded long after it recovered. With full jitter the same
// backoff ceilings spread the retries, the offered load stays under capacity and
// every client finishes sooner with fewer calls.
//
// The model is a discrete-event run of the real `Backoff` (resilience/) with a
// seeded Rng; the checker counts the windows after recovery in which offered load
// exceeded capacity.
#include <algorithm>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/resilience/backoff.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/trace_capture.h"

namespace murphy {
namespace {

constexpr int kClients = 100;
constexpr int kCapacityPerWindow = 25;
constexpr Duration kWindow = Milliseconds(10);
constexpr Duration kOutage = Seconds(1);

class ThunderingHerd final : public Scenario {
 public:
  std::string_view name() const override { return "thundering-herd"; }
  std::string_view section() const override { return "Retries: backoff and jitter"; }
  std::string_view remedy() const override { return "exponential backoff with full jitter"; }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& run_options) const override {
    Rng rng(seed);
    // The report's view: the server's lane with the outage as a bar and every call,
    // served or rejected (down or overloaded), naming its client; the load per
    // window is a series. The server's clock is true time here.
    const std::string strategy = with_remedy ? "exponential backoff, full jitter" : "exponential backoff, no jitter";
    scenarios::TraceCapture capture(run_options, strategy, sim::SimOptions().wall_origin);
    const NodeId server_lane(1);
    capture.NameLane(server_lane, "server");
    auto trace = [&](Instant at, std::string_view event, std::initializer_list<TraceField> fields) {
      capture.Write(at, server_lane, at, sim::SimOptions().wall_origin + at.since_origin(), event, fields);
    };
    if (capture.enabled()) trace(Instant(), "outage", {{"duration_ns", kOutage.nanoseconds()}});
    BackoffOptions options;
    options.base = Milliseconds(100);
    options.multiplier = 2.0;
    options.cap = Seconds(10);
    options.max_retries = 12;
    options.jitter = with_remedy ? Jitter::kFull : Jitter::kNone;

    struct Attempt {
      Instant at;
      int client;
      bool operator>(const Attempt& other) const {
        return at != other.at ? at > other.at : client > other.client;
      }
    };
    std::priority_queue<Attempt, std::vector<Attempt>, std::greater<>> attempts;
    std::vector<Backoff> backoffs(kClients, Backoff(options));
    // Clients start within 5 ms of each other: they all hit the outage.
    for (int client = 0; client < kClients; ++client) {
      attempts.push({Instant() + rng.UniformDuration(Duration::Zero(), Milliseconds(5)), client});
    }

    std::map<int64_t, int> offered_per_window;  // window index -> requests
    int total_calls = 0;
    int succeeded = 0;
    int gave_up = 0;
    Instant last_success;
    while (!attempts.empty()) {
      const Attempt attempt = attempts.top();
      attempts.pop();
      ++total_calls;
      const int64_t window = attempt.at.nanoseconds() / kWindow.nanoseconds();
      const int load = ++offered_per_window[window];
      const bool server_up = attempt.at >= Instant() + kOutage;
      if (capture.enabled()) {
        const bool served = server_up && load <= kCapacityPerWindow;
        trace(attempt.at, served ? "request_served" : "request_rejected",
              {{"client", int64_t{attempt.client + 1}},
               {"reason", std::string_view(served ? "" : server_up ? "overloaded" : "down")},
               {"window_load", int64_t{load}}});
      }
      if (server_up && load <= kCapacityPerWindow) {
        ++succeeded;
        last_success = std::max(last_success, attempt.at);
        continue;
      }
      const std::optional<Duration> delay = backoffs[attempt.client].NextDelay(rng);
      if (!delay.has_value()) {
        ++gave_up;
        continue;
      }
      attempts.push({attempt.at + *delay, attempt.client});
    }

    int peak_after_recovery = 0;
    int overloaded_windows = 0;
    const int64_t recovery_window = kOutage.nanoseconds() / kWindow.nanoseconds();
    for (const auto& [window, load] : offered_per_window) {
      if (window < recovery_window) continue;
      peak_after_recovery = std::max(peak_after_recovery, load);
      if (load > kCapacityPerWindow) ++overloaded_windows;
    }

    RunOutcome outcome;
    outcome.Add("clients", kClients);
    outcome.Add("capacity_per_window", kCapacityPerWindow);
    outcome.Add("peak_load_per_window", peak_after_recovery);
    outcome.Add("overloaded_windows", overloaded_windows);
    outcome.Add("total_calls", total_calls);
    outcome.Add("clients_gave_up", gave_up);
    outcome.Add("completion_time_s", ToSecondsDouble(last_success - Instant()));
    outcome.violated = overloaded_windows > 0;
    if (outcome.violated) {
      outcome.violation = std::to_string(overloaded_windows) +
                          " windows after recovery offered more than capacity (peak " +
                          std::to_string(peak_after_recovery) + " requests per 10 ms, capacity " +
                          std::to_string(kCapacityPerWindow) + "): synchronized retries overload the server again";
    }
    outcome.summary = "peak " + std::to_string(peak_after_recovery) + "/10ms vs capacity " +
                      std::to_string(kCapacityPerWindow) + ", " + std::to_string(total_calls) + " calls, " +
                      std::to_string(succeeded) + "/" + std::to_string(kClients) + " served by " +
                      FormatDuration(last_success - Instant());
    if (capture.enabled()) {
      // Offered load per window, every window up to the last busy one (zeros too).
      Series load;
      load.plot = "load_over_time";
      load.name = with_remedy ? "full jitter" : "no jitter";
      load.x_label = "true time (s)";
      load.y_label = "requests per 10 ms window";
      const int64_t last_window = offered_per_window.empty() ? 0 : offered_per_window.rbegin()->first;
      for (int64_t window = 0; window <= last_window; ++window) {
        const auto found = offered_per_window.find(window);
        load.points.emplace_back(ToSecondsDouble(kWindow * window), found == offered_per_window.end() ? 0 : found->second);
      }
      Series capacity;
      capacity.plot = load.plot;
      capacity.name = "capacity";
      capacity.x_label = load.x_label;
      capacity.y_label = load.y_label;
      capacity.points = {{ToSecondsDouble(kOutage), kCapacityPerWindow},
                         {ToSecondsDouble(kWindow * (last_window + 1)), kCapacityPerWindow}};
      outcome.series.push_back(std::move(load));
      outcome.series.push_back(std::move(capacity));
    }
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& ThunderingHerdScenario() {
  static const ThunderingHerd scenario;
  return scenario;
}

}  // namespace murphy
