#include "murphy/clocks/vector_clock.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

constexpr uint32_t kNodes = 5;

VectorClock Make(std::initializer_list<std::pair<uint32_t, uint64_t>> entries) {
  VectorClock clock;
  for (const auto& [node, counter] : entries) EXPECT_TRUE(clock.Raise(NodeId(node), counter).ok());
  return clock;
}

// Small ranges so that random pairs are often comparable, not only concurrent.
VectorClock RandomClock(Rng& rng) {
  VectorClock clock;
  for (uint32_t node = 0; node < kNodes; ++node) {
    if (rng.Bernoulli(0.5)) {
      EXPECT_TRUE(clock.Raise(NodeId(node), rng.Uniform(4)).ok());
    }
  }
  return clock;
}

// A clock that dominates `base`: base with some entries raised.
VectorClock RandomAbove(const VectorClock& base, Rng& rng) {
  VectorClock clock = base;
  for (uint32_t node = 0; node < kNodes; ++node) {
    if (rng.Bernoulli(0.3)) {
      EXPECT_TRUE(clock.Raise(NodeId(node), clock.Get(NodeId(node)) + rng.Uniform(3)).ok());
    }
  }
  return clock;
}

// The textbook definition, entry by entry, as an oracle for Compare().
CausalOrder ReferenceCompare(const VectorClock& a, const VectorClock& b) {
  bool less = false;
  bool greater = false;
  for (uint32_t node = 0; node < kNodes; ++node) {
    if (a.Get(NodeId(node)) < b.Get(NodeId(node))) less = true;
    if (a.Get(NodeId(node)) > b.Get(NodeId(node))) greater = true;
  }
  if (less && greater) return CausalOrder::kConcurrent;
  if (less) return CausalOrder::kBefore;
  if (greater) return CausalOrder::kAfter;
  return CausalOrder::kEqual;
}

VectorClock Merged(VectorClock a, const VectorClock& b) {
  EXPECT_TRUE(a.Merge(b).ok());
  return a;
}

TEST(VectorClockTest, EmptyClocksAreEqualAndMissingEntriesAreZero) {
  VectorClock a;
  EXPECT_EQ(a.Get(NodeId(7)), 0u);
  EXPECT_EQ(a.Compare(VectorClock()), CausalOrder::kEqual);
  EXPECT_TRUE(a.Raise(NodeId(7), 0).ok());
  EXPECT_TRUE(a.empty()) << "zero entries are not stored";
}

TEST(VectorClockTest, IncrementAndCompare) {
  VectorClock a;
  ASSERT_EQ(a.Increment(NodeId(1)).value(), 1u);
  ASSERT_EQ(a.Increment(NodeId(1)).value(), 2u);
  VectorClock b = a;
  ASSERT_TRUE(b.Increment(NodeId(2)).ok());
  EXPECT_EQ(a.Compare(b), CausalOrder::kBefore);
  EXPECT_EQ(b.Compare(a), CausalOrder::kAfter);
  ASSERT_TRUE(a.Increment(NodeId(3)).ok());
  EXPECT_EQ(a.Compare(b), CausalOrder::kConcurrent);
  EXPECT_EQ(b.Compare(a), CausalOrder::kConcurrent);
  EXPECT_EQ(a.ToString(), "{1:2, 3:1}");
}

TEST(VectorClockTest, MergeIsEntrywiseMaximum) {
  VectorClock a = Make({{1, 3}, {2, 1}});
  VectorClock b = Make({{2, 4}, {5, 2}});
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a, Make({{1, 3}, {2, 4}, {5, 2}}));
  // Same node set: the in-place fast path.
  VectorClock c = Make({{1, 1}, {2, 9}, {5, 1}});
  ASSERT_TRUE(a.Merge(c).ok());
  EXPECT_EQ(a, Make({{1, 3}, {2, 9}, {5, 2}}));
}

