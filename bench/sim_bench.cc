// sim_bench — how fast the simulator runs a small cluster.
//
// Back of the envelope. 5 processes each send a heartbeat to the 4 others every
// 50 ms: per simulated second 5 x 20 = 100 timer events and 400 message arrivals,
// i.e. ~500 events per simulated second. An event costs a heap pop/push (~30-50 ns
// for a queue of a few hundred entries), a std::function call, a payload vector
// allocation and free (~40 ns), a CRC-32C of 16 bytes (~5 ns) and 2-3 generator draws
// (~5 ns each): on the order of 150-300 ns, so one core should manage 3-6 million
// events/s, i.e. 6000-12000x real time for this cluster. Targets: >= 2 million
// events/s and >= 1000x real time. Tracing (formatting and hashing every event as a
// JSON line, ~150 bytes) should cost several hundred ns more per event.
#include <benchmark/benchmark.h>

#include "murphy/sim/simulator.h"
#include "murphy/sim/workload.h"

namespace murphy::sim {
namespace {

void RunHeartbeats(benchmark::State& state, bool trace) {
  const Duration simulated = Seconds(60);
  uint64_t events = 0;
  double simulated_seconds = 0;
  uint64_t seed = 1;
  for (auto _ : state) {
    TraceWriter writer;  // hash only: formats and hashes every line, stores nothing
    SimOptions options;
    options.seed = seed++;
    options.trace = trace ? &writer : nullptr;
    LinkConfig link;
    link.delay = DelayModel::Exponential(Microseconds(500), Milliseconds(2));
    link.loss_probability = 0.05;
    options.default_link = link;
    Simulator sim(options);
    std::vector<NodeId> nodes;
    for (uint32_t i = 1; i <= 5; ++i) nodes.push_back(NodeId(i));
    for (int i = 0; i < 5; ++i) {
      sim.AddProcess("node", [nodes](Env& env) {
        return Hold(std::make_unique<HeartbeatProcess>(env, nodes, Milliseconds(50), nullptr));
      });
    }
    // A fault phase: a partition and a pause in the middle of the run.
    sim.At(Instant() + Seconds(20), [&sim, nodes] { sim.AddCuts(IsolateCuts(NodeId(1), nodes)); });
    sim.At(Instant() + Seconds(25), [&sim] { sim.Heal(); });
    sim.At(Instant() + Seconds(30), [&sim] { sim.Pause(NodeId(2), Seconds(2)); });
    if (!sim.RunUntil(Instant() + simulated).ok()) state.SkipWithError("event limit");
    events += sim.counters().events;
    simulated_seconds += ToSecondsDouble(simulated);
    benchmark::DoNotOptimize(writer.hash());
  }
  state.counters["events_per_second"] = benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  // Simulated seconds per wall-clock second: the speed-up over real time.
  state.counters["x_real_time"] = benchmark::Counter(simulated_seconds, benchmark::Counter::kIsRate);
  state.counters["events_per_run"] = static_cast<double>(events) / static_cast<double>(state.iterations());
}

void BM_FiveNodeHeartbeats(benchmark::State& state) { RunHeartbeats(state, false); }
void BM_FiveNodeHeartbeatsTraced(benchmark::State& state) { RunHeartbeats(state, true); }

BENCHMARK(BM_FiveNodeHeartbeats)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FiveNodeHeartbeatsTraced)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy::sim
