// `murphy sim`: runs seeded simulations of a workload under faults, reports failures
// with their replay command, checks determinism, and shrinks failing schedules.
//
// Seeds run in parallel on std::threads (each seed single-threaded, sharing nothing
// mutable but an atomic work counter and its own result slot); results are printed in
// seed order, so the output does not depend on scheduling.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "murphy/cli/commands.h"
#include "murphy/locksvc/locks_workload.h"
#include "murphy/node/kv_workload.h"
#include "murphy/sim/runner.h"

namespace murphy::cli {
namespace {

using sim::FaultKindSet;
using sim::RunConfig;
using sim::RunReport;

struct SimFlags {
  uint64_t seed = 1;
  std::string seeds;
  std::string workload = "ping";
  std::string faults = "swarm";
  std::string duration = "10s";
  std::string quiet = "10s";
  std::string trace_path;
  std::string schedule_path;
  bool print_schedule = false;
  bool shrink = false;
  bool check_determinism = false;
  bool list_workloads = false;
  unsigned jobs = 0;
  uint64_t max_events = 50'000'000;
};

// "250ms", "10s", "2m", "1500us", "7ns".
std::optional<Duration> ParseDurationText(std::string_view text) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end == text.data() || value < 0) return std::nullopt;
  const std::string_view unit(end, static_cast<size_t>(text.data() + text.size() - end));
  if (unit == "ns") return Nanoseconds(value);
  if (unit == "us") return Microseconds(value);
  if (unit == "ms") return Milliseconds(value);
  if (unit == "s") return Seconds(value);
  if (unit == "m") return Minutes(value);
  return std::nullopt;
}

// "N" means 1..N; "A..B" means A..B inclusive.
std::optional<std::pair<uint64_t, uint64_t>> ParseSeedRange(std::string_view text) {
  auto number = [](std::string_view part) -> std::optional<uint64_t> {
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (error != std::errc() || end != part.data() + part.size() || part.empty()) return std::nullopt;
    return value;
  };
  const size_t dots = text.find("..");
  if (dots == std::string_view::npos) {
    const auto count = number(text);
    if (!count || *count == 0) return std::nullopt;
    return std::make_pair(uint64_t{1}, *count);
  }
  const auto low = number(text.substr(0, dots));
  const auto high = number(text.substr(dots + 2));
  if (!low || !high || *low > *high) return std::nullopt;
  return std::make_pair(*low, *high);
}

int UsageError(const std::string& message) {
  std::fprintf(stderr, "murphy sim: %s (see murphy sim --help)\n", message.c_str());
  return 2;
}

std::string Replay(const RunConfig& config, const SimFlags& flags) {
  std::string command = sim::ReplayCommand(config);
  if (!flags.quiet.empty() && flags.quiet != "10s") command += " --quiet " + flags.quiet;
  if (!flags.schedule_path.empty()) command += " --schedule " + flags.schedule_path;
  return command;
}

