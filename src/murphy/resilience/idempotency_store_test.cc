#include "murphy/resilience/idempotency_store.h"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <string>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

Instant At(Duration since_origin) { return Instant() + since_origin; }

IdempotencyKey Key(uint64_t n) { return IdempotencyKey::FromClientSequence(1, n); }
constexpr RequestFingerprint kFingerprint = 1234;

IdempotencyStoreOptions Options(size_t max_entries, Duration ttl = Minutes(10)) {
  IdempotencyStoreOptions options;
  options.max_entries = max_entries;
  options.ttl = ttl;
  return options;
}

TEST(IdempotencyStoreTest, ExecutesOnceAndReplaysTheStoredResult) {
  IdempotencyStore<std::string> store(Options(10));
  auto first = store.Begin(Key(1), kFingerprint, Instant());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->execute);
  EXPECT_FALSE(first->stored.has_value());
  store.Complete(Key(1), "result-1", At(Seconds(1)));
  for (int i = 0; i < 3; ++i) {
    auto again = store.Begin(Key(1), kFingerprint, At(Seconds(2)));
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(again->execute);
    EXPECT_EQ(again->stored, "result-1");
  }
  EXPECT_EQ(store.metrics().executions, 1);
  EXPECT_EQ(store.metrics().replays, 3);
}

TEST(IdempotencyStoreTest, DuplicateWhileInFlightIsUnavailable) {
  IdempotencyStore<int> store(Options(10));
  ASSERT_TRUE(store.Begin(Key(1), kFingerprint, Instant()).ok());
  const auto duplicate = store.Begin(Key(1), kFingerprint, Instant());
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetryable(duplicate.status().code()));  // the client backs off and asks again
  EXPECT_EQ(store.in_flight(), 1u);
}

TEST(IdempotencyStoreTest, KeyReusedWithOtherParametersIsRefused) {
  IdempotencyStore<int> store(Options(10));
  ASSERT_TRUE(store.Begin(Key(1), kFingerprint, Instant()).ok());
  EXPECT_EQ(store.Begin(Key(1), kFingerprint + 1, Instant()).status().code(), StatusCode::kInvalidArgument);
  store.Complete(Key(1), 5, Instant());
  EXPECT_EQ(store.Begin(Key(1), kFingerprint + 1, Instant()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.metrics().mismatches, 2);
}

TEST(IdempotencyStoreTest, CompletedEntriesExpireAfterTtl) {
  IdempotencyStore<int> store(Options(10, Seconds(60)));
  ASSERT_TRUE(store.Begin(Key(1), kFingerprint, Instant()).ok());
  store.Complete(Key(1), 7, At(Seconds(5)));
  auto before = store.Begin(Key(1), kFingerprint, At(Seconds(64)));
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(before->execute);
  auto after = store.Begin(Key(1), kFingerprint, At(Seconds(65)));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->execute);  // forgotten: a retry this late executes again
  EXPECT_EQ(store.metrics().expirations, 1);
}

TEST(IdempotencyStoreTest, InFlightEntriesNeverExpire) {
  IdempotencyStore<int> store(Options(10, Seconds(1)));
  ASSERT_TRUE(store.Begin(Key(1), kFingerprint, Instant()).ok());
  EXPECT_EQ(store.Begin(Key(1), kFingerprint, At(Hours(5))).status().code(), StatusCode::kUnavailable);
}

TEST(IdempotencyStoreTest, EvictsOldestCompletedFirstAndNeverInFlight) {
  IdempotencyStore<int> store(Options(3));
  for (uint64_t k = 1; k <= 3; ++k) ASSERT_TRUE(store.Begin(Key(k), kFingerprint, Instant()).ok());
  // Full of in-flight entries: refused, nothing evicted.
  EXPECT_EQ(store.Begin(Key(4), kFingerprint, Instant()).status().code(), StatusCode::kResourceExhausted);
  // Complete 2 before 1; 3 stays in flight.
  store.Complete(Key(2), 2, At(Seconds(1)));
  store.Complete(Key(1), 1, At(Seconds(2)));
  ASSERT_TRUE(store.Begin(Key(4), kFingerprint, At(Seconds(3))).ok());
  EXPECT_EQ(store.metrics().evictions, 1);
  EXPECT_EQ(store.size(), 3u);
  // 2 (completed first) was evicted; 1 is still remembered; 3 is still in flight.
  EXPECT_TRUE(store.Begin(Key(1), kFingerprint, At(Seconds(3)))->stored.has_value());
  EXPECT_EQ(store.Begin(Key(3), kFingerprint, At(Seconds(3))).status().code(), StatusCode::kUnavailable);
  store.Complete(Key(4), 4, At(Seconds(4)));
  ASSERT_TRUE(store.Begin(Key(2), kFingerprint, At(Seconds(5)))->execute);  // evicts 1
  EXPECT_EQ(store.Begin(Key(3), kFingerprint, At(Seconds(5))).status().code(), StatusCode::kUnavailable);
}

