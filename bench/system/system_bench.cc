// system_bench — the whole-system benchmark: murphyd alone (issue 6) and side by side
// with etcd (issue 8), on one machine, in one run.
//
// It starts a 3-member murphyd cluster and a 3-member etcd cluster on loopback (both
// durable: murphyd fsyncs its WAL before acknowledging, etcd runs with its default
// fsync), one at a time, drives the same workloads against each with the same client
// design (N clients, each its own connection, one request in flight, all on one asio
// loop in this process), stops everything, and writes bench-results/system.json, a
// table on stdout and bench-results/system.svg. See docs/benchmarks.md.
//
// Back of the envelope (what bounds the figures on a 2-core loopback machine): a
// loopback round trip is ~30-50 µs; an fsync on the machine's disk is measured by
// neither system here but dominates every commit (each write waits for the leader's
// and one follower's fsync); so a single client cannot beat ~1 RTT + 2 fsyncs per
// mutation, a lock cycle is two mutations, and throughput with many clients is
// bounded by how many commands one group commit (one fsync) carries and by the two
// cores shared by three servers and the client.
//
// etcd is driven through its gRPC JSON gateway (HTTP/1.1 + JSON, keep-alive
// connections), not native gRPC: gRPC++ is not a dependency of murphy. The gateway
// adds JSON transcoding and a loopback gRPC hop inside each etcd member, so etcd's
// figures here are worse than a native gRPC client would see; the report says so.
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <asio.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "bench/system/bench_cluster.h"
#include "bench/system/system_driver.h"
#include "bench/system/workload_runner.h"

namespace murphy::bench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> kWorkloads = {"lock_cycle", "writes", "failover", "false_elections",
                                             "keepalive"};

struct BenchOptions {
  bool quick = false;
  int trials = 20;
  int pause_trials = 5;
  std::vector<std::string> only;
  std::vector<std::string> systems = {"murphy", "etcd"};
  std::vector<int> write_clients = {1, 16, 64};
  std::vector<int> pauses_ms = {50, 100, 200, 400};
  int leases = 10'000;
  int keepalive_clients = 16;
  int failover_writers = 4;
  double measure_seconds = 5;
  double warmup_seconds = 1;
  std::string output_directory = "bench-results";
  std::string work_directory;
  std::string murphyd_path = MURPHY_MURPHYD_PATH;
  std::string etcd_path = "etcd";
  bool keep = false;
  // Matched aggressive setting: election timeout 50 ms, heartbeat 10 ms, for both.
  int aggressive_tick_ms = 5;
  int aggressive_election_ticks = 10;
  int aggressive_etcd_heartbeat_ms = 10;
  int aggressive_etcd_election_ms = 50;
};

bool Selected(const BenchOptions& options, const std::string& workload) {
  return options.only.empty() ||
         std::find(options.only.begin(), options.only.end(), workload) != options.only.end();
}

Duration SecondsToDuration(double seconds) { return Microseconds(static_cast<int64_t>(seconds * 1e6)); }

double Round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

json LatencySummary(const LoopStats& stats) {
  return {{"completed", stats.completed},
          {"errors", stats.errors},
          {"abandoned", stats.abandoned},
          {"seconds", Round(stats.seconds, 3)},
          {"throughput_per_s", Round(stats.throughput_per_second(), 1)},
          {"p50_us", Round(Percentile(stats.latency_us, 50), 1)},
          {"p99_us", Round(Percentile(stats.latency_us, 99), 1)},
          {"max_us", Round(Percentile(stats.latency_us, 100), 1)}};
}

void Log(const std::string& line) {
  std::fprintf(stderr, "[system_bench] %s\n", line.c_str());
  std::fflush(stderr);
}

// --- Failover --------------------------------------------------------------------------

