#include "murphy/resilience/idempotency_key.h"

namespace murphy {

IdempotencyKey IdempotencyKey::Random(Rng& rng) {
  const uint64_t high = rng.NextU64();
  const uint64_t low = rng.NextU64();
  return IdempotencyKey(high, low);
}

std::string IdempotencyKey::ToString() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(32, '0');
  for (int i = 0; i < 16; ++i) {
    text[static_cast<size_t>(15 - i)] = kDigits[(high_ >> (4 * i)) & 0xF];
    text[static_cast<size_t>(31 - i)] = kDigits[(low_ >> (4 * i)) & 0xF];
  }
  return text;
}

void FingerprintBuilder::Mix(uint64_t word) {
  // One SplitMix64-style finalisation per word over a running state: every input
  // bit affects every output bit, and order matters.
  uint64_t x = (state_ ^ word) + 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  state_ = x ^ (x >> 31);
}

FingerprintBuilder& FingerprintBuilder::Add(uint64_t value) {
  Mix(value);
  return *this;
}

FingerprintBuilder& FingerprintBuilder::Add(std::string_view bytes) {
  return Add(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

FingerprintBuilder& FingerprintBuilder::Add(std::span<const uint8_t> bytes) {
  Mix(bytes.size());
  uint64_t word = 0;
  int filled = 0;
  for (const uint8_t byte : bytes) {
    word |= static_cast<uint64_t>(byte) << (8 * filled);
    if (++filled == 8) {
      Mix(word);
      word = 0;
      filled = 0;
    }
  }
  if (filled > 0) Mix(word);
  return *this;
}

RequestFingerprint FingerprintBuilder::Finish() const { return state_; }

}  // namespace murphy
