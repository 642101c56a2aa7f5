// The replicated lock service in simulation: lock acquire + release cycles per
// simulated second on a 3-node cluster (LockNode: NodeShell + WAL + LockStateMachine),
// driven by LockClient processes, each cycling on its own lock (no contention: this
// measures the service's cost, not queueing).
//
// Back of the envelope (same network and disk model as node_bench: ~1.5 ms one way,
// 1 ms per fsync, ~7 ms per commit seen by a sequential client). One cycle is
// GrantLease, then Acquire — two commits in sequence, ~14 ms — and the release
// (RevokeLease) is sent without waiting, overlapping the next cycle's grant. So one
// client does ~70 cycles/s and C clients ~C x 70/s while group commit folds their
// entries into shared syncs: `estimate_ratio` is measured / that estimate.
// `x_real_time` is simulated seconds per wall second.
#include <benchmark/benchmark.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/client/lock_client.h"
#include "murphy/locksvc/lock_node.h"
#include "murphy/sim/simulator.h"

namespace murphy::locksvc {
namespace {

constexpr Duration kSyncLatency = Milliseconds(1);

class Cycler {
 public:
  Cycler(Env& env, const std::vector<NodeId>& members, uint64_t* cycles)
      : env_(env), cycles_(cycles), client_(env, Options(members)) {
    Next();
  }

 private:
  static client::LockClientOptions Options(const std::vector<NodeId>& members) {
    client::LockClientOptions options;
    options.channel.nodes = members;
    return options;
  }
  void Next() {
    client_.Acquire("lock-" + std::to_string(env_.self().value()), Seconds(10), protocol::AcquireMode::kTry,
                    [this](Result<std::unique_ptr<client::LockHandle>> handle) {
                      if (handle.ok()) {
                        ++*cycles_;
                        (*handle)->Release();
                      }
                      Next();
                    });
  }
  Env& env_;
  uint64_t* cycles_;
  client::LockClient client_;
};

void BM_AcquireReleaseThroughput(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const Duration measured = Seconds(10);
  uint64_t cycles = 0;
  double simulated_seconds = 0;
  for (auto _ : state) {
    sim::SimOptions sim_options;
    sim_options.seed = 1;
    sim::Simulator sim(sim_options);
    std::vector<NodeId> members = {NodeId(1), NodeId(2), NodeId(3)};
    std::vector<NodeId> nodes;
    for (size_t i = 0; i < members.size(); ++i) {
      const NodeId id = sim.AddProcess("node", [&members](Env& env) {
        LockNodeOptions options;
        options.node.members = members;
        options.node.snapshot_every_entries = 10'000;
        return sim::Hold(std::make_unique<LockNode>(env, std::move(options)));
      });
      sim::DiskFaults disk;
      disk.sync_latency = kSyncLatency;
      sim.SetDiskFaults(id, disk);
      nodes.push_back(id);
    }
    auto leader = [&]() -> bool {
      for (const NodeId node : nodes) {
        LockNode* lock_node = sim.ProcessAs<LockNode>(node);
        if (lock_node != nullptr && lock_node->shell().is_leader()) return true;
      }
      return false;
    };
    const Result<bool> elected = sim.RunUntil(leader, Instant() + Seconds(5));
    if (!elected.ok() || !*elected) {
      state.SkipWithError("no leader");
      return;
    }
    uint64_t counted = 0;
    for (int i = 0; i < clients; ++i) {
      sim.AddProcess("client", [&members, &counted](Env& env) {
        return sim::Hold(std::make_unique<Cycler>(env, members, &counted));
      });
    }
    if (!sim.RunFor(measured).ok()) {
      state.SkipWithError("event limit");
      return;
    }
    cycles += counted;
    simulated_seconds += static_cast<double>(measured.nanoseconds()) / 1e9;
  }
  const double per_second = static_cast<double>(cycles) / simulated_seconds;
  state.counters["sim_cycles_per_second"] = per_second;
  state.counters["estimate_ratio"] = per_second / (clients * 70.0);
  state.counters["x_real_time"] = benchmark::Counter(simulated_seconds, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_AcquireReleaseThroughput)->Arg(1)->Arg(8)->Arg(32)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy::locksvc
