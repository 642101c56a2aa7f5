// lww-clock-skew — "Clock Skew and Last-Write-Wins".
//
// The story: two replicas A and B of a register; A's wall clock runs seconds fast.
// Clients write one after another in real time, each to one replica, and each write
// is acknowledged and replicated to the other replica before the next one. With
// last-write-wins on wall-clock timestamps, a write taken by B shortly after one taken
// by A carries a smaller timestamp and silently loses on both replicas: an
// acknowledged write is gone and nobody is told. With hybrid logical clocks, B's clock
// is ratcheted past A's timestamp when A's write reaches it, so B's later write wins:
// causality is kept whatever the skew (within the HLC's max-offset guard).
//
// The checker knows true time: after each write has been replicated, both replicas
// must hold the latest acknowledged write; every other value is a lost write.
#include <algorithm>
#include <string>
#include <vector>

#include "murphy/clocks/hybrid_clock.h"
#include "murphy/clocks/lww_register.h"
#include "murphy/core/rng.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/trace_capture.h"

namespace murphy {
namespace {

constexpr int kWrites = 20;
constexpr WallTime kEpoch = WallTime::FromNanoseconds(1'795'694'400'000'000'000);  // 2026-11-26T12:00Z

struct Replica {
  NodeId id;
  Duration clock_offset;  // its wall clock minus true time
};

// A timestamp as the trace shows it: seconds past the epoch, HLC counter if any.
std::string Describe(WallTime timestamp) { return FormatDuration(timestamp - kEpoch); }
std::string Describe(const HlcTimestamp& timestamp) {
  return FormatDuration(timestamp.wall - kEpoch) + "+" + std::to_string(timestamp.logical);
}

// The run as the report draws it: each write on its replica's lane with the
// timestamp it got, replication as a message, and the writes the checker finds lost.
// Clock readings are the replica's wall clock (true time + its offset).
class ReplayTrace {
 public:
  ReplayTrace(scenarios::TraceCapture* capture, const Replica (&replicas)[2])
      : capture_(capture), replicas_(replicas) {}
  void Write(int replica, Duration now, std::string_view event, std::initializer_list<TraceField> fields) {
    capture_->Write(Instant() + now, replicas_[replica].id, Instant() + now,
                    kEpoch + now + replicas_[replica].clock_offset, event, fields);
  }

