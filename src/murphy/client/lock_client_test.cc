// The lock client in the simulator against a fake single-node server: the real
// LockMachine and FencedStore applied on receipt (service/LocalLockService), no Raft.
// The server can be told to go silent, drop or duplicate its answers, redirect, and to
// expire a lease at once.
#include "murphy/client/lock_client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "murphy/service/lock_service.h"
#include "murphy/sim/simulator.h"

namespace murphy::client {
namespace {

using protocol::AcquireMode;

// What the test tells the fake server, and what it saw. Owned by the test.
struct ServerControl {
  bool silent = false;                // answer nothing, apply nothing
  std::optional<NodeId> redirect_to;  // answer every request "not leader, try X"
  int redirects_left = -1;            // < 0: redirect forever
  bool drop_all_responses = false;    // apply, but never answer
  int drop_responses_of_kind = 0;     // apply, but drop this many answers ...
  std::string drop_kind;              // ... to requests of this kind
  double duplicate_probability = 0;   // answer twice
  bool ignore_keepalives = false;     // let leases run out
  bool drop_pushes = false;
  std::vector<protocol::Request> received;
};

class FakeServer {
 public:
  static constexpr Duration kTick = Milliseconds(20);

  FakeServer(Env& env, ServerControl* control)
      : env_(env), control_(control), service_({}, env.MonotonicNow()) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    timer_ = env_.SetTimer(kTick, [this] { Tick(); });
  }
  ~FakeServer() { env_.CancelTimer(timer_); }

  service::LocalLockService& service() { return service_; }
  void ExpireLeaseNow(LeaseId lease) { Deliver(service_.ExpireLeaseNow(lease, env_.MonotonicNow())); }

 private:
  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    protocol::ClientMessage message;
    if (!protocol::DecodeClientMessage(payload, &message).ok()) return;
    const auto* request = std::get_if<protocol::Request>(&message);
    if (request == nullptr) return;
    control_->received.push_back(*request);
    if (control_->silent) return;
    if (control_->ignore_keepalives && std::holds_alternative<protocol::KeepAliveRequest>(request->body))
      return;
    if (control_->redirect_to.has_value() && control_->redirects_left != 0) {
      if (control_->redirects_left > 0) --control_->redirects_left;
      env_.Send(source, protocol::EncodeResponseFrame(
                            protocol::MakeNotLeaderResponse(request->header, *control_->redirect_to)));
      return;
    }
    service::LocalLockService::Output output = service_.Handle(source, *request, env_.MonotonicNow());
    Deliver(output.pushes);
    if (control_->drop_all_responses) return;
    if (control_->drop_responses_of_kind > 0 &&
        protocol::RequestKindName(request->body) == control_->drop_kind) {
      --control_->drop_responses_of_kind;
      return;
    }
    const Bytes frame = protocol::EncodeResponseFrame(output.response);
    env_.Send(source, frame);
    if (env_.rng().Bernoulli(control_->duplicate_probability)) env_.Send(source, frame);
  }

  void Tick() {
    Deliver(service_.Tick(env_.MonotonicNow()));
    timer_ = env_.SetTimer(kTick, [this] { Tick(); });
  }

  void Deliver(const std::vector<service::Delivery>& pushes) {
    if (control_->drop_pushes) return;
    for (const service::Delivery& delivery : pushes) {
      env_.Send(delivery.client, protocol::EncodePushFrame(delivery.push));
    }
  }

  Env& env_;
  ServerControl* control_;
  service::LocalLockService service_;
  TimerId timer_;
};

// A client process: the LockClient plus what the test wants to look at afterwards.
struct ClientApp {
  ClientApp(Env& env, const LockClientOptions& options) : env(env), client(env, options) {}

