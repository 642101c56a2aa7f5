// Tests of the node shell on small simulated clusters, of the KV state machine and
// client protocol, and of the checkers (each proven able to fail).
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/node/client_protocol.h"
#include "murphy/node/kv_client.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/node/kv_workload.h"
#include "murphy/node/node_checkers.h"
#include "murphy/node/node_shell.h"
#include "murphy/protocol/frame.h"
#include "murphy/sim/runner.h"
#include "murphy/sim/simulator.h"

namespace murphy::node {
namespace {

using sim::Simulator;

// --- KV state machine and protocol ------------------------------------------------

std::string Command(uint64_t client, uint64_t sequence, const KvOperation& operation) {
  return EncodeCommand({client, sequence, EncodeKvOperation(operation)});
}

KvResult Decoded(const std::string& bytes) {
  Result<KvResult> result = DecodeKvResult(bytes);
  EXPECT_TRUE(result.ok());
  return result.ok() ? *result : KvResult{};
}

TEST(KvStateMachineTest, PutGetCasDelete) {
  KvStateMachine machine;
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(1), Command(1, 1, {KvOp::kPut, "x", 5, 0}))).outcome,
            KvOutcome::kOk);
  EXPECT_EQ(Decoded(machine.Query(EncodeKvOperation({KvOp::kGet, "x", 0, 0}))).value, 5);
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(2), Command(1, 2, {KvOp::kCompareAndSet, "x", 7, 4}))).outcome,
            KvOutcome::kCasFailed);
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(3), Command(1, 3, {KvOp::kCompareAndSet, "x", 7, 5}))).outcome,
            KvOutcome::kOk);
  EXPECT_EQ(Decoded(machine.Query(EncodeKvOperation({KvOp::kGet, "x", 0, 0}))).value, 7);
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(4), Command(1, 4, {KvOp::kDelete, "x", 0, 0}))).outcome,
            KvOutcome::kOk);
  EXPECT_EQ(Decoded(machine.Query(EncodeKvOperation({KvOp::kGet, "x", 0, 0}))).value, std::nullopt);
  // cas on an absent key fails, as the checker's model says.
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(5), Command(1, 5, {KvOp::kCompareAndSet, "x", 1, 0}))).outcome,
            KvOutcome::kCasFailed);
}

TEST(KvStateMachineTest, RetriedCommandAppliesOnceAndStragglerIsStale) {
  KvStateMachine machine;
  const std::string put = Command(9, 1, {KvOp::kPut, "k", 1, 0});
  const std::string first = machine.Apply(LogIndex(1), put);
  machine.Apply(LogIndex(2), Command(8, 1, {KvOp::kPut, "k", 2, 0}));  // another client
  // The retry (same client, same sequence) is answered from memory: no second put.
  EXPECT_EQ(machine.Apply(LogIndex(3), put), first);
  EXPECT_EQ(machine.data().at("k"), 2);
  EXPECT_EQ(machine.applied_commands(), 2u);
  machine.Apply(LogIndex(4), Command(9, 2, {KvOp::kPut, "k", 3, 0}));
  EXPECT_EQ(Decoded(machine.Apply(LogIndex(5), put)).outcome, KvOutcome::kStale);
  EXPECT_EQ(machine.data().at("k"), 3);
}

TEST(KvStateMachineTest, SnapshotRoundTripKeepsSessions) {
  KvStateMachine machine;
  machine.Apply(LogIndex(1), Command(3, 7, {KvOp::kPut, "a", -4, 0}));
  machine.Apply(LogIndex(2), Command(4, 1, {KvOp::kPut, "b", 9, 0}));
  KvStateMachine restored;
  ASSERT_TRUE(restored.Restore(machine.Snapshot()).ok());
  EXPECT_EQ(restored.Snapshot(), machine.Snapshot());
  EXPECT_EQ(restored.data().at("a"), -4);
  // Dedup survives the snapshot.
  restored.Apply(LogIndex(3), Command(3, 7, {KvOp::kPut, "a", 100, 0}));
  EXPECT_EQ(restored.data().at("a"), -4);
  EXPECT_FALSE(restored.Restore("garbage").ok());
}

