// split-brain — "The Split-Brain Problem".
//
// The story: three replicas of a key-value store (n1..n3) and two clients, each
// writing a fresh key every 40..80 ms (put k = v, one at a time, with retries;
// node/kv_client.h). At 1 s the leader — call it A — is cut off, together with the
// client next to it ("client near A"), from the other two replicas and the other
// client ("client near the majority"); at 4 s the partition heals; the run ends at 7 s
// after the clients stopped writing at 5 s.
//
// Without the remedy: naive failover by timeout, built here small on purpose. n1 is
// primary; it applies a write, acknowledges it at once and forwards it to the
// backups, and sends heartbeats every 100 ms. A backup that has not heard a primary
// for 500 ms promotes itself (n2 first; n3 waits 250 ms longer and follows whoever
// heartbeats), with a generation number one higher than the last it saw. A primary
// that hears a heartbeat of a higher generation steps down and takes the new
// primary's state (a rollback, as MongoDB's was). So while A is isolated it keeps
// acknowledging its client's writes, n2 becomes a second primary — two leaders at the
// same true time — and after the heal A's acknowledged writes are rolled back: lost.
//
// With it: the real node shell (node/node_shell.h — Raft with PreVote and
// CheckQuorum, a WAL, the KV state machine) on the same three nodes. The isolated
// leader cannot commit (no quorum), so none of its client's writes is acknowledged;
// CheckQuorum makes it step down within an election timeout; the majority elects a
// new leader in a higher term; after the heal every acknowledged write is there.
// (A fenced store downstream would also reject a stale leader's writes — see
// gc-pause-lease; not repeated here.)
//
// Checkers: election safety — for Raft, at most one leader per term
// (check/raft_invariants.h's RaftSafetyChecker, through node/node_checkers.h); for the
// naive protocol, two nodes acting as primary (accepting writes) at the same true time
// is split brain. Lost acknowledged writes: every write a client saw acknowledged must
// be in the final state (read from the leader's state machine at the end).
// The seed varies network delays (1..5 ms), the clients' pacing, and Raft's election
// timeouts.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/env/env.h"
#include "murphy/node/client_protocol.h"
#include "murphy/node/kv_client.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/node/node_checkers.h"
#include "murphy/node/node_shell.h"
#include "murphy/protocol/frame.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/scenarios/trace_capture.h"
#include "murphy/sim/network.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr int kReplicas = 3;
constexpr Instant kPartitionAt = Instant() + Seconds(1);
constexpr Instant kHealAt = Instant() + Seconds(4);
constexpr Instant kClientsStopAt = Instant() + Seconds(5);
constexpr Instant kRunEnd = Instant() + Seconds(7);
constexpr Duration kStep = Milliseconds(5);

// --- The naive primary/backup protocol -------------------------------------------

constexpr Duration kHeartbeatInterval = Milliseconds(100);
constexpr Duration kFailoverTimeout = Milliseconds(500);
constexpr uint8_t kHeartbeatFrame = 40;  // generation
constexpr uint8_t kForwardFrame = 41;    // generation, index, command
constexpr uint8_t kStateRequestFrame = 42;
constexpr uint8_t kStateFrame = 43;  // generation, snapshot