// kill -9 the leader while `writers` clients write; the time from the kill to the
// first successful write that was started after the kill (it cannot have gone
// through the killed member). The member is restarted between trials.
Result<json> RunFailover(asio::io_context& loop, BenchCluster& cluster, SystemDriver& driver, int trials,
                         int writers) {
  Status prepared = driver.PrepareWriters(writers);
  if (!prepared.ok()) return prepared;
  std::vector<double> samples_ms;
  int failed_trials = 0;
  for (int trial = 0; trial < trials; ++trial) {
    // Start from a steady state: a follower still catching up from earlier load
    // would have to finish that before the survivors can commit anything.
    Result<Duration> caught_up = cluster.WaitCaughtUp(Seconds(120));
    if (!caught_up.ok()) return caught_up.status();
    Result<int> leader = cluster.WaitLeader(Seconds(20));
    if (!leader.ok()) return leader.status();
    driver.SetPreferredMember(*leader);
    struct TrialState {
      std::optional<BenchClock::time_point> killed;
      std::optional<BenchClock::time_point> first_success;
      bool stop = false;
      int active = 0;
    };
    auto state = std::make_shared<TrialState>();
    auto issue = std::make_shared<std::function<void(int)>>();
    *issue = [&loop, &driver, state, weak = std::weak_ptr(issue)](int writer) {
      if (state->stop) {
        --state->active;
        return;
      }
      const BenchClock::time_point started = BenchClock::now();
      driver.Write(writer, [&loop, state, weak, writer, started](bool ok) {
        if (ok && state->killed && started >= *state->killed && !state->first_success) {
          state->first_success = BenchClock::now();
        }
        std::shared_ptr<std::function<void(int)>> next = weak.lock();
        if (!next) return;
        if (ok) {
          (*next)(writer);
          return;
        }
        auto timer = std::make_shared<asio::steady_timer>(loop, std::chrono::milliseconds(10));
        timer->async_wait([timer, next, writer](const asio::error_code&) { (*next)(writer); });
      });
    };
    state->active = writers;
    for (int writer = 0; writer < writers; ++writer) (*issue)(writer);
    RunLoopUntil(
        loop, [] { return false; }, Milliseconds(300));
    state->killed = BenchClock::now();
    cluster.Member(*leader)->Kill();
    const bool recovered = RunLoopUntil(
        loop, [&] { return state->first_success.has_value(); }, Seconds(30));
    state->stop = true;
    RunLoopUntil(
        loop, [&] { return state->active == 0; }, Seconds(15));
    issue.reset();
    if (recovered) {
      samples_ms.push_back(
          std::chrono::duration<double, std::milli>(*state->first_success - *state->killed).count());
    } else {
      ++failed_trials;
    }
    Log(cluster.system() + " failover trial " + std::to_string(trial + 1) + "/" + std::to_string(trials) +
        ": " +
        (recovered ? std::to_string(Round(samples_ms.back(), 1)) + " ms"
                   : "no write within 30 s; last error: " + driver.last_error()));
    Status restarted = cluster.Restart(*leader, Seconds(60));
    if (!restarted.ok()) return restarted;
  }
  json result = {{"trials", trials},
                 {"writers", writers},
                 {"failed_trials", failed_trials},
                 {"last_error", driver.last_error()},
                 {"p50_ms", Round(Percentile(samples_ms, 50), 1)},
                 {"p99_ms", Round(Percentile(samples_ms, 99), 1)},
                 {"max_ms", Round(Percentile(samples_ms, 100), 1)},
                 {"samples_ms", json::array()}};
  for (const double sample : samples_ms) result["samples_ms"].push_back(Round(sample, 1));
  return result;
}

// --- False elections --------------------------------------------------------------------

// SIGSTOP the leader for each pause length, SIGCONT, let any election finish, and
// count elections (raft term increments, the highest term any member reports) and
// leader changes (a different leader afterwards). No client load.
Result<json> RunFalseElections(BenchCluster& cluster, const std::vector<int>& pauses_ms, int trials,
                               Duration settle) {
  json result = json::object();
  for (const int pause_ms : pauses_ms) {
    uint64_t elections = 0;
    int leader_changes = 0;
    for (int trial = 0; trial < trials; ++trial) {
      Result<int> leader = cluster.WaitLeader(Seconds(20));
      if (!leader.ok()) return leader.status();
      Result<uint64_t> term_before = cluster.MaxTerm();
      if (!term_before.ok()) return term_before.status();
      ChildProcess* member = cluster.Member(*leader);
      member->Signal(SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
      member->Signal(SIGCONT);
      std::this_thread::sleep_for(std::chrono::nanoseconds(settle.nanoseconds()));
      Result<int> leader_after = cluster.WaitLeader(Seconds(20));
      if (!leader_after.ok()) return leader_after.status();
      Result<uint64_t> term_after = cluster.MaxTerm();
      if (!term_after.ok()) return term_after.status();
      elections += *term_after - *term_before;
      if (*leader_after != *leader) ++leader_changes;
    }
    Log(cluster.system() + " pause " + std::to_string(pause_ms) + " ms: " + std::to_string(elections) +
        " election(s), " + std::to_string(leader_changes) + " leader change(s) in " + std::to_string(trials) +
        " trials");
    result[std::to_string(pause_ms)] = {
        {"trials", trials}, {"elections", elections}, {"leader_changes", leader_changes}};
  }
  return result;
}

// --- One system under one timing ---------------------------------------------------------

ClusterTiming DefaultTiming() { return ClusterTiming{}; }

ClusterTiming AggressiveTiming(const BenchOptions& options) {
  ClusterTiming timing;
  timing.label = "aggressive";
  timing.murphy_tick_ms = options.aggressive_tick_ms;
  timing.murphy_election_ticks = options.aggressive_election_ticks;
  timing.etcd_heartbeat_ms = options.aggressive_etcd_heartbeat_ms;
  timing.etcd_election_ms = options.aggressive_etcd_election_ms;
  return timing;
}

// The longest election timeout a member may draw, for the settle time after a pause.
Duration MaxElectionTimeout(const std::string& system, const ClusterTiming& timing) {
  if (system == "murphy") {
    const int tick = timing.murphy_tick_ms.value_or(10);
    const int ticks = timing.murphy_election_ticks.value_or(10);
    return Milliseconds(2 * tick * ticks);
  }
  return Milliseconds(2 * timing.etcd_election_ms.value_or(1000));
}

std::string JoinCommand(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& argument : argv) out += (out.empty() ? "" : " ") + argument;
  return out;
}

