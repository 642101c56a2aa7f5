// murphy/sim/runner.h — one seeded simulation run of a workload under a fault
// schedule, the determinism self-check, and schedule shrinking.
//
// Contract: RunOnce builds a fresh Simulator from `config.seed`, sets up the
// workload, draws (or takes) a fault schedule, runs faults in [0, duration) and a
// quiet period after, and returns the checker's verdict with everything needed to
// reproduce it: the seed, the fault kinds, the schedule, the trace hash and the exact
// `murphy sim` replay command (TigerBeetle's VOPR: seed + binary reproduce a run).
// The schedule and the swarm kinds are drawn from generators derived from the seed but
// separate from the simulator's, so replaying a given schedule (or a subset of it,
// when shrinking) leaves the processes' and network's random streams alone.
// Shrinking is Zeller's ddmin over the schedule's actions: it returns a schedule,
// 1-minimal within the run budget, that still makes the checker fail.
// Thread safety: RunOnce shares no mutable state between calls; different seeds may
// run on different threads (the registry is read-only).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "murphy/sim/schedule.h"
#include "murphy/sim/simulator.h"
#include "murphy/sim/workload.h"

namespace murphy::sim {

struct RunConfig {
  uint64_t seed = 1;
  std::string workload = "ping";
  // Fault kinds to draw from; nullopt means swarm testing over all kinds.
  std::optional<FaultKindSet> faults;
  // Faults happen in [0, duration); a quiet period without faults follows.
  Duration duration = Seconds(10);
  Duration quiet = Seconds(10);
  // Replay this schedule instead of drawing one.
  std::optional<Schedule> schedule;
  // Not owned; null: tracing off. The runner writes a run_end line at the end.
  TraceWriter* trace = nullptr;
  uint64_t max_events = 50'000'000;
};

struct RunReport {
  uint64_t seed = 0;
  Status verdict;  // OK, or what the checker (or the event limit) found
  FaultKindSet kinds;
  Schedule schedule;
  uint64_t trace_hash = 0;  // 0 when tracing was off
  SimCounters counters;
  Instant end;
  bool failed() const { return !verdict.ok(); }
};

// Fails (INVALID_ARGUMENT) only for an unknown workload; a failed check is a report
// with a non-OK verdict.
Result<RunReport> RunOnce(const WorkloadRegistry& registry, const RunConfig& config);

// "murphy sim --seed 7 --workload ping --faults loss,crash --duration 10s".
std::string ReplayCommand(const RunConfig& config);

// Runs `config` twice with a hash-only trace; OK if both traces are identical,
// INTERNAL (naming both hashes) if not. `*hash` receives the first run's hash.
Status CheckDeterminism(const WorkloadRegistry& registry, RunConfig config, uint64_t* hash);

struct ShrinkResult {
  Schedule schedule;      // the smallest failing schedule found
  Status verdict;         // its failure
  int runs = 0;           // simulations spent
};
// Delta-debugs `failing` (a schedule that makes `config` fail) down to a smaller one
// that still fails, spending at most `max_runs` simulations. FAILED_PRECONDITION if
// `failing` does not fail.
Result<ShrinkResult> ShrinkSchedule(const WorkloadRegistry& registry, RunConfig config, const Schedule& failing,
                                    int max_runs = 300);

}  // namespace murphy::sim