class NaiveReplica {
 public:
  NaiveReplica(Env& env, std::vector<NodeId> peers, bool primary)
      : env_(env), peers_(std::move(peers)), primary_(primary) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    last_heard_ = env_.MonotonicNow();
    if (primary_) {
      primary_id_ = env_.self();
      env_.Trace("became_leader", {{"generation", generation_}});
    }
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Tick(); });
  }
  ~NaiveReplica() { env_.CancelTimer(timer_); }
  NaiveReplica(const NaiveReplica&) = delete;
  NaiveReplica& operator=(const NaiveReplica&) = delete;

  bool primary() const { return primary_; }
  const node::KvStateMachine& state() const { return state_; }

 private:
  void Tick() {
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Tick(); });
    if (primary_) {
      ByteWriter writer;
      writer.PutU64(generation_);
      for (const NodeId peer : peers_) env_.Send(peer, EncodeFrame(kHeartbeatFrame, writer.bytes()));
      return;
    }
    // n2 promotes after the timeout, n3 a little later (it would follow n2's heartbeats).
    const Duration patience = kFailoverTimeout + Milliseconds(250) * (env_.self().value() - 2);
    if (env_.MonotonicNow() - last_heard_ >= patience) {
      primary_ = true;
      ++generation_;
      primary_id_ = env_.self();
      env_.Trace("became_leader",
                 {{"generation", generation_}, {"reason", std::string_view("primary timed out")}});
    }
  }

  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok()) return;
    ByteReader reader(frame->payload);
    switch (frame->type) {
      case node::kClientRequestFrame:
        OnClientRequest(source, frame->payload);
        return;
      case kHeartbeatFrame: {
        uint64_t generation = 0;
        if (!reader.GetU64(&generation) || generation < generation_) return;
        last_heard_ = env_.MonotonicNow();
        if (generation > generation_ || primary_id_ != source) {
          if (primary_) {
            env_.Trace("stepped_down", {{"generation", generation_}, {"new_generation", generation}});
          }
          primary_ = false;
          generation_ = generation;
          primary_id_ = source;
          // Take the primary's state: whatever this node applied on its own is gone.
          env_.Send(source, EncodeFrame(kStateRequestFrame, std::span<const uint8_t>()));
        }
        return;
      }
      case kForwardFrame: {
        uint64_t generation = 0;
        uint64_t index = 0;
        std::string command;
        if (!reader.GetU64(&generation) || !reader.GetU64(&index) ||
            !reader.GetString(node::kMaxClientPayloadBytes * 2, &command))
          return;
        if (generation < generation_ || primary_) return;
        state_.Apply(LogIndex(index), command);
        return;
      }
      case kStateRequestFrame: {
        if (!primary_) return;
        ByteWriter writer;
        writer.PutU64(generation_);
        writer.PutString(state_.Snapshot());
        env_.Send(source, EncodeFrame(kStateFrame, writer.bytes()));
        return;
      }
      case kStateFrame: {
        uint64_t generation = 0;
        std::string snapshot;
        if (!reader.GetU64(&generation) || !reader.GetString(size_t{64} << 20, &snapshot) ||
            generation != generation_ || primary_) {
          return;
        }
        const Status restored = state_.Restore(snapshot);
        MURPHY_ASSERT_MSG(restored.ok(), "a naive replica got a malformed state");
        env_.Trace("state_replaced", {{"generation", generation}});
        return;
      }
      default:
        return;
    }
  }

  void OnClientRequest(NodeId source, std::span<const uint8_t> body) {
    Result<node::ClientRequest> request = node::DecodeRequest(body);
    if (!request.ok()) return;
    node::ClientResponse response;
    response.client_id = request->client_id;
    response.sequence = request->sequence;
    if (!primary_) {
      response.status = node::ResponseStatus::kNotLeader;
      response.leader_hint = primary_id_;
      env_.Send(source, node::EncodeResponseFrame(response));
      return;
    }
    if (request->kind == node::RequestKind::kQuery) {
      response.payload = state_.Query(request->payload);
    } else {
      // Apply, acknowledge, forward: no waiting for anybody.
      const std::string command =
          node::EncodeCommand({request->client_id, request->sequence, request->payload});
      response.payload = state_.Apply(LogIndex(++index_), command);
      ByteWriter writer;
      writer.PutU64(generation_);
      writer.PutU64(index_);
      writer.PutString(command);
      for (const NodeId peer : peers_) env_.Send(peer, EncodeFrame(kForwardFrame, writer.bytes()));
    }
    env_.Send(source, node::EncodeResponseFrame(response));
  }

  Env& env_;
  std::vector<NodeId> peers_;
  bool primary_;
  NodeId primary_id_ = NodeId(1);
  uint64_t generation_ = 1;
  uint64_t index_ = 0;
  Instant last_heard_;
  node::KvStateMachine state_;
  TimerId timer_;
};

// --- The clients -------------------------------------------------------------------

struct AcknowledgedWrite {
  std::string key;
  int64_t value = 0;
  Instant at;
  NodeId client;
};

struct Ledger {
  const sim::Simulator* simulator = nullptr;
  std::vector<AcknowledgedWrite> acknowledged;
  int unacknowledged = 0;  // outcome unknown (info) or failed
};

// Writes a fresh key every 40..80 ms until kClientsStopAt, one at a time.
class WritingClient {
 public:
  WritingClient(Env& env, node::KvClientOptions options, Ledger* ledger)
      : env_(env), client_(env, std::move(options)), ledger_(ledger) {
    Schedule();
  }
  WritingClient(const WritingClient&) = delete;
  WritingClient& operator=(const WritingClient&) = delete;

