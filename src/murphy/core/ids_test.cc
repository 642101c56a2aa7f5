#include "murphy/core/ids.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <unordered_set>

namespace murphy {
namespace {

TEST(IdsTest, CompareHashAndCount) {
  EXPECT_LT(Term(3), Term(4));
  EXPECT_EQ(FencingToken(33).next(), FencingToken(34));
  std::unordered_set<NodeId> nodes = {NodeId(1), NodeId(2), NodeId(1)};
  EXPECT_EQ(nodes.size(), 2U);
  EXPECT_EQ(ToString(LogIndex(7)), "7");
}

static_assert(!std::is_convertible_v<Term, LogIndex>);
static_assert(!std::is_convertible_v<uint64_t, Term>);
static_assert(!std::is_convertible_v<Term, uint64_t>);
static_assert(std::is_trivially_copyable_v<FencingToken>);

}  // namespace
}  // namespace murphy