// Runs the selected workloads of `system` on a fresh cluster with `timing`; fills
// `out` (the system's section of the report). Errors end the system's run.
// A failed workload is recorded in out["errors"] and the next one runs.
void RecordError(json& out, const std::string& what, const Status& status) {
  Log(what + " failed: " + status.ToString());
  out["errors"].push_back(what + ": " + status.ToString());
}

// Grants the leases, then renews them in a closed loop, measuring the leader's CPU
// over the window.
Status RunKeepAlive(asio::io_context& loop, const BenchOptions& options, const std::string& system,
                    BenchCluster& cluster, SystemDriver& driver, ClosedLoopOptions loop_options, json& out) {
  const BenchClock::time_point grant_start = BenchClock::now();
  Status prepared = driver.PrepareLeases(options.leases, options.keepalive_clients);
  if (!prepared.ok()) return prepared;
  const double grant_seconds = std::chrono::duration<double>(BenchClock::now() - grant_start).count();
  Result<int> keepalive_leader = cluster.WaitLeader(Seconds(20));
  if (!keepalive_leader.ok()) return keepalive_leader.status();
  ChildProcess* leader_process = cluster.Member(*keepalive_leader);
  double cpu_start = 0;
  double cpu_end = 0;
  BenchClock::time_point window_start;
  BenchClock::time_point window_end;
  loop_options.clients = options.keepalive_clients;
  loop_options.on_window_open = [&] {
    window_start = BenchClock::now();
    cpu_start = leader_process->CpuSeconds().ok() ? *leader_process->CpuSeconds() : 0;
  };
  loop_options.on_window_close = [&] {
    window_end = BenchClock::now();
    cpu_end = leader_process->CpuSeconds().ok() ? *leader_process->CpuSeconds() : 0;
  };
  const LoopStats stats = RunClosedLoop(
      loop, loop_options, [&](int worker, DoneCallback done) { driver.KeepAlive(worker, std::move(done)); });
  loop_options.on_window_open = nullptr;
  loop_options.on_window_close = nullptr;
  const double window = std::chrono::duration<double>(window_end - window_start).count();
  json keepalive = LatencySummary(stats);
  keepalive["leases"] = options.leases;
  keepalive["clients"] = options.keepalive_clients;
  keepalive["grant_seconds"] = Round(grant_seconds, 2);
  keepalive["leader_cpu_percent"] = window > 0 ? Round(100.0 * (cpu_end - cpu_start) / window, 1) : 0.0;
  keepalive["client_connections"] = driver.connections();
  out["keepalive"] = keepalive;
  Log(system + " keepalives: " + std::to_string(stats.throughput_per_second()) + "/s with " +
      std::to_string(options.leases) + " leases, leader CPU " + keepalive["leader_cpu_percent"].dump() + "%");
  return Status::Ok();
}