TEST(VectorClockTest, BoundedEntriesFailWithoutChange) {
  VectorClock full;
  for (uint32_t node = 0; node < kMaxVectorClockEntries; ++node)
    ASSERT_TRUE(full.Increment(NodeId(node)).ok());
  EXPECT_EQ(full.Increment(NodeId(100000)).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(full.Raise(NodeId(100000), 3).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(full.Increment(NodeId(0)).ok()) << "existing entries still count";
  VectorClock other = Make({{100000, 1}});
  VectorClock target = full;
  EXPECT_EQ(target.Merge(other).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(target, full);
  EXPECT_EQ(full.size(), kMaxVectorClockEntries);
}

TEST(VectorClockTest, PropertyCompareMatchesDefinition) {
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    const VectorClock a = RandomClock(rng);
    const VectorClock b = rng.Bernoulli(0.5) ? RandomClock(rng) : RandomAbove(a, rng);
    ASSERT_EQ(a.Compare(b), ReferenceCompare(a, b)) << a.ToString() << " vs " << b.ToString();
  }
}

TEST(VectorClockTest, PropertyPartialOrderLaws) {
  int before_chains = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    const VectorClock a = RandomClock(rng);
    const VectorClock b = rng.Bernoulli(0.5) ? RandomClock(rng) : RandomAbove(a, rng);
    const VectorClock c = rng.Bernoulli(0.5) ? RandomClock(rng) : RandomAbove(b, rng);
    // Reflexive equality.
    EXPECT_EQ(a.Compare(a), CausalOrder::kEqual);
    // Antisymmetry and the mirror of each answer.
    const CausalOrder ab = a.Compare(b);
    const CausalOrder ba = b.Compare(a);
    switch (ab) {
      case CausalOrder::kEqual:
        EXPECT_EQ(ba, CausalOrder::kEqual);
        EXPECT_EQ(a, b);
        break;
      case CausalOrder::kBefore:
        EXPECT_EQ(ba, CausalOrder::kAfter);
        break;
      case CausalOrder::kAfter:
        EXPECT_EQ(ba, CausalOrder::kBefore);
        break;
      case CausalOrder::kConcurrent:
        EXPECT_EQ(ba, CausalOrder::kConcurrent);
        break;
    }
    if (a.Dominates(b) && b.Dominates(a)) {
      EXPECT_EQ(a, b);
    }
    // Transitivity of before.
    if (ab == CausalOrder::kBefore && b.Compare(c) == CausalOrder::kBefore) {
      ++before_chains;
      EXPECT_EQ(a.Compare(c), CausalOrder::kBefore);
    }
  }
  EXPECT_GT(before_chains, 200) << "the generator must produce chains for the law to be exercised";
}

TEST(VectorClockTest, PropertyMergeIsLeastUpperBound) {
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    const VectorClock a = RandomClock(rng);
    const VectorClock b = RandomClock(rng);
    const VectorClock c = RandomClock(rng);
    const VectorClock ab = Merged(a, b);
    // Upper bound.
    EXPECT_TRUE(ab.Dominates(a));
    EXPECT_TRUE(ab.Dominates(b));
    // Least: every entry comes from a or b.
    for (uint32_t node = 0; node < kNodes; ++node) {
      EXPECT_EQ(ab.Get(NodeId(node)), std::max(a.Get(NodeId(node)), b.Get(NodeId(node))));
    }
    // Any other upper bound dominates the merge.
    const VectorClock upper = RandomAbove(ab, rng);
    EXPECT_TRUE(upper.Dominates(ab));
    // Commutative, associative, idempotent.
    EXPECT_EQ(ab, Merged(b, a));
    EXPECT_EQ(Merged(ab, c), Merged(a, Merged(b, c)));
    EXPECT_EQ(Merged(a, a), a);
    EXPECT_EQ(Merged(ab, b), ab);
  }
}

}  // namespace
}  // namespace murphy
