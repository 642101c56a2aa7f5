// Micro-benchmarks of core/: the PRNG and CRC32C sit on every simulated event and
// every frame and WAL record.
//
// Back of the envelope: xoshiro256** is ~4 instructions of dependent ALU work, so
// ~1 ns per draw; CRC32C with SSE4.2 processes 8 bytes per ~1 cycle of throughput
// (3-cycle latency, one dependency chain here), so ~3 GB/s at 3 GHz for 4 KiB.
#include <benchmark/benchmark.h>

#include <vector>

#include "murphy/core/crc32c.h"
#include "murphy/core/rng.h"

namespace murphy {
namespace {

void BM_RngNextU64(benchmark::State& state) {
  Rng rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng.NextU64());
}
BENCHMARK(BM_RngNextU64);

void BM_RngUniform(benchmark::State& state) {
  Rng rng(1);
  for (auto _ : state) benchmark::DoNotOptimize(rng.Uniform(1000));
}
BENCHMARK(BM_RngUniform);

void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0x5A);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(64)->Arg(4096);

void BM_Crc32cPortable(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 0x5A);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32cExtendPortable(0, data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Crc32cPortable)->Arg(64)->Arg(4096);

}  // namespace
}  // namespace murphy
