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

// Acquires its own lock once, then writes fenced values to its own resource in a
// loop (one write at a time): the system benchmark's "writes" workload in
// simulation. Every write leaves an idempotency key in the store, so the state —
// and every snapshot — grows with each write.
class Writer {
 public:
  Writer(Env& env, const std::vector<NodeId>& members, uint64_t* writes)
      : env_(env), writes_(writes), client_(env, Options(members)) {
    Acquire();
  }

 private:
  static client::LockClientOptions Options(const std::vector<NodeId>& members) {
    client::LockClientOptions options;
    options.channel.nodes = members;
    return options;
  }
  void Acquire() {
    client_.Acquire("wlock-" + std::to_string(env_.self().value()), Seconds(60), protocol::AcquireMode::kTry,
                    [this](Result<std::unique_ptr<client::LockHandle>> handle) {
                      if (!handle.ok()) {
                        Acquire();
                        return;
                      }
                      handle_ = std::move(*handle);
                      Write();
                    });
  }
  void Write() {
    client_.Write(*handle_, "resource-" + std::to_string(env_.self().value()),
                  "value-" + std::to_string(*writes_), [this](client::WriteReply reply) {
                    if (reply.status.ok()) ++*writes_;
                    Write();
                  });
  }
  Env& env_;
  uint64_t* writes_;
  client::LockClient client_;
  std::unique_ptr<client::LockHandle> handle_;
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

// Fenced writes per simulated second under a snapshot policy,
// and the wall time that costs (x_real_time: simulated seconds per wall second —
// serializing every idempotency key at each snapshot shows here). `leader_snapshots`
// counts snapshots the leader took; `state_bytes` is its last snapshot's size.
void BM_FencedWriteThroughput(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  const uint64_t bytes_per_entry = static_cast<uint64_t>(state.range(1));
  const Duration measured = Seconds(20);
  uint64_t writes = 0;
  double simulated_seconds = 0;
  uint64_t snapshots = 0;
  uint64_t state_bytes = 0;
  for (auto _ : state) {
    sim::SimOptions sim_options;
    sim_options.seed = 1;
    sim::Simulator sim(sim_options);
    std::vector<NodeId> members = {NodeId(1), NodeId(2), NodeId(3)};
    std::vector<NodeId> nodes;
    for (size_t i = 0; i < members.size(); ++i) {
      const NodeId id = sim.AddProcess("node", [&members, bytes_per_entry](Env& env) {
        LockNodeOptions options;
        options.node.members = members;
        options.node.snapshot_bytes_per_entry = bytes_per_entry;
        return sim::Hold(std::make_unique<LockNode>(env, std::move(options)));
      });
      sim::DiskFaults disk;
      disk.sync_latency = kSyncLatency;
      sim.SetDiskFaults(id, disk);
      nodes.push_back(id);
    }
    auto leader = [&]() -> LockNode* {
      for (const NodeId node : nodes) {
        LockNode* lock_node = sim.ProcessAs<LockNode>(node);
        if (lock_node != nullptr && lock_node->shell().is_leader()) return lock_node;
      }
      return nullptr;
    };
    const Result<bool> elected = sim.RunUntil([&] { return leader() != nullptr; }, Instant() + Seconds(5));
    if (!elected.ok() || !*elected) {
      state.SkipWithError("no leader");
      return;
    }
    uint64_t counted = 0;
    for (int i = 0; i < clients; ++i) {
      sim.AddProcess("client", [&members, &counted](Env& env) {
        return sim::Hold(std::make_unique<Writer>(env, members, &counted));
      });
    }
    if (!sim.RunFor(measured).ok()) {
      state.SkipWithError("event limit");
      return;
    }
    writes += counted;
    simulated_seconds += static_cast<double>(measured.nanoseconds()) / 1e9;
    if (LockNode* node = leader(); node != nullptr) {
      snapshots += node->shell().snapshots_taken();
      state_bytes = node->shell().state_machine().Snapshot().size();
    }
  }
  state.counters["sim_writes_per_second"] = static_cast<double>(writes) / simulated_seconds;
  state.counters["state_bytes"] = static_cast<double>(state_bytes);
  state.counters["x_real_time"] = benchmark::Counter(simulated_seconds, benchmark::Counter::kIsRate);
  state.counters["leader_snapshots"] = static_cast<double>(snapshots);
}
// Args: clients (at most 61: the simulator's process limit), snapshot_bytes_per_entry
// (0: a snapshot every 1000 entries as before; 256: the default pacing).
BENCHMARK(BM_FencedWriteThroughput)
    ->ArgsProduct({{1, 16, 60}, {0, 256}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy::locksvc
