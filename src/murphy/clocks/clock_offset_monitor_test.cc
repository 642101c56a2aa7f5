#include "murphy/clocks/clock_offset_monitor.h"

#include <gtest/gtest.h>

#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

constexpr int64_t kStartNs = int64_t{1767225600} * 1'000'000'000;
const Instant kNow = Instant::FromNanoseconds(1'000'000'000);

// A ping from a node at true time `start` to a peer whose clock is `peer_offset` ahead
// of ours: `out` and `back` one-way delays, `hold` processing at the peer.
RoundTripSample Ping(Duration peer_offset, Duration out, Duration back, Duration hold = Duration::Zero()) {
  const WallTime t0 = WallTime::FromNanoseconds(kStartNs);
  const WallTime t1 = t0 + out + peer_offset;
  const WallTime t2 = t1 + hold;
  const WallTime t3 = t0 + out + hold + back;
  return RoundTripSample{t0, t1, t2, t3};
}

ClockOffsetMonitor::Options DefaultOptions() {
  ClockOffsetMonitor::Options options;
  options.max_offset = Milliseconds(500);
  options.tolerated_fraction = 0.8;
  options.estimate_ttl = Seconds(10);
  options.max_uncertainty = Milliseconds(250);
  options.max_peers = 8;
  return options;
}

TEST(ClockOffsetMonitorTest, SymmetricDelaysGiveExactOffset) {
  ClockOffsetMonitor monitor(DefaultOptions());
  ASSERT_TRUE(monitor
                  .Record(NodeId(2),
                          Ping(Milliseconds(100), Milliseconds(10), Milliseconds(10), Milliseconds(3)), kNow)
                  .ok());
  const std::optional<PeerOffset> estimate = monitor.Estimate(NodeId(2), kNow);
  ASSERT_TRUE(estimate.has_value());
  EXPECT_EQ(estimate->offset, Milliseconds(100));
  EXPECT_EQ(estimate->uncertainty, Milliseconds(10)) << "RTT/2, the peer's hold time excluded";
  EXPECT_EQ(estimate->peer, NodeId(2));
  EXPECT_EQ(monitor.far_threshold(), Milliseconds(400));
}

TEST(ClockOffsetMonitorTest, PropertyTrueOffsetLiesWithinUncertainty) {
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    ClockOffsetMonitor monitor(DefaultOptions());
    const Duration offset = rng.UniformDuration(-Seconds(2), Seconds(2));
    const Duration out = rng.UniformDuration(Duration::Zero(), Milliseconds(50));
    const Duration back = rng.UniformDuration(Duration::Zero(), Milliseconds(50));
    const Duration hold = rng.UniformDuration(Duration::Zero(), Milliseconds(5));
    ASSERT_TRUE(monitor.Record(NodeId(1), Ping(offset, out, back, hold), kNow).ok());
    const PeerOffset estimate = *monitor.Estimate(NodeId(1), kNow);
    EXPECT_LE(Abs(estimate.offset - offset), estimate.uncertainty);
    EXPECT_LE(estimate.uncertainty, (out + back) / 2 + Nanoseconds(1));
  }
}

TEST(ClockOffsetMonitorTest, RejectsImpossibleRoundTrips) {
  ClockOffsetMonitor monitor(DefaultOptions());
  RoundTripSample backward = Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1));
  backward.local_receive = backward.local_send - Milliseconds(1);
  EXPECT_EQ(monitor.Record(NodeId(1), backward, kNow).code(), StatusCode::kInvalidArgument);
  RoundTripSample peer_backward = Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1));
  peer_backward.remote_send = peer_backward.remote_receive - Milliseconds(1);
  EXPECT_EQ(monitor.Record(NodeId(1), peer_backward, kNow).code(), StatusCode::kInvalidArgument);
  // The peer claims to have held the ping for longer than the whole round trip.
  RoundTripSample long_hold = Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1));
  long_hold.remote_send = long_hold.remote_receive + Milliseconds(10);
  EXPECT_EQ(monitor.Record(NodeId(1), long_hold, kNow).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(monitor.Estimate(NodeId(1), kNow).has_value());
}

TEST(ClockOffsetMonitorTest, PicksTheSampleWithSmallestRoundTripAndExpiresOldOnes) {
  ClockOffsetMonitor monitor(DefaultOptions());
  ASSERT_TRUE(
      monitor.Record(NodeId(3), Ping(Milliseconds(20), Milliseconds(40), Milliseconds(2)), kNow).ok());
  ASSERT_TRUE(
      monitor.Record(NodeId(3), Ping(Milliseconds(20), Milliseconds(1), Milliseconds(1)), kNow + Seconds(1))
          .ok());
  ASSERT_TRUE(
      monitor.Record(NodeId(3), Ping(Milliseconds(20), Milliseconds(2), Milliseconds(30)), kNow + Seconds(2))
          .ok());
  PeerOffset best = *monitor.Estimate(NodeId(3), kNow + Seconds(2));
  EXPECT_EQ(best.uncertainty, Milliseconds(1));
  EXPECT_EQ(best.offset, Milliseconds(20));
  EXPECT_EQ(best.measured_at, kNow + Seconds(1));
  // Once the best sample is older than the ttl, the next best fresh one is used.
  best = *monitor.Estimate(NodeId(3), kNow + Seconds(11) + Nanoseconds(1));
  EXPECT_EQ(best.measured_at, kNow + Seconds(2));
  EXPECT_FALSE(monitor.Estimate(NodeId(3), kNow + Seconds(13)).has_value());
  EXPECT_TRUE(monitor.Estimates(kNow + Seconds(13)).empty());
}

