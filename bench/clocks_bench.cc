// Micro-benchmarks of clocks/: HybridClock::Now() stamps every message a node sends,
// Update() runs on every message received, and vector clocks are compared and merged
// on every replicated write.
//
// Back of the envelope: HybridClock::Now() is one indirect call through std::function
// to the physical clock (~2 ns: an indirect branch, well predicted), one compare
// against the previous reading, a mask to quantise, a compare against the last wall
// and an increment — ~10 dependent ALU operations, ~3-5 ns at 3 GHz. The target is
// <= 25 ns; a real clock_gettime(CLOCK_REALTIME) via the vDSO adds ~20 ns on top, so the
// HLC itself must stay well below that. Update() is the same plus the guard's
// subtraction and a 16-byte compare: ~5 ns. VectorClock::Compare of two n-entry
// clocks is one merge walk, ~1 ns per entry; Merge with identical node sets is an
// in-place max, ~1 ns per entry, and with different node sets allocates (~20-40 ns).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "murphy/clocks/hybrid_clock.h"
#include "murphy/clocks/vector_clock.h"

namespace murphy {
namespace {

constexpr int64_t kStartNs = int64_t{1767225600} * 1'000'000'000;

// A cheap physical clock: a counter that advances 1 us per reading, so Now() takes
// the "physical clock moved" path on most calls and the logical path otherwise.
void BM_HybridClockNow(benchmark::State& state) {
  int64_t physical_ns = kStartNs;
  HybridClock clock([&physical_ns] { return WallTime::FromNanoseconds(physical_ns += 1000); },
                    Milliseconds(500));
  for (auto _ : state) benchmark::DoNotOptimize(clock.Now());
}
BENCHMARK(BM_HybridClockNow);

// A stalled physical clock: every Now() takes the logical-increment path.
void BM_HybridClockNowStalled(benchmark::State& state) {
  HybridClock clock([] { return WallTime::FromNanoseconds(kStartNs); }, Milliseconds(500));
  for (auto _ : state) {
    benchmark::DoNotOptimize(clock.Now());
  }
  state.counters["overflows"] = static_cast<double>(clock.logical_overflows());
}
BENCHMARK(BM_HybridClockNowStalled);

void BM_HybridClockUpdate(benchmark::State& state) {
  int64_t physical_ns = kStartNs;
  HybridClock clock([&physical_ns] { return WallTime::FromNanoseconds(physical_ns += 1000); },
                    Milliseconds(500));
  HlcTimestamp remote{QuantizeHlcWall(WallTime::FromNanoseconds(kStartNs)), 0};
  for (auto _ : state) {
    // A remote that keeps pace with local time, so the guard passes.
    remote.wall = QuantizeHlcWall(WallTime::FromNanoseconds(physical_ns));
    benchmark::DoNotOptimize(clock.Update(remote).ok());
  }
}
BENCHMARK(BM_HybridClockUpdate);

void BM_HlcTimestampPack(benchmark::State& state) {
  HlcTimestamp timestamp{QuantizeHlcWall(WallTime::FromNanoseconds(kStartNs)), 7};
  for (auto _ : state) {
    benchmark::DoNotOptimize(timestamp);
    benchmark::DoNotOptimize(timestamp.Pack());
  }
}
BENCHMARK(BM_HlcTimestampPack);

VectorClock ClockOf(int64_t entries, uint64_t base) {
  VectorClock clock;
  for (int64_t node = 0; node < entries; ++node) {
    const Status status =
        clock.Raise(NodeId(static_cast<uint32_t>(node)), base + static_cast<uint64_t>(node % 3));
    if (!status.ok()) break;  // cannot happen below kMaxVectorClockEntries
  }
  return clock;
}

void BM_VectorClockCompare(benchmark::State& state) {
  const VectorClock a = ClockOf(state.range(0), 5);
  VectorClock b = ClockOf(state.range(0), 5);
  // Make b strictly after a in its last entry, so the whole walk is needed.
  benchmark::DoNotOptimize(b.Increment(NodeId(static_cast<uint32_t>(state.range(0) - 1))).ok());
  for (auto _ : state) benchmark::DoNotOptimize(a.Compare(b));
}
BENCHMARK(BM_VectorClockCompare)->Arg(3)->Arg(5)->Arg(16)->Arg(128);

void BM_VectorClockMergeSameNodes(benchmark::State& state) {
  VectorClock a = ClockOf(state.range(0), 5);
  const VectorClock b = ClockOf(state.range(0), 6);
  for (auto _ : state) {
    benchmark::DoNotOptimize(a.Merge(b).ok());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_VectorClockMergeSameNodes)->Arg(3)->Arg(5)->Arg(16)->Arg(128);

void BM_VectorClockMergeDifferentNodes(benchmark::State& state) {
  const VectorClock a = ClockOf(state.range(0), 5);
  VectorClock b;
  // Every other node of a, plus one a does not have.
  for (int64_t node = 0; node < state.range(0); node += 2) {
    benchmark::DoNotOptimize(b.Raise(NodeId(static_cast<uint32_t>(node)), 9).ok());
  }
  benchmark::DoNotOptimize(b.Raise(NodeId(1000), 1).ok());
  for (auto _ : state) {
    VectorClock merged = a;
    benchmark::DoNotOptimize(merged.Merge(b).ok());
    benchmark::DoNotOptimize(merged);
  }
}
BENCHMARK(BM_VectorClockMergeDifferentNodes)->Arg(3)->Arg(5)->Arg(16)->Arg(127);

}  // namespace
}  // namespace murphy
