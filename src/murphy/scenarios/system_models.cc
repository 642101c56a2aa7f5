// system-models — "System Models: Timing Assumptions".
//
// The story: one process sends a heartbeat every 100 ms to a monitor that runs the
// same failure detector in every run — a fixed 150 ms timeout (detect/) — and the
// sender never fails, so every suspicion is a mistake. Only the system model of the
// simulator's network changes (Dwork, Lynch and Stockmeyer's models, sim/network.h):
//   synchronous             every delay in [1 ms, 20 ms], known in advance;
//   partially synchronous   Pareto-tailed delays (no bound) until the global
//                           stabilization time GST = 30 s, bounded as above after;
//   asynchronous            Pareto-tailed delays for the whole run, no bound ever.
// This is a comparison, not a fix: the detector is the same, and the timing
// assumption decides whether its accuracy can be promised at all.
//
// What the checker decides, for a run of 90 s, with "after GST" meaning from
// GST + 1 s of settling (the timeout plus the delay bound, rounded up) to the end —
// the same instant is used as reference in the models without a GST:
// - without (asynchronous): a mistake after that instant is a violation, "no bound on
//   mistakes" — in this model no time exists after which a timeout stops suspecting
//   a live process (which is why FLP's consensus impossibility holds there).
// - with (partially synchronous, and synchronous): the detector may err before GST,
//   but must make no mistake after GST + settle; under the synchronous model it must
//   make none at all. Both hold by construction once delays are bounded: the longest
//   silence is then the 100 ms interval plus the 19 ms spread of the delay, below
//   the 150 ms timeout.
#include <memory>
#include <string>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/detect/fixed_timeout_detector.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/network.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr Duration kHeartbeatInterval = Milliseconds(100);
constexpr Duration kTimeout = Milliseconds(150);
constexpr Duration kCheckInterval = Milliseconds(5);
constexpr Duration kMinDelay = Milliseconds(1);
constexpr Duration kDelayBound = Milliseconds(20);
constexpr Duration kTailScale = Milliseconds(3);
constexpr double kTailIndex = 1.1;
constexpr Instant kGst = Instant() + Seconds(30);
constexpr Duration kSettle = Seconds(1);
constexpr Duration kRunLength = Seconds(90);
constexpr uint8_t kHeartbeatType = 9;

struct Observations {
  const sim::Simulator* simulator = nullptr;
  std::vector<Instant> sent;      // true send time per heartbeat sequence
  std::vector<Instant> mistakes;  // true time of each trust -> suspect transition
  Duration longest_delay;
  int64_t heartbeats_received = 0;
};

class HeartbeatSender {
 public:
  HeartbeatSender(Env& env, NodeId monitor, Observations* observations)
      : env_(env), monitor_(monitor), observations_(observations) {
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Beat(); });
  }
  ~HeartbeatSender() { env_.CancelTimer(timer_); }
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

 private:
  void Beat() {
    ByteWriter writer;
    writer.PutU64(observations_->sent.size());
    observations_->sent.push_back(observations_->simulator->now());
    env_.Send(monitor_, EncodeFrame(kHeartbeatType, writer.bytes()));
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Beat(); });
  }

  Env& env_;
  NodeId monitor_;
  Observations* observations_;
  TimerId timer_;
};

// Feeds heartbeats to the detector and asks it every kCheckInterval.
class Monitor {
 public:
  Monitor(Env& env, Observations* observations) : env_(env), observations_(observations), detector_(kTimeout) {
    env_.SetReceiver([this](NodeId, std::span<const uint8_t> payload) { OnHeartbeat(payload); });
    timer_ = env_.SetTimer(kCheckInterval, [this] { Check(); });
  }
  ~Monitor() { env_.CancelTimer(timer_); }
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

 private:
  void OnHeartbeat(std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok() || frame->type != kHeartbeatType) return;
    ByteReader reader(frame->payload);
    uint64_t sequence = 0;
    if (!reader.GetU64(&sequence) || sequence >= observations_->sent.size()) return;
    const Duration delay = observations_->simulator->now() - observations_->sent[sequence];
    observations_->longest_delay = Max(observations_->longest_delay, delay);
    ++observations_->heartbeats_received;
    detector_.Heartbeat(env_.MonotonicNow());
    Check();
  }
  void Check() {
    const bool suspect = detector_.Suspect(env_.MonotonicNow());
    if (suspect && !suspecting_) observations_->mistakes.push_back(observations_->simulator->now());
    suspecting_ = suspect;
    env_.CancelTimer(timer_);
    timer_ = env_.SetTimer(kCheckInterval, [this] { Check(); });
  }

  Env& env_;
  Observations* observations_;
  FixedTimeoutDetector detector_;
  bool suspecting_ = false;
  TimerId timer_;
};

struct ModelResult {
  std::string name;
  int64_t mistakes = 0;
  int64_t mistakes_before_gst = 0;
  int64_t mistakes_after_settle = 0;  // from GST + settle to the end
  Instant last_mistake;
  Duration longest_delay;
};