Status RunSystem(asio::io_context& loop, const BenchOptions& options, const std::string& system,
                 const ClusterTiming& timing, const std::string& phase,
                 const std::vector<std::string>& workloads, json& out) {
  const auto in_phase = [&](const std::string& workload) {
    return Selected(options, workload) &&
           std::find(workloads.begin(), workloads.end(), workload) != workloads.end();
  };
  ClusterSetup setup;
  setup.work_directory = options.work_directory + "/" + system + "-" + timing.label + "-" + phase;
  setup.murphyd_path = options.murphyd_path;
  setup.etcd_path = options.etcd_path;
  setup.timing = timing;
  setup.keep_work_directory = options.keep;
  std::unique_ptr<BenchCluster> cluster =
      system == "murphy" ? BenchCluster::CreateMurphy(setup) : BenchCluster::CreateEtcd(setup);
  Log("starting " + system + " (" + timing.label + ") in " + setup.work_directory);
  Status started = cluster->Start(Seconds(60));
  if (!started.ok()) return started;
  out["settings"][timing.label] = json::array();
  for (int i = 0; i < cluster->size(); ++i)
    out["settings"][timing.label].push_back(JoinCommand(cluster->CommandLine(i)));
  std::unique_ptr<SystemDriver> driver = system == "murphy" ? SystemDriver::CreateMurphy(loop, *cluster)
                                                            : SystemDriver::CreateEtcd(loop, *cluster);
  Result<int> leader = cluster->WaitLeader(Seconds(20));
  if (!leader.ok()) return leader.status();
  driver->SetPreferredMember(*leader);

  ClosedLoopOptions loop_options;
  loop_options.warmup = SecondsToDuration(options.warmup_seconds);
  loop_options.measure = SecondsToDuration(options.measure_seconds);

  if (in_phase("lock_cycle")) {
    Status prepared = driver->PrepareLockCycle();
    if (!prepared.ok()) return prepared;
    loop_options.clients = 1;
    const LoopStats stats = RunClosedLoop(
        loop, loop_options, [&](int, DoneCallback done) { driver->LockCycle(std::move(done)); });
    out["lock_cycle"] = LatencySummary(stats);
    Log(system + " lock cycle: p50 " + std::to_string(Percentile(stats.latency_us, 50)) + " us, p99 " +
        std::to_string(Percentile(stats.latency_us, 99)) + " us");
  }
  if (in_phase("writes")) {
    const int most = *std::max_element(options.write_clients.begin(), options.write_clients.end());
    Status prepared = driver->PrepareWriters(most);
    if (!prepared.ok()) return prepared;
    for (const int clients : options.write_clients) {
      loop_options.clients = clients;
      const LoopStats stats = RunClosedLoop(
          loop, loop_options, [&](int writer, DoneCallback done) { driver->Write(writer, std::move(done)); });
      out["writes"][std::to_string(clients)] = LatencySummary(stats);
      // How far behind the load left the slowest member (see docs/benchmarks.md).
      Result<Duration> caught_up = cluster->WaitCaughtUp(Seconds(options.quick ? 10 : 30));
      out["writes"][std::to_string(clients)]["catch_up_after_s"] =
          caught_up.ok() ? json(Round(static_cast<double>(caught_up->nanoseconds()) / 1e9, 3))
                         : json(nullptr);
      if (!caught_up.ok())
        RecordError(out, "writes " + std::to_string(clients) + " catch-up", caught_up.status());
      Log(system + " writes, " + std::to_string(clients) +
          " clients: " + std::to_string(stats.throughput_per_second()) + "/s, p50 " +
          std::to_string(Percentile(stats.latency_us, 50)) + " us; all members caught up " +
          out["writes"][std::to_string(clients)]["catch_up_after_s"].dump() + " s after the load");
    }
  }
  if (in_phase("failover")) {
    Result<json> failover = RunFailover(loop, *cluster, *driver, options.trials, options.failover_writers);
    if (failover.ok()) {
      out["failover"][timing.label] = *failover;
    } else {
      RecordError(out, "failover (" + timing.label + ")", failover.status());
    }
  }
  if (in_phase("false_elections")) {
    const Duration settle = std::max(Milliseconds(500), MaxElectionTimeout(system, timing));
    Result<json> elections = RunFalseElections(*cluster, options.pauses_ms, options.pause_trials, settle);
    if (elections.ok()) {
      out["false_elections"][timing.label] = *elections;
    } else {
      RecordError(out, "false elections (" + timing.label + ")", elections.status());
    }
  }
  if (in_phase("keepalive")) {
    Status keepalive = RunKeepAlive(loop, options, system, *cluster, *driver, loop_options, out);
    if (!keepalive.ok()) RecordError(out, "keepalive", keepalive);
  }
  driver.reset();
  // Let the loop drop what the destroyed clients left queued.
  RunLoopUntil(
      loop, [] { return false; }, Milliseconds(50));
  cluster->StopAll();
  return Status::Ok();
}

// --- Report ----------------------------------------------------------------------------

std::string Command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  ::pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// /proc/loadavg's first three fields: other work on the machine skews every figure.
std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five, fifteen;
  file >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

json MachineInfo(const BenchOptions& options) {
  utsname names{};
  ::uname(&names);
  std::string cpu_model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu_model = line.substr(line.find(':') + 2);
      break;
    }
  }
  const std::string etcd_version = Command(options.etcd_path + " --version 2>/dev/null | head -1");
  return {{"nproc", std::thread::hardware_concurrency()},
          {"kernel", std::string(names.sysname) + " " + names.release},
          {"machine", names.machine},
          {"cpu_model", cpu_model},
          {"compiler", __VERSION__},
          {"etcd_version", etcd_version},
          {"murphy_commit", Command("git rev-parse --short HEAD 2>/dev/null")},
          {"loadavg_at_start", LoadAverage()}};
}

std::optional<double> Lookup(const json& root, const std::vector<std::string>& path) {
  const json* node = &root;
  for (const std::string& key : path) {
    if (!node->is_object() || !node->contains(key)) return std::nullopt;
    node = &(*node)[key];
  }
  if (!node->is_number()) return std::nullopt;
  return node->get<double>();
}

json Ratio(const json& systems, const std::vector<std::string>& path) {
  const std::optional<double> murphy =
      systems.contains("murphy") ? Lookup(systems["murphy"], path) : std::nullopt;
  const std::optional<double> etcd = systems.contains("etcd") ? Lookup(systems["etcd"], path) : std::nullopt;
  if (!murphy || !etcd || *etcd == 0) return nullptr;
  return Round(*murphy / *etcd, 4);
}