TEST(KvStateMachineTest, SessionTableIsBounded) {
  KvLimits limits;
  limits.max_sessions = 2;
  KvStateMachine machine(limits);
  for (uint64_t client = 1; client <= 5; ++client) {
    machine.Apply(LogIndex(client), Command(client, 1, {KvOp::kPut, "k", 1, 0}));
  }
  EXPECT_EQ(machine.session_count(), 2u);
}

TEST(ClientProtocolTest, RoundTripsAndRejectsGarbage) {
  ClientRequest request{7, 42, RequestKind::kQuery, "payload"};
  Result<Frame> frame = DecodeFrame(EncodeRequestFrame(request));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->type, kClientRequestFrame);
  Result<ClientRequest> decoded = DecodeRequest(frame->payload);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, request);

  ClientResponse response{7, 42, ResponseStatus::kNotLeader, NodeId(3), ""};
  frame = DecodeFrame(EncodeResponseFrame(response));
  ASSERT_TRUE(frame.ok());
  Result<ClientResponse> decoded_response = DecodeResponse(frame->payload);
  ASSERT_TRUE(decoded_response.ok());
  EXPECT_EQ(*decoded_response, response);

  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    Bytes garbage(rng.Uniform(40));
    for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(rng.Uniform(256));
    DecodeRequest(garbage).status().IgnoreError();
    DecodeResponse(garbage).status().IgnoreError();
    DecodeCommand(AsText(garbage)).status().IgnoreError();
    DecodeKvOperation(AsText(garbage)).status().IgnoreError();
  }
  EXPECT_FALSE(DecodeRequest(Bytes{1, 2}).ok());
}

TEST(MembershipCodecTest, RoundTrip) {
  raft::Membership membership{{NodeId(1), NodeId(2), NodeId(5)}, {NodeId(9)}};
  const std::string bytes = EncodeMembership(membership);
  Result<raft::Membership> decoded = DecodeMembership(AsBytes(bytes));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, membership);
  EXPECT_FALSE(DecodeMembership(Bytes{200}).ok());
}

// Old data directories: the snapshot membership bytes that the encoder wrote
// before contexts existed (voters, then learners, as counted varint lists) still
// decode, and a membership without contexts still encodes to exactly those bytes.
TEST(MembershipCodecTest, VersionOneBytesStillDecode) {
  const Bytes version_one{3, 1, 2, 5, 1, 9};  // voters (1 2 5), learners (9)
  Result<raft::Membership> decoded = DecodeMembership(version_one);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, (raft::Membership{{NodeId(1), NodeId(2), NodeId(5)}, {NodeId(9)}}));
  const std::string encoded = EncodeMembership(*decoded);
  EXPECT_EQ(Bytes(encoded.begin(), encoded.end()), version_one);
}

TEST(MembershipCodecTest, ContextsRoundTripAndDamageIsAnError) {
  raft::Membership membership{
      {NodeId(1), NodeId(2), NodeId(5)}, {NodeId(9)}, {{NodeId(5), "10.1.1.5:7005"}, {NodeId(9), "[::1]:7009"}}};
  const std::string bytes = EncodeMembership(membership);
  Result<raft::Membership> decoded = DecodeMembership(AsBytes(bytes));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, membership);
  for (size_t length = 7; length < bytes.size(); ++length) {  // [0, 7) is a valid version-1 prefix
    EXPECT_FALSE(DecodeMembership(AsBytes(std::string_view(bytes).substr(0, length))).ok()) << length;
  }
  EXPECT_FALSE(DecodeMembership(Bytes{2, 2, 1, 0}).ok());             // voters not sorted
  EXPECT_FALSE(DecodeMembership(Bytes{1, 1, 1, 1}).ok());             // voter and learner
  EXPECT_FALSE(DecodeMembership(Bytes{1, 1, 0, 7, 1, 1, 1, 'a'}).ok());  // unknown tag
  EXPECT_FALSE(DecodeMembership(Bytes{1, 1, 0, 2, 1, 3, 1, 'a'}).ok());  // context for a non-member
  EXPECT_FALSE(DecodeMembership(Bytes{1, 1, 0, 2, 1, 1, 0}).ok());       // empty context
  EXPECT_TRUE(DecodeMembership(Bytes{1, 1, 0, 2, 1, 1, 1, 'a'}).ok());
  // Random damage never crashes (every result is fine, as long as we get one).
  Rng rng(11);
  for (int i = 0; i < 5000; ++i) {
    std::string damaged = bytes;
    damaged[rng.Uniform(damaged.size())] = static_cast<char>(rng.Uniform(256));
    if (rng.Bernoulli(0.3)) damaged.resize(rng.Uniform(damaged.size() + 1));
    DecodeMembership(AsBytes(damaged)).status().IgnoreError();
  }
}

