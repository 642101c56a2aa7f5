// murphy/resilience/idempotency_key.h — idempotency keys and request fingerprints.
//
// Contract: an `IdempotencyKey` names one *logical* request: the client picks it
// once and sends the same key on every attempt, so the server can apply the request
// once and answer retries from memory (ARCHITECTURE.md, "Idempotency"; the chapter's
// "if you don't get a response, you don't know if your operation succeeded"). It is
// 128 bits: either (client id, sequence number) — unique by construction — or
// random from the caller's Rng, where 2^-64 birthday odds make collisions moot.
//
// A `RequestFingerprint` is a 64-bit hash of the request's parameters. The server
// stores it with the key so that a key reused with *different* parameters (a client
// bug) is refused instead of being answered with another request's result. The hash
// is not cryptographic: it guards against mistakes, not against an adversary.
//
// Thread safety: values. FingerprintBuilder is not thread-safe.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "murphy/core/rng.h"

namespace murphy {

class IdempotencyKey {
 public:
  constexpr IdempotencyKey() = default;
  constexpr IdempotencyKey(uint64_t high, uint64_t low) : high_(high), low_(low) {}

  // Unique per (client, sequence) as long as a client never reuses a sequence number.
  static constexpr IdempotencyKey FromClientSequence(uint64_t client_id, uint64_t sequence) {
    return IdempotencyKey(client_id, sequence);
  }
  static IdempotencyKey Random(Rng& rng);

  constexpr uint64_t high() const { return high_; }
  constexpr uint64_t low() const { return low_; }
  constexpr auto operator<=>(const IdempotencyKey&) const = default;

  // 32 lowercase hex digits.
  std::string ToString() const;

 private:
  uint64_t high_ = 0;
  uint64_t low_ = 0;
};

using RequestFingerprint = uint64_t;

// Builds a RequestFingerprint from a request's fields, in order. Each field is
// length-prefixed so that ("ab", "c") and ("a", "bc") differ.
class FingerprintBuilder {
 public:
  FingerprintBuilder& Add(uint64_t value);
  FingerprintBuilder& Add(std::string_view bytes);
  FingerprintBuilder& Add(std::span<const uint8_t> bytes);
  RequestFingerprint Finish() const;

 private:
  void Mix(uint64_t word);
  uint64_t state_ = 0x6d75727068792d66ULL;  // "murphy-f"
};

}  // namespace murphy

template <>
struct std::hash<murphy::IdempotencyKey> {
  size_t operator()(const murphy::IdempotencyKey& key) const noexcept {
    // Keys may be sequential (client, 1), (client, 2), ...: mix before bucketing.
    uint64_t x = key.high() * 0x9e3779b97f4a7c15ULL ^ key.low();
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return static_cast<size_t>(x ^ (x >> 31));
  }
};
