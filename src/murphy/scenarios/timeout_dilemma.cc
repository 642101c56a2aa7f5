// timeout-dilemma — "The Timeout Dilemma".
//
// The story: a peer sends a heartbeat every second over a network with jitter and
// latency spikes; now and then it stops for 1.5-4 s (a GC pause: alive, only slow);
// at 12 minutes it really crashes. The operator's objective is explicit: detect the
// crash within 10 s, and trigger at most one false failover in the 15 minutes. Without
// the remedy we try the two fixed timeouts people choose: 1.5 s convicts the peer in
// every pause (false failovers), 30 s never does but leaves users waiting half a
// minute after the crash. No fixed choice meets both halves on this trace. With the
// remedy, the phi-accrual detector (Akka's defaults) learns the heartbeat
// distribution and meets the objective; the other adaptive detectors are measured on
// the same trace for the table.
//
// All detectors are the real ones in detect/, replayed by detect/evaluation on one
// trace generated from the seed.
#include <memory>
#include <string>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/detect/evaluation.h"
#include "murphy/detect/fixed_timeout_detector.h"
#include "murphy/detect/heartbeat_trace.h"
#include "murphy/detect/phi_accrual_detector.h"
#include "murphy/detect/quantile_timeout.h"
#include "murphy/detect/rfc6298.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/trace_capture.h"

namespace murphy {
namespace {

constexpr Duration kDetectionObjective = Seconds(10);
constexpr int64_t kFalseFailoverBudget = 1;
constexpr Duration kReplayStep = Milliseconds(10);

struct Contender {
  std::string label;  // also the figure prefix
  DetectorFactory factory;
};

struct Judged {
  std::string label;
  DetectorEvaluation evaluation;
  bool meets_objective() const {
    return evaluation.detection_time.has_value() && *evaluation.detection_time <= kDetectionObjective &&
           evaluation.false_positive_count <= kFalseFailoverBudget;
  }
  std::string Describe() const {
    const std::string detection =
        evaluation.detection_time ? FormatDuration(*evaluation.detection_time) : std::string("never");
    return label + ": crash detected after " + detection + ", " + std::to_string(evaluation.false_positive_count) +
           " false failovers";
  }
};

class TimeoutDilemma final : public Scenario {
 public:
  std::string_view name() const override { return "timeout-dilemma"; }
  std::string_view section() const override { return "The Timeout Dilemma"; }
  std::string_view remedy() const override { return "phi-accrual failure detection"; }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const override {
    Rng rng(seed);
    const Result<HeartbeatTrace> trace = GenerateHeartbeatTrace(TimeoutDilemmaTraceConfig(), rng);
    MURPHY_ASSERT(trace.ok());
    // The report's view: the peer's pauses (gaps) and crash, the heartbeats as they
    // arrive at the monitor, and one lane per detector with its suspicion episodes
    // as bars. Clocks are true time here (the dilemma is about delays, not skew).
    scenarios::TraceCapture capture(options, with_remedy ? "adaptive detectors" : "fixed timeouts",
                                    sim::SimOptions().wall_origin);
    const NodeId peer(1);
    const NodeId monitor(2);
    auto write = [&](Instant at, NodeId lane, std::string_view event, std::initializer_list<TraceField> fields) {
      capture.Write(at, lane, at, sim::SimOptions().wall_origin + at.since_origin(), event, fields);
    };
    if (capture.enabled()) {
      capture.NameLane(peer, "peer (heartbeats every 1 s)");
      capture.NameLane(monitor, "monitor (arrivals)");
      for (const HeartbeatTrace::Span& pause : trace->pauses) {
        write(pause.from, peer, "pause", {{"duration_ns", pause.length.nanoseconds()}});
        write(pause.from + pause.length, peer, "resume", {});
      }
      if (trace->crash) write(*trace->crash, peer, "crash", {});
      for (const Instant arrival : trace->arrivals) write(arrival, monitor, "heartbeat", {});
    }

    std::vector<Contender> contenders;
    if (!with_remedy) {
      contenders.push_back({"fixed_1_5s", [] { return std::make_unique<FixedTimeoutDetector>(Milliseconds(1500)); }});
      contenders.push_back({"fixed_30s", [] { return std::make_unique<FixedTimeoutDetector>(Seconds(30)); }});
    } else {
      contenders.push_back({"phi_accrual", [] { return std::make_unique<PhiAccrualDetector>(); }});
      Rfc6298Config rfc;
      rfc.min_rto = Seconds(3);
      rfc.initial_rto = Seconds(3);
      contenders.push_back({"rfc6298_min_3s", [rfc] { return std::make_unique<Rfc6298Detector>(rfc); }});
      contenders.push_back({"quantile_p99x2", [] { return std::make_unique<QuantileTimeoutDetector>(); }});
    }

    RunOutcome outcome;
    std::vector<Judged> judged;
    for (const Contender& contender : contenders) {
      Result<DetectorEvaluation> evaluation = EvaluateDetector(*trace, contender.factory, kReplayStep);
      MURPHY_ASSERT(evaluation.ok());
      judged.push_back({contender.label, std::move(evaluation).value()});
      const DetectorEvaluation& result = judged.back().evaluation;
      outcome.Add(contender.label + "_detection_s",
                  result.detection_time ? ToSecondsDouble(*result.detection_time) : -1.0);
      outcome.Add(contender.label + "_false_failovers", static_cast<double>(result.false_positive_count));
      if (capture.enabled()) {
        const NodeId lane(static_cast<uint32_t>(3 + judged.size() - 1));
        capture.NameLane(lane, "detector " + contender.label);
        for (const SuspicionEpisode& episode : result.episodes) {
          const bool false_positive = !trace->crash || episode.from < *trace->crash;
          write(episode.from, lane, false_positive ? "false_suspicion" : "suspect",
                {{"duration_ns", (episode.to - episode.from).nanoseconds()}, {"false_positive", false_positive}});
        }
        if (result.detection_time) {
          write(*trace->crash + *result.detection_time, lane, "crash_detected",
                {{"detection_ms", ToMillisecondsDouble(*result.detection_time)}});
        }
        Series point;
        point.plot = "detection_vs_false_positives";
        point.name = contender.label;
        point.x_label = "false failovers in 15 min";
        point.y_label = "crash detection time (s)";
        point.style = Series::Style::kPoints;
        if (result.detection_time) {
          point.points.emplace_back(static_cast<double>(result.false_positive_count),
                                    ToSecondsDouble(*result.detection_time));
        }
        outcome.series.push_back(std::move(point));
      }
    }

    const std::string objective = "objective: detect within " + FormatDuration(kDetectionObjective) +
                                  ", at most " + std::to_string(kFalseFailoverBudget) + " false failover";
    if (!with_remedy) {
      // The dilemma: every fixed timeout we try misses one half of the objective.
      bool any_meets = false;
      std::string misses;
      for (const Judged& candidate : judged) {
        any_meets = any_meets || candidate.meets_objective();
        misses += (misses.empty() ? "" : "; ") + candidate.Describe();
      }
      outcome.violated = !any_meets;
      if (outcome.violated) outcome.violation = "no fixed timeout meets the " + objective + " — " + misses;
      outcome.summary = misses;
    } else {
      const Judged& phi = judged.front();
      outcome.violated = !phi.meets_objective();
      if (outcome.violated) outcome.violation = "phi accrual misses the " + objective + " — " + phi.Describe();
      outcome.summary = phi.Describe() + " (" + objective + ")";
    }
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& TimeoutDilemmaScenario() {
  static const TimeoutDilemma scenario;
  return scenario;
}

}  // namespace murphy