// --- The shell on a simulated cluster ----------------------------------------------

struct ClusterOptions {
  int nodes = 3;
  uint64_t seed = 1;
  uint64_t snapshot_every_entries = 1000;
  uint64_t snapshot_bytes_per_entry = 0;  // most tests want snapshots at a fixed pace
  bool unsafe_send_before_persist = false;
};

class Cluster {
 public:
  explicit Cluster(const ClusterOptions& options) : options_(options), sim_(MakeSimOptions(options.seed)) {
    checkers_ = std::make_unique<NodeCheckers>([this] { return sim_.now(); });
    for (int i = 1; i <= options.nodes; ++i) members_.push_back(NodeId(static_cast<uint32_t>(i)));
    for (int i = 1; i <= options.nodes; ++i) {
      sim_.AddProcess("node" + std::to_string(i), [this](Env& env) {
        NodeOptions node_options;
        node_options.members = members_;
        node_options.observer = checkers_.get();
        node_options.snapshot_every_entries = options_.snapshot_every_entries;
        node_options.snapshot_bytes_per_entry = options_.snapshot_bytes_per_entry;
        node_options.unsafe_send_before_persist = options_.unsafe_send_before_persist;
        return sim::Hold(std::make_unique<NodeShell>(env, node_options, std::make_unique<KvStateMachine>()));
      });
    }
    client_id_ = sim_.AddProcess("client", [this](Env& env) {
      KvClientOptions client_options;
      client_options.servers = members_;
      client_options.history = &history_;
      client_options.history_clock = [this] { return sim_.now(); };
      return sim::Hold(std::make_unique<KvClient>(env, client_options));
    });
  }

  static sim::SimOptions MakeSimOptions(uint64_t seed) {
    sim::SimOptions options;
    options.seed = seed;
    return options;
  }

  Simulator& sim() { return sim_; }
  // Adds another client whose first attempt goes to `first_server`.
  KvClient& AddClient(NodeId first_server) {
    const NodeId id = sim_.AddProcess("client", [this, first_server](Env& env) {
      KvClientOptions client_options;
      client_options.servers = members_;
      client_options.first_server = first_server;
      return sim::Hold(std::make_unique<KvClient>(env, client_options));
    });
    return *sim_.ProcessAs<KvClient>(id);
  }
  NodeShell* node(NodeId id) { return sim_.ProcessAs<NodeShell>(id); }
  KvClient& client() { return *sim_.ProcessAs<KvClient>(client_id_); }
  NodeCheckers& checkers() { return *checkers_; }
  const std::vector<NodeId>& members() const { return members_; }

  // The live leader of the highest term, if any.
  std::optional<NodeId> Leader() {
    std::optional<NodeId> leader;
    Term best;
    for (const NodeId id : members_) {
      NodeShell* shell = node(id);
      if (shell != nullptr && shell->is_leader() && (!leader.has_value() || shell->term() > best)) {
        leader = id;
        best = shell->term();
      }
    }
    return leader;
  }

  std::optional<NodeId> WaitForLeader(Duration limit = Seconds(5)) {
    const Result<bool> found = sim_.RunUntil([this] { return Leader().has_value(); }, sim_.now() + limit);
    EXPECT_TRUE(found.ok());
    return Leader();
  }

  // Submits `operation` and runs until it completes (or `limit`).
  std::optional<KvClientResult> Execute(const KvOperation& operation, Duration limit = Seconds(10)) {
    std::optional<KvClientResult> outcome;
    EXPECT_TRUE(client().Submit(operation, [&outcome](const KvClientResult& result) { outcome = result; }));
    const Result<bool> done = sim_.RunUntil([&outcome] { return outcome.has_value(); }, sim_.now() + limit);
    EXPECT_TRUE(done.ok());
    return outcome;
  }

  void ExpectChecksPass() {
    const Status verdict = checkers_->Verdict();
    EXPECT_TRUE(verdict.ok()) << "seed " << options_.seed << ": " << verdict.ToString();
    EXPECT_GT(checkers_->sends_checked(), 0u);
  }

