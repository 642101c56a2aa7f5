// Benchmarks of check/: the linearizability checker on simulator-sized histories.
//
// Target (the project's issue): a 100k-operation key-value history over 10 keys,
// generated from a sequential execution with 8 concurrent clients, checks in < 2 s.
//
// Back of the envelope: P-compositionality splits the history into 10 partitions of
// ~10k operations. With 8 clients over 10 keys, about one other operation on the same
// key is in flight at any time, so Lowe's search does ~1 successful step per
// operation plus a few refused candidates and backtracks: say 3 steps per operation.
// A step is a model step (decode and re-encode a ~6-byte state: ~30 ns), an
// incremental Zobrist hash and one probe of the configuration cache (~50-100 ns with
// a likely cache miss): ~150 ns. 100k x 3 x 150 ns ~ 45 ms, plus ~10 ms to partition
// and sort. So ~50 ms expected, ~40x under the 2 s target. items_per_second is
// history operations checked per second; 100k / it is the time per check.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "murphy/check/history.h"
#include "murphy/check/history_generator.h"
#include "murphy/check/linearizability.h"
#include "murphy/check/model.h"
#include "murphy/core/assert.h"
#include "murphy/core/rng.h"

namespace murphy {
namespace {

History MakeHistory(uint64_t operations, int clients, double info_probability) {
  Rng rng(42);
  KeyValueWorkload workload;
  workload.clients = clients;
  workload.keys = 10;
  workload.operations = operations;
  workload.fail_probability = 0.01;
  workload.info_probability = info_probability;
  return GenerateKeyValueHistory(rng, workload);
}

void Report(benchmark::State& state, const History& history, const LinearizabilityResult& result) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * history.size()));
  state.counters["steps_per_op"] =
      static_cast<double>(result.steps) / static_cast<double>(result.operations_checked);
  state.counters["cache_entries"] = static_cast<double>(result.cache_entries);
}

// The target: 100k ops, 10 keys, 8 clients (arg 1: clients).
void BM_CheckKeyValue(benchmark::State& state) {
  const History history = MakeHistory(100'000, static_cast<int>(state.range(0)), 0.0);
  const auto model = MakeKeyValueModel();
  LinearizabilityResult last;
  for (auto _ : state) {
    Result<LinearizabilityResult> result = CheckLinearizability(history, *model);
    MURPHY_ASSERT(result.ok() && result->verdict == Verdict::kLinearizable);
    last = std::move(result).value();
  }
  Report(state, history, last);
}
BENCHMARK(BM_CheckKeyValue)->Arg(5)->Arg(8)->Arg(10)->Unit(benchmark::kMillisecond);

// The same with 0.2% info operations, which stay pending to the end.
void BM_CheckKeyValueWithInfo(benchmark::State& state) {
  const History history = MakeHistory(100'000, 8, 0.002);
  const auto model = MakeKeyValueModel();
  LinearizabilityResult last;
  for (auto _ : state) {
    Result<LinearizabilityResult> result = CheckLinearizability(history, *model);
    MURPHY_ASSERT(result.ok() && result->verdict == Verdict::kLinearizable);
    last = std::move(result).value();
  }
  Report(state, history, last);
}
BENCHMARK(BM_CheckKeyValueWithInfo)->Unit(benchmark::kMillisecond);

// A violation near the end: the search must exhaust the configurations of its
// partition before it can say no, and then builds the counterexample.
void BM_CheckKeyValueViolation(benchmark::State& state) {
  History history = MakeHistory(100'000, 8, 0.0);
  for (uint64_t i = history.size() - 1; i > 0; --i) {
    Operation& operation = history.mutable_operation(OperationId(i));
    if (operation.input.kind == OperationKind::kRead && operation.outcome == Outcome::kOk) {
      operation.output.value = -1;
      break;
    }
  }
  const auto model = MakeKeyValueModel();
  LinearizabilityResult last;
  for (auto _ : state) {
    Result<LinearizabilityResult> result = CheckLinearizability(history, *model);
    MURPHY_ASSERT(result.ok() && result->verdict == Verdict::kNotLinearizable);
    last = std::move(result).value();
  }
  Report(state, history, last);
}
BENCHMARK(BM_CheckKeyValueViolation)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy
