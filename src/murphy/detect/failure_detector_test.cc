#include "murphy/detect/failure_detector.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <vector>

#include "murphy/detect/fixed_timeout_detector.h"
#include "murphy/detect/phi_accrual_detector.h"
#include "murphy/detect/quantile_timeout.h"
#include "murphy/detect/rfc6298.h"

namespace murphy {
namespace {

Instant At(Duration d) { return Instant::FromNanoseconds(0) + d; }

TEST(ArrivalTrackerTest, ReportsIntervalsAfterTheFirstArrival) {
  ArrivalTracker tracker;
  EXPECT_FALSE(tracker.monitoring());
  EXPECT_FALSE(tracker.Arrive(At(Seconds(1))).has_value());
  EXPECT_TRUE(tracker.monitoring());
  EXPECT_EQ(tracker.Arrive(At(Milliseconds(2500))), Milliseconds(1500));
  EXPECT_EQ(tracker.Elapsed(At(Seconds(3))), Milliseconds(500));
  // A query earlier than the last arrival is zero silence, not negative.
  EXPECT_EQ(tracker.Elapsed(At(Seconds(2))), Duration::Zero());
}

TEST(ArrivalTrackerTest, LocalPauseRestartsSilenceAndSkipsOneInterval) {
  ArrivalTracker tracker;
  tracker.NoteLocalPause(At(Seconds(0)), Seconds(5));  // before monitoring: ignored
  EXPECT_FALSE(tracker.monitoring());
  tracker.Arrive(At(Seconds(10)));
  tracker.NoteLocalPause(At(Seconds(5)), Seconds(2));  // ended before our evidence: ignored
  EXPECT_EQ(tracker.last_arrival(), At(Seconds(10)));
  EXPECT_EQ(tracker.Arrive(At(Seconds(11))), Seconds(1));
  tracker.NoteLocalPause(At(Seconds(12)), Seconds(8));
  EXPECT_EQ(tracker.Elapsed(At(Seconds(20))), Duration::Zero());
  EXPECT_EQ(tracker.Elapsed(At(Seconds(21))), Seconds(1));
  EXPECT_FALSE(tracker.Arrive(At(Seconds(20) + Milliseconds(10))).has_value());  // skewed: skipped
  EXPECT_EQ(tracker.Arrive(At(Seconds(21) + Milliseconds(10))), Seconds(1));    // back to normal
}

TEST(LocalPauseMonitorTest, ReportsGapsLongerThanTheBound) {
  LocalPauseMonitor monitor(Milliseconds(100));
  EXPECT_FALSE(monitor.Observe(At(Seconds(1))).has_value());
  EXPECT_FALSE(monitor.Observe(At(Seconds(1) + Milliseconds(100))).has_value());  // exactly the bound
  const auto pause = monitor.Observe(At(Seconds(3)));
  ASSERT_TRUE(pause.has_value());
  EXPECT_EQ(pause->from, At(Seconds(1) + Milliseconds(100)));
  EXPECT_EQ(pause->length, Milliseconds(1900));
  EXPECT_FALSE(monitor.Observe(At(Seconds(3) + Milliseconds(10))).has_value());
}

// Every detector, through the common interface: not monitoring before the first
// heartbeat, suspects a long silence, and convicts nobody for the owner's own pause.
std::vector<std::function<std::unique_ptr<FailureDetector>()>> AllDetectors() {
  return {
      [] { return std::make_unique<FixedTimeoutDetector>(Seconds(2)); },
      [] { return std::make_unique<Rfc6298Detector>(); },
      [] { return std::make_unique<QuantileTimeoutDetector>(); },
      [] { return std::make_unique<PhiAccrualDetector>(); },
      [] {
        PhiAccrualConfig config;
        config.distribution = PhiDistribution::kExponential;
        return std::make_unique<PhiAccrualDetector>(config);
      },
  };
}

TEST(FailureDetectorTest, CommonContractHoldsForEveryDetector) {
  for (const auto& make : AllDetectors()) {
    std::unique_ptr<FailureDetector> detector = make();
    SCOPED_TRACE(std::string(detector->name()));
    EXPECT_FALSE(detector->Suspect(At(Hours(1))));
    EXPECT_EQ(detector->Suspicion(At(Hours(1))), 0.0);
    for (int i = 0; i < 20; ++i) detector->Heartbeat(At(Seconds(i)));
    EXPECT_FALSE(detector->Suspect(At(Seconds(19) + Milliseconds(100))));
    EXPECT_TRUE(detector->Suspect(At(Seconds(19) + Seconds(60))));
    EXPECT_LT(detector->Suspicion(At(Seconds(20))), detector->Suspicion(At(Seconds(40))));

    // The owner itself froze for 60 s: right after waking nobody is convicted...
    detector->NoteLocalPause(At(Seconds(19) + Milliseconds(500)), Seconds(60));
    const Instant wake = At(Seconds(79) + Milliseconds(500));
    EXPECT_FALSE(detector->Suspect(wake));
    EXPECT_FALSE(detector->Suspect(wake + Milliseconds(500)));
    // ...but a peer that stays silent after our pause is convicted again.
    EXPECT_TRUE(detector->Suspect(wake + Seconds(60)));
  }
}

}  // namespace
}  // namespace murphy