  const History& history() const { return history_; }

 private:
  ClusterOptions options_;
  Simulator sim_;
  std::unique_ptr<NodeCheckers> checkers_;
  std::vector<NodeId> members_;
  NodeId client_id_;
  History history_;
};

KvOperation Put(std::string key, int64_t value) { return {KvOp::kPut, std::move(key), value, 0}; }
KvOperation Get(std::string key) { return {KvOp::kGet, std::move(key), 0, 0}; }

TEST(NodeShellTest, ElectsOneLeaderThatEveryoneKnows) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Cluster cluster({.nodes = 3, .seed = seed});
    const std::optional<NodeId> leader = cluster.WaitForLeader();
    ASSERT_TRUE(leader.has_value()) << "seed " << seed;
    ASSERT_TRUE(cluster.sim().RunFor(Seconds(1)).ok());
    for (const NodeId id : cluster.members()) {
      EXPECT_EQ(cluster.node(id)->leader(), *leader) << "seed " << seed << " node " << id.value();
    }
    cluster.ExpectChecksPass();
  }
}

TEST(NodeShellTest, ReplicatesClientWritesToEveryNode) {
  Cluster cluster({.nodes = 5, .seed = 3});
  ASSERT_TRUE(cluster.WaitForLeader().has_value());
  for (int i = 0; i < 20; ++i) {
    const std::optional<KvClientResult> result = cluster.Execute(Put("k" + std::to_string(i % 4), i));
    ASSERT_TRUE(result.has_value());
    EXPECT_EQ(result->outcome, Outcome::kOk);
  }
  const std::optional<KvClientResult> read = cluster.Execute(Get("k3"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->outcome, Outcome::kOk);
  EXPECT_EQ(read->result.value, 19);
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(1)).ok());
  const std::string expected = cluster.node(NodeId(1))->state_machine().Snapshot();
  for (const NodeId id : cluster.members()) {
    EXPECT_EQ(cluster.node(id)->state_machine().Snapshot(), expected) << "node " << id.value();
    EXPECT_EQ(cluster.node(id)->applied_index(), cluster.node(NodeId(1))->applied_index());
  }
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, FollowerRedirectsClientToLeader) {
  Cluster cluster({.nodes = 3, .seed = 11});
  const std::optional<NodeId> leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(cluster.sim().RunFor(Milliseconds(500)).ok());  // followers learn the leader
  const NodeId follower = *leader == NodeId(1) ? NodeId(2) : NodeId(1);
  KvClient& client = cluster.AddClient(follower);
  std::optional<KvClientResult> outcome;
  ASSERT_TRUE(client.Submit(Put("x", 1), [&outcome](const KvClientResult& result) { outcome = result; }));
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(2)).ok());
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->outcome, Outcome::kOk);
  // One attempt at the follower (answered kNotLeader with the hint), one at the leader.
  EXPECT_EQ(client.attempts(), 2u);
  EXPECT_EQ(client.believed_leader(), *leader);
}

