// Whole-node benchmarks in simulation: NodeShell + WAL + KV state machine on a
// simulated 3-node cluster (deterministic: the figures depend only on the seeds).
//
// Back of the envelope. Simulated links: 0.5 ms + exponential(1 ms) one way, so
// ~1.5 ms mean; each disk sync costs kSyncLatency = 1 ms. A write from a sequential
// client: client -> leader (1.5) + leader append+fsync in parallel with the
// replication round trip (3.0) + follower fsync (1.0) + leader -> client (1.5)
// ~= 7 ms, so one client does ~140 commits/s; C clients ~C x 140/s as long as group
// commit folds their entries into one sync (one Ready per sync), i.e. ~4,500/s for
// 32 clients — reported as `estimate_ratio` (measured / estimate). Failover after a
// leader crash: followers notice after the randomized election timeout, 10..20
// ticks of 10 ms = 100..200 ms, plus a pre-vote and a vote round trip (~6 ms): p50
// ~150 ms, p99 < 210 ms; a client write then also needs to find the new leader
// (backoff up to 200 ms, attempt timeout 250 ms). A leader paused for P ms is
// deposed iff a follower's timeout (uniform in 100..200 ms, counted from the last
// heartbeat it heard, <= 20 ms before the pause) expires during the pause and the
// pre-vote/vote round trips finish before the leader resumes: P = 100 ms only
// for the few followers whose timeout was drawn near 100 ms (~10 %), P >= 200 ms
// always (the pause outlasts the longest timeout) — the case for a failure
// detector that adapts, or a longer timeout, when pauses of this size are normal.
// Wall-clock cost: `x_real_time` is simulated seconds per wall second.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "murphy/node/kv_client.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/node/node_checkers.h"
#include "murphy/node/node_shell.h"
#include "murphy/sim/simulator.h"

namespace murphy::node {
namespace {

constexpr Duration kSyncLatency = Milliseconds(1);

class BenchCluster {
 public:
  BenchCluster(uint64_t seed, int clients) : sim_(Options(seed)) {
    checkers_ = std::make_unique<NodeCheckers>([this] { return sim_.now(); });
    for (uint32_t i = 1; i <= 3; ++i) members_.push_back(NodeId(i));
    for (size_t i = 0; i < members_.size(); ++i) {
      const NodeId id = sim_.AddProcess("node", [this](Env& env) {
        NodeOptions options;
        options.members = members_;
        options.observer = checkers_.get();
        options.snapshot_every_entries = 10'000;
        return sim::Hold(std::make_unique<NodeShell>(env, options, std::make_unique<KvStateMachine>()));
      });
      sim::DiskFaults disk;
      disk.sync_latency = kSyncLatency;
      sim_.SetDiskFaults(id, disk);
    }
    for (int i = 0; i < clients; ++i) {
      clients_.push_back(sim_.AddProcess("client", [this](Env& env) {
        KvClientOptions options;
        options.servers = members_;
        return sim::Hold(std::make_unique<KvClient>(env, options));
      }));
    }
  }

  static sim::SimOptions Options(uint64_t seed) {
    sim::SimOptions options;
    options.seed = seed;
    return options;
  }

  sim::Simulator& sim() { return sim_; }
  const NodeCheckers& checkers() const { return *checkers_; }

  std::optional<NodeId> Leader() {
    for (const NodeId id : members_) {
      NodeShell* shell = sim_.ProcessAs<NodeShell>(id);
      if (shell != nullptr && shell->is_leader()) return id;
    }
    return std::nullopt;
  }

  // Every client writes in a closed loop; commit times go to commits().
  void StartLoad() {
    for (const NodeId id : clients_) Next(id);
  }
  const std::vector<Instant>& commits() const { return commits_; }
  uint64_t syncs() {
    uint64_t total = 0;
    for (const NodeId id : members_) {
      NodeShell* shell = sim_.ProcessAs<NodeShell>(id);
      if (shell != nullptr) total += shell->syncs();
    }
    return total;
  }

 private:
  void Next(NodeId client) {
    KvClient* kv = sim_.ProcessAs<KvClient>(client);
    KvOperation put{KvOp::kPut, "k" + std::to_string(client.value()), ++value_, 0};
    kv->Submit(put, [this, client](const KvClientResult& result) {
      if (result.outcome == Outcome::kOk) commits_.push_back(sim_.now());
      Next(client);
    });
  }

