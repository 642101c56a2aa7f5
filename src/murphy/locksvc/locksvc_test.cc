// The replicated lock service on a simulated 3-node cluster: the chapter's timeline
// ("The Lease Problem" / "Fencing Tokens") end to end, and the state machine's
// snapshot round trip.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/locksvc/lock_node.h"
#include "murphy/locksvc/lock_state_machine.h"
#include "murphy/sim/simulator.h"

namespace murphy::locksvc {
namespace {

// A client that speaks the wire protocol directly, so the test controls exactly what
// is sent when (no keepalives: A's lease runs out at its TTL, as in the chapter).
class RawClient {
 public:
  explicit RawClient(Env& env) : env_(env) {
    env_.SetReceiver([this](NodeId, std::span<const uint8_t> payload) {
      protocol::ClientMessage message;
      if (!protocol::DecodeClientMessage(payload, &message).ok()) return;
      if (auto* response = std::get_if<protocol::Response>(&message))
        responses_[response->request_id] = *response;
      if (auto* push = std::get_if<protocol::Push>(&message)) pushes_.push_back(*push);
    });
  }
  // Sends a request to `node`; returns its id.
  uint64_t Send(NodeId node, protocol::RequestBody body, bool mutation = true) {
    protocol::Request request;
    request.header.request_id = ++next_request_;
    request.header.client = env_.self();
    request.header.sequence = mutation ? ++next_sequence_ : 0;
    request.body = std::move(body);
    env_.Send(node, protocol::EncodeRequestFrame(request));
    return request.header.request_id;
  }
  const std::optional<protocol::Response> response(uint64_t id) const {
    auto found = responses_.find(id);
    if (found == responses_.end()) return std::nullopt;
    return found->second;
  }
  const std::vector<protocol::Push>& pushes() const { return pushes_; }

 private:
  Env& env_;
  uint64_t next_request_ = 0;
  uint64_t next_sequence_ = 0;
  std::map<uint64_t, protocol::Response> responses_;
  std::vector<protocol::Push> pushes_;
};

class Cluster {
 public:
  explicit Cluster(uint64_t seed) : sim_(Options(seed)) {
    members_ = {NodeId(1), NodeId(2), NodeId(3)};
    for (int i = 0; i < 3; ++i) {
      sim_.AddProcess("node" + std::to_string(i + 1), [this](Env& env) {
        LockNodeOptions options;
        options.node.members = members_;
        options.node.snapshot_every_entries = 16;  // snapshots during the test
        options.node.snapshot_bytes_per_entry = 0;
        options.timers.checkpoint_interval = Seconds(1);
        return sim::Hold(std::make_unique<LockNode>(env, std::move(options)));
      });
    }
  }
  static sim::SimOptions Options(uint64_t seed) {
    sim::SimOptions options;
    options.seed = seed;
    return options;
  }
  sim::Simulator& sim() { return sim_; }
  RawClient& AddClient(const std::string& name, NodeId* id) {
    *id = sim_.AddProcess(name, [](Env& env) { return sim::Hold(std::make_unique<RawClient>(env)); });
    return *sim_.ProcessAs<RawClient>(*id);
  }
  std::optional<NodeId> Leader() {
    for (const NodeId node : members_) {
      LockNode* lock_node = sim_.ProcessAs<LockNode>(node);
      if (lock_node != nullptr && lock_node->shell().is_leader()) return node;
    }
    return std::nullopt;
  }
  // Sends `body` to the leader and runs until it answers (at most 2 s).
  protocol::Response Call(RawClient& client, protocol::RequestBody body, bool mutation = true) {
    const std::optional<NodeId> leader = Leader();
    EXPECT_TRUE(leader.has_value()) << "seed " << sim_.seed();
    if (!leader.has_value()) return {};
    const uint64_t id = client.Send(*leader, std::move(body), mutation);
    const Result<bool> answered =
        sim_.RunUntil([&] { return client.response(id).has_value(); }, sim_.now() + Seconds(2));
    EXPECT_TRUE(answered.ok() && *answered) << "seed " << sim_.seed() << ": no answer";
    return client.response(id).value_or(protocol::Response{});
  }
  const LockStateMachine& state_machine(NodeId node) {
    return sim_.ProcessAs<LockNode>(node)->state_machine();
  }
  const LockServiceMetrics& metrics(NodeId node) { return sim_.ProcessAs<LockNode>(node)->metrics(); }