TEST(NodeShellTest, RestartsFromWalWithEverythingAcknowledged) {
  Cluster cluster({.nodes = 3, .seed = 5});
  ASSERT_TRUE(cluster.WaitForLeader().has_value());
  for (int i = 0; i < 10; ++i) ASSERT_EQ(cluster.Execute(Put("k", i))->outcome, Outcome::kOk);
  // Power loss on every node at once: only fsynced state survives.
  for (const NodeId id : cluster.members()) cluster.sim().Crash(id);
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(1)).ok());
  for (const NodeId id : cluster.members()) cluster.sim().Restart(id);
  for (const NodeId id : cluster.members()) {
    ASSERT_NE(cluster.node(id), nullptr);
    EXPECT_FALSE(cluster.node(id)->stopped()) << cluster.node(id)->stop_reason().ToString();
  }
  ASSERT_TRUE(cluster.WaitForLeader().has_value());
  const std::optional<KvClientResult> read = cluster.Execute(Get("k"));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->outcome, Outcome::kOk);
  EXPECT_EQ(read->result.value, 9);
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, SnapshotsCompactAndRestartFromSnapshot) {
  Cluster cluster({.nodes = 3, .seed = 8, .snapshot_every_entries = 10});
  const std::optional<NodeId> leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.has_value());
  // A follower misses many entries while down, so it needs the leader's snapshot.
  const NodeId follower = *leader == NodeId(1) ? NodeId(2) : NodeId(1);
  cluster.sim().Crash(follower);
  for (int i = 0; i < 40; ++i)
    ASSERT_EQ(cluster.Execute(Put("k" + std::to_string(i % 3), i))->outcome, Outcome::kOk);
  EXPECT_GT(cluster.node(*leader)->snapshot_index(), LogIndex(20));
  cluster.sim().Restart(follower);
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(2)).ok());
  EXPECT_GE(cluster.node(follower)->snapshot_index(), LogIndex(20));
  EXPECT_EQ(cluster.node(follower)->state_machine().Snapshot(),
            cluster.node(*leader)->state_machine().Snapshot());

  // A restart now begins from the follower's own durable snapshot.
  cluster.sim().Crash(follower);
  cluster.sim().Restart(follower);
  EXPECT_GE(cluster.node(follower)->snapshot_index(), LogIndex(20));
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(2)).ok());
  EXPECT_EQ(cluster.node(follower)->state_machine().Snapshot(),
            cluster.node(*leader)->state_machine().Snapshot());
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, FollowerInstallsASnapshotOfManyChunksOnAnIdleCluster) {
  // More chunks than the leader's window (4 of 128 KiB): every acknowledgement
  // past the first window must reach the leader (the codec once dropped them all,
  // and the follower stayed behind forever, even with no writes at all).
  const uint64_t seed = 22;
  Cluster cluster({.nodes = 3, .seed = seed, .snapshot_every_entries = 100});
  const std::optional<NodeId> leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.has_value());
  const NodeId follower = *leader == NodeId(1) ? NodeId(2) : NodeId(1);
  cluster.sim().Crash(follower);
  const std::string padding(1000, 'p');
  for (int i = 0; i < 1200; ++i) {
    ASSERT_EQ(cluster.Execute(Put(padding + std::to_string(i), i))->outcome, Outcome::kOk) << "seed " << seed;
  }
  ASSERT_GT(cluster.node(*leader)->state_machine().Snapshot().size(), size_t{1} << 20);
  cluster.sim().Restart(follower);
  const Result<bool> caught_up = cluster.sim().RunUntil(
      [&] { return cluster.node(follower)->applied_index() == cluster.node(*leader)->applied_index(); },
      cluster.sim().now() + Seconds(2));
  ASSERT_TRUE(caught_up.ok());
  EXPECT_TRUE(*caught_up) << "seed " << seed << ": follower applied "
                          << cluster.node(follower)->applied_index().value() << " of "
                          << cluster.node(*leader)->applied_index().value();
  EXPECT_GE(cluster.node(follower)->snapshot_index(), LogIndex(1100));
  EXPECT_EQ(cluster.node(follower)->state_machine().Snapshot(),
            cluster.node(*leader)->state_machine().Snapshot());
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, FollowerCatchesUpBySnapshotWhileTheLeaderKeepsCompacting) {
  // The stuck follower of the system benchmark, in miniature: a large state (so a
  // snapshot spans many chunks), a slow link to one follower (so sending it takes
  // many round trips), and a leader that takes a new snapshot far more often than
  // one transfer takes. A leader that restarts the transfer with every newer
  // snapshot (and compacts away the entries after the one being sent) never gets
  // the follower back; it must finish the transfer it started.
  const uint64_t seed = 21;
  Cluster cluster({.nodes = 3, .seed = seed, .snapshot_every_entries = 20});
  const std::optional<NodeId> leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.has_value());
  const NodeId follower = *leader == NodeId(1) ? NodeId(2) : NodeId(1);
  cluster.sim().Crash(follower);
  // About 1.2 MB of keys: ten chunks of the shell's 128 KiB.
  const std::string padding(1000, 'p');
  for (int i = 0; i < 1200; ++i) {
    ASSERT_EQ(cluster.Execute(Put(padding + std::to_string(i), i))->outcome, Outcome::kOk) << "seed " << seed;
  }
  ASSERT_GT(cluster.node(*leader)->state_machine().Snapshot().size(), size_t{1} << 20);
  // Every message between the leader and the follower now takes ~10 ms more.
  cluster.sim().AddLinkFaults({{*leader, follower}, {follower, *leader}},
                              sim::LinkFaultOverlay{.extra_delay_mean = Milliseconds(10)});
  std::vector<KvClient*> writers;
  for (int i = 0; i < 6; ++i) writers.push_back(&cluster.AddClient(*leader));
  cluster.sim().Restart(follower);
  const Instant restarted = cluster.sim().now();
  const LogIndex target = cluster.node(*leader)->applied_index();
  const uint64_t leader_snapshots_before = cluster.node(*leader)->snapshots_taken();
  std::optional<Duration> caught_up_after;
  uint64_t writes = 0;
  // Keep writing for 3 s; the follower must reach where the leader was at its
  // restart well within that, while the leader keeps compacting.
  while (cluster.sim().now() < restarted + Seconds(3)) {
    for (KvClient* writer : writers) {
      if (!writer->busy()) {
        ASSERT_TRUE(writer->Submit(Put("hot" + std::to_string(writes % 5), static_cast<int64_t>(writes))));
        ++writes;
      }
    }
    ASSERT_TRUE(cluster.sim().RunFor(Milliseconds(1)).ok());
    NodeShell* shell = cluster.node(follower);
    if (!caught_up_after.has_value() && shell != nullptr && shell->applied_index() >= target) {
      caught_up_after = cluster.sim().now() - restarted;
    }
  }
  NodeShell* leader_shell = cluster.node(*leader);
  ASSERT_TRUE(leader_shell->is_leader()) << "seed " << seed;
  // The leader did compact many times meanwhile (otherwise the test shows nothing).
  EXPECT_GT(leader_shell->snapshots_taken(), leader_snapshots_before + 20) << "seed " << seed;
  ASSERT_TRUE(caught_up_after.has_value())
      << "seed " << seed << ": the follower never caught up; applied "
      << cluster.node(follower)->applied_index().value() << " of " << target.value() << ", leader at "
      << leader_shell->applied_index().value();
  EXPECT_LT(*caught_up_after, Seconds(2)) << "seed " << seed;
  // And once the writes stop it is fully level with the leader.
  ASSERT_TRUE(cluster.sim().RunFor(Seconds(1)).ok());
  EXPECT_EQ(cluster.node(follower)->applied_index(), leader_shell->applied_index()) << "seed " << seed;
  EXPECT_EQ(cluster.node(follower)->state_machine().Snapshot(), leader_shell->state_machine().Snapshot());
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, SnapshotsSpaceOutAsTheStateGrows) {
  // Each write adds ~1 KB of state. Every 10 entries would serialize the whole,
  // growing state each time (quadratic work); with snapshot_bytes_per_entry = 256
  // the next snapshot waits until ~state/256 entries have been applied, so their
  // number grows only logarithmically, and a lagging follower still catches up.
  const std::string padding(1000, 'p');
  uint64_t taken[2] = {0, 0};
  for (const uint64_t bytes_per_entry : {uint64_t{0}, uint64_t{256}}) {
    const uint64_t seed = 23;
    Cluster cluster({.nodes = 3,
                     .seed = seed,
                     .snapshot_every_entries = 10,
                     .snapshot_bytes_per_entry = bytes_per_entry});
    const std::optional<NodeId> leader = cluster.WaitForLeader();
    ASSERT_TRUE(leader.has_value());
    const NodeId follower = *leader == NodeId(1) ? NodeId(2) : NodeId(1);
    cluster.sim().Crash(follower);
    for (int i = 0; i < 300; ++i) {
      ASSERT_EQ(cluster.Execute(Put(padding + std::to_string(i), i))->outcome, Outcome::kOk)
          << "seed " << seed;
    }
    taken[bytes_per_entry == 0 ? 0 : 1] = cluster.node(*leader)->snapshots_taken();
    cluster.sim().Restart(follower);
    ASSERT_TRUE(cluster.sim().RunFor(Seconds(2)).ok());
    EXPECT_EQ(cluster.node(follower)->applied_index(), cluster.node(*leader)->applied_index())
        << bytes_per_entry;
    EXPECT_EQ(cluster.node(follower)->state_machine().Snapshot(),
              cluster.node(*leader)->state_machine().Snapshot());
    cluster.ExpectChecksPass();
  }
  EXPECT_GE(taken[0], 29u);  // ~300 entries / 10
  EXPECT_GE(taken[1], 2u);
  EXPECT_LE(taken[1], 5u);  // at ~10, ~50, ~250 entries
}

