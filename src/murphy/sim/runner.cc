#include "murphy/sim/runner.h"

#include <algorithm>

namespace murphy::sim {
namespace {

// Distinct streams derived from the seed for the nemesis (not the simulator's).
constexpr uint64_t kSwarmStream = 0x5357'4152'4d00'0001ULL;     // "SWARM"
constexpr uint64_t kScheduleStream = 0x5343'4845'4400'0002ULL;  // "SCHED"

uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  uint64_t state = seed ^ stream;
  return SplitMix64(&state);
}

Duration ScheduleEnd(const Schedule& schedule) {
  Duration end = Duration::Zero();
  for (const FaultAction& action : schedule) end = Max(end, action.at + action.duration);
  return end;
}

}  // namespace

Result<RunReport> RunOnce(const WorkloadRegistry& registry, const RunConfig& config) {
  const WorkloadInfo* info = registry.Find(config.workload);
  if (info == nullptr) return InvalidArgumentError("unknown workload '" + config.workload + "'");
  std::unique_ptr<Workload> workload = info->make();

  SimOptions options;
  options.seed = config.seed;
  options.trace = config.trace;
  options.max_events = config.max_events;
  Simulator sim(options);
  workload->Setup(sim);

  RunReport report;
  report.seed = config.seed;
  NemesisOptions nemesis;
  workload->Targets(&nemesis);
  Rng swarm_rng(DeriveSeed(config.seed, kSwarmStream));
  report.kinds = config.faults.has_value() ? *config.faults : SwarmKinds(swarm_rng, FaultKindSet::All());
  if (config.schedule.has_value()) {
    report.schedule = *config.schedule;
  } else {
    nemesis.kinds = report.kinds;
    nemesis.start = Duration::Zero();
    nemesis.end = config.duration;
    Rng schedule_rng(DeriveSeed(config.seed, kScheduleStream));
    report.schedule = RandomSchedule(schedule_rng, nemesis);
  }
  if (sim.tracing()) {
    const std::string kinds = report.kinds.ToString();
    sim.TraceEvent(NodeId(0), "run_start", {{"seed", config.seed},
                                            {"workload", std::string_view(config.workload)},
                                            {"faults", std::string_view(kinds)},
                                            {"actions", uint64_t{report.schedule.size()}}});
  }
  InstallSchedule(sim, report.schedule, Instant());
  const Instant faults_end = Instant() + Max(config.duration, ScheduleEnd(report.schedule));
  const Status ran = sim.RunUntil(faults_end + config.quiet);
  report.verdict = ran.ok() ? workload->Check(sim, faults_end) : ran;
  if (sim.tracing()) {
    sim.TraceEvent(NodeId(0), "verdict", {{"ok", report.verdict.ok()},
                                          {"message", report.verdict.message()}});
    sim.TraceRunEnd();
    config.trace->Flush();
    report.trace_hash = config.trace->hash();
  }
  report.counters = sim.counters();
  report.end = sim.now();
  return report;
}

std::string ReplayCommand(const RunConfig& config) {
  std::string command = "murphy sim --seed " + std::to_string(config.seed) + " --workload " + config.workload;
  if (config.faults.has_value()) command += " --faults " + config.faults->ToString();
  command += " --duration " + FormatDuration(config.duration);
  return command;
}

Status CheckDeterminism(const WorkloadRegistry& registry, RunConfig config, uint64_t* hash) {
  uint64_t hashes[2] = {0, 0};
  for (uint64_t& run_hash : hashes) {
    TraceWriter writer;  // hash only
    config.trace = &writer;
    MURPHY_ASSIGN_OR_RETURN(const RunReport report, RunOnce(registry, config));
    run_hash = report.trace_hash;
  }
  if (hash != nullptr) *hash = hashes[0];
  if (hashes[0] != hashes[1]) {
    return InternalError("nondeterminism: seed " + std::to_string(config.seed) + " gave trace hashes " +
                         std::to_string(hashes[0]) + " and " + std::to_string(hashes[1]));
  }
  return Status::Ok();
}

Result<ShrinkResult> ShrinkSchedule(const WorkloadRegistry& registry, RunConfig config, const Schedule& failing,
                                    int max_runs) {
  config.trace = nullptr;
  ShrinkResult result;
  // Runs the seed with `candidate`; true if it still fails.
  auto fails = [&](const Schedule& candidate, Status* verdict) -> Result<bool> {
    config.schedule = candidate;
    ++result.runs;
    MURPHY_ASSIGN_OR_RETURN(const RunReport report, RunOnce(registry, config));
    if (report.failed() && verdict != nullptr) *verdict = report.verdict;
    return report.failed();
  };
  Status verdict;
  MURPHY_ASSIGN_OR_RETURN(const bool original_fails, fails(failing, &verdict));
  if (!original_fails) return FailedPreconditionError("shrink: the given schedule does not fail");
  Schedule current = failing;
  MURPHY_ASSIGN_OR_RETURN(const bool empty_fails, fails({}, &verdict));
  if (empty_fails) current.clear();

  // ddmin (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing
  // Input", 2002): try each chunk, then each complement, refining granularity.
  size_t granularity = 2;
  while (current.size() >= 2 && result.runs < max_runs) {
    const size_t chunk = (current.size() + granularity - 1) / granularity;
    bool reduced = false;
    for (size_t begin = 0; begin < current.size() && result.runs < max_runs; begin += chunk) {
      const size_t end = std::min(begin + chunk, current.size());
      Schedule subset(current.begin() + static_cast<std::ptrdiff_t>(begin),
                      current.begin() + static_cast<std::ptrdiff_t>(end));
      MURPHY_ASSIGN_OR_RETURN(const bool subset_fails, fails(subset, &verdict));
      if (subset_fails) {
        current = std::move(subset);
        granularity = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced && granularity > 2) {
      for (size_t begin = 0; begin < current.size() && result.runs < max_runs; begin += chunk) {
        const size_t end = std::min(begin + chunk, current.size());
        Schedule complement(current.begin(), current.begin() + static_cast<std::ptrdiff_t>(begin));
        complement.insert(complement.end(), current.begin() + static_cast<std::ptrdiff_t>(end), current.end());
        MURPHY_ASSIGN_OR_RETURN(const bool complement_fails, fails(complement, &verdict));
        if (complement_fails) {
          current = std::move(complement);
          granularity = std::max<size_t>(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= current.size()) break;
      granularity = std::min(granularity * 2, current.size());
    }
  }
  // The verdict of the final schedule (the last failing run may have been another).
  Status final_verdict;
  MURPHY_ASSIGN_OR_RETURN(const bool final_fails, fails(current, &final_verdict));
  MURPHY_ASSERT_MSG(final_fails, "shrink: a schedule that failed no longer fails (nondeterminism?)");
  result.schedule = std::move(current);
  result.verdict = final_verdict;
  return result;
}

}  // namespace murphy::sim