struct RatioSpec {
  std::string key;
  std::vector<std::string> path;
  bool higher_is_better;
};

std::vector<RatioSpec> RatioSpecs(const BenchOptions& options) {
  std::vector<RatioSpec> specs = {{"lock_cycle_p50", {"lock_cycle", "p50_us"}, false},
                                  {"lock_cycle_p99", {"lock_cycle", "p99_us"}, false}};
  for (const int clients : options.write_clients) {
    const std::string c = std::to_string(clients);
    specs.push_back({"write_throughput_" + c, {"writes", c, "throughput_per_s"}, true});
    specs.push_back({"write_p50_" + c, {"writes", c, "p50_us"}, false});
    specs.push_back({"write_p99_" + c, {"writes", c, "p99_us"}, false});
  }
  specs.push_back({"keepalive_throughput", {"keepalive", "throughput_per_s"}, true});
  specs.push_back({"keepalive_leader_cpu", {"keepalive", "leader_cpu_percent"}, false});
  specs.push_back({"failover_p50", {"failover", "defaults", "p50_ms"}, false});
  specs.push_back({"failover_p99", {"failover", "defaults", "p99_ms"}, false});
  specs.push_back({"failover_aggressive_p50", {"failover", "aggressive", "p50_ms"}, false});
  specs.push_back({"failover_aggressive_p99", {"failover", "aggressive", "p99_ms"}, false});
  return specs;
}

json Targets(const json& ratios, const json& systems) {
  json targets = json::object();
  const auto check = [&](const std::string& name, const json& ratio, bool met, const std::string& rule) {
    targets[name] = {{"rule", rule}, {"ratio", ratio}, {"met", ratio.is_null() ? json(nullptr) : json(met)}};
  };
  const json lock = ratios.value("lock_cycle_p50", json(nullptr));
  check("lock_cycle_p50", lock, lock.is_number() && lock.get<double>() <= 0.25, "murphy/etcd <= 0.25");
  const json writes = ratios.value("write_throughput_64", json(nullptr));
  check("write_throughput_64", writes, writes.is_number() && writes.get<double>() >= 5, "murphy/etcd >= 5");
  const json failover = ratios.value("failover_p50", json(nullptr));
  check("failover_p50", failover, failover.is_number() && failover.get<double>() <= 0.3,
        "murphy/etcd <= 0.3 at defaults");
  const std::optional<double> murphy_100 =
      systems.contains("murphy")
          ? Lookup(systems["murphy"], {"false_elections", "defaults", "100", "elections"})
          : std::nullopt;
  const std::optional<double> etcd_100 =
      systems.contains("etcd") ? Lookup(systems["etcd"], {"false_elections", "defaults", "100", "elections"})
                               : std::nullopt;
  targets["false_elections_100ms"] = {
      {"rule", "murphy elections <= etcd elections, 100 ms pauses, defaults"},
      {"murphy", murphy_100 ? json(*murphy_100) : json(nullptr)},
      {"etcd", etcd_100 ? json(*etcd_100) : json(nullptr)},
      {"met", murphy_100 && etcd_100 ? json(*murphy_100 <= *etcd_100) : json(nullptr)}};
  return targets;
}

std::string FormatNumber(const std::optional<double>& value, const char* unit, int decimals = 1) {
  if (!value) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f%s", decimals, *value, unit);
  return buffer;
}

