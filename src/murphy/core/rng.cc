#include "murphy/core/rng.h"

#include <cmath>

namespace murphy {
namespace {

constexpr uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
constexpr double kPi = 3.14159265358979323846;

}  // namespace

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t mixer = seed;
  for (uint64_t& word : state_) word = SplitMix64(&mixer);
  // xoshiro's state must not be all zero; SplitMix64 never yields four zeros in a row,
  // but the invariant is cheap to keep visible.
  MURPHY_ASSERT((state_[0] | state_[1] | state_[2] | state_[3]) != 0);
}

uint64_t Rng::NextU64() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Rng::Uniform(uint64_t bound) {
  MURPHY_ASSERT(bound > 0);
  unsigned __int128 product = static_cast<unsigned __int128>(NextU64()) * bound;
  auto low = static_cast<uint64_t>(product);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      product = static_cast<unsigned __int128>(NextU64()) * bound;
      low = static_cast<uint64_t>(product);
    }
  }
  return static_cast<uint64_t>(product >> 64);
}

int64_t Rng::UniformInRange(int64_t low, int64_t high) {
  MURPHY_ASSERT(low <= high);
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  if (span == UINT64_MAX) return static_cast<int64_t>(NextU64());
  return static_cast<int64_t>(static_cast<uint64_t>(low) + Uniform(span + 1));
}

double Rng::UniformDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

bool Rng::Bernoulli(double p) {
  if (p <= 0) return false;
  if (p >= 1) return true;
  return UniformDouble() < p;
}

double Rng::Exponential(double mean) {
  MURPHY_ASSERT(mean >= 0);
  // 1 - U is in (0, 1], so the logarithm is finite.
  return -mean * std::log(1.0 - UniformDouble());
}

double Rng::Normal() {
  const double u1 = 1.0 - UniformDouble();  // (0, 1]
  const double u2 = UniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * kPi * u2);
}

double Rng::Pareto(double scale, double shape) {
  MURPHY_ASSERT(scale > 0);
  MURPHY_ASSERT(shape > 0);
  return scale / std::pow(1.0 - UniformDouble(), 1.0 / shape);
}

Duration Rng::UniformDuration(Duration low, Duration high) {
  return Nanoseconds(UniformInRange(low.nanoseconds(), high.nanoseconds()));
}

Duration Rng::ExponentialDuration(Duration mean) {
  return SecondsDouble(Exponential(ToSecondsDouble(mean)));
}

Rng Rng::Fork() { return Rng(NextU64()); }

}  // namespace murphy
