#include "murphy/clocksync/clock_prober.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/protocol/clock_ping.h"
#include "murphy/protocol/frame.h"

namespace murphy::clocksync {
namespace {

// 2026-11-26T00:00:00Z: wall clocks start here plus each node's skew.
constexpr int64_t kEpochNanoseconds = 1'795'651'200'000'000'000;

class NoDisk : public Disk {
 public:
  Status Append(std::string_view, std::span<const uint8_t>) override { return Unsupported(); }
  Status Sync(std::string_view) override { return Unsupported(); }
  void SyncAsync(std::string_view, std::function<void(Status)> done) override { done(Unsupported()); }
  Result<Bytes> Read(std::string_view) override { return Unsupported(); }
  Status Truncate(std::string_view, uint64_t) override { return Unsupported(); }
  Status Rename(std::string_view, std::string_view) override { return Unsupported(); }
  Status Remove(std::string_view) override { return Unsupported(); }
  Status SyncDirectory() override { return Unsupported(); }
  Result<std::vector<std::string>> List() override { return Unsupported(); }

 private:
  static Status Unsupported() { return UnimplementedError("clock prober tests use no disk"); }
};

class FakeNetwork;

// One node of the fake network: virtual time shared with the network, its own wall
// clock skew, timers and sends queued as network events.
class FakeEnv : public Env {
 public:
  FakeEnv(FakeNetwork* network, NodeId self) : network_(network), self_(self), rng_(self.value()) {}

  NodeId self() const override { return self_; }
  Instant MonotonicNow() override;
  WallTime WallNow() override;
  Instant BootNow() override { return MonotonicNow(); }
  TimerId SetTimer(Duration delay, std::function<void()> callback) override;
  bool CancelTimer(TimerId id) override;
  void Send(NodeId target, Bytes payload) override;
  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) override {
    receiver_ = std::move(receiver);
  }
  Disk& disk() override { return disk_; }
  Rng& rng() override { return rng_; }
  void Trace(std::string_view event, std::initializer_list<TraceField>) override {
    traced.emplace_back(event);
  }

  void Deliver(NodeId source, const Bytes& payload) {
    if (receiver_) receiver_(source, payload);
  }

  Duration wall_skew;  // this node's wall clock minus true time
  std::vector<std::string> traced;

 private:
  FakeNetwork* network_;
  NodeId self_;
  Rng rng_;
  NoDisk disk_;
  std::function<void(NodeId, std::span<const uint8_t>)> receiver_;
};

// A discrete-event network: every node sees the same true time; a message takes
// `latency(source, target)` and may be dropped by `drop`.
class FakeNetwork {
 public:
  FakeEnv& Add(NodeId id) {
    auto env = std::make_unique<FakeEnv>(this, id);
    FakeEnv& result = *env;
    envs_[id] = std::move(env);
    return result;
  }
  FakeEnv& env(NodeId id) { return *envs_.at(id); }

  Instant now() const { return now_; }

  TimerId Schedule(Duration delay, std::function<void()> callback) {
    const uint64_t id = next_id_++;
    events_.emplace(Key{now_ + Max(delay, Duration::Zero()), id}, std::move(callback));
    return TimerId(static_cast<TimerId::rep_type>(id));
  }
  bool Cancel(TimerId id) {
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      if (it->first.id == id.value()) {
        events_.erase(it);
        return true;
      }
    }
    return false;
  }
  void Send(NodeId source, NodeId target, Bytes payload) {
    ++messages_sent;
    if (drop && drop(source, target, payload)) return;
    const Duration delay = latency ? latency(source, target) : Milliseconds(5);
    Schedule(delay, [this, source, target, payload = std::move(payload)] {
      auto it = envs_.find(target);
      if (it != envs_.end()) it->second->Deliver(source, payload);
    });
  }
  // Runs every event due within `duration` of true time, in order.
  void RunFor(Duration duration) {
    const Instant end = now_ + duration;
    while (!events_.empty() && events_.begin()->first.due <= end) {
      auto node = events_.extract(events_.begin());
      now_ = node.key().due;
      node.mapped()();
    }
    now_ = end;
  }
  size_t pending_events() const { return events_.size(); }

  std::function<Duration(NodeId, NodeId)> latency;
  std::function<bool(NodeId, NodeId, const Bytes&)> drop;
  uint64_t messages_sent = 0;

 private:
  struct Key {
    Instant due;
    uint64_t id;
    auto operator<=>(const Key&) const = default;
  };
  Instant now_ = Instant::FromNanoseconds(1'000'000'000);
  uint64_t next_id_ = 1;
  std::map<Key, std::function<void()>> events_;
  std::map<NodeId, std::unique_ptr<FakeEnv>> envs_;
};

Instant FakeEnv::MonotonicNow() { return network_->now(); }
WallTime FakeEnv::WallNow() {
  return WallTime::FromNanoseconds(kEpochNanoseconds + network_->now().nanoseconds()) + wall_skew;
}
TimerId FakeEnv::SetTimer(Duration delay, std::function<void()> callback) {
  return network_->Schedule(delay, std::move(callback));
}
bool FakeEnv::CancelTimer(TimerId id) { return network_->Cancel(id); }
void FakeEnv::Send(NodeId target, Bytes payload) { network_->Send(self_, target, std::move(payload)); }

ClockProberOptions Options(std::vector<NodeId> peers) {
  ClockProberOptions options;
  options.peers = std::move(peers);
  options.ping_interval = Seconds(1);
  options.monitor.max_offset = Milliseconds(500);
  return options;
}

const std::vector<NodeId> kThree = {NodeId(1), NodeId(2), NodeId(3)};

TEST(ClockProberTest, MeasuresASkewedPeerExactlyOnSymmetricLinks) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  FakeEnv& b = network.Add(NodeId(2));
  b.wall_skew = Milliseconds(300);
  ClockProber prober_a(a, Options({NodeId(1), NodeId(2)}));
  ClockProber prober_b(b, Options({NodeId(1), NodeId(2)}));
  a.SetReceiver(
      [&](NodeId source, std::span<const uint8_t> payload) { prober_a.OnMessage(source, payload); });
  b.SetReceiver(
      [&](NodeId source, std::span<const uint8_t> payload) { prober_b.OnMessage(source, payload); });

  network.RunFor(Milliseconds(100));
  const ClockOffsetReport report_a = prober_a.Report();
  ASSERT_EQ(report_a.estimates.size(), 1u);
  EXPECT_EQ(report_a.estimates[0].peer, NodeId(2));
  EXPECT_EQ(report_a.estimates[0].offset, Milliseconds(300));
  EXPECT_EQ(report_a.estimates[0].uncertainty, Milliseconds(5));  // half the 10 ms round trip
  EXPECT_EQ(report_a.max_abs_offset, Milliseconds(300));
  // Two clocks: the median of {0, +300 ms} is +150 ms, so A is 150 ms behind it.
  EXPECT_EQ(report_a.offset_from_cluster, -Milliseconds(150));
  EXPECT_EQ(report_a.bound, Milliseconds(500));
  EXPECT_FALSE(report_a.verdict.must_fence);

  const ClockOffsetReport report_b = prober_b.Report();
  ASSERT_EQ(report_b.estimates.size(), 1u);
  EXPECT_EQ(report_b.estimates[0].offset, -Milliseconds(300));
  EXPECT_EQ(prober_a.metrics().pings_sent, 1u);
  EXPECT_EQ(prober_a.metrics().pongs_sent, 1u);
  EXPECT_EQ(prober_a.metrics().samples_recorded, 1u);
}

TEST(ClockProberTest, PingsEveryIntervalAndOnlyConfiguredPeers) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  std::vector<NodeId> targets;
  network.drop = [&](NodeId, NodeId target, const Bytes&) {
    targets.push_back(target);
    return true;
  };
  // Self, a duplicate and unsorted ids: pinged once each, never itself.
  ClockProber prober(a, Options({NodeId(3), NodeId(1), NodeId(2), NodeId(3)}));
  network.RunFor(Milliseconds(2500));  // rounds at 0, 1 s and 2 s
  EXPECT_EQ(targets, (std::vector<NodeId>{NodeId(2), NodeId(3), NodeId(2), NodeId(3), NodeId(2), NodeId(3)}));
  EXPECT_EQ(prober.metrics().pings_sent, 6u);
  EXPECT_EQ(prober.metrics().pings_lost, 4u);  // the first two rounds were replaced unanswered
}