void PrintTable(const json& report, const BenchOptions& options) {
  const json& systems = report["systems"];
  const auto get = [&](const std::string& system, const std::vector<std::string>& path) {
    return systems.contains(system) ? Lookup(systems[system], path) : std::nullopt;
  };
  std::printf("\nmurphy vs etcd %s (etcd through its JSON gateway; %s)\n",
              report["machine"]["etcd_version"].get<std::string>().c_str(),
              options.quick ? "--quick run" : "full run");
  std::printf("%-34s %14s %14s %10s\n", "workload", "murphy", "etcd", "ratio");
  const auto row = [&](const std::string& label, const std::vector<std::string>& path, const char* unit,
                       const std::string& ratio_key) {
    const json ratio = report["ratios"].value(ratio_key, json(nullptr));
    std::printf("%-34s %14s %14s %10s\n", label.c_str(), FormatNumber(get("murphy", path), unit).c_str(),
                FormatNumber(get("etcd", path), unit).c_str(),
                ratio.is_number() ? FormatNumber(ratio.get<double>(), "x", 3).c_str() : "-");
  };
  row("lock cycle p50", {"lock_cycle", "p50_us"}, " us", "lock_cycle_p50");
  row("lock cycle p99", {"lock_cycle", "p99_us"}, " us", "lock_cycle_p99");
  for (const int clients : options.write_clients) {
    const std::string c = std::to_string(clients);
    row("writes/s, " + c + " clients", {"writes", c, "throughput_per_s"}, "", "write_throughput_" + c);
    row("write p50, " + c + " clients", {"writes", c, "p50_us"}, " us", "write_p50_" + c);
    row("write p99, " + c + " clients", {"writes", c, "p99_us"}, " us", "write_p99_" + c);
  }
  row("keepalives/s (" + std::to_string(options.leases) + " leases)", {"keepalive", "throughput_per_s"}, "",
      "keepalive_throughput");
  row("leader CPU during keepalives", {"keepalive", "leader_cpu_percent"}, " %", "keepalive_leader_cpu");
  row("failover p50 (defaults)", {"failover", "defaults", "p50_ms"}, " ms", "failover_p50");
  row("failover p99 (defaults)", {"failover", "defaults", "p99_ms"}, " ms", "failover_p99");
  row("failover p50 (aggressive)", {"failover", "aggressive", "p50_ms"}, " ms", "failover_aggressive_p50");
  row("failover p99 (aggressive)", {"failover", "aggressive", "p99_ms"}, " ms", "failover_aggressive_p99");
  for (const std::string timing : {"defaults", "aggressive"}) {
    for (const int pause : options.pauses_ms) {
      const std::string p = std::to_string(pause);
      row("elections after " + p + " ms pause (" + timing + ")", {"false_elections", timing, p, "elections"},
          "", "");
    }
  }
  std::printf("\ntargets (issue 8):\n");
  for (const auto& [name, target] : report["targets"].items()) {
    std::printf("  %-24s %-60s %s\n", name.c_str(), target["rule"].get<std::string>().c_str(),
                target["met"].is_null() ? "not measured" : (target["met"].get<bool>() ? "met" : "MISSED"));
  }
}