  void Acquire(std::string name, Duration ttl, AcquireMode mode = AcquireMode::kWait,
               const AcquireOptions& options = {}) {
    acquire_status.reset();
    client.Acquire(
        std::move(name), ttl, mode,
        [this](Result<std::unique_ptr<LockHandle>> result) {
          acquire_status = result.status();
          if (!result.ok()) return;
          handle = std::move(result).value();
          handle->OnLoss([this](Status reason) { losses.push_back(std::move(reason)); });
        },
        options);
  }
  void Write(std::string resource, std::string value, const WriteOptions& options = {}) {
    client.Write(
        *handle, std::move(resource), std::move(value),
        [this](WriteReply reply) { writes.push_back(std::move(reply)); }, options);
  }
  void WriteWithToken(std::string resource, std::string lock, FencingToken token, std::string value) {
    client.WriteWithToken(std::move(resource), std::move(lock), token, std::move(value),
                          [this](WriteReply reply) { writes.push_back(std::move(reply)); });
  }

  Env& env;
  LockClient client;
  std::unique_ptr<LockHandle> handle;
  std::optional<Status> acquire_status;
  std::vector<Status> losses;
  std::vector<WriteReply> writes;
};

// One simulated cluster: servers first (NodeIds 1..n), then clients.
class Harness {
 public:
  explicit Harness(uint64_t seed, size_t servers = 1) : sim_(Options(seed)) {
    controls_.resize(servers);
    for (size_t i = 0; i < servers; ++i) {
      nodes_.push_back(sim_.AddProcess("server" + std::to_string(i + 1), [this, i](Env& env) {
        return sim::Hold(std::make_unique<FakeServer>(env, &controls_[i]));
      }));
    }
  }

  static sim::SimOptions Options(uint64_t seed) {
    sim::SimOptions options;
    options.seed = seed;
    return options;
  }

  LockClientOptions ClientOptions() const {
    LockClientOptions options;
    options.channel.nodes = nodes_;
    return options;
  }

  NodeId AddClient(const std::string& name, const LockClientOptions& options) {
    return sim_.AddProcess(
        name, [options](Env& env) { return sim::Hold(std::make_unique<ClientApp>(env, options)); });
  }
  NodeId AddClient(const std::string& name) { return AddClient(name, ClientOptions()); }

  ClientApp& app(NodeId client) {
    ClientApp* app = sim_.ProcessAs<ClientApp>(client);
    MURPHY_ASSERT(app != nullptr);
    return *app;
  }
  FakeServer& server(size_t index = 0) {
    FakeServer* server = sim_.ProcessAs<FakeServer>(nodes_[index]);
    MURPHY_ASSERT(server != nullptr);
    return *server;
  }
  ServerControl& control(size_t index = 0) { return controls_[index]; }
  NodeId node(size_t index) const { return nodes_[index]; }

  // Runs until `predicate` holds, for at most `limit` of simulated time.
  bool RunUntil(const std::function<bool()>& predicate, Duration limit = Seconds(30)) {
    Result<bool> held = sim_.RunUntil(predicate, sim_.now() + limit);
    MURPHY_ASSERT(held.ok());
    return *held;
  }
  void RunFor(Duration duration) { MURPHY_ASSERT(sim_.RunFor(duration).ok()); }

  sim::Simulator& sim() { return sim_; }

 private:
  std::vector<ServerControl> controls_;  // sized before any server starts
  std::vector<NodeId> nodes_;
  sim::Simulator sim_;
};

std::string SeedNote(uint64_t seed) { return "replay with seed " + std::to_string(seed); }

size_t CountKind(const std::vector<protocol::Request>& requests, std::string_view kind) {
  size_t count = 0;
  for (const auto& request : requests) count += protocol::RequestKindName(request.body) == kind ? 1 : 0;
  return count;
}

