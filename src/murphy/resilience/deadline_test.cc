#include "murphy/resilience/deadline.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

Instant At(Duration since_origin) { return Instant() + since_origin; }

TEST(DeadlineTest, InfiniteNeverExpires) {
  const Deadline deadline = Deadline::Infinite();
  EXPECT_TRUE(deadline.is_infinite());
  EXPECT_FALSE(deadline.Expired(At(Hours(1'000'000))));
  EXPECT_EQ(deadline.Remaining(At(Seconds(5))), Duration::Infinite());
  EXPECT_EQ(deadline.ToWireBudget(At(Seconds(5)), Milliseconds(10)), Duration::Infinite());
  EXPECT_EQ(Deadline(), Deadline::Infinite());
}

TEST(DeadlineTest, RemainingCountsDownAndExpiresAtTheInstant) {
  const Deadline deadline = Deadline::After(At(Seconds(10)), Milliseconds(500));
  EXPECT_EQ(deadline.when(), At(Milliseconds(10'500)));
  EXPECT_EQ(deadline.Remaining(At(Seconds(10))), Milliseconds(500));
  EXPECT_EQ(deadline.Remaining(At(Milliseconds(10'499))), Milliseconds(1));
  EXPECT_FALSE(deadline.Expired(At(Milliseconds(10'499))));
  EXPECT_TRUE(deadline.Expired(At(Milliseconds(10'500))));
  EXPECT_EQ(deadline.Remaining(At(Milliseconds(10'500))), Duration::Zero());
  EXPECT_EQ(deadline.Remaining(At(Seconds(20))), Duration::Zero());
}

TEST(DeadlineTest, NonPositiveTimeoutIsAlreadyExpired) {
  EXPECT_TRUE(Deadline::After(At(Seconds(1)), Duration::Zero()).Expired(At(Seconds(1))));
  EXPECT_TRUE(Deadline::After(At(Seconds(1)), -Seconds(1)).Expired(At(Seconds(1))));
}

TEST(DeadlineTest, InfiniteTimeoutAndSaturationGiveNoDeadline) {
  EXPECT_TRUE(Deadline::After(At(Seconds(1)), Duration::Infinite()).is_infinite());
  EXPECT_TRUE(Deadline::After(Instant::Max() - Seconds(1), Seconds(10)).is_infinite());
}

TEST(DeadlineTest, ChildNeverOutlivesParent) {
  const Deadline parent = Deadline::At(At(Seconds(10)));
  // Own timeout shorter: the child's own deadline wins.
  EXPECT_EQ(parent.Child(At(Seconds(1)), Seconds(2)).when(), At(Seconds(3)));
  // Own timeout longer: the parent's deadline wins.
  EXPECT_EQ(parent.Child(At(Seconds(9)), Seconds(2)).when(), At(Seconds(10)));
  EXPECT_EQ(parent.Child(At(Seconds(1)), Duration::Infinite()), parent);
  EXPECT_EQ(Deadline::Infinite().Child(At(Seconds(1)), Seconds(2)).when(), At(Seconds(3)));
  EXPECT_EQ(Earlier(parent, Deadline::Infinite()), parent);
  EXPECT_EQ(Earlier(Deadline::Infinite(), parent), parent);
}

TEST(DeadlineTest, WireBudgetReanchorsOnTheReceiversClock) {
  // Sender's clock reads 100 s, receiver's 7 s: monotonic clocks share no origin.
  const Deadline sender = Deadline::At(At(Seconds(105)));
  const Duration budget = sender.ToWireBudget(At(Seconds(100)));
  EXPECT_EQ(budget, Seconds(5));
  const Deadline receiver = Deadline::FromWireBudget(At(Seconds(7)), budget);
  EXPECT_EQ(receiver.when(), At(Seconds(12)));
  // The margin for transit time shortens the budget, never below zero.
  EXPECT_EQ(sender.ToWireBudget(At(Seconds(100)), Milliseconds(20)), Milliseconds(4'980));
  EXPECT_EQ(sender.ToWireBudget(At(Seconds(104)), Seconds(3)), Duration::Zero());
  EXPECT_EQ(sender.ToWireBudget(At(Seconds(200))), Duration::Zero());
  EXPECT_TRUE(Deadline::FromWireBudget(At(Seconds(7)), Duration::Zero()).Expired(At(Seconds(7))));
  EXPECT_TRUE(Deadline::FromWireBudget(At(Seconds(7)), Duration::Infinite()).is_infinite());
}

}  // namespace
}  // namespace murphy