TEST(NodeShellTest, FailedFsyncStopsTheNodeForGood) {
  Cluster cluster({.nodes = 3, .seed = 4});
  const std::optional<NodeId> leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.has_value());
  sim::DiskFaults faults;
  faults.sync_error_probability = 1.0;
  cluster.sim().SetDiskFaults(*leader, faults);
  const std::optional<KvClientResult> result = cluster.Execute(Put("k", 1));
  NodeShell* stopped = cluster.node(*leader);
  ASSERT_NE(stopped, nullptr);
  EXPECT_TRUE(stopped->stopped());
  EXPECT_EQ(stopped->stop_reason().code(), StatusCode::kDataLoss) << stopped->stop_reason().ToString();
  EXPECT_FALSE(stopped->is_leader());
  // The rest of the cluster carries on: the write commits under a new leader.
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, Outcome::kOk);
  const std::optional<NodeId> next = cluster.Leader();
  ASSERT_TRUE(next.has_value());
  EXPECT_NE(*next, *leader);
  // A stopped node stays silent even once the disk is healthy again.
  cluster.sim().SetDiskFaults(*leader, sim::DiskFaults{});
  const LogIndex applied = stopped->applied_index();
  for (int i = 0; i < 5; ++i) ASSERT_EQ(cluster.Execute(Put("k", 2 + i))->outcome, Outcome::kOk);
  EXPECT_EQ(stopped->applied_index(), applied);
  EXPECT_TRUE(stopped->stopped());
  cluster.ExpectChecksPass();
}