TEST(ClockProberTest, NoEstimateBeforeTheFirstAnswerAndNoFence) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  network.Add(NodeId(2)).wall_skew = Seconds(10);
  network.Add(NodeId(3)).wall_skew = Seconds(10);
  ClockProber prober(a, Options(kThree));
  const ClockOffsetReport report = prober.Report();
  EXPECT_TRUE(report.estimates.empty());
  EXPECT_FALSE(report.verdict.must_fence);
  EXPECT_EQ(report.max_abs_offset, Duration::Zero());
  EXPECT_EQ(report.offset_to_majority, Duration::Zero());
  EXPECT_FALSE(report.offset_from_cluster.has_value());
}

// A cluster of three nodes with probers wired to their envs' receivers.
struct ThreeNodes {
  explicit ThreeNodes(Duration skew_of_3) {
    for (const NodeId id : kThree) {
      FakeEnv& env = network.Add(id);
      if (id == NodeId(3)) env.wall_skew = skew_of_3;
      probers[id] = std::make_unique<ClockProber>(env, Options(kThree));
      ClockProber* prober = probers[id].get();
      env.SetReceiver([prober](NodeId source, std::span<const uint8_t> payload) {
        MURPHY_ASSERT(prober->OnMessage(source, payload));
      });
    }
  }
  FakeNetwork network;
  std::map<NodeId, std::unique_ptr<ClockProber>> probers;
};

TEST(ClockProberTest, OnlyTheNodeFarFromAMajorityMustFence) {
  ThreeNodes cluster(Seconds(10));
  cluster.network.RunFor(Seconds(3));
  const ClockOffsetReport skewed = cluster.probers[NodeId(3)]->Report();
  EXPECT_TRUE(skewed.verdict.must_fence);
  EXPECT_EQ(skewed.verdict.far_peers, 2);
  EXPECT_EQ(skewed.offset_to_majority, Seconds(10));
  EXPECT_EQ(skewed.max_abs_offset, Seconds(10));
  EXPECT_EQ(skewed.offset_from_cluster, Seconds(10));
  for (const NodeId id : {NodeId(1), NodeId(2)}) {
    const ClockOffsetReport healthy = cluster.probers[id]->Report();
    EXPECT_FALSE(healthy.verdict.must_fence) << "node " << id.value();
    EXPECT_EQ(healthy.verdict.far_peers, 1);
    EXPECT_EQ(healthy.verdict.near_peers, 1);
    EXPECT_EQ(healthy.max_abs_offset, Seconds(10));
    EXPECT_EQ(healthy.offset_to_majority, Duration::Zero());
    EXPECT_EQ(healthy.offset_from_cluster, Duration::Zero());
  }
}

TEST(ClockProberTest, TheBoundIsMaxOffsetItselfNotEightyPercent) {
  // 450 ms is beyond CockroachDB's 0.8 x 500 ms but within the 500 ms readiness bound.
  ThreeNodes cluster(Milliseconds(450));
  cluster.network.RunFor(Seconds(2));
  EXPECT_FALSE(cluster.probers[NodeId(3)]->Report().verdict.must_fence);
  ThreeNodes beyond(Milliseconds(520));
  beyond.network.RunFor(Seconds(2));
  EXPECT_TRUE(beyond.probers[NodeId(3)]->Report().verdict.must_fence);
}

TEST(ClockProberTest, SlowLinksAreInconclusiveAndDoNotFence) {
  ThreeNodes cluster(Seconds(10));
  // 400 ms each way: uncertainty 400 ms > max_uncertainty 250 ms.
  cluster.network.latency = [](NodeId, NodeId) { return Milliseconds(400); };
  cluster.network.RunFor(Seconds(1) + Milliseconds(900));
  const ClockOffsetReport skewed = cluster.probers[NodeId(3)]->Report();
  EXPECT_EQ(skewed.verdict.inconclusive_peers, 2);
  EXPECT_FALSE(skewed.verdict.must_fence);
}

TEST(ClockProberTest, EstimatesExpireWhenPeersStopAnswering) {
  ThreeNodes cluster(Seconds(10));
  cluster.network.RunFor(Seconds(2));
  ASSERT_TRUE(cluster.probers[NodeId(3)]->Report().verdict.must_fence);
  cluster.network.drop = [](NodeId, NodeId, const Bytes&) { return true; };
  cluster.network.RunFor(Seconds(11));  // beyond estimate_ttl (10 s)
  const ClockOffsetReport report = cluster.probers[NodeId(3)]->Report();
  EXPECT_TRUE(report.estimates.empty());
  EXPECT_FALSE(report.verdict.must_fence);
  EXPECT_GT(cluster.probers[NodeId(3)]->metrics().pings_lost, 0u);
}