std::string EscapeXml(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// One horizontal bar per ratio on a log scale centred on 1 (murphy = etcd); bars
// right of the line mean murphy has the larger figure.
std::string RenderSvg(const json& report, const BenchOptions& options) {
  std::vector<std::pair<std::string, double>> bars;
  std::map<std::string, bool> better_high;
  for (const RatioSpec& spec : RatioSpecs(options)) {
    const json ratio = report["ratios"].value(spec.key, json(nullptr));
    if (ratio.is_number() && ratio.get<double>() > 0) {
      bars.emplace_back(spec.key, ratio.get<double>());
      better_high[spec.key] = spec.higher_is_better;
    }
  }
  const int row_height = 26;
  const int left = 230;
  const int width = 820;
  const int plot = width - left - 110;
  const int top = 60;
  const int height = top + row_height * static_cast<int>(bars.size()) + 60;
  const double decades = 2.0;  // 1/100 .. 100
  const auto x_of = [&](double ratio) {
    const double clamped = std::clamp(std::log10(ratio), -decades, decades);
    return left + plot / 2.0 + clamped / decades * (plot / 2.0);
  };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg << "<text x=\"10\" y=\"20\" font-size=\"15\">murphy / etcd, one run ("
      << EscapeXml(report["date_utc"].get<std::string>()) << ", " << report["machine"]["nproc"]
      << " cores; etcd via JSON gateway)</text>\n";
  svg << "<text x=\"10\" y=\"40\" fill=\"#555\">log scale; green: murphy better, red: murphy worse</text>\n";
  for (const double tick : {0.01, 0.1, 1.0, 10.0, 100.0}) {
    const double x = x_of(tick);
    svg << "<line x1=\"" << x << "\" y1=\"" << top - 5 << "\" x2=\"" << x << "\" y2=\"" << height - 45
        << "\" stroke=\"" << (tick == 1.0 ? "#000" : "#ccc") << "\"/>\n";
    svg << "<text x=\"" << x << "\" y=\"" << height - 30 << "\" text-anchor=\"middle\">" << tick
        << "x</text>\n";
  }
  int row = 0;
  for (const auto& [key, ratio] : bars) {
    const double y = top + row * row_height;
    const double x0 = x_of(1.0);
    const double x1 = x_of(ratio);
    const bool murphy_better = better_high[key] ? ratio > 1 : ratio < 1;
    svg << "<text x=\"" << left - 8 << "\" y=\"" << y + 15 << "\" text-anchor=\"end\">" << EscapeXml(key)
        << (better_high[key] ? " (higher better)" : " (lower better)") << "</text>\n";
    svg << "<rect x=\"" << std::min(x0, x1) << "\" y=\"" << y + 4 << "\" width=\""
        << std::max(1.0, std::abs(x1 - x0)) << "\" height=\"" << row_height - 8 << "\" fill=\""
        << (murphy_better ? "#4a4" : "#c44") << "\"/>\n";
    char label[32];
    std::snprintf(label, sizeof(label), "%.3gx", ratio);
    svg << "<text x=\"" << std::max(x0, x1) + 4 << "\" y=\"" << y + 15 << "\">" << label << "</text>\n";
    ++row;
  }
  svg << "</svg>\n";
  return svg.str();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

int Run(BenchOptions options) {
  if (options.quick) {
    options.trials = std::min(options.trials, 3);
    options.pause_trials = std::min(options.pause_trials, 2);
    options.measure_seconds = std::min(options.measure_seconds, 2.0);
    options.warmup_seconds = std::min(options.warmup_seconds, 0.5);
  }
  for (const std::string& workload : options.only) {
    if (std::find(kWorkloads.begin(), kWorkloads.end(), workload) == kWorkloads.end()) {
      std::fprintf(stderr, "system_bench: unknown workload '%s'\n", workload.c_str());
      return 2;
    }
  }
  for (const std::string& system : options.systems) {
    if (system != "murphy" && system != "etcd") {
      std::fprintf(stderr, "system_bench: unknown system '%s' (murphy, etcd)\n", system.c_str());
      return 2;
    }
  }
  if (options.work_directory.empty()) {
    options.work_directory =
        (fs::temp_directory_path() / ("murphy-system-bench-" + std::to_string(::getpid()))).string();
  }
  const BenchClock::time_point begun = BenchClock::now();
  json report = {{"schema", "murphy-system-bench/1"},
                 {"date_utc", UtcNow()},
                 {"mode", options.quick ? "quick" : "full"},
                 {"etcd_api", "json-gateway"},
                 {"machine", MachineInfo(options)}};
  report["caveats"] = {
      "etcd is driven through its gRPC JSON gateway (HTTP/1.1 + JSON), which adds transcoding and an "
      "internal "
      "loopback gRPC hop per request; a native gRPC client would see lower etcd latencies. murphy is driven "
      "through its own binary client library (what murphy ships).",
      "All three members of each cluster, and the benchmark's clients, share the machine's cores; one "
      "cluster "
      "runs at a time.",
      "Figures come from one run on one machine; compare them only within this file. Other processes on the "
      "machine (see machine.loadavg_*) compete for the same cores and skew tail latencies."};
  report["settings"] = {
      {"measure_seconds", options.measure_seconds},
      {"warmup_seconds", options.warmup_seconds},
      {"write_clients", options.write_clients},
      {"value_bytes", BenchValue().size()},
      {"failover_trials", options.trials},
      {"failover_writers", options.failover_writers},
      {"pause_ms", options.pauses_ms},
      {"pause_trials", options.pause_trials},
      {"leases", options.leases},
      {"keepalive_clients", options.keepalive_clients},
      {"aggressive_timing",
       {{"matched", "election timeout 50 ms and heartbeat 10 ms on both systems"},
        {"murphy", "--tick-ms " + std::to_string(options.aggressive_tick_ms) + " --election-ticks " +
                       std::to_string(options.aggressive_election_ticks) + " (heartbeat every 2 ticks)"},
        {"etcd", "--heartbeat-interval " + std::to_string(options.aggressive_etcd_heartbeat_ms) +
                     " --election-timeout " + std::to_string(options.aggressive_etcd_election_ms)}}},
      {"default_timing",
       {{"murphy",
         "tick 10 ms, election timeout 10 ticks = 100 ms (randomized to [100, 200) ms), heartbeat 20 ms"},
        {"etcd", "heartbeat 100 ms, election timeout 1000 ms"}}},
      {"definitions",
       {{"lock_cycle",
         "one client; a lease granted beforehand (TTL 60 s); cycle = acquire lock 'bench-cycle' under the "
         "lease + "
         "release it. murphy: Acquire(kTry) + Release on the binary protocol; etcd: /v3/lock/lock with the "
         "lease + "
         "/v3/lock/unlock"},
        {"writes",
         "N closed-loop clients, each its own connection and key, 64-byte values. murphy: fenced store write "
         "with "
         "the client's own lock token (LockClient::Write); etcd: /v3/kv/put. catch_up_after_s: time after "
         "the "
         "load until every member has applied what was committed"},
        {"keepalive",
         "leases granted first (TTL 300 s); K closed-loop clients renew them round robin; leader CPU = "
         "utime+stime delta of the leader process over the window / window length. murphy: KeepAlive on the "
         "owning client (16 leases per client); etcd: /v3/lease/keepalive"},
        {"failover",
         "before each trial every member has caught up (applied the highest commit index); W clients write "
         "continuously; kill -9 the leader; time from the kill to the first successful write "
         "started after the kill; the member is restarted and the cluster healthy before the next trial"},
        {"false_elections",
         "no load; SIGSTOP the leader for the pause, SIGCONT, wait max(0.5 s, 2 x election timeout); "
         "elections = "
         "increase of the highest raft term any member reports; leader_changes = trials after which another "
         "member leads"},
        {"client_placement",
         "murphy clients find the leader themselves; etcd clients connect to the leader's gateway (no "
         "forwarding "
         "hop) and move to the next member after a connection error or timeout"}}}};
  report["systems"] = json::object();

  asio::io_context loop;
  int exit_code = 0;
  // Phases, each system on a fresh cluster per phase: lock cycle and writes at the
  // defaults; keepalives at the defaults; fault workloads (kill -9, SIGSTOP) at the
  // defaults; fault workloads at the aggressive timing. A fresh cluster keeps one
  // phase's leftovers (a follower still behind, 10,000 leases) out of the next
  // phase's figures.
  struct Phase {
    ClusterTiming timing;
    std::string name;
    std::vector<std::string> workloads;
  };
  for (const Phase& phase : {Phase{DefaultTiming(), "steady", {"lock_cycle", "writes"}},
                             Phase{DefaultTiming(), "leases", {"keepalive"}},
                             Phase{DefaultTiming(), "faults", {"failover", "false_elections"}},
                             Phase{AggressiveTiming(options), "faults", {"failover", "false_elections"}}}) {
    if (std::none_of(phase.workloads.begin(), phase.workloads.end(),
                     [&](const std::string& workload) { return Selected(options, workload); })) {
      continue;
    }
    for (const std::string& system : options.systems) {
      json& out = report["systems"][system];
      Status status = RunSystem(loop, options, system, phase.timing, phase.name, phase.workloads, out);
      if (!status.ok())
        RecordError(out, system + " (" + phase.timing.label + ", " + phase.name + ")", status);
      if (out.contains("errors")) exit_code = 1;
    }
  }

  json ratios = json::object();
  for (const RatioSpec& spec : RatioSpecs(options)) ratios[spec.key] = Ratio(report["systems"], spec.path);
  json false_elections = json::object();
  for (const std::string timing : {"defaults", "aggressive"}) {
    for (const int pause : options.pauses_ms) {
      const std::string p = std::to_string(pause);
      json entry = json::object();
      for (const std::string& system : options.systems) {
        const std::optional<double> count =
            Lookup(report["systems"][system], {"false_elections", timing, p, "elections"});
        entry[system] = count ? json(static_cast<int64_t>(*count)) : json(nullptr);
      }
      false_elections[timing][p + "ms"] = entry;
    }
  }
  ratios["false_elections"] = false_elections;
  report["ratios"] = ratios;
  report["targets"] = Targets(ratios, report["systems"]);
  report["machine"]["loadavg_at_end"] = LoadAverage();
  report["elapsed_seconds"] = Round(std::chrono::duration<double>(BenchClock::now() - begun).count(), 1);

  std::error_code error;
  fs::create_directories(options.output_directory, error);
  const std::string json_path = options.output_directory + "/system.json";
  const std::string svg_path = options.output_directory + "/system.svg";
  std::ofstream(json_path) << report.dump(2) << "\n";
  std::ofstream(svg_path) << RenderSvg(report, options);
  PrintTable(report, options);
  std::printf("\nwrote %s and %s (%.0f s)\n", json_path.c_str(), svg_path.c_str(),
              report["elapsed_seconds"].get<double>());
  if (!options.keep) fs::remove_all(options.work_directory, error);
  return exit_code;
}

}  // namespace
}  // namespace murphy::bench