TEST(LockClientTest, AcquiresWritesAndReleasesOnDestruction) {
  constexpr uint64_t kSeed = 1;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok()) << harness.app(a).acquire_status->ToString();
  LockHandle& handle = *harness.app(a).handle;
  EXPECT_EQ(handle.lock(), "orders");
  EXPECT_EQ(handle.token(), FencingToken(1));
  EXPECT_TRUE(handle.IsSafe());
  const LeaseId lease = handle.lease();

  harness.app(a).Write("orders/1", "first");
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 1; }));
  EXPECT_TRUE(harness.app(a).writes[0].status.ok()) << harness.app(a).writes[0].status.ToString();
  EXPECT_EQ(harness.app(a).writes[0].version, 1u);
  EXPECT_EQ(harness.server().service().store().Read("orders/1")->value, "first");

  // Compare-and-set on the value: refused on a mismatch (with the current version),
  // accepted on a match.
  WriteOptions on_value;
  on_value.expected_value = "not what is there";
  harness.app(a).Write("orders/1", "second", on_value);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 2; }));
  EXPECT_EQ(harness.app(a).writes[1].status.code(), StatusCode::kAborted);
  EXPECT_EQ(harness.app(a).writes[1].version, 1u);
  on_value.expected_value = "first";
  harness.app(a).Write("orders/1", "second", on_value);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 3; }));
  EXPECT_TRUE(harness.app(a).writes[2].status.ok()) << harness.app(a).writes[2].status.ToString();
  EXPECT_EQ(harness.app(a).writes[2].version, 2u);
  EXPECT_EQ(harness.server().service().store().Read("orders/1")->value, "second");

  // Release on destruction: best effort, non-blocking, and it lands.
  harness.app(a).handle.reset();
  EXPECT_EQ(harness.app(a).client.sessions(), 0u);
  ASSERT_TRUE(
      harness.RunUntil([&] { return !harness.server().service().machine().GetLease(lease).has_value(); }));
  EXPECT_FALSE(harness.server().service().machine().GetLock("orders")->holder.has_value());
  EXPECT_TRUE(harness.app(a).losses.empty());  // a release is not a loss
}

TEST(LockClientTest, FollowsLeaderRedirects) {
  constexpr uint64_t kSeed = 2;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed, 2);
  harness.control(0).redirect_to = harness.node(1);  // node 1 is a follower
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok()) << harness.app(a).acquire_status->ToString();
  const Channel& channel = harness.app(a).client.channel();
  EXPECT_EQ(channel.leader_guess(), harness.node(1));
  EXPECT_GE(channel.metrics().redirects, 1u);
  EXPECT_EQ(channel.metrics().attempt_timeouts, 0u);
  // Once redirected, the client goes straight to the leader.
  const size_t at_follower = harness.control(0).received.size();
  harness.app(a).Write("orders/1", "v");
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 1; }));
  EXPECT_TRUE(harness.app(a).writes[0].status.ok());
  EXPECT_EQ(harness.control(0).received.size(), at_follower);
}

// The acquire's answer is lost; the retry carries the same (client, sequence) and is
// answered from the machine's memory: one grant, one token, no ghost acquire.
TEST(LockClientTest, RetryAfterLostReplyReusesSequenceAndGrantsOnce) {
  constexpr uint64_t kSeed = 3;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  harness.control().drop_kind = "acquire";
  harness.control().drop_responses_of_kind = 2;
  harness.control().duplicate_probability = 0.5;
  harness.control().drop_pushes = true;  // else the `granted` push would answer first
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(5));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok()) << harness.app(a).acquire_status->ToString();

  std::vector<const protocol::Request*> acquires;
  for (const auto& request : harness.control().received) {
    if (std::holds_alternative<protocol::AcquireRequest>(request.body)) acquires.push_back(&request);
  }
  ASSERT_EQ(acquires.size(), 3u);  // two answers dropped, the third arrives
  for (const protocol::Request* request : acquires) {
    EXPECT_EQ(request->header.client, a);
    EXPECT_EQ(request->header.sequence, acquires[0]->header.sequence);
    EXPECT_EQ(request->header.request_id, acquires[0]->header.request_id);
  }
  EXPECT_LT(acquires[0]->header.send_number, acquires[2]->header.send_number);
  // Granted once: the lock's counter moved once, and the handle has that token.
  const auto lock = harness.server().service().machine().GetLock("orders");
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->token, FencingToken(1));
  EXPECT_EQ(harness.app(a).handle->token(), FencingToken(1));
  EXPECT_EQ(lock->holder, harness.app(a).handle->lease());
  EXPECT_EQ(harness.server().service().machine().lease_count(), 1u);
}