TEST(ClockProberTest, LateDuplicatedAndForgedPongsAreNotRecorded) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  network.Add(NodeId(2));
  std::vector<Bytes> pings;
  network.drop = [&](NodeId, NodeId, const Bytes& payload) {
    pings.push_back(payload);
    return true;
  };
  ClockProber prober(a, Options({NodeId(1), NodeId(2)}));
  network.RunFor(Milliseconds(1));
  ASSERT_EQ(pings.size(), 1u);
  Result<protocol::ClockMessage> sent = protocol::DecodeClockMessage(pings[0]);
  ASSERT_TRUE(sent.ok());
  const protocol::ClockPing ping = std::get<protocol::ClockPing>(*sent);
  const WallTime peer_time = ping.origin + Milliseconds(2);

  // From a node that was not pinged; with a wrong sequence; with a wrong origin.
  EXPECT_TRUE(prober.OnMessage(
      NodeId(3), protocol::EncodeClockPongFrame({ping.sequence, ping.origin, peer_time, peer_time})));
  EXPECT_TRUE(prober.OnMessage(
      NodeId(2), protocol::EncodeClockPongFrame({ping.sequence + 1, ping.origin, peer_time, peer_time})));
  EXPECT_TRUE(prober.OnMessage(
      NodeId(2),
      protocol::EncodeClockPongFrame({ping.sequence, ping.origin + Nanoseconds(1), peer_time, peer_time})));
  EXPECT_EQ(prober.metrics().pongs_unmatched, 3u);
  EXPECT_TRUE(prober.Report().estimates.empty());

  const Bytes pong = protocol::EncodeClockPongFrame({ping.sequence, ping.origin, peer_time, peer_time});
  network.RunFor(Milliseconds(3));
  EXPECT_TRUE(prober.OnMessage(NodeId(2), pong));
  EXPECT_EQ(prober.metrics().samples_recorded, 1u);
  EXPECT_TRUE(prober.OnMessage(NodeId(2), pong));  // the duplicate
  EXPECT_EQ(prober.metrics().samples_recorded, 1u);
  EXPECT_EQ(prober.metrics().pongs_unmatched, 4u);
  ASSERT_EQ(prober.Report().estimates.size(), 1u);
}

TEST(ClockProberTest, ALocalWallClockStepMidFlightDoesNotDistortTheEstimate) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  FakeEnv& b = network.Add(NodeId(2));
  b.wall_skew = Milliseconds(200);
  ClockProber prober_a(a, Options({NodeId(1), NodeId(2)}));
  ClockProber prober_b(b, Options({}));
  a.SetReceiver(
      [&](NodeId source, std::span<const uint8_t> payload) { prober_a.OnMessage(source, payload); });
  b.SetReceiver([&](NodeId source, std::span<const uint8_t> payload) {
    prober_b.OnMessage(source, payload);
    a.wall_skew = Seconds(30);  // A's wall clock steps while the pong is in flight
  });
  network.RunFor(Milliseconds(50));
  const ClockOffsetReport report = prober_a.Report();
  ASSERT_EQ(report.estimates.size(), 1u);
  EXPECT_EQ(report.estimates[0].offset, Milliseconds(200));
}

TEST(ClockProberTest, PeerClockSteppingBackIsRejected) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  network.Add(NodeId(2));
  std::vector<Bytes> pings;
  network.drop = [&](NodeId, NodeId, const Bytes& payload) {
    pings.push_back(payload);
    return true;
  };
  ClockProber prober(a, Options({NodeId(1), NodeId(2)}));
  network.RunFor(Milliseconds(1));
  ASSERT_EQ(pings.size(), 1u);
  const auto ping = std::get<protocol::ClockPing>(*protocol::DecodeClockMessage(pings[0]));
  // The peer "sent" its pong a second before it received the ping.
  const WallTime received = ping.origin + Milliseconds(1);
  EXPECT_TRUE(prober.OnMessage(NodeId(2), protocol::EncodeClockPongFrame({ping.sequence, ping.origin,
                                                                          received, received - Seconds(1)})));
  EXPECT_EQ(prober.metrics().samples_rejected, 1u);
  EXPECT_TRUE(prober.Report().estimates.empty());
  EXPECT_EQ(a.traced, std::vector<std::string>{"clock_sample_rejected"});
}