  sim::Simulator sim_;
  std::unique_ptr<NodeCheckers> checkers_;
  std::vector<NodeId> members_;
  std::vector<NodeId> clients_;
  std::vector<Instant> commits_;
  int64_t value_ = 0;
};

Duration Percentile(std::vector<Duration> values, double quantile) {
  if (values.empty()) return Duration::Zero();
  std::sort(values.begin(), values.end());
  const size_t index =
      std::min(values.size() - 1, static_cast<size_t>(quantile * static_cast<double>(values.size())));
  return values[index];
}

// Commits per simulated second of a 3-node cluster under C closed-loop clients.
void BM_CommitThroughput(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const Duration measured = Seconds(10);
  uint64_t commits = 0;
  uint64_t syncs = 0;
  double simulated_seconds = 0;
  for (auto _ : state) {
    BenchCluster cluster(1, clients);
    if (!cluster.sim().RunUntil([&] { return cluster.Leader().has_value(); }, Instant() + Seconds(5)).ok()) {
      state.SkipWithError("no leader");
      return;
    }
    cluster.StartLoad();
    const Instant start = cluster.sim().now();
    const uint64_t syncs_before = cluster.syncs();
    if (!cluster.sim().RunFor(measured).ok()) {
      state.SkipWithError("event limit");
      return;
    }
    commits += static_cast<uint64_t>(std::count_if(cluster.commits().begin(), cluster.commits().end(),
                                                   [&](Instant t) { return t >= start; }));
    syncs += cluster.syncs() - syncs_before;
    simulated_seconds += static_cast<double>(measured.nanoseconds()) / 1e9;
    if (!cluster.checkers().Verdict().ok()) state.SkipWithError("checker failed");
  }
  const double per_second = static_cast<double>(commits) / simulated_seconds;
  const double estimate = clients * (1000.0 / 7.0);
  state.counters["sim_commits_per_second"] = per_second;
  state.counters["estimate_ratio"] = per_second / estimate;
  // Per node: every node syncs every entry once; group commit makes it < 1 sync each.
  state.counters["entries_per_sync"] =
      syncs == 0 ? 0 : 3.0 * static_cast<double>(commits) / static_cast<double>(syncs);
  state.counters["x_real_time"] = benchmark::Counter(simulated_seconds, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CommitThroughput)->Arg(1)->Arg(8)->Arg(32)->Iterations(1)->Unit(benchmark::kMillisecond);

// Time from a leader crash to the next leader, and to the next committed client
// write, over many seeds.
void BM_FailoverTime(benchmark::State& state) {
  const int seeds = static_cast<int>(state.range(0));
  std::vector<Duration> to_leader;
  std::vector<Duration> to_commit;
  for (auto _ : state) {
    for (int seed = 1; seed <= seeds; ++seed) {
      BenchCluster cluster(static_cast<uint64_t>(seed), 4);
      if (!cluster.sim().RunUntil([&] { return cluster.Leader().has_value(); }, Instant() + Seconds(5)).ok())
        continue;
      cluster.StartLoad();
      if (!cluster.sim().RunFor(Seconds(1)).ok()) continue;
      const std::optional<NodeId> old_leader = cluster.Leader();
      if (!old_leader.has_value()) continue;
      cluster.sim().Crash(*old_leader);
      const Instant crashed = cluster.sim().now();
      const Result<bool> elected =
          cluster.sim().RunUntil([&] { return cluster.Leader().has_value(); }, crashed + Seconds(5));
      if (!elected.ok() || !*elected) continue;
      to_leader.push_back(cluster.sim().now() - crashed);
      const size_t before = std::count_if(cluster.commits().begin(), cluster.commits().end(),
                                          [&](Instant t) { return t <= crashed; });
      const Result<bool> committed = cluster.sim().RunUntil(
          [&] {
            return std::any_of(cluster.commits().begin() + static_cast<std::ptrdiff_t>(before),
                               cluster.commits().end(), [&](Instant t) { return t > crashed; });
          },
          crashed + Seconds(5));
      if (committed.ok() && *committed) to_commit.push_back(cluster.sim().now() - crashed);
    }
  }
  state.counters["runs"] = static_cast<double>(to_leader.size());
  state.counters["leader_ms_p50"] = ToMilliseconds(Percentile(to_leader, 0.5));
  state.counters["leader_ms_p99"] = ToMilliseconds(Percentile(to_leader, 0.99));
  state.counters["commit_ms_p50"] = ToMilliseconds(Percentile(to_commit, 0.5));
  state.counters["commit_ms_p99"] = ToMilliseconds(Percentile(to_commit, 0.99));
}
BENCHMARK(BM_FailoverTime)->Arg(200)->Iterations(1)->Unit(benchmark::kMillisecond);

// A leader paused (stop-the-world, e.g. GC) for P ms: how often is it deposed
// although it was never dead (a false election)?
void BM_FalseElectionsUnderPause(benchmark::State& state) {
  const Duration pause = Milliseconds(state.range(0));
  const int seeds = 200;
  int deposed = 0;
  int runs = 0;
  for (auto _ : state) {
    for (int seed = 1; seed <= seeds; ++seed) {
      BenchCluster cluster(static_cast<uint64_t>(seed), 2);
      if (!cluster.sim().RunUntil([&] { return cluster.Leader().has_value(); }, Instant() + Seconds(5)).ok())
        continue;
      cluster.StartLoad();
      if (!cluster.sim().RunFor(Milliseconds(500)).ok()) continue;
      const std::optional<NodeId> leader = cluster.Leader();
      if (!leader.has_value()) continue;
      const size_t elections_before = cluster.checkers().leaders().size();
      cluster.sim().Pause(*leader, pause);
      if (!cluster.sim().RunFor(pause + Seconds(1)).ok()) continue;
      ++runs;
      if (cluster.checkers().leaders().size() > elections_before) ++deposed;
    }
  }
  state.counters["runs"] = runs;
  state.counters["false_election_fraction"] = runs == 0 ? 0 : static_cast<double>(deposed) / runs;
}
BENCHMARK(BM_FalseElectionsUnderPause)
    ->Arg(100)
    ->Arg(200)
    ->Arg(400)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy::node