TEST(LockClientTest, DeadlineMeansOutcomeUnknownNeverFailure) {
  constexpr uint64_t kSeed = 4;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");

  // A silent node: nothing applied, and the client cannot know that.
  harness.control().silent = true;
  AcquireOptions quick;
  quick.request_timeout = Seconds(2);
  harness.app(a).Acquire("orders", Seconds(3), AcquireMode::kWait, quick);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  EXPECT_EQ(harness.app(a).acquire_status->code(), StatusCode::kDeadlineExceeded)
      << harness.app(a).acquire_status->ToString();

  // A node that applies but never answers: the write took effect; the client reports
  // outcome unknown, not failure.
  harness.control().silent = false;
  harness.control().drop_all_responses = true;
  harness.app(a).WriteWithToken("orders/1", "orders", FencingToken(1), "maybe");
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 1; }));
  EXPECT_EQ(harness.app(a).writes[0].status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(harness.app(a).writes[0].status.outcome_unknown());
  ASSERT_TRUE(harness.server().service().store().Read("orders/1").has_value());
  EXPECT_EQ(harness.server().service().store().Read("orders/1")->version,
            1u);  // applied once despite retries
  const auto& received = harness.control().received;
  EXPECT_GE(CountKind(received, "write"), 2u);  // it was retried, with one key
  std::string key;
  for (const auto& request : received) {
    if (const auto* write = std::get_if<protocol::WriteRequest>(&request.body)) {
      if (key.empty()) key = write->idempotency_key;
      EXPECT_EQ(write->idempotency_key, key);
    }
  }
  EXPECT_FALSE(key.empty());
}

TEST(LockClientTest, BreakerOpensOnDeadEndpointAndClientMovesOn) {
  constexpr uint64_t kSeed = 5;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed, 2);
  harness.control(0).silent = true;  // node 1 is dead; node 2 is the leader
  const NodeId a = harness.AddClient("a");
  ClientApp& app = harness.app(a);
  int answered = 0;
  for (int i = 0; i < 6; ++i) {
    app.client.GetLock("orders", [&](Result<protocol::LockInfoBody> info) {
      EXPECT_EQ(info.status().code(), StatusCode::kNotFound);  // node 2 answered
      ++answered;
    });
  }
  ASSERT_TRUE(harness.RunUntil([&] { return answered == 6; }));
  const Channel& channel = app.client.channel();
  EXPECT_EQ(channel.breaker_state(harness.node(0)), BreakerState::kOpen);
  EXPECT_EQ(channel.leader_guess(), harness.node(1));

  // A stale hint points back at the dead node: its open breaker is skipped at once
  // instead of waiting out another timeout there.
  harness.control(1).redirect_to = harness.node(0);
  harness.control(1).redirects_left = 1;
  const size_t at_dead = harness.control(0).received.size();
  const uint64_t skips = channel.metrics().breaker_skips;
  const Instant start = harness.sim().now();
  bool done = false;
  app.client.GetLock("orders", [&](Result<protocol::LockInfoBody>) { done = true; });
  ASSERT_TRUE(harness.RunUntil([&] { return done; }));
  EXPECT_LT(harness.sim().now() - start, Milliseconds(300));  // less than one attempt timeout
  EXPECT_EQ(harness.control(0).received.size(), at_dead);
  EXPECT_GT(channel.metrics().breaker_skips, skips);
}

TEST(LockClientTest, KeepalivesHoldTheLeaseForTenTtls) {
  constexpr uint64_t kSeed = 6;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  sim::LinkConfig lossy;
  lossy.loss_probability = 0.05;  // some keepalives and answers are lost
  harness.sim().SetAllLinks(lossy);
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(2));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok()) << harness.app(a).acquire_status->ToString();
  const LeaseId lease = harness.app(a).handle->lease();
  for (int step = 0; step < 200; ++step) {  // 20 s = 10 TTLs, checked every 100 ms
    harness.RunFor(Milliseconds(100));
    ASSERT_TRUE(harness.app(a).handle->IsSafe()) << "at step " << step;
  }
  EXPECT_TRUE(harness.app(a).losses.empty());
  const auto info = harness.server().service().machine().GetLease(lease);
  ASSERT_TRUE(info.has_value());
  EXPECT_GE(info->renewals, 25u);  // ~ every TTL/3
  EXPECT_EQ(harness.server().service().machine().GetLock("orders")->holder, lease);
}