 private:
  sim::Simulator sim_;
  std::vector<NodeId> members_;
};

FencingToken TokenOf(const protocol::Response& response) {
  const auto* body = std::get_if<protocol::AcquireBody>(&response.body);
  return body == nullptr ? FencingToken() : body->token;
}
LeaseId LeaseOf(const protocol::Response& response) {
  const auto* body = std::get_if<protocol::LeaseBody>(&response.body);
  return body == nullptr ? LeaseId() : body->lease;
}
protocol::WriteRequest WriteOf(FencingToken token, std::string value) {
  return protocol::WriteRequest{"storage", "lock", token, std::move(value), std::nullopt, ""};
}

TEST(LockServiceTimelineTest, PausedHolderIsFencedOffByTheStore) {
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) +
                 " (replay: locksvc_test --gtest_filter=LockServiceTimeline*)");
    Cluster cluster(seed);
    NodeId helper_id, a_id, b_id;
    RawClient& helper = cluster.AddClient("helper", &helper_id);
    RawClient& a = cluster.AddClient("a", &a_id);
    RawClient& b = cluster.AddClient("b", &b_id);
    sim::Simulator& sim = cluster.sim();
    ASSERT_TRUE(*sim.RunUntil([&] { return cluster.Leader().has_value(); }, sim.now() + Seconds(5)));

    // Bring the lock's counter to 32 with 32 acquire/release cycles.
    const LeaseId helper_lease = LeaseOf(cluster.Call(helper, protocol::GrantLeaseRequest{Seconds(60)}));
    ASSERT_NE(helper_lease, LeaseId());
    for (int i = 1; i <= 32; ++i) {
      const protocol::Response acquired = cluster.Call(
          helper, protocol::AcquireRequest{"lock", helper_lease, protocol::AcquireMode::kTry, {}});
      ASSERT_EQ(TokenOf(acquired), FencingToken(static_cast<uint64_t>(i)));
      ASSERT_TRUE(cluster.Call(helper, protocol::ReleaseRequest{"lock", helper_lease}).status().ok());
    }

    // t = 0: A acquires a 10 s lease: token 33.
    const Instant start = sim.now();
    const LeaseId a_lease = LeaseOf(cluster.Call(a, protocol::GrantLeaseRequest{Seconds(10)}));
    const protocol::Response a_acquired =
        cluster.Call(a, protocol::AcquireRequest{"lock", a_lease, protocol::AcquireMode::kTry, {}});
    ASSERT_EQ(TokenOf(a_acquired), FencingToken(33));
    EXPECT_TRUE(cluster.Call(a, WriteOf(FencingToken(33), "a-1")).status().ok());

    // t = 5 s: A stops (a GC pause) for 7 s; its lease is not renewed.
    ASSERT_TRUE(sim.RunUntil(start + Seconds(5)).ok());
    sim.Pause(a_id, Seconds(7));
    // t = 10 s: the lease expires on the leader's clock (within a tick and a commit).
    ASSERT_TRUE(sim.RunUntil(start + Seconds(10) + Milliseconds(200)).ok());
    const protocol::Response a_lease_info = cluster.Call(b, protocol::GetLeaseRequest{a_lease}, false);
    EXPECT_EQ(a_lease_info.code, StatusCode::kNotFound) << "A's lease should have ended at 10 s";

    // t = 11 s: B acquires: token 34, and writes with it.
    ASSERT_TRUE(sim.RunUntil(start + Seconds(11)).ok());
    const LeaseId b_lease = LeaseOf(cluster.Call(b, protocol::GrantLeaseRequest{Seconds(10)}));
    const protocol::Response b_acquired =
        cluster.Call(b, protocol::AcquireRequest{"lock", b_lease, protocol::AcquireMode::kTry, {}});
    ASSERT_EQ(TokenOf(b_acquired), FencingToken(34));
    EXPECT_TRUE(cluster.Call(b, WriteOf(FencingToken(34), "b-1")).status().ok());

    // t = 12 s: A wakes, unaware, and writes with 33: rejected, the store has seen 34.
    ASSERT_TRUE(sim.RunUntil(start + Seconds(12) + Milliseconds(1)).ok());
    const protocol::Response a_stale = cluster.Call(a, WriteOf(FencingToken(33), "a-2"));
    EXPECT_EQ(a_stale.code, StatusCode::kAborted);
    const auto* stale_body = std::get_if<protocol::WriteBody>(&a_stale.body);
    ASSERT_NE(stale_body, nullptr);
    EXPECT_EQ(stale_body->max_token, FencingToken(34));
    // A was told, once it could listen, that it lost the lock with 33.
    bool told = false;
    for (const protocol::Push& push : a.pushes()) {
      told = told || (push.kind == protocol::PushKind::kLost && push.token == FencingToken(33));
    }
    EXPECT_TRUE(told);

