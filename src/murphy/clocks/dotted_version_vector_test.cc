#include "murphy/clocks/dotted_version_vector.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

VectorClock Make(std::initializer_list<std::pair<uint32_t, uint64_t>> entries) {
  VectorClock clock;
  for (const auto& [node, counter] : entries) EXPECT_TRUE(clock.Raise(NodeId(node), counter).ok());
  return clock;
}

TEST(DottedVersionVectorTest, OrderIsDecidedByTheDotAlone) {
  const DottedVersionVector first{Dot{NodeId(1), 1}, VectorClock()};
  const DottedVersionVector second{Dot{NodeId(1), 2}, Make({{1, 1}})};
  EXPECT_EQ(first.Compare(second), CausalOrder::kBefore);
  EXPECT_EQ(second.Compare(first), CausalOrder::kAfter);
  EXPECT_EQ(first.Compare(first), CausalOrder::kEqual);
  EXPECT_TRUE(second.Covers(first.dot));
  EXPECT_FALSE(first.Covers(second.dot));
}

// The case plain version vectors get wrong: two clients write through server 1 with
// the same (empty) context. Server-id version vectors would give the second write
// {1:2}, which dominates {1:1} and silently drops the first; with dots they are
// concurrent.
TEST(DottedVersionVectorTest, SameServerSameContextIsConcurrent) {
  const DottedVersionVector first{Dot{NodeId(1), 1}, VectorClock()};
  const DottedVersionVector second{Dot{NodeId(1), 2}, VectorClock()};
  EXPECT_EQ(first.Compare(second), CausalOrder::kConcurrent);
  EXPECT_EQ(second.Compare(first), CausalOrder::kConcurrent);
  // Their plain version vectors, by contrast, look ordered.
  EXPECT_EQ(first.ToVersionVector().value().Compare(second.ToVersionVector().value()), CausalOrder::kBefore);
}

TEST(DottedVersionVectorTest, ToVersionVectorFoldsTheDotIn) {
  const DottedVersionVector clock{Dot{NodeId(2), 5}, Make({{1, 3}, {2, 4}})};
  EXPECT_EQ(clock.ToVersionVector().value(), Make({{1, 3}, {2, 5}}));
  EXPECT_EQ(clock.ToString(), "(2,5)|{1:3, 2:4}");
}

}  // namespace
}  // namespace murphy
