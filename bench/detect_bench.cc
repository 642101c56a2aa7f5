// Micro-benchmarks of detect/: failure detectors sit on every heartbeat a node
// receives and on every tick that checks its peers, for every peer.
//
// Back of the envelope (3 GHz core, glibc libm):
// - phi (normal model): a subtract and multiply to standardize, a cubic (3 mul/add),
//   one exp and one log1p. libm exp/log1p cost ~15-25 cycles each, so ~40-60
//   cycles: 15-20 ns. Target <= 30 ns. The exponential model is one multiply: ~1 ns.
// - Heartbeat (phi): the availability check (one phi), a ring write, a 64-bit and a
//   128-bit multiply-add, a sqrt and two divides to refresh mean/sd: ~25-40 ns.
// - RFC 6298 sample: a handful of integer adds, an absolute value and constant divides
//   (shifts and fix-ups): ~2-5 ns.
// - Quantile: Timeout() is an index into the sorted window and a double multiply:
//   ~2-5 ns. AddSample on a full window of n = 1000 int64 does two binary searches
//   (~10 compares each) and two memmoves of n/2 * 8 B = 4 KB on average at ~20-50 GB/s:
//   ~150-400 ns. (n = 100: ~30 ns.)
// Each benchmark reports its ratio to these estimates only in this comment; compare
// figures from the same machine and run.
#include <benchmark/benchmark.h>

#include "murphy/core/rng.h"
#include "murphy/detect/fixed_timeout_detector.h"
#include "murphy/detect/phi_accrual_detector.h"
#include "murphy/detect/quantile_timeout.h"
#include "murphy/detect/rfc6298.h"

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

PhiAccrualDetector WarmPhi(PhiDistribution distribution) {
  PhiAccrualConfig config;
  config.distribution = distribution;
  PhiAccrualDetector detector(config);
  Rng rng(1);
  Instant now = At(Seconds(0));
  for (int i = 0; i < 2000; ++i) {
    now += Milliseconds(1000) + rng.UniformDuration(-Milliseconds(50), Milliseconds(50));
    detector.Heartbeat(now);
  }
  return detector;
}

// Suspicion at instants sweeping 0..8 s after the last heartbeat, so both branches of
// the softplus are taken and nothing is constant-folded.
void BM_PhiSuspicion(benchmark::State& state) {
  const PhiAccrualDetector detector = WarmPhi(static_cast<PhiDistribution>(state.range(0)));
  const Instant base = At(Seconds(2001));
  int64_t offset_nanoseconds = 0;
  for (auto _ : state) {
    offset_nanoseconds += 7'919'000;
    if (offset_nanoseconds >= 8'000'000'000) offset_nanoseconds -= 8'000'000'000;
    benchmark::DoNotOptimize(detector.Suspicion(base + Nanoseconds(offset_nanoseconds)));
  }
}
BENCHMARK(BM_PhiSuspicion)->Arg(static_cast<int>(PhiDistribution::kNormal))->ArgName("normal");
BENCHMARK(BM_PhiSuspicion)->Arg(static_cast<int>(PhiDistribution::kExponential))->ArgName("exponential");

// The same through the FailureDetector interface (a virtual call).
void BM_PhiSuspicionVirtual(benchmark::State& state) {
  const PhiAccrualDetector concrete = WarmPhi(PhiDistribution::kNormal);
  const FailureDetector& detector = concrete;
  benchmark::DoNotOptimize(&detector);
  const Instant base = At(Seconds(2001));
  int64_t offset_nanoseconds = 0;
  for (auto _ : state) {
    offset_nanoseconds += 7'919'000;
    if (offset_nanoseconds >= 8'000'000'000) offset_nanoseconds -= 8'000'000'000;
    benchmark::DoNotOptimize(detector.Suspicion(base + Nanoseconds(offset_nanoseconds)));
  }
}
BENCHMARK(BM_PhiSuspicionVirtual);

void BM_PhiHeartbeat(benchmark::State& state) {
  PhiAccrualDetector detector = WarmPhi(PhiDistribution::kNormal);
  Instant now = At(Seconds(3000));
  Rng rng(2);
  for (auto _ : state) {
    now += Milliseconds(950) + Nanoseconds(static_cast<int64_t>(rng.Uniform(100'000'000)));
    detector.Heartbeat(now);
  }
  benchmark::DoNotOptimize(detector.mean_nanoseconds());
}
BENCHMARK(BM_PhiHeartbeat);

void BM_FixedTimeoutHeartbeatAndSuspect(benchmark::State& state) {
  FixedTimeoutDetector detector(Seconds(2));
  Instant now = At(Seconds(1));
  for (auto _ : state) {
    now += Milliseconds(1);
    detector.Heartbeat(now);
    benchmark::DoNotOptimize(detector.Suspect(now + Milliseconds(500)));
  }
}
BENCHMARK(BM_FixedTimeoutHeartbeatAndSuspect);

void BM_Rfc6298Sample(benchmark::State& state) {
  Rfc6298Estimator estimator;
  Rng rng(3);
  for (auto _ : state) {
    estimator.OnSample(Milliseconds(90) + Nanoseconds(static_cast<int64_t>(rng.Uniform(20'000'000))), false);
    benchmark::DoNotOptimize(estimator.Rto());
  }
}
BENCHMARK(BM_Rfc6298Sample);

void BM_QuantileAddSample(benchmark::State& state) {
  QuantileTimeoutConfig config;
  config.window_sample_count = state.range(0);
  QuantileTimeout timeout(config);
  Rng rng(4);
  for (int64_t i = 0; i < state.range(0); ++i) timeout.AddSample(Milliseconds(1 + static_cast<int64_t>(rng.Uniform(100))));
  for (auto _ : state) {
    timeout.AddSample(Microseconds(1000 + static_cast<int64_t>(rng.Uniform(100'000))));
  }
  benchmark::DoNotOptimize(timeout.Timeout());
}
BENCHMARK(BM_QuantileAddSample)->Arg(100)->Arg(1000);

void BM_QuantileTimeout(benchmark::State& state) {
  QuantileTimeout timeout;
  Rng rng(5);
  for (int i = 0; i < 1000; ++i) timeout.AddSample(Milliseconds(1 + static_cast<int64_t>(rng.Uniform(100))));
  for (auto _ : state) {
    benchmark::DoNotOptimize(timeout);
    benchmark::DoNotOptimize(timeout.Timeout());
  }
}
BENCHMARK(BM_QuantileTimeout);

}  // namespace
}  // namespace murphy