    // B keeps writing with 34: accepted.
    EXPECT_TRUE(cluster.Call(b, WriteOf(FencingToken(34), "b-2")).status().ok());
    const protocol::Response read = cluster.Call(b, protocol::ReadRequest{"storage"}, false);
    const auto* read_body = std::get_if<protocol::ReadBody>(&read.body);
    ASSERT_NE(read_body, nullptr);
    EXPECT_EQ(read_body->value, "b-2");
    EXPECT_EQ(read_body->max_token, FencingToken(34));

    // The leader's metrics saw the rejection and timed the answers (mutations wait
    // for a quorum over the simulated network, so they take time).
    const LockServiceMetrics& metrics = cluster.metrics(*cluster.Leader());
    EXPECT_EQ(metrics.fencing_rejections, 1u) << "seed " << seed;
    EXPECT_GT(metrics.answered_ok, 5u);
    EXPECT_GT(metrics.mutation_latency.count(), 5u);
    EXPECT_GT(metrics.mutation_latency.sum_seconds(), 0.0);
    EXPECT_GE(metrics.read_latency.count(), 1u);
    EXPECT_EQ(metrics.requests, metrics.answered_ok + metrics.answered_not_leader + metrics.fencing_rejections +
                                    metrics.answered_error);

    // Every replica agrees (replicated, snapshotted state).
    ASSERT_TRUE(sim.RunFor(Seconds(1)).ok());
    const std::string snapshot = cluster.state_machine(NodeId(1)).Snapshot();
    EXPECT_EQ(cluster.state_machine(NodeId(2)).Snapshot(), snapshot);
    EXPECT_EQ(cluster.state_machine(NodeId(3)).Snapshot(), snapshot);
  }
}

TEST(LockServiceTest, FollowerAnswersNotLeaderWithHint) {
  Cluster cluster(7);
  NodeId client_id;
  RawClient& client = cluster.AddClient("client", &client_id);
  sim::Simulator& sim = cluster.sim();
  ASSERT_TRUE(*sim.RunUntil([&] { return cluster.Leader().has_value(); }, sim.now() + Seconds(5)));
  ASSERT_TRUE(sim.RunFor(Milliseconds(500)).ok());  // everyone has heard of the leader
  const NodeId leader = *cluster.Leader();
  const NodeId follower = leader == NodeId(1) ? NodeId(2) : NodeId(1);
  const uint64_t id = client.Send(follower, protocol::GrantLeaseRequest{Seconds(5)});
  ASSERT_TRUE(*sim.RunUntil([&] { return client.response(id).has_value(); }, sim.now() + Seconds(1)));
  EXPECT_TRUE(client.response(id)->not_leader);
  EXPECT_EQ(client.response(id)->leader_hint, leader);
  EXPECT_EQ(cluster.metrics(follower).answered_not_leader, 1u);
  EXPECT_EQ(cluster.metrics(follower).mutation_latency.count(), 0u);
}

TEST(LockStateMachineTest, SnapshotRestoresBothHalvesAndRefusesGarbage) {
  LockStateMachine machine({});
  machine.Apply(LogIndex(1), TagLockCommand(lock::GrantLease{{NodeId(5), 1}, Seconds(10)}));
  machine.Apply(LogIndex(2),
                TagLockCommand(lock::Acquire{{NodeId(5), 2}, "x", LeaseId(1), lock::AcquireMode::kTry, {}}));
  ASSERT_EQ(machine.last_events().size(), 1u);
  EXPECT_EQ(machine.last_events()[0].kind, lock::EventKind::kGranted);
  machine.Apply(LogIndex(3), TagStoreWrite(NodeId(5), {"r", "x", FencingToken(1), "v", std::nullopt, "k"}));
  const std::string snapshot = machine.Snapshot();
  LockStateMachine restored({});
  ASSERT_TRUE(restored.Restore(snapshot).ok());
  EXPECT_EQ(restored.Snapshot(), snapshot);
  ASSERT_TRUE(restored.store().Read("r").has_value());
  EXPECT_EQ(restored.store().Read("r")->max_token, FencingToken(1));
  EXPECT_EQ(restored.Restore("garbage").code(), StatusCode::kDataLoss);
  EXPECT_EQ(restored.Snapshot(), snapshot);                     // unchanged on error
  EXPECT_TRUE(machine.Apply(LogIndex(4), "\x07junk").empty());  // untagged: nothing
}

}  // namespace
}  // namespace murphy::locksvc