TEST(NodeShellTest, PersistMonitorIsCleanForTheRealShellAndCatchesTheBrokenOne) {
  {
    Cluster cluster({.nodes = 3, .seed = 2});
    ASSERT_TRUE(cluster.WaitForLeader().has_value());
    for (int i = 0; i < 10; ++i) ASSERT_EQ(cluster.Execute(Put("k", i))->outcome, Outcome::kOk);
    EXPECT_EQ(cluster.checkers().persist_violations(), 0u);
    cluster.ExpectChecksPass();
  }
  {
    Cluster cluster({.nodes = 3, .seed = 2, .unsafe_send_before_persist = true});
    ASSERT_TRUE(cluster.WaitForLeader().has_value());
    for (int i = 0; i < 10; ++i) cluster.Execute(Put("k", i));
    EXPECT_GT(cluster.checkers().persist_violations(), 0u);
    ASSERT_TRUE(cluster.checkers().first_persist_violation().has_value());
    EXPECT_NE(cluster.checkers().first_persist_violation()->find("sent before synced"), std::string::npos);
    EXPECT_FALSE(cluster.checkers().Verdict().ok());
  }
}

// --- The workloads --------------------------------------------------------------------

sim::WorkloadRegistry KvRegistry() {
  sim::WorkloadRegistry registry;
  RegisterKvWorkloads(registry);
  return registry;
}

TEST(KvWorkloadTest, SeedsPassUnderAllFaults) {
  const sim::WorkloadRegistry registry = KvRegistry();
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    sim::RunConfig config;
    config.seed = seed;
    config.workload = "kv";
    config.faults = sim::FaultKindSet::All();
    Result<sim::RunReport> report = sim::RunOnce(registry, config);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->verdict.ok()) << "seed " << seed << ": " << report->verdict.ToString()
                                      << "\nreplay: " << sim::ReplayCommand(config);
  }
}

TEST(KvWorkloadTest, IsDeterministic) {
  sim::RunConfig config;
  config.seed = 17;
  config.workload = "kv";
  uint64_t hash = 0;
  EXPECT_TRUE(sim::CheckDeterminism(KvRegistry(), config, &hash).ok());
  EXPECT_NE(hash, 0u);
}

TEST(KvWorkloadTest, UnsafePersistVariantIsCaught) {
  const sim::WorkloadRegistry registry = KvRegistry();
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    sim::RunConfig config;
    config.seed = seed;
    config.workload = "kv-unsafe-persist";
    Result<sim::RunReport> report = sim::RunOnce(registry, config);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->failed()) << "seed " << seed;
    EXPECT_NE(report->verdict.message().find("persist-before-send"), std::string::npos) << "seed " << seed;
  }
}

}  // namespace
}  // namespace murphy::node