TEST(ClockProberTest, OnlyClockFramesAreConsumed) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  ClockProber prober(a, Options({}));
  EXPECT_FALSE(prober.OnMessage(NodeId(2), EncodeFrame(0x10, Bytes{1, 2, 3})));
  EXPECT_FALSE(prober.OnMessage(NodeId(2), Bytes{}));
  EXPECT_FALSE(prober.OnMessage(NodeId(2), Bytes{0x59, 0x4D, 1, protocol::kClockPingFrame}));  // short
  Bytes corrupt = protocol::EncodeClockPingFrame({1, WallTime::FromNanoseconds(5)});
  corrupt.back() ^= 0x40;
  EXPECT_TRUE(prober.OnMessage(NodeId(2), corrupt));
  EXPECT_EQ(prober.metrics().bad_messages, 1u);
  EXPECT_EQ(prober.metrics().pongs_sent, 0u);
}

TEST(ClockProberTest, DestructionCancelsTheTimer) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  {
    ClockProber prober(a, Options({NodeId(2)}));
    EXPECT_EQ(network.pending_events(), 1u);
  }
  EXPECT_EQ(network.pending_events(), 0u);
  network.RunFor(Seconds(5));
  EXPECT_EQ(network.messages_sent, 0u);
}

TEST(ClockProbeEnvTest, PassesEverythingButClockFramesToTheNode) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  FakeEnv& b = network.Add(NodeId(2));
  b.wall_skew = Milliseconds(-120);
  ClockProbeEnv wrapped_a(&a, Options({NodeId(1), NodeId(2)}));
  ClockProbeEnv wrapped_b(&b, Options({NodeId(1), NodeId(2)}));
  std::vector<Bytes> node_a_received;
  wrapped_a.SetReceiver([&](NodeId, std::span<const uint8_t> payload) {
    node_a_received.emplace_back(payload.begin(), payload.end());
  });
  // The node's own traffic goes through the wrapper untouched.
  const Bytes raft_frame = EncodeFrame(0x01, Bytes{9, 9});
  wrapped_b.Send(NodeId(1), raft_frame);
  network.RunFor(Milliseconds(100));
  ASSERT_EQ(node_a_received.size(), 1u);
  EXPECT_EQ(node_a_received[0], raft_frame);
  ASSERT_EQ(wrapped_a.prober().Report().estimates.size(), 1u);
  EXPECT_EQ(wrapped_a.prober().Report().estimates[0].offset, Milliseconds(-120));
  EXPECT_EQ(wrapped_a.self(), NodeId(1));
}

TEST(ClockProbeEnvTest, WrappersCompose) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  FakeEnv& b = network.Add(NodeId(2));
  // Another wrapper between the real env and this one, and one above it.
  EnvWrapper below(&a);
  ClockProbeEnv wrapped(&below, Options({NodeId(1), NodeId(2)}));
  EnvWrapper above(&wrapped);
  ClockProber prober_b(b, Options({}));
  b.SetReceiver(
      [&](NodeId source, std::span<const uint8_t> payload) { prober_b.OnMessage(source, payload); });
  int node_messages = 0;
  above.SetReceiver([&](NodeId, std::span<const uint8_t>) { ++node_messages; });
  b.Send(NodeId(1), EncodeFrame(0x11, Bytes{1}));
  network.RunFor(Milliseconds(100));
  EXPECT_EQ(node_messages, 1);
  EXPECT_EQ(wrapped.prober().metrics().samples_recorded, 1u);
}

TEST(ClockProbeEnvTest, TheNodeMayReplaceItsReceiverFromInsideIt) {
  FakeNetwork network;
  FakeEnv& a = network.Add(NodeId(1));
  FakeEnv& b = network.Add(NodeId(2));
  ClockProbeEnv wrapped(&a, Options({}));
  int first = 0;
  int second = 0;
  wrapped.SetReceiver([&](NodeId, std::span<const uint8_t>) {
    ++first;
    wrapped.SetReceiver([&](NodeId, std::span<const uint8_t>) { ++second; });
  });
  b.Send(NodeId(1), EncodeFrame(0x01, Bytes{1}));
  b.Send(NodeId(1), EncodeFrame(0x01, Bytes{2}));
  network.RunFor(Milliseconds(100));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

}  // namespace
}  // namespace murphy::clocksync