int RunSimCommand(const SimFlags& flags, bool seeds_given) {
  // The built-in workloads plus those of higher modules (the registry is a value).
  sim::WorkloadRegistry registry = sim::WorkloadRegistry::Builtin();
  node::RegisterKvWorkloads(registry);
  locksvc::RegisterLocksWorkloads(registry);
  if (flags.list_workloads) {
    for (const sim::WorkloadInfo& info : registry.all()) {
      std::printf("%-16s %s\n", info.name.c_str(), info.description.c_str());
    }
    return 0;
  }
  if (registry.Find(flags.workload) == nullptr) {
    std::string names;
    for (const sim::WorkloadInfo& info : registry.all()) names += (names.empty() ? "" : ", ") + info.name;
    return UsageError("unknown workload '" + flags.workload + "'; available: " + names);
  }
  RunConfig base;
  base.workload = flags.workload;
  base.max_events = flags.max_events;
  if (flags.faults != "swarm") {
    const Result<FaultKindSet> kinds = sim::ParseFaultKinds(flags.faults);
    if (!kinds.ok()) return UsageError(std::string(kinds.status().message()));
    base.faults = *kinds;
  }
  const auto duration = ParseDurationText(flags.duration);
  if (!duration) return UsageError("bad --duration '" + flags.duration + "' (use e.g. 500ms, 10s, 2m)");
  const auto quiet = ParseDurationText(flags.quiet);
  if (!quiet) return UsageError("bad --quiet '" + flags.quiet + "' (use e.g. 500ms, 10s, 2m)");
  base.duration = *duration;
  base.quiet = *quiet;
  if (!flags.schedule_path.empty()) {
    std::ifstream file(flags.schedule_path);
    if (!file) return UsageError("cannot read --schedule file '" + flags.schedule_path + "'");
    std::stringstream content;
    content << file.rdbuf();
    Result<sim::Schedule> schedule = sim::ParseScheduleJson(content.str());
    if (!schedule.ok()) return UsageError(std::string(schedule.status().message()));
    base.schedule = std::move(*schedule);
  }

  uint64_t first = flags.seed;
  uint64_t last = flags.seed;
  if (seeds_given) {
    const auto range = ParseSeedRange(flags.seeds);
    if (!range) return UsageError("bad --seeds '" + flags.seeds + "' (use N for 1..N, or A..B)");
    first = range->first;
    last = range->second;
    if (last - first >= 10'000'000) return UsageError("--seeds: at most 10 million seeds per call");
  }
  const uint64_t count = last - first + 1;
  if (!flags.trace_path.empty() && count != 1) return UsageError("--trace needs a single seed");

  // A single traced run.
  if (!flags.trace_path.empty()) {
    std::FILE* file = std::fopen(flags.trace_path.c_str(), "w");
    if (file == nullptr) return UsageError("cannot write --trace file '" + flags.trace_path + "'");
    sim::TraceOptions options;
    options.file = file;
    sim::TraceWriter writer(options);
    base.seed = first;
    base.trace = &writer;
    const Result<RunReport> report = sim::RunOnce(registry, base);
    writer.Flush();
    std::fclose(file);
    base.trace = nullptr;
    if (!report.ok()) return UsageError(std::string(report.status().message()));
    std::printf("seed %llu workload %s faults %s: %s\ntrace %s: %llu lines, hash %016llx\n",
                static_cast<unsigned long long>(first), base.workload.c_str(), report->kinds.ToString().c_str(),
                report->verdict.ToString().c_str(), flags.trace_path.c_str(),
                static_cast<unsigned long long>(writer.lines()), static_cast<unsigned long long>(writer.hash()));
    if (flags.print_schedule) std::printf("%s", sim::FormatSchedule(report->schedule).c_str());
    if (report->failed()) std::printf("replay: %s\n", Replay(base, flags).c_str());
    return report->failed() ? 1 : 0;
  }

  struct Outcome {
    Status status;  // run error or determinism mismatch
    std::optional<RunReport> report;
    uint64_t hash = 0;
  };
  std::vector<Outcome> outcomes(count);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> done{0};
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  const unsigned jobs = static_cast<unsigned>(std::min<uint64_t>(count, flags.jobs == 0 ? hardware : flags.jobs));
  auto work = [&] {
    for (uint64_t index = next.fetch_add(1); index < count; index = next.fetch_add(1)) {
      RunConfig config = base;
      config.seed = first + index;
      Outcome& outcome = outcomes[index];
      if (flags.check_determinism) outcome.status = sim::CheckDeterminism(registry, config, &outcome.hash);
      if (outcome.status.ok()) {
        Result<RunReport> report = sim::RunOnce(registry, config);
        if (report.ok()) {
          outcome.report = std::move(*report);
        } else {
          outcome.status = report.status();
        }
      }
      done.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < jobs; ++i) threads.emplace_back(work);
  // Progress for long runs, on stderr and only on a terminal. Reading a real clock
  // here is fine: it only paces the display, never a simulation.
  if (count > 1 && isatty(STDERR_FILENO) == 1) {
    while (done.load() < count) {
      std::fprintf(stderr, "\r%llu/%llu seeds", static_cast<unsigned long long>(done.load()),
                   static_cast<unsigned long long>(count));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::fprintf(stderr, "\r%llu/%llu seeds\n", static_cast<unsigned long long>(count),
                 static_cast<unsigned long long>(count));
  }
  for (std::thread& thread : threads) thread.join();

  uint64_t failures = 0;
  for (uint64_t index = 0; index < count; ++index) {
    const Outcome& outcome = outcomes[index];
    RunConfig config = base;
    config.seed = first + index;
    const bool failed = !outcome.status.ok() || outcome.report->failed();
    if (failed) ++failures;
    if (!failed && count > 1 && !flags.print_schedule) continue;
    if (!outcome.status.ok()) {
      std::printf("FAIL seed %llu: %s\n  replay: %s --check-determinism\n", static_cast<unsigned long long>(config.seed),
                  outcome.status.ToString().c_str(), Replay(config, flags).c_str());
      continue;
    }
    const RunReport& report = *outcome.report;
    std::printf("%s seed %llu workload %s faults %s: %s (%llu events, %llu messages, %zu fault actions)\n",
                failed ? "FAIL" : "ok", static_cast<unsigned long long>(config.seed), config.workload.c_str(),
                report.kinds.ToString().c_str(), report.verdict.ToString().c_str(),
                static_cast<unsigned long long>(report.counters.events),
                static_cast<unsigned long long>(report.counters.messages_sent), report.schedule.size());
    if (flags.check_determinism) {
      std::printf("  deterministic: two runs gave trace hash %016llx\n", static_cast<unsigned long long>(outcome.hash));
    }
    if (flags.print_schedule) std::printf("%s", sim::FormatSchedule(report.schedule).c_str());
    if (!failed) continue;
    std::printf("  replay: %s\n", Replay(config, flags).c_str());
    if (flags.shrink) {
      const Result<sim::ShrinkResult> shrunk = sim::ShrinkSchedule(registry, config, report.schedule);
      if (!shrunk.ok()) {
        std::printf("  shrink: %s\n", shrunk.status().ToString().c_str());
        continue;
      }
      std::printf("  shrunk %zu -> %zu fault actions in %d runs; still fails with: %s\n", report.schedule.size(),
                  shrunk->schedule.size(), shrunk->runs, shrunk->verdict.ToString().c_str());
      std::printf("%s", sim::FormatSchedule(shrunk->schedule).c_str());
      std::printf("  as JSON (save it and replay with --schedule FILE):\n%s\n",
                  sim::ScheduleToJson(shrunk->schedule).c_str());
    }
  }
  if (count > 1) {
    std::printf("%llu seeds (%llu..%llu), workload %s: %llu failed\n", static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(last), base.workload.c_str(),
                static_cast<unsigned long long>(failures));
  }
  return failures > 0 ? 1 : 0;
}

}  // namespace

void AddSimCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SimFlags>();
  CLI::App* command = app.add_subcommand("sim", "Run seeded deterministic simulations of a workload under faults");
  command->add_option("--seed", flags->seed, "Run this seed (default 1)");
  CLI::Option* seeds = command->add_option("--seeds", flags->seeds, "Run seeds 1..N (\"N\") or A..B (\"A..B\")");
  command->add_option("--workload", flags->workload, "Workload to run (default ping; --list-workloads)");
  command->add_option("--faults", flags->faults,
                      "Fault kinds, comma separated: loss,duplicate,corrupt,delay,reorder,clog,partition,pause,"
                      "suspend,slow,crash,clock-step,clock-drift,clock-strobe,disk; or all, none, swarm (default: "
                      "swarm, a random subset per seed)");
  command->add_option("--duration", flags->duration, "Fault phase length, e.g. 10s (default 10s)");
  command->add_option("--quiet", flags->quiet, "Fault-free phase after it, for liveness checks (default 10s)");
  command->add_option("--trace", flags->trace_path, "Write the JSON-lines trace of the (single) run to FILE");
  command->add_option("--schedule", flags->schedule_path, "Replay this JSON fault schedule instead of drawing one");
  command->add_flag("--print-schedule", flags->print_schedule, "Print each run's fault schedule");
  command->add_flag("--shrink", flags->shrink, "Delta-debug the schedule of every failing seed to a minimal one");
  command->add_flag("--check-determinism", flags->check_determinism,
                    "Run every seed twice and compare trace hashes");
  command->add_flag("--list-workloads", flags->list_workloads, "List the workloads and exit");
  command->add_option("--jobs", flags->jobs, "Threads for --seeds (default: all cores)");
  command->add_option("--max-events", flags->max_events, "Event limit per run (default 50 million)");
  command->callback([flags, seeds, exit_code] { *exit_code = RunSimCommand(*flags, seeds->count() > 0); });
}

}  // namespace murphy::cli
