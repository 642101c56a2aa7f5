#include "murphy/detect/fixed_timeout_detector.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

TEST(FixedTimeoutDetectorTest, SuspectsStrictlyAfterTheTimeout) {
  FixedTimeoutDetector detector(Seconds(2));
  EXPECT_EQ(detector.timeout(), Seconds(2));
  EXPECT_EQ(detector.name(), "fixed-timeout");
  detector.Heartbeat(At(Seconds(10)));
  EXPECT_FALSE(detector.Suspect(At(Seconds(12))));
  EXPECT_TRUE(detector.Suspect(At(Seconds(12) + Nanoseconds(1))));
  EXPECT_DOUBLE_EQ(detector.Suspicion(At(Seconds(11))), 0.5);
  EXPECT_DOUBLE_EQ(detector.Suspicion(At(Seconds(14))), 2.0);
  detector.Heartbeat(At(Seconds(13)));
  EXPECT_FALSE(detector.Suspect(At(Seconds(14))));
  EXPECT_DOUBLE_EQ(detector.Suspicion(At(Seconds(13))), 0.0);
}

}  // namespace
}  // namespace murphy
