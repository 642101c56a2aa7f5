// murphy/core/rng.h — the one seeded, portable pseudo-random generator.
//
// Contract: `Rng` is xoshiro256** seeded through SplitMix64. Given the same seed it
// produces the same sequence on every platform and standard library, because every
// distribution here is implemented in this file (std:: distributions differ between
// libstdc++ and libc++, which would break replay). `Fork()` derives an independent
// generator deterministically, so that adding draws in one component does not shift
// the stream of another. Not cryptographic. Not thread-safe: one Rng per thread or
// per simulated process.
#pragma once

#include <cstdint>

#include "murphy/core/assert.h"
#include "murphy/core/time.h"

namespace murphy {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  uint64_t seed() const { return seed_; }

  // Uniform over all 64-bit values.
  uint64_t NextU64();
  // Uniform in [0, bound), without modulo bias (Lemire's method). REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound);
  // Uniform in [low, high]. REQUIRES: low <= high.
  int64_t UniformInRange(int64_t low, int64_t high);
  // Uniform in [0, 1) with 53 bits of precision.
  double UniformDouble();
  // True with probability p (p <= 0: never; p >= 1: always).
  bool Bernoulli(double p);
  // Exponential with the given mean. REQUIRES: mean >= 0.
  double Exponential(double mean);
  // Standard normal (mean 0, standard deviation 1), Box–Muller.
  double Normal();
  double Normal(double mean, double standard_deviation) { return mean + standard_deviation * Normal(); }
  // Pareto with minimum `scale` and tail index `shape` (> 0): a long tail.
  double Pareto(double scale, double shape);

  // Durations: uniform in [low, high]; exponential around a mean.
  Duration UniformDuration(Duration low, Duration high);
  Duration ExponentialDuration(Duration mean);

  // An independent generator derived from this one's stream.
  Rng Fork();

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

// SplitMix64 step: a good 64-bit mixer, also used to hash seeds.
uint64_t SplitMix64(uint64_t* state);

}  // namespace murphy