// Safe-until read on the client's clock, mapped to true time, is never later than
// the server's expiry mapped to true time — with the clocks drifting apart at 800 ppm.
// And the check can fail: without the drift allowance and margin it is violated.
void CheckSafeUntilAgainstTrueTime(double max_drift_rate, Duration margin, bool expect_conservative) {
  constexpr uint64_t kSeed = 7;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  sim::LinkConfig fixed;
  fixed.delay = sim::DelayModel::Fixed(Milliseconds(1));
  harness.sim().SetAllLinks(fixed);
  LockClientOptions options = harness.ClientOptions();
  options.max_drift_rate = max_drift_rate;
  options.safety_margin = margin;
  const NodeId a = harness.AddClient("a", options);
  harness.sim().SetDriftPpm(a, -400);                // the client's clock runs slow ...
  harness.sim().SetDriftPpm(harness.node(0), +400);  // ... the server's fast
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok());
  const LeaseId lease = harness.app(a).handle->lease();
  bool violated = false;
  for (int step = 0; step < 300; ++step) {
    harness.RunFor(Milliseconds(37));
    const LockHandle& handle = *harness.app(a).handle;
    const std::optional<Instant> expiry = harness.server().service().lease_deadline(lease);
    ASSERT_TRUE(expiry.has_value());
    const Instant true_safe = harness.sim().clock(a).TrueTimeWhenMonotonicReaches(handle.safe_until());
    const Instant true_expiry = harness.sim().clock(harness.node(0)).TrueTimeWhenMonotonicReaches(*expiry);
    if (true_safe > true_expiry) violated = true;
    if (expect_conservative) {
      ASSERT_LE(true_safe, true_expiry) << "at step " << step;
    }
  }
  EXPECT_EQ(violated, !expect_conservative);
}

TEST(LockClientTest, SafeUntilIsConservativeUnderDrift) {
  CheckSafeUntilAgainstTrueTime(1e-3, Milliseconds(50), true);
}

TEST(LockClientTest, SafeUntilCheckCatchesANaiveClient) {
  CheckSafeUntilAgainstTrueTime(0, Duration::Zero(), false);
}

// The chapter's GC-pause story at client level: a holder checks its lock, is paused
// past its TTL, another client takes the lock and writes; when the first resumes, its
// handle is no longer safe (the write is refused locally), and a write that ignores
// this and carries the old token is rejected by the store.
TEST(LockClientTest, PausedHolderLosesSafetyAndItsStaleWriteIsFenced) {
  constexpr uint64_t kSeed = 8;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  const NodeId b = harness.AddClient("b");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok());
  const FencingToken old_token = harness.app(a).handle->token();
  harness.RunFor(Seconds(1));

  // a checks its lock and goes to write — and stops the world before the write runs.
  ClientApp& app_a = harness.app(a);
  ASSERT_TRUE(app_a.handle->IsSafe());
  app_a.env.SetTimer(Duration::Zero(), [&app_a, old_token] {
    app_a.Write("orders/1", "from a, via its handle");
    app_a.WriteWithToken("orders/1", "orders", old_token, "from a, ignoring safety");
  });
  harness.sim().Pause(a, Seconds(10));

  // Meanwhile the lease expires on the server and b takes over.
  harness.app(b).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(b).acquire_status.has_value(); }, Seconds(9)));
  ASSERT_TRUE(harness.app(b).acquire_status->ok()) << harness.app(b).acquire_status->ToString();
  const FencingToken new_token = harness.app(b).handle->token();
  EXPECT_GT(new_token, old_token);
  harness.app(b).Write("orders/1", "from b");
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(b).writes.size() == 1; }, Seconds(1)));
  ASSERT_TRUE(harness.app(b).writes[0].status.ok());
  ASSERT_TRUE(harness.sim().paused(a));

  // a resumes.
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).writes.size() == 2; }, Seconds(15)));
  EXPECT_FALSE(app_a.handle->IsSafe());
  EXPECT_EQ(app_a.writes[0].status.code(), StatusCode::kFailedPrecondition)
      << app_a.writes[0].status.ToString();
  EXPECT_EQ(app_a.writes[1].status.code(), StatusCode::kAborted) << app_a.writes[1].status.ToString();
  EXPECT_EQ(app_a.writes[1].max_token, new_token);
  ASSERT_TRUE(harness.RunUntil([&] { return !app_a.losses.empty(); }, Seconds(1)));
  EXPECT_EQ(app_a.losses[0].code(), StatusCode::kAborted);
  EXPECT_EQ(harness.server().service().store().Read("orders/1")->value, "from b");
}