 private:
  void Schedule() {
    env_.SetTimer(env_.rng().UniformDuration(Milliseconds(40), Milliseconds(80)), [this] { Next(); });
  }
  void Next() {
    if (ledger_->simulator->now() >= kClientsStopAt) return;
    if (client_.busy()) {
      Schedule();
      return;
    }
    const int64_t value = ++written_;
    node::KvOperation put;
    put.op = node::KvOp::kPut;
    put.key = "c" + std::to_string(env_.self().value()) + "-" + std::to_string(value);
    put.value = value;
    client_.Submit(put, [this, key = put.key, value](const node::KvClientResult& result) {
      if (result.outcome == Outcome::kOk) {
        ledger_->acknowledged.push_back({key, value, ledger_->simulator->now(), env_.self()});
        env_.Trace("write_acknowledged", {{"key", std::string_view(key)}});
      } else {
        ++ledger_->unacknowledged;
      }
      Schedule();
    });
  }

  Env& env_;
  node::KvClient client_;
  Ledger* ledger_;
  int64_t written_ = 0;
};

std::string NodeName(NodeId node) { return "n" + std::to_string(node.value()); }

class SplitBrain final : public Scenario {
 public:
  std::string_view name() const override { return "split-brain"; }
  std::string_view section() const override { return "The Split-Brain Problem"; }
  std::string_view remedy() const override {
    return "Raft: commit only by a majority; CheckQuorum makes an isolated leader step down";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const override {
    scenarios::TraceCapture capture(
        options, with_remedy ? "Raft (PreVote + CheckQuorum)" : "naive failover by timeout",
        sim::SimOptions().wall_origin);
    sim::Simulator simulator(scenarios::SimOptionsFor(seed, capture));
    simulator.SetAllLinks(scenarios::UniformLink(Milliseconds(1), Milliseconds(5)));
    Ledger ledger;
    ledger.simulator = &simulator;
    node::NodeCheckers checkers([&simulator] { return simulator.now(); });

    std::vector<NodeId> servers;
    for (int i = 1; i <= kReplicas; ++i) servers.push_back(NodeId(static_cast<uint32_t>(i)));
    for (const NodeId id : servers) {
      std::vector<NodeId> peers;
      for (const NodeId other : servers) {
        if (other != id) peers.push_back(other);
      }
      simulator.AddProcess(NodeName(id), [&, peers, id](Env& env) {
        if (!with_remedy) return sim::Hold(std::make_unique<NaiveReplica>(env, peers, id == NodeId(1)));
        node::NodeOptions node_options;
        node_options.members = servers;
        node_options.observer = &checkers;
        return sim::Hold(
            std::make_unique<node::NodeShell>(env, node_options, std::make_unique<node::KvStateMachine>()));
      });
    }
    auto is_leader = [&](NodeId id) {
      if (with_remedy) {
        const node::NodeShell* shell = simulator.ProcessAs<node::NodeShell>(id);
        return shell != nullptr && !shell->stopped() && shell->is_leader();
      }
      const NaiveReplica* replica = simulator.ProcessAs<NaiveReplica>(id);
      return replica != nullptr && replica->primary();
    };
    // Raft elects somebody first.
    std::optional<NodeId> leader;
    scenarios::RunUntilHolds(
        simulator,
        [&] {
          for (const NodeId id : servers) {
            if (is_leader(id)) leader = id;
          }
          return leader.has_value();
        },
        kPartitionAt);
    MURPHY_ASSERT_MSG(leader.has_value(), "no leader before the partition");
    const NodeId old_leader = *leader;
    NodeId majority_side;
    for (const NodeId id : servers) {
      if (id != old_leader) majority_side = id;
    }
    auto client_options = [&](NodeId first) {
      node::KvClientOptions client;
      client.servers = servers;
      client.first_server = first;
      return client;
    };
    const NodeId client_a = simulator.AddProcess("client near A", [&, first = old_leader](Env& env) {
      return sim::Hold(std::make_unique<WritingClient>(env, client_options(first), &ledger));
    });
    const NodeId client_b =
        simulator.AddProcess("client near the majority", [&, first = majority_side](Env& env) {
          return sim::Hold(std::make_unique<WritingClient>(env, client_options(first), &ledger));
        });

    scenarios::RunTo(simulator, kPartitionAt);
    std::vector<NodeId> side_a = {old_leader, client_a};
    std::vector<NodeId> side_b = {client_b};
    for (const NodeId id : servers) {
      if (id != old_leader) side_b.push_back(id);
    }
    const std::vector<sim::Link> cuts = sim::GroupCuts({side_a, side_b});
    simulator.AddCuts(cuts);
    // Watch leadership in small steps while the partition lasts.
    int leaders_at_once = 0;
    Duration split_brain_time;
    std::optional<Instant> stepped_down_at;
    std::optional<Instant> two_leaders_since;
    for (Instant at = kPartitionAt; at < kHealAt;) {
      at = std::min(at + kStep, kHealAt);
      scenarios::RunTo(simulator, at);
      int leaders = 0;
      for (const NodeId id : servers) leaders += is_leader(id) ? 1 : 0;
      leaders_at_once = std::max(leaders_at_once, leaders);
      if (leaders >= 2) {
        split_brain_time += kStep;
        if (!two_leaders_since) two_leaders_since = at;
      }
      if (!stepped_down_at && !is_leader(old_leader)) stepped_down_at = at;
    }
    const size_t acknowledged_before_heal = ledger.acknowledged.size();
    simulator.RemoveCuts(cuts);
    scenarios::RunTo(simulator, kRunEnd);

    // The final state: the leader's (every replica has caught up by now).
    const node::KvStateMachine* final_state = nullptr;
    NodeId final_leader;
    for (const NodeId id : servers) {
      if (!is_leader(id)) continue;
      final_leader = id;
      if (with_remedy) {
        final_state = static_cast<const node::KvStateMachine*>(
            &simulator.ProcessAs<node::NodeShell>(id)->state_machine());
      } else {
        final_state = &simulator.ProcessAs<NaiveReplica>(id)->state();
      }
    }
    MURPHY_ASSERT_MSG(final_state != nullptr, "no leader at the end of the run");
    int lost = 0;
    int old_leader_acknowledged = 0;
    std::string first_lost;
    for (size_t i = 0; i < acknowledged_before_heal; ++i) {
      const AcknowledgedWrite& write = ledger.acknowledged[i];
      if (write.client == client_a && write.at > kPartitionAt) ++old_leader_acknowledged;
    }
    for (const AcknowledgedWrite& write : ledger.acknowledged) {
      const auto found = final_state->data().find(write.key);
      if (found != final_state->data().end() && found->second == write.value) continue;
      if (lost++ == 0) {
        first_lost = "put " + write.key + "=" + std::to_string(write.value) + " acknowledged to " +
                     (write.client == client_a ? "the client near A" : "the client near the majority") +
                     " at " + scenarios::FormatTrueTime(write.at);
      }
    }

    RunOutcome outcome;
    std::string problems;
    if (with_remedy) {
      const Status safety = checkers.Verdict();
      if (!safety.ok()) problems = "Raft safety: " + safety.ToString();
    } else if (leaders_at_once >= 2) {
      problems = "split brain: " + NodeName(old_leader) + " and another node both acted as primary from " +
                 scenarios::FormatTrueTime(*two_leaders_since) + " (" + FormatDuration(split_brain_time) +
                 " with two primaries); " + NodeName(old_leader) + " acknowledged " +
                 std::to_string(old_leader_acknowledged) + " writes while isolated";
    }
    if (lost > 0) {
      problems += (problems.empty() ? "" : "; ") + std::to_string(lost) +
                  " acknowledged writes missing from the final state of " + NodeName(final_leader) +
                  " after the heal (first: " + first_lost + ")";
    }
    outcome.violated = !problems.empty();
    outcome.violation = problems;
    outcome.summary =
        std::string(with_remedy ? "Raft: " : "naive failover: ") + NodeName(old_leader) + " isolated at " +
        scenarios::FormatTrueTime(kPartitionAt) + "; " + std::to_string(leaders_at_once) +
        " leaders at once; " + std::to_string(old_leader_acknowledged) +
        " writes acknowledged by the isolated leader; " +
        (stepped_down_at ? "it stepped down after " + FormatDuration(*stepped_down_at - kPartitionAt)
                         : std::string("it never stepped down")) +
        "; " + std::to_string(lost) + " of " + std::to_string(ledger.acknowledged.size()) +
        " acknowledged writes lost";
    outcome.Add("leaders_at_once", leaders_at_once);
    outcome.Add("writes_acknowledged_by_isolated_leader", old_leader_acknowledged);
    outcome.Add("writes_acknowledged", static_cast<double>(ledger.acknowledged.size()));
    outcome.Add("acknowledged_writes_lost", lost);
    outcome.Add("two_leaders_ms", ToMillisecondsDouble(split_brain_time));
    outcome.Add("isolated_leader_step_down_ms",
                stepped_down_at ? ToMillisecondsDouble(*stepped_down_at - kPartitionAt) : -1.0);
    capture.NameLanes(simulator);
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& SplitBrainScenario() {
  static const SplitBrain scenario;
  return scenario;
}

}  // namespace murphy