 private:
  scenarios::TraceCapture* capture_;
  const Replica (&replicas_)[2];
};

template <typename Timestamp, typename Stamp, typename Receive>
RunOutcome Replay(Rng& rng, const Replica (&replicas)[2], Stamp stamp, Receive receive,
                  scenarios::TraceCapture* capture) {
  ReplayTrace trace(capture, replicas);
  LwwRegister<int, Timestamp> registers[2];
  Duration now = Duration::Zero();  // true time since the start
  int lost = 0;
  std::string first_loss;
  for (int value = 1; value <= kWrites; ++value) {
    now += rng.UniformDuration(Milliseconds(200), Seconds(1));
    const int writer = static_cast<int>(rng.Uniform(2));
    const int other = 1 - writer;
    const Timestamp timestamp = stamp(writer, now);
    registers[writer].Write(value, timestamp, replicas[writer].id);
    if (capture->enabled()) {
      const std::string text = Describe(timestamp);
      trace.Write(writer, now, "write_acknowledged", {{"key", std::string_view("x")}, {"value", int64_t{value}},
                                                      {"timestamp", std::string_view(text)}});
      trace.Write(writer, now, "send", {{"target", uint64_t{replicas[other].id.value()}}, {"message", uint64_t(value)},
                                        {"bytes", uint64_t{16}}});
    }
    // Replication reaches the other replica well before the next write.
    now += rng.UniformDuration(Milliseconds(5), Milliseconds(50));
    receive(other, now, registers[writer].current()->timestamp);
    registers[other].Merge(registers[writer]);
    registers[writer].Merge(registers[other]);
    if (capture->enabled()) {
      trace.Write(other, now, "deliver", {{"source", uint64_t{replicas[writer].id.value()}},
                                          {"message", uint64_t(value)}, {"bytes", uint64_t{16}}});
    }
    for (const auto& replica : registers) {
      if (replica.current()->value != value) {
        if (capture->enabled()) {
          const std::string kept = Describe(replica.current()->timestamp);
          trace.Write(writer, now, "write_lost",
                      {{"key", std::string_view("x")}, {"value", int64_t{value}},
                       {"kept_value", int64_t{replica.current()->value}}, {"kept_timestamp", std::string_view(kept)}});
        }
        ++lost;
        if (first_loss.empty()) {
          first_loss = "write x=" + std::to_string(value) + " (acknowledged by node " +
                       std::to_string(replicas[writer].id.value()) + " at true time +" +
                       FormatDuration(now) + ") lost to the earlier write x=" +
                       std::to_string(replica.current()->value);
        }
        break;
      }
    }
  }
  RunOutcome outcome;
  outcome.Add("writes", kWrites);
  outcome.Add("writes_lost", lost);
  outcome.violated = lost > 0;
  if (outcome.violated) outcome.violation = first_loss + "; " + std::to_string(lost) + " writes lost in all";
  outcome.summary = std::to_string(lost) + " of " + std::to_string(kWrites) + " acknowledged writes silently lost";
  return outcome;
}

class LwwClockSkew final : public Scenario {
 public:
  std::string_view name() const override { return "lww-clock-skew"; }
  std::string_view section() const override { return "Clock Skew and Last-Write-Wins"; }
  std::string_view remedy() const override { return "hybrid logical clocks"; }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const override {
    Rng rng(seed);
    // A runs 2 to 8 seconds fast (the chapter: +5 s); B is within 10 ms of true time.
    const Replica replicas[2] = {{NodeId(1), rng.UniformDuration(Seconds(2), Seconds(8))},
                                 {NodeId(2), rng.UniformDuration(Milliseconds(-10), Milliseconds(10))}};
    const Duration skew = replicas[0].clock_offset - replicas[1].clock_offset;
    scenarios::TraceCapture capture(options, with_remedy ? "hybrid logical clock timestamps" : "wall-clock timestamps",
                                    kEpoch);
    capture.NameLane(replicas[0].id, "A (clock fast)");
    capture.NameLane(replicas[1].id, "B");
    RunOutcome outcome;
    if (!with_remedy) {
      auto wall_stamp = [&](int writer, Duration now) { return kEpoch + now + replicas[writer].clock_offset; };
      auto ignore = [](int, Duration, WallTime) {};
      outcome = Replay<WallTime>(rng, replicas, wall_stamp, ignore, &capture);
    } else {
      Duration now = Duration::Zero();
      std::vector<HybridClock> clocks;
      for (const Replica& replica : replicas) {
        // The guard must admit the skew for this story; CockroachDB's 500 ms default
        // would instead refuse A's timestamps and fence the node with the bad clock.
        clocks.emplace_back([&now, &replica] { return kEpoch + now + replica.clock_offset; }, Seconds(10));
      }
      int refused = 0;
      auto hlc_stamp = [&](int writer, Duration at) {
        now = at;
        return clocks[static_cast<size_t>(writer)].Now();
      };
      auto hlc_receive = [&](int receiver, Duration at, HlcTimestamp remote) {
        now = at;
        if (!clocks[static_cast<size_t>(receiver)].Update(remote).ok()) ++refused;
      };
      outcome = Replay<HlcTimestamp>(rng, replicas, hlc_stamp, hlc_receive, &capture);
      outcome.Add("updates_refused_by_max_offset", refused);
    }
    outcome.Add("clock_skew_ms", ToMillisecondsDouble(skew));
    outcome.summary += " (node 1's clock " + FormatDuration(skew) + " ahead)";
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& LwwClockSkewScenario() {
  static const LwwClockSkew scenario;
  return scenario;
}

}  // namespace murphy