TEST(LockClientTest, LossPushIsDelivered) {
  constexpr uint64_t kSeed = 9;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(10));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok());
  harness.RunFor(Seconds(1));
  ASSERT_TRUE(harness.app(a).handle->IsSafe());
  const Instant safe_until = harness.app(a).handle->safe_until();
  harness.server().ExpireLeaseNow(harness.app(a).handle->lease());  // long before safe-until
  ASSERT_TRUE(harness.RunUntil([&] { return !harness.app(a).losses.empty(); }, Seconds(1)));
  EXPECT_EQ(harness.app(a).losses[0].code(), StatusCode::kAborted);
  EXPECT_NE(harness.app(a).losses[0].message().find("lease-expired"), std::string_view::npos)
      << harness.app(a).losses[0].ToString();
  EXPECT_FALSE(harness.app(a).handle->IsSafe());
  EXPECT_TRUE(harness.app(a).handle->lost());
  EXPECT_LT(harness.app(a).env.MonotonicNow(), safe_until);  // told by the push, not by the clock
  harness.RunFor(Seconds(10));
  EXPECT_EQ(harness.app(a).losses.size(), 1u);  // once
}

TEST(LockClientTest, LosesSafetyWhenKeepalivesStopLanding) {
  constexpr uint64_t kSeed = 10;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok());
  harness.control().ignore_keepalives = true;
  const Instant safe_until = harness.app(a).handle->safe_until();
  ASSERT_TRUE(harness.RunUntil([&] { return !harness.app(a).losses.empty(); }, Seconds(10)));
  // Lost by the client's own clock, at safe-until — before the server's expiry push.
  EXPECT_NE(harness.app(a).losses[0].message().find("safe-until"), std::string_view::npos)
      << harness.app(a).losses[0].ToString();
  EXPECT_GE(harness.app(a).env.MonotonicNow(), safe_until);
  EXPECT_EQ(harness.app(a).losses.size(), 1u);
}

TEST(LockClientTest, WaiterIsGrantedWhenTheHolderReleases) {
  constexpr uint64_t kSeed = 11;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  const NodeId b = harness.AddClient("b");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  harness.app(b).Acquire("orders", Seconds(3));
  harness.RunFor(Seconds(5));  // b waits (keepalives keep both leases alive)
  EXPECT_FALSE(harness.app(b).acquire_status.has_value());
  harness.app(a).handle.reset();
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(b).acquire_status.has_value(); }, Seconds(3)));
  ASSERT_TRUE(harness.app(b).acquire_status->ok()) << harness.app(b).acquire_status->ToString();
  EXPECT_EQ(harness.app(b).handle->token(), FencingToken(2));
  EXPECT_TRUE(harness.app(b).handle->IsSafe());

  // kTry on a held lock fails at once, and its lease is revoked.
  harness.app(a).Acquire("orders", Seconds(3), AcquireMode::kTry);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  EXPECT_EQ(harness.app(a).acquire_status->code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.server().service().machine().lease_count() == 1; }));
}