TEST(IdempotencyStoreTest, AbandonAllowsAnotherExecution) {
  IdempotencyStore<int> store(Options(3));
  ASSERT_TRUE(store.Begin(Key(1), kFingerprint, Instant()).ok());
  store.Abandon(Key(1));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.in_flight(), 0u);
  auto again = store.Begin(Key(1), kFingerprint, Instant());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->execute);
}

// Property: against a model of the in-flight keys, with random begins, completes,
// abandons and time: the store never exceeds its bound, never admits a second
// execution while one is in flight, replays only the stored value, refuses only when
// full of in-flight entries, and never loses an in-flight entry (Complete asserts).
TEST(IdempotencyStoreTest, PropertyMatchesModelWithinBounds) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Rng rng(seed);
    const size_t max_entries = static_cast<size_t>(rng.UniformInRange(1, 16));
    IdempotencyStore<uint64_t> store(Options(max_entries, Milliseconds(rng.UniformInRange(10, 500))));
    std::map<uint64_t, bool> in_flight;  // key → true while in flight
    std::map<uint64_t, int> executions;
    Instant now;
    for (int step = 0; step < 3000; ++step) {
      now = now + Milliseconds(rng.UniformInRange(0, 10));
      const uint64_t key = rng.Uniform(24);
      if (rng.Bernoulli(0.5)) {
        auto admission = store.Begin(Key(key), key * 7, now);
        if (in_flight.count(key) != 0) {
          ASSERT_FALSE(admission.ok()) << "seed " << seed;
          ASSERT_EQ(admission.status().code(), StatusCode::kUnavailable) << "seed " << seed;
        } else if (admission.ok()) {
          if (admission->execute) {
            in_flight[key] = true;
            ++executions[key];
          } else {
            ASSERT_EQ(*admission->stored, key * 100) << "seed " << seed;
          }
        } else {
          ASSERT_EQ(admission.status().code(), StatusCode::kResourceExhausted) << "seed " << seed;
          ASSERT_EQ(store.in_flight(), max_entries) << "seed " << seed;
        }
      } else if (!in_flight.empty()) {
        auto it = in_flight.begin();
        std::advance(it, static_cast<std::ptrdiff_t>(rng.Uniform(in_flight.size())));
        if (rng.Bernoulli(0.8)) {
          store.Complete(Key(it->first), it->first * 100, now);  // asserts if it was lost
        } else {
          store.Abandon(Key(it->first));
        }
        in_flight.erase(it);
      }
      ASSERT_LE(store.size(), max_entries) << "seed " << seed;
      ASSERT_EQ(store.in_flight(), in_flight.size()) << "seed " << seed;
    }
    // The store's own count of executions agrees with the test's.
    const IdempotencyStoreMetrics& metrics = store.metrics();
    int64_t total = 0;
    for (const auto& [key, count] : executions) total += count;
    ASSERT_EQ(metrics.executions, total);
  }
}

TEST(IdempotencyStoreDeathTest, CompleteRequiresAnInFlightEntry) {
  EXPECT_DEATH(
      {
        IdempotencyStore<int> store(Options(3));
        store.Complete(Key(1), 1, Instant());
      },
      "no request in flight");
  EXPECT_DEATH(
      {
        IdempotencyStore<int> store(Options(3));
        (void)store.Begin(Key(1), kFingerprint, Instant());
        store.Complete(Key(1), 1, Instant());
        store.Complete(Key(1), 1, Instant());
      },
      "already completed");
}

TEST(IdempotencyKeyTest, FingerprintsDependOnFieldsAndOrder) {
  const RequestFingerprint a = FingerprintBuilder().Add("ab").Add("c").Finish();
  const RequestFingerprint b = FingerprintBuilder().Add("a").Add("bc").Finish();
  const RequestFingerprint c = FingerprintBuilder().Add("c").Add("ab").Finish();
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a, FingerprintBuilder().Add("ab").Add("c").Finish());
  EXPECT_NE(FingerprintBuilder().Add(uint64_t{1}).Finish(), FingerprintBuilder().Add(uint64_t{2}).Finish());
  EXPECT_NE(FingerprintBuilder().Add("12345678").Finish(), FingerprintBuilder().Add("12345679").Finish());
}

TEST(IdempotencyKeyTest, KeysPrintAndCompare) {
  EXPECT_EQ(IdempotencyKey(0x1, 0xabcdef).ToString(), "00000000000000010000000000abcdef");
  Rng rng(1);
  const IdempotencyKey first = IdempotencyKey::Random(rng);
  const IdempotencyKey second = IdempotencyKey::Random(rng);
  EXPECT_NE(first, second);
  EXPECT_NE(std::hash<IdempotencyKey>()(Key(1)), std::hash<IdempotencyKey>()(Key(2)));
}

}  // namespace
}  // namespace murphy
