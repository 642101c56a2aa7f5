#include "murphy/clocks/lamport_clock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

TEST(LamportClockTest, TickIncrementsFromZero) {
  LamportClock clock;
  EXPECT_EQ(clock.time(), 0u);
  EXPECT_EQ(clock.Tick(), 1u);
  EXPECT_EQ(clock.Tick(), 2u);
  EXPECT_EQ(clock.time(), 2u);
}

TEST(LamportClockTest, UpdateJumpsPastReceivedTimestamp) {
  LamportClock clock(5);
  EXPECT_EQ(clock.Update(10), 11u);
  // A stale message still advances the clock by one: the receive is an event.
  EXPECT_EQ(clock.Update(3), 12u);
  EXPECT_EQ(clock.Update(12), 13u);
}

// Lamport's clock condition: if a happened before b then C(a) < C(b). Random message
// exchanges between processes; every receive must be stamped above its send and above
// the previous local event.
TEST(LamportClockTest, PropertyClockConditionHoldsForRandomExchanges) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    std::vector<LamportClock> clocks(4);
    struct Message {
      size_t target;
      uint64_t stamp;
    };
    std::vector<Message> in_flight;
    for (int step = 0; step < 500; ++step) {
      const size_t process = rng.Uniform(clocks.size());
      const uint64_t before = clocks[process].time();
      const uint64_t action = rng.Uniform(3);
      if (action == 0) {
        EXPECT_GT(clocks[process].Tick(), before);
      } else if (action == 1) {
        in_flight.push_back({rng.Uniform(clocks.size()), clocks[process].Tick()});
      } else if (!in_flight.empty()) {
        const size_t pick = rng.Uniform(in_flight.size());
        const Message message = in_flight[pick];
        in_flight.erase(in_flight.begin() + static_cast<std::ptrdiff_t>(pick));
        const uint64_t before_target = clocks[message.target].time();
        const uint64_t received = clocks[message.target].Update(message.stamp);
        EXPECT_GT(received, message.stamp);
        EXPECT_GT(received, before_target);
      }
    }
  }
}

}  // namespace
}  // namespace murphy