TEST(LockClientTest, CancelAcquireWithdrawsTheWaitAndReleasesARacedGrant) {
  constexpr uint64_t kSeed = 15;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  const NodeId b = harness.AddClient("b");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  const LeaseId holder = harness.app(a).handle->lease();
  harness.app(b).Acquire("orders", Seconds(3));
  harness.RunFor(Seconds(2));  // b waits
  ASSERT_EQ(harness.server().service().machine().GetLock("orders")->waiters.size(), 1u);

  EXPECT_EQ(harness.app(b).client.CancelAcquire("elsewhere"), 0u);
  EXPECT_EQ(harness.app(b).client.CancelAcquire("orders"), 1u);
  EXPECT_FALSE(harness.app(b).acquire_status.has_value());  // never inline
  EXPECT_EQ(harness.app(b).client.sessions(), 0u);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(b).acquire_status.has_value(); }));
  EXPECT_EQ(harness.app(b).acquire_status->code(), StatusCode::kCancelled);
  EXPECT_EQ(harness.app(b).handle, nullptr);
  // The wait is withdrawn on the node, b's lease revoked; a keeps the lock.
  ASSERT_TRUE(harness.RunUntil([&] {
    return harness.server().service().machine().GetLock("orders")->waiters.empty() &&
           harness.server().service().machine().lease_count() == 1;
  }));
  EXPECT_GE(CountKind(harness.control().received, "cancel-acquire"), 1u);
  EXPECT_EQ(harness.server().service().machine().GetLock("orders")->holder, holder);
  EXPECT_TRUE(harness.app(a).handle->IsSafe());

  // The race: a releases and b cancels in the same turn, before b can hear of its
  // grant. Whichever the node applies first, b ends with no handle and no lease, and
  // the lock is free — never held by a lease nobody uses.
  harness.app(b).Acquire("orders", Seconds(3));
  harness.RunFor(Seconds(2));
  ASSERT_EQ(harness.server().service().machine().GetLock("orders")->waiters.size(), 1u);
  harness.app(a).handle.reset();
  EXPECT_EQ(harness.app(b).client.CancelAcquire("orders"), 1u);
  ASSERT_TRUE(harness.RunUntil([&] { return harness.server().service().machine().lease_count() == 0; }));
  EXPECT_EQ(harness.app(b).acquire_status->code(), StatusCode::kCancelled);
  EXPECT_EQ(harness.app(b).handle, nullptr);
  EXPECT_FALSE(harness.server().service().machine().GetLock("orders")->holder.has_value());
}

TEST(LockClientTest, WaiterLearnsOfItsGrantByPollingWhenThePushIsLost) {
  constexpr uint64_t kSeed = 14;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  harness.control().drop_pushes = true;
  const NodeId a = harness.AddClient("a");
  const NodeId b = harness.AddClient("b");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  harness.app(b).Acquire("orders", Seconds(3));
  harness.RunFor(Seconds(2));
  harness.app(a).handle.reset();
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(b).acquire_status.has_value(); }, Seconds(3)));
  ASSERT_TRUE(harness.app(b).acquire_status->ok()) << harness.app(b).acquire_status->ToString();
  EXPECT_EQ(harness.app(b).handle->token(), FencingToken(2));
  EXPECT_GE(CountKind(harness.control().received, "get-lock"), 1u);
}

TEST(LockClientTest, SuspensionMakesTheLeaseUnsafeUntilRenewed) {
  constexpr uint64_t kSeed = 12;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  const NodeId a = harness.AddClient("a");
  harness.app(a).Acquire("orders", Seconds(3));
  ASSERT_TRUE(harness.RunUntil([&] { return harness.app(a).acquire_status.has_value(); }));
  ASSERT_TRUE(harness.app(a).acquire_status->ok());
  harness.sim().Suspend(a, Milliseconds(500));  // shorter than the TTL: the lease survives
  harness.RunFor(Milliseconds(600));
  // The monotonic clock stopped, so safe-until has not "passed" — but the process knows
  // it was suspended and does not trust it.
  ClientApp& app = harness.app(a);
  EXPECT_LT(app.env.MonotonicNow(), app.handle->safe_until());
  EXPECT_FALSE(app.handle->IsSafe());
  // IsSafe kicked a keepalive; once it lands, the lease is safe again.
  ASSERT_TRUE(harness.RunUntil([&] { return app.handle->IsSafe(); }, Seconds(1)));
  EXPECT_TRUE(app.losses.empty());
}