ModelResult RunModel(uint64_t seed, const sim::SystemModel& model, std::string name) {
  sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
  Observations observations;
  observations.simulator = &simulator;
  const NodeId monitor = simulator.AddProcess(
      "monitor", [&observations](Env& env) { return sim::Hold(std::make_unique<Monitor>(env, &observations)); });
  simulator.AddProcess("sender", [&observations, monitor](Env& env) {
    return sim::Hold(std::make_unique<HeartbeatSender>(env, monitor, &observations));
  });
  simulator.SetSystemModel(model);
  scenarios::RunTo(simulator, Instant() + kRunLength);

  ModelResult result;
  result.name = std::move(name);
  result.longest_delay = observations.longest_delay;
  result.mistakes = static_cast<int64_t>(observations.mistakes.size());
  for (const Instant mistake : observations.mistakes) {
    if (mistake < kGst) ++result.mistakes_before_gst;
    if (mistake >= kGst + kSettle) ++result.mistakes_after_settle;
    result.last_mistake = mistake;
  }
  return result;
}

sim::SystemModel Asynchronous() { return sim::SystemModel::Asynchronous(kMinDelay, kTailScale, kTailIndex); }
sim::SystemModel PartiallySynchronous() {
  sim::SystemModel model = sim::SystemModel::PartiallySynchronous(kGst, kMinDelay, kDelayBound);
  model.tail_scale = kTailScale;
  model.tail_index = kTailIndex;
  return model;
}
sim::SystemModel Synchronous() { return sim::SystemModel::Synchronous(kMinDelay, kDelayBound); }

void AddFigures(const ModelResult& result, RunOutcome* outcome) {
  outcome->Add(result.name + "_mistakes", static_cast<double>(result.mistakes));
  outcome->Add(result.name + "_mistakes_before_gst", static_cast<double>(result.mistakes_before_gst));
  outcome->Add(result.name + "_mistakes_after_gst_settled", static_cast<double>(result.mistakes_after_settle));
  outcome->Add(result.name + "_longest_delay_ms", ToMillisecondsDouble(result.longest_delay));
}

class SystemModels final : public Scenario {
 public:
  std::string_view name() const override { return "system-models"; }
  std::string_view section() const override { return "System Models: timing assumptions"; }
  std::string_view remedy() const override {
    return "a comparison, not a fix: partial synchrony bounds mistakes after GST (synchronous: none)";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    RunOutcome outcome;
    outcome.Add("heartbeat_interval_ms", ToMillisecondsDouble(kHeartbeatInterval));
    outcome.Add("timeout_ms", ToMillisecondsDouble(kTimeout));
    const std::string settled = "after GST+" + FormatDuration(kSettle) + " (" +
                                scenarios::FormatTrueTime(kGst + kSettle) + ")";
    if (!with_remedy) {
      const ModelResult asynchronous = RunModel(seed, Asynchronous(), "asynchronous");
      AddFigures(asynchronous, &outcome);
      // No GST in this model: the same instant as the partially synchronous run's.
      const std::string reference = "after " + scenarios::FormatTrueTime(kGst + kSettle);
      outcome.violated = asynchronous.mistakes_after_settle > 0;
      if (outcome.violated) {
        outcome.violation = "no bound on mistakes: under the asynchronous model the detector still suspected the "
                            "live sender " + std::to_string(asynchronous.mistakes_after_settle) + " times " +
                            reference + ", the last at " + scenarios::FormatTrueTime(asynchronous.last_mistake) +
                            " (a heartbeat took up to " + FormatDuration(asynchronous.longest_delay) + ")";
      }
      outcome.summary = "asynchronous: " + std::to_string(asynchronous.mistakes_before_gst) +
                        " false suspicions before " + scenarios::FormatTrueTime(kGst) + ", " +
                        std::to_string(asynchronous.mistakes_after_settle) + " " + reference +
                        " — no time after which they stop (fixed timeout " + FormatDuration(kTimeout) + " on " +
                        FormatDuration(kHeartbeatInterval) + " heartbeats)";
      return outcome;
    }
    const ModelResult partial = RunModel(seed, PartiallySynchronous(), "partially_synchronous");
    const ModelResult synchronous = RunModel(seed, Synchronous(), "synchronous");
    AddFigures(partial, &outcome);
    AddFigures(synchronous, &outcome);
    const int64_t synchronous_mistakes = synchronous.mistakes;
    std::string problems;
    if (partial.mistakes_after_settle > 0) {
      problems = "partially synchronous: " + std::to_string(partial.mistakes_after_settle) + " mistakes " + settled +
                 ", the last at " + scenarios::FormatTrueTime(partial.last_mistake);
    }
    if (synchronous_mistakes > 0) {
      problems += (problems.empty() ? "" : "; ") + std::string("synchronous: ") +
                  std::to_string(synchronous_mistakes) + " mistakes, the last at " +
                  scenarios::FormatTrueTime(synchronous.last_mistake);
    }
    outcome.violated = !problems.empty();
    outcome.violation = problems;
    outcome.summary = "partially synchronous: " + std::to_string(partial.mistakes_before_gst) +
                      " false suspicions before GST (" + scenarios::FormatTrueTime(kGst) + "), " +
                      std::to_string(partial.mistakes_after_settle) + " " + settled + "; synchronous (delay <= " +
                      FormatDuration(kDelayBound) + "): " + std::to_string(synchronous_mistakes) +
                      " — accuracy holds only once delays are bounded";
    return outcome;
  }
};

}  // namespace

const Scenario& SystemModelsScenario() {
  static const SystemModels scenario;
  return scenario;
}

}  // namespace murphy