int main(int argc, char** argv) {
  murphy::bench::BenchOptions options;
  CLI::App app{"system_bench: murphyd and etcd side by side on loopback (see docs/benchmarks.md)"};
  app.add_flag("--quick", options.quick, "Short run: 2 s windows, 3 failover trials, 2 pause trials");
  app.add_option("--trials", options.trials, "Failover trials per system and timing")
      ->check(CLI::PositiveNumber);
  app.add_option("--pause-trials", options.pause_trials, "SIGSTOP trials per pause length")
      ->check(CLI::PositiveNumber);
  app.add_option("--only", options.only,
                 "Run only these workloads: lock_cycle writes failover false_elections keepalive")
      ->delimiter(',');
  app.add_option("--systems", options.systems, "murphy,etcd (default both)")->delimiter(',');
  app.add_option("--write-clients", options.write_clients,
                 "Client counts of the write workload (default 1,16,64)")
      ->delimiter(',');
  app.add_option("--leases", options.leases, "Live leases in the keepalive workload")
      ->check(CLI::PositiveNumber);
  app.add_option("--keepalive-clients", options.keepalive_clients, "Clients renewing leases")
      ->check(CLI::PositiveNumber);
  app.add_option("--measure-s", options.measure_seconds, "Measurement window of each steady workload")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup-s", options.warmup_seconds, "Warm-up before each window")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--output-dir", options.output_directory, "Where system.json and system.svg go");
  app.add_option("--work-dir", options.work_directory, "Data and logs of the clusters (default: a temp dir)");
  app.add_option("--murphyd", options.murphyd_path, "murphyd binary");
  app.add_option("--etcd", options.etcd_path, "etcd binary");
  app.add_flag("--keep", options.keep, "Keep the work directory (data, member logs)");
  CLI11_PARSE(app, argc, argv);
  return murphy::bench::Run(options);
}