TEST(LockClientTest, LimitsAreEnforced) {
  constexpr uint64_t kSeed = 13;
  SCOPED_TRACE(SeedNote(kSeed));
  Harness harness(kSeed);
  LockClientOptions options = harness.ClientOptions();
  options.max_handles = 1;
  const NodeId a = harness.AddClient("a", options);
  ClientApp& app = harness.app(a);
  std::vector<Status> results;
  for (int i = 0; i < 2; ++i) {
    app.client.Acquire(
        "lock" + std::to_string(i), Seconds(3), AcquireMode::kWait,
        [&](Result<std::unique_ptr<LockHandle>> result) { results.push_back(result.status()); });
  }
  app.client.Acquire("", Seconds(3), AcquireMode::kWait,
                     [&](Result<std::unique_ptr<LockHandle>> result) { results.push_back(result.status()); });
  EXPECT_TRUE(results.empty());  // never called back inline
  ASSERT_TRUE(harness.RunUntil([&] { return results.size() == 3; }));
  EXPECT_EQ(results[0].code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(results[1].code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(results[2].ok());  // the first one (its handle was dropped: released)
}

}  // namespace
}  // namespace murphy::client

namespace murphy::client {
namespace {

// Two clients contend for one lock over a lossy, duplicating network, with random
// pauses. At no sampled moment are both handles safe at once (mutual exclusion as the
// holders see it), and the store's max token never goes down.
TEST(LockClientRandomTest, NoTwoSafeHoldersUnderLossDuplicationAndPauses) {
  for (uint64_t seed = 100; seed < 120; ++seed) {
    SCOPED_TRACE(SeedNote(seed));
    Harness harness(seed);
    sim::LinkConfig faulty;
    faulty.loss_probability = 0.1;
    faulty.duplicate_probability = 0.1;
    harness.sim().SetAllLinks(faulty);
    const std::vector<NodeId> clients = {harness.AddClient("a"), harness.AddClient("b")};
    Rng& rng = harness.sim().rng();
    FencingToken highest_accepted;
    uint64_t accepted = 0;
    for (int step = 0; step < 600; ++step) {  // 30 s in 50 ms steps
      for (const NodeId client : clients) {
        if (harness.sim().paused(client)) continue;
        ClientApp& app = harness.app(client);
        const bool idle = app.handle == nullptr && !app.client.sessions();
        if (idle) app.Acquire("orders", Seconds(2));
        if (app.handle != nullptr && app.handle->lost()) app.handle.reset();
        if (app.handle != nullptr && rng.Bernoulli(0.3)) app.Write("orders/1", "x");
        if (app.handle != nullptr && rng.Bernoulli(0.02)) app.handle.reset();
        if (rng.Bernoulli(0.005))
          harness.sim().Pause(client, rng.UniformDuration(Milliseconds(100), Seconds(4)));
      }
      harness.RunFor(Milliseconds(50));
      int safe = 0;
      for (const NodeId client : clients) {
        ClientApp& app = harness.app(client);
        if (app.handle != nullptr && app.handle->IsSafe()) ++safe;
        for (const WriteReply& reply : app.writes) accepted += reply.status.ok() ? 1 : 0;
        app.writes.clear();
      }
      ASSERT_LE(safe, 1) << "two safe holders at step " << step;
      if (const auto resource = harness.server().service().store().Read("orders/1")) {
        ASSERT_GE(resource->max_token, highest_accepted) << "at step " << step;
        highest_accepted = resource->max_token;
      }
    }
    EXPECT_GT(accepted, 10u);  // the run did something
  }
}

}  // namespace
}  // namespace murphy::client