TEST(ClockOffsetMonitorTest, WindowKeepsOnlyTheLastSamples) {
  ClockOffsetMonitor monitor(DefaultOptions());
  // A very good sample, then kOffsetSamplesPerPeer worse ones push it out.
  ASSERT_TRUE(monitor.Record(NodeId(1), Ping(Duration::Zero(), Nanoseconds(1), Nanoseconds(1)), kNow).ok());
  for (size_t i = 0; i < kOffsetSamplesPerPeer; ++i) {
    ASSERT_TRUE(
        monitor.Record(NodeId(1), Ping(Duration::Zero(), Milliseconds(5), Milliseconds(5)), kNow).ok());
  }
  EXPECT_EQ(monitor.Estimate(NodeId(1), kNow)->uncertainty, Milliseconds(5));
}

TEST(ClockOffsetMonitorTest, PeerCountIsBounded) {
  ClockOffsetMonitor monitor(DefaultOptions());
  for (uint32_t peer = 1; peer <= 8; ++peer) {
    ASSERT_TRUE(
        monitor.Record(NodeId(peer), Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1)), kNow).ok());
  }
  EXPECT_EQ(monitor.Record(NodeId(9), Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1)), kNow).code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(monitor.Record(NodeId(1), Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1)), kNow).ok());
  // After the others expire there is room again.
  EXPECT_TRUE(
      monitor.Record(NodeId(9), Ping(Duration::Zero(), Milliseconds(1), Milliseconds(1)), kNow + Seconds(11))
          .ok());
  EXPECT_EQ(monitor.Estimates(kNow + Seconds(11)).size(), 1u);
  monitor.Forget(NodeId(9));
  EXPECT_TRUE(monitor.Estimates(kNow + Seconds(11)).empty());
}

ClockOffsetMonitor MonitorWithPeers(const std::vector<Duration>& offsets, Duration one_way) {
  ClockOffsetMonitor monitor(DefaultOptions());
  uint32_t peer = 1;
  for (Duration offset : offsets) {
    EXPECT_TRUE(monitor.Record(NodeId(peer++), Ping(offset, one_way, one_way), kNow).ok());
  }
  return monitor;
}

TEST(ClockOffsetMonitorTest, NodeFarFromMajorityMustFence) {
  // Five nodes; this node's clock is 1 s fast, so every peer looks 1 s behind.
  const ClockOffsetMonitor bad =
      MonitorWithPeers({-Seconds(1), -Seconds(1), -Seconds(1), -Seconds(1)}, Milliseconds(1));
  const OffsetVerdict verdict = bad.Evaluate(kNow);
  EXPECT_EQ(verdict.far_peers, 4);
  EXPECT_TRUE(verdict.must_fence);
  const Status status = bad.Verify(kNow);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("4 of 5"), std::string_view::npos) << status.ToString();
  // A good node of the same cluster sees one far peer and three near ones.
  const ClockOffsetMonitor good =
      MonitorWithPeers({Seconds(1), Milliseconds(3), Duration::Zero(), -Milliseconds(2)}, Milliseconds(1));
  EXPECT_EQ(good.Evaluate(kNow).far_peers, 1);
  EXPECT_FALSE(good.Evaluate(kNow).must_fence);
  EXPECT_TRUE(good.Verify(kNow).ok());
}

TEST(ClockOffsetMonitorTest, ThreeNodesOneBadClockFencesOnlyTheBadNode) {
  EXPECT_TRUE(MonitorWithPeers({-Seconds(1), -Seconds(1)}, Milliseconds(1)).Evaluate(kNow).must_fence);
  EXPECT_FALSE(MonitorWithPeers({Seconds(1), Duration::Zero()}, Milliseconds(1)).Evaluate(kNow).must_fence);
  // Two nodes can never tell whose clock is wrong.
  EXPECT_FALSE(MonitorWithPeers({Seconds(1)}, Milliseconds(1)).Evaluate(kNow).must_fence);
}

TEST(ClockOffsetMonitorTest, UncertaintyKeepsAPeerFromCountingAsFar) {
  // Offset 450 ms looks beyond the 400 ms threshold, but with 100 ms of uncertainty the
  // true offset may be 350 ms: not proven far.
  const ClockOffsetMonitor uncertain =
      MonitorWithPeers({Milliseconds(450), Milliseconds(450)}, Milliseconds(100));
  EXPECT_EQ(uncertain.Evaluate(kNow).far_peers, 0);
  EXPECT_FALSE(uncertain.Evaluate(kNow).must_fence);
  // With a tight round trip the same offset is proven far.
  const ClockOffsetMonitor certain =
      MonitorWithPeers({Milliseconds(450), Milliseconds(450)}, Milliseconds(1));
  EXPECT_EQ(certain.Evaluate(kNow).far_peers, 2);
  EXPECT_TRUE(certain.Evaluate(kNow).must_fence);
  // Beyond max_uncertainty a sample is no evidence either way.
  const ClockOffsetMonitor slow = MonitorWithPeers({Seconds(5), Seconds(5)}, Milliseconds(300));
  EXPECT_EQ(slow.Evaluate(kNow).inconclusive_peers, 2);
  EXPECT_FALSE(slow.Evaluate(kNow).must_fence);
}

}  // namespace
}  // namespace murphy
