// partition-cp-ap — "Network Partitions Are Real" (CP or AP during a split).
//
// The story: a register replicated on five nodes, A, B, C in data center 1 and D, E
// in data center 2; a client in each data center writes through its local replica
// (client 1 through A, client 2 through D), one write every ~100 ms. From t = 1 s to
// t = 4 s the link between the data centers is down; both sides keep working as well
// as their store lets them; the clients stop at the heal, and anti-entropy runs for
// 2 s more.
//
// Without the remedy: an AP store with last-write-wins (LwwRegister on wall-clock
// timestamps): every replica accepts writes locally, acknowledges them and gossips its
// state. The two sides diverge during the split; on heal LWW picks one side's value
// and silently drops the other side's acknowledged writes.
// With the remedy, two answers, both run from the same seed:
//   CP: a primary (A, in DC1) orders the writes and stores each on a majority (3 of
//       5) before acknowledging; a replica takes a write only while it is in contact
//       with a majority (it heard from 2 peers within 500 ms) and forwards it to the
//       primary. DC2's two nodes are a minority: their writes are refused at once
//       (unavailable, nothing stored), so nothing acknowledged can be lost. (The
//       primary is fixed — no elections: choosing a new leader safely is Raft's and
//       the split-brain scenario's business.) A leaderless majority register would
//       not do here: two concurrent blind writes would overwrite each other unseen.
//   AP with version vectors: a MultiValueRegister (dotted version vectors) per
//       replica. Both sides keep accepting writes; on heal the concurrent values
//       become siblings for the application to resolve, and no acknowledged write is
//       dropped.
//
// The checker, from ground truth: every write's causal history is recorded when a
// replica takes it (the write plus the histories of the values it overwrote there).
// After the heal and anti-entropy, an acknowledged write is lost when no value left
// on any replica descends from it; the replicas must also have converged. Any lost
// write, or divergence after heal, is a violation.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "murphy/clocks/lww_register.h"
#include "murphy/clocks/multi_value_register.h"
#include "murphy/core/codec.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/network.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

enum class StoreKind : uint8_t { kLastWriteWins, kSiblings, kQuorum };

constexpr int kReplicas = 5;
constexpr Instant kSplitAt = Instant() + Seconds(1);
constexpr Instant kHealAt = Instant() + Seconds(4);
constexpr Instant kRunEnd = Instant() + Seconds(6);
constexpr Duration kGossipInterval = Milliseconds(200);
constexpr Duration kQuorumTimeout = Milliseconds(300);
constexpr Duration kContactWindow = Milliseconds(500);
constexpr size_t kPrimaryQueueLimit = 16;
constexpr NodeId kPrimary = NodeId(1);
constexpr Duration kClientTimeout = Seconds(1);
constexpr Duration kThinkTime = Milliseconds(100);

constexpr uint8_t kClientWrite = 1;
constexpr uint8_t kClientAnswer = 2;
constexpr uint8_t kGossip = 3;
constexpr uint8_t kForward = 4;
constexpr uint8_t kHeartbeat = 5;
constexpr uint8_t kStoreValue = 6;
constexpr uint8_t kStoreAck = 7;

constexpr uint8_t kAnswerOk = 0;
constexpr uint8_t kAnswerRefused = 1;
constexpr uint8_t kAnswerUnknown = 2;

// What really happened: writes, their causal histories, their acknowledgements.
struct Oracle {
  const sim::Simulator* simulator = nullptr;
  std::map<uint64_t, std::set<uint64_t>> history;  // write -> itself and what it overwrote
  std::map<uint64_t, Instant> acknowledged;        // write -> true time of the ack
  std::map<uint64_t, NodeId> taken_by;             // write -> the replica that took it
  std::map<uint64_t, int64_t> refused;  // writer number (1: DC1, 2: DC2) -> refusals
  int64_t unknown = 0;

  void RecordWrite(uint64_t write, NodeId replica, const std::vector<uint64_t>& overwritten) {
    std::set<uint64_t>& mine = history[write];
    mine.insert(write);
    for (const uint64_t parent : overwritten) {
      const auto found = history.find(parent);
      MURPHY_ASSERT(found != history.end());
      mine.insert(found->second.begin(), found->second.end());
    }
    taken_by[write] = replica;
  }
};

struct Version {
  uint64_t counter = 0;
  uint32_t node = 0;
  auto operator<=>(const Version&) const = default;
};

struct PendingWrite {  // a write waiting at the primary
  NodeId client;
  uint64_t write = 0;
};

struct PrimaryOperation {  // the write the primary is storing on a majority
  uint64_t id = 0;
  NodeId client;
  uint64_t write = 0;
  int acknowledgements = 0;
};

class Replica {
 public:
  Replica(Env& env, StoreKind kind, std::vector<NodeId> replicas, Oracle* oracle)
      : env_(env), kind_(kind), replicas_(std::move(replicas)), oracle_(oracle) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    gossip_timer_ = env_.SetTimer(kGossipInterval, [this] { GossipTick(); });
  }
  ~Replica() {
    env_.CancelTimer(gossip_timer_);
    env_.CancelTimer(quorum_timer_);
  }
  Replica(const Replica&) = delete;
  Replica& operator=(const Replica&) = delete;

  // The write ids this replica holds now (one, or several siblings), sorted.
  std::vector<uint64_t> Values() const {
    std::vector<uint64_t> values;
    switch (kind_) {
      case StoreKind::kLastWriteWins:
        if (lww_.current()) values.push_back(lww_.current()->value);
        break;
      case StoreKind::kSiblings:
        values = siblings_.Values();
        break;
      case StoreKind::kQuorum:
        if (quorum_value_) values.push_back(*quorum_value_);
        break;
    }
    std::sort(values.begin(), values.end());
    return values;
  }

 private:

  int Majority() const { return static_cast<int>(replicas_.size()) / 2 + 1; }

  void Broadcast(const Bytes& message) {
    for (const NodeId peer : replicas_) {
      if (peer != env_.self()) env_.Send(peer, message);
    }
  }

  // In contact with a majority: heard from enough peers recently (itself included).
  bool InContact() const {
    int reachable = 1;
    const Instant now = env_.MonotonicNow();
    for (const auto& [peer, heard] : last_heard_) reachable += now - heard <= kContactWindow ? 1 : 0;
    return reachable >= Majority();
  }

  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok()) return;
    if (std::find(replicas_.begin(), replicas_.end(), source) != replicas_.end()) {
      last_heard_[source.value()] = env_.MonotonicNow();
    }
    ByteReader reader(frame->payload);
    switch (frame->type) {
      case kClientWrite: {
        uint64_t write = 0;
        if (reader.GetU64(&write)) OnClientWrite(source, write);
        return;
      }
      case kGossip:
        OnGossip(reader);
        return;
      case kForward: {
        uint32_t client = 0;
        uint64_t write = 0;
        if (kind_ == StoreKind::kQuorum && env_.self() == kPrimary && reader.GetU32(&client) &&
            reader.GetU64(&write)) {
          Enqueue(NodeId(client), write);
        }
        return;
      }
      case kHeartbeat:
        return;
      case kStoreValue: {
        uint64_t operation = 0;
        Version version;
        uint64_t value = 0;
        if (!reader.GetU64(&operation) || !reader.GetU64(&version.counter) || !reader.GetU32(&version.node) ||
            !reader.GetU64(&value)) {
          return;
        }
        Adopt(version, value);
        if (operation != 0) {
          ByteWriter writer;
          writer.PutU64(operation);
          env_.Send(source, EncodeFrame(kStoreAck, writer.bytes()));
        }
        return;
      }
      case kStoreAck: {
        uint64_t operation = 0;
        if (!reader.GetU64(&operation) || !operation_ || operation_->id != operation) return;
        if (++operation_->acknowledgements >= Majority()) Answer(kAnswerOk);
        return;
      }
      default:
        return;
    }
  }

  void OnClientWrite(NodeId client, uint64_t write) {
    switch (kind_) {
      case StoreKind::kLastWriteWins: {
        oracle_->RecordWrite(write, env_.self(), Values());
        // Acknowledged even if an incumbent with a later timestamp makes it lose at once.
        lww_.Write(write, env_.WallNow(), env_.self());
        Reply(client, write, kAnswerOk);
        GossipNow();
        return;
      }
      case StoreKind::kSiblings: {
        oracle_->RecordWrite(write, env_.self(), Values());
        // The client read this replica before writing: its context covers every sibling here.
        const Result<Dot> dot = siblings_.Write(env_.self(), write, siblings_.Context());
        MURPHY_ASSERT(dot.ok());
        Reply(client, write, kAnswerOk);
        GossipNow();
        return;
      }
      case StoreKind::kQuorum: {
        // Out of contact with a majority: refuse now, before anything is stored.
        if (!InContact()) {
          Reply(client, write, kAnswerRefused);
          return;
        }
        if (env_.self() == kPrimary) {
          Enqueue(client, write);
        } else {
          ByteWriter writer;
          writer.PutU32(client.value());
          writer.PutU64(write);
          env_.Send(kPrimary, EncodeFrame(kForward, writer.bytes()));  // the primary answers the client
        }
        return;
      }
    }
  }

  // Primary: one write at a time, in arrival order.
  void Enqueue(NodeId client, uint64_t write) {
    if (!InContact() || pending_.size() >= kPrimaryQueueLimit) {
      Reply(client, write, kAnswerRefused);
      return;
    }
    pending_.push_back({client, write});
    if (!operation_) StartNext();
  }

  // Primary: version = previous + 1, so every write descends from the one before.
  void StartNext() {
    if (pending_.empty()) return;
    const PendingWrite next = pending_.front();
    pending_.erase(pending_.begin());
    operation_.emplace();
    operation_->id = ++next_operation_;
    operation_->client = next.client;
    operation_->write = next.write;
    std::vector<uint64_t> overwritten;
    if (quorum_value_) overwritten.push_back(*quorum_value_);
    oracle_->RecordWrite(next.write, env_.self(), overwritten);
    const Version version{quorum_version_.counter + 1, env_.self().value()};
    Adopt(version, next.write);
    operation_->acknowledgements = 1;
    ByteWriter writer;
    writer.PutU64(operation_->id);
    writer.PutU64(version.counter);
    writer.PutU32(version.node);
    writer.PutU64(next.write);
    Broadcast(EncodeFrame(kStoreValue, writer.bytes()));
    // No majority in time: stored on a minority at least, so the outcome is unknown.
    quorum_timer_ = env_.SetTimer(kQuorumTimeout, [this] { Answer(kAnswerUnknown); });
  }

  void Adopt(Version version, uint64_t value) {
    if (quorum_value_ && !(quorum_version_ < version)) return;
    quorum_version_ = version;
    quorum_value_ = value;
  }

  void Answer(uint8_t answer) {
    env_.CancelTimer(quorum_timer_);
    Reply(operation_->client, operation_->write, answer);
    operation_.reset();
    StartNext();
  }

  void Reply(NodeId client, uint64_t write, uint8_t answer) {
    ByteWriter writer;
    writer.PutU64(write);
    writer.PutU8(answer);
    env_.Send(client, EncodeFrame(kClientAnswer, writer.bytes()));
  }

  void GossipTick() {
    Broadcast(EncodeFrame(kHeartbeat, {}));
    GossipNow();
    gossip_timer_ = env_.SetTimer(kGossipInterval, [this] { GossipTick(); });
  }

  // Anti-entropy: send this replica's whole state to every peer.
  void GossipNow() {
    ByteWriter writer;
    switch (kind_) {
      case StoreKind::kLastWriteWins:
        if (!lww_.current()) return;
        writer.PutU64(lww_.current()->value);
        writer.PutI64(lww_.current()->timestamp.nanoseconds());
        writer.PutU32(lww_.current()->writer.value());
        Broadcast(EncodeFrame(kGossip, writer.bytes()));
        return;
      case StoreKind::kSiblings:
        if (siblings_.siblings().empty()) return;
        writer.PutU32(static_cast<uint32_t>(siblings_.siblings().size()));
        for (const auto& sibling : siblings_.siblings()) {
          writer.PutU32(sibling.clock.dot.node.value());
          writer.PutU64(sibling.clock.dot.counter);
          writer.PutU32(static_cast<uint32_t>(sibling.clock.past.entries().size()));
          for (const VectorClock::Entry& entry : sibling.clock.past.entries()) {
            writer.PutU32(entry.node.value());
            writer.PutU64(entry.counter);
          }
          writer.PutU64(sibling.value);
        }
        Broadcast(EncodeFrame(kGossip, writer.bytes()));
        return;
      case StoreKind::kQuorum:
        if (!quorum_value_) return;
        writer.PutU64(0);  // no operation: no ack wanted
        writer.PutU64(quorum_version_.counter);
        writer.PutU32(quorum_version_.node);
        writer.PutU64(*quorum_value_);
        Broadcast(EncodeFrame(kStoreValue, writer.bytes()));
        return;
    }
  }

  void OnGossip(ByteReader& reader) {
    if (kind_ == StoreKind::kLastWriteWins) {
      uint64_t value = 0;
      int64_t timestamp = 0;
      uint32_t writer = 0;
      if (!reader.GetU64(&value) || !reader.GetI64(&timestamp) || !reader.GetU32(&writer)) return;
      lww_.Merge(OneVersion(value, WallTime::FromNanoseconds(timestamp), NodeId(writer)));
      return;
    }
    if (kind_ != StoreKind::kSiblings) return;
    // Rebuild the sender's register sibling by sibling. Every write here is made with
    // its replica's full context, so a sibling's dot is (node, past[node] + 1) and
    // re-issuing it on an empty register reproduces exactly the same dotted version
    // vector (asserted).
    uint32_t count = 0;
    if (!reader.GetU32(&count) || count > 64) return;
    MultiValueRegister<uint64_t> incoming;
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t node = 0;
      uint64_t counter = 0;
      uint32_t entries = 0;
      if (!reader.GetU32(&node) || !reader.GetU64(&counter) || !reader.GetU32(&entries) || entries > 64) return;
      VectorClock past;
      for (uint32_t e = 0; e < entries; ++e) {
        uint32_t entry_node = 0;
        uint64_t entry_counter = 0;
        if (!reader.GetU32(&entry_node) || !reader.GetU64(&entry_counter)) return;
        MURPHY_ASSERT(past.Raise(NodeId(entry_node), entry_counter).ok());
      }
      uint64_t value = 0;
      if (!reader.GetU64(&value)) return;
      MultiValueRegister<uint64_t> single;
      const Result<Dot> dot = single.Write(NodeId(node), value, past);
      MURPHY_ASSERT(dot.ok());
      MURPHY_ASSERT_MSG(*dot == (Dot{NodeId(node), counter}), "a gossiped sibling did not rebuild to its own dot");
      MURPHY_ASSERT(incoming.Merge(single).ok());
    }
    MURPHY_ASSERT(siblings_.Merge(incoming).ok());
  }

  static LwwRegister<uint64_t, WallTime> OneVersion(uint64_t value, WallTime timestamp, NodeId writer) {
    LwwRegister<uint64_t, WallTime> version;
    version.Write(value, timestamp, writer);
    return version;
  }

  Env& env_;
  StoreKind kind_;
  std::vector<NodeId> replicas_;
  Oracle* oracle_;
  LwwRegister<uint64_t, WallTime> lww_;
  MultiValueRegister<uint64_t> siblings_;
  Version quorum_version_;
  std::optional<uint64_t> quorum_value_;
  std::optional<PrimaryOperation> operation_;
  std::vector<PendingWrite> pending_;
  uint64_t next_operation_ = 0;
  std::map<uint32_t, Instant> last_heard_;  // replica peer -> when
  TimerId gossip_timer_;
  TimerId quorum_timer_;
};

// Writes number * 1000 + 1, + 2, ... through one replica, one at a time, until the heal.
class Writer {
 public:
  Writer(Env& env, NodeId replica, uint64_t number, Oracle* oracle)
      : env_(env), replica_(replica), number_(number), next_write_(number * 1000 + 1), oracle_(oracle) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnAnswer(source, payload); });
    timer_ = env_.SetTimer(env_.rng().UniformDuration(Milliseconds(300), Milliseconds(400)), [this] { Write(); });
  }
  ~Writer() { env_.CancelTimer(timer_); }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

 private:
  void Write() {
    if (oracle_->simulator->now() >= kHealAt) return;
    current_ = next_write_++;
    ByteWriter writer;
    writer.PutU64(current_);
    env_.Send(replica_, EncodeFrame(kClientWrite, writer.bytes()));
    timer_ = env_.SetTimer(kClientTimeout, [this] {
      ++oracle_->unknown;
      Next();
    });
  }
  void OnAnswer(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (source != replica_ || !frame.ok() || frame->type != kClientAnswer) return;
    ByteReader reader(frame->payload);
    uint64_t write = 0;
    uint8_t answer = 0;
    if (!reader.GetU64(&write) || !reader.GetU8(&answer) || write != current_) return;
    env_.CancelTimer(timer_);
    if (answer == kAnswerOk) oracle_->acknowledged[write] = oracle_->simulator->now();
    if (answer == kAnswerRefused) ++oracle_->refused[number_];
    if (answer == kAnswerUnknown) ++oracle_->unknown;
    Next();
  }
  void Next() {
    current_ = 0;
    timer_ = env_.SetTimer(kThinkTime, [this] { Write(); });
  }

  Env& env_;
  NodeId replica_;
  uint64_t number_;
  uint64_t next_write_;
  uint64_t current_ = 0;
  Oracle* oracle_;
  TimerId timer_;
};

struct SplitResult {
  int64_t acknowledged = 0;
  int64_t refused_majority_side = 0;
  int64_t refused_minority_side = 0;
  int64_t unknown = 0;
  int64_t lost = 0;
  std::string lost_description;
  int states_at_heal = 0;  // distinct replica states just before the heal
  bool converged = false;
  std::vector<uint64_t> final_values;
};

SplitResult RunSplit(uint64_t seed, StoreKind kind) {
  sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
  simulator.SetAllLinks(scenarios::UniformLink(Milliseconds(1), Milliseconds(5)));
  Oracle oracle;
  oracle.simulator = &simulator;
  std::vector<NodeId> replicas;
  for (int i = 1; i <= kReplicas; ++i) replicas.push_back(NodeId(static_cast<uint32_t>(i)));
  const char* names[kReplicas] = {"a-dc1", "b-dc1", "c-dc1", "d-dc2", "e-dc2"};
  for (int i = 0; i < kReplicas; ++i) {
    simulator.AddProcess(names[i], [kind, replicas, &oracle](Env& env) {
      return sim::Hold(std::make_unique<Replica>(env, kind, replicas, &oracle));
    });
  }
  const NodeId writer_one = simulator.AddProcess("client-dc1", [&oracle](Env& env) {
    return sim::Hold(std::make_unique<Writer>(env, NodeId(1), 1, &oracle));
  });
  const NodeId writer_two = simulator.AddProcess("client-dc2", [&oracle](Env& env) {
    return sim::Hold(std::make_unique<Writer>(env, NodeId(4), 2, &oracle));
  });
  auto states = [&simulator, &replicas] {
    std::set<std::vector<uint64_t>> distinct;
    for (const NodeId replica : replicas) distinct.insert(simulator.ProcessAs<Replica>(replica)->Values());
    return distinct;
  };

  scenarios::RunTo(simulator, kSplitAt);
  simulator.Partition(sim::GroupCuts({{NodeId(1), NodeId(2), NodeId(3), writer_one},
                                      {NodeId(4), NodeId(5), writer_two}}));
  scenarios::RunTo(simulator, kHealAt);
  SplitResult result;
  result.states_at_heal = static_cast<int>(states().size());
  simulator.Heal();
  scenarios::RunTo(simulator, kRunEnd);

  const std::set<std::vector<uint64_t>> final_states = states();
  result.converged = final_states.size() == 1;
  std::set<uint64_t> survived;  // every write some remaining value descends from
  for (const std::vector<uint64_t>& values : final_states) {
    for (const uint64_t value : values) {
      const std::set<uint64_t>& history = oracle.history.at(value);
      survived.insert(history.begin(), history.end());
    }
  }
  result.final_values = *final_states.begin();
  result.acknowledged = static_cast<int64_t>(oracle.acknowledged.size());
  result.refused_majority_side = oracle.refused[1];
  result.refused_minority_side = oracle.refused[2];
  result.unknown = oracle.unknown;
  std::vector<uint64_t> lost;
  for (const auto& [write, at] : oracle.acknowledged) {
    if (!survived.contains(write)) lost.push_back(write);
  }
  result.lost = static_cast<int64_t>(lost.size());
  if (!lost.empty()) {
    const uint64_t first = lost.front();
    const uint64_t last = lost.back();
    result.lost_description =
        std::to_string(lost.size()) + " acknowledged writes lost on heal, " + std::to_string(first) + ".." +
        std::to_string(last) + " (acknowledged by node " + std::to_string(oracle.taken_by.at(first).value()) +
        " from " + scenarios::FormatTrueTime(oracle.acknowledged.at(first)) + " to " +
        scenarios::FormatTrueTime(oracle.acknowledged.at(last)) + "); the replicas kept only " +
        std::to_string(result.final_values.empty() ? 0 : result.final_values.back());
  }
  return result;
}

std::string Join(const std::vector<uint64_t>& values) {
  std::string text;
  for (const uint64_t value : values) text += (text.empty() ? "" : ", ") + std::to_string(value);
  return "{" + text + "}";
}

class PartitionCpAp final : public Scenario {
 public:
  std::string_view name() const override { return "partition-cp-ap"; }
  std::string_view section() const override { return "Network Partitions Are Real"; }
  std::string_view remedy() const override {
    return "CP: writes need a majority, the minority side refuses them; AP: version vectors keep siblings";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    RunOutcome outcome;
    const std::string split = "split " + scenarios::FormatTrueTime(kSplitAt) + ".." +
                              scenarios::FormatTrueTime(kHealAt);
    if (!with_remedy) {
      const SplitResult lww = RunSplit(seed, StoreKind::kLastWriteWins);
      outcome.Add("writes_acknowledged", static_cast<double>(lww.acknowledged));
      outcome.Add("writes_refused", static_cast<double>(lww.refused_majority_side + lww.refused_minority_side));
      outcome.Add("writes_lost", static_cast<double>(lww.lost));
      outcome.Add("replica_states_at_heal", lww.states_at_heal);
      outcome.Add("converged_after_heal", lww.converged ? 1 : 0);
      outcome.violated = lww.lost > 0 || !lww.converged;
      if (outcome.violated) {
        outcome.violation = "AP with last-write-wins, " + split + ": " +
                            (lww.lost > 0 ? lww.lost_description : std::string("no write lost")) +
                            (lww.converged ? "" : "; replicas still diverge after the heal");
      }
      outcome.summary = "AP+LWW: both sides accepted writes (" + std::to_string(lww.states_at_heal) +
                        " replica states at the heal), " + std::to_string(lww.lost) + " of " +
                        std::to_string(lww.acknowledged) + " acknowledged writes lost on heal";
      return outcome;
    }
    const SplitResult quorum = RunSplit(seed, StoreKind::kQuorum);
    const SplitResult siblings = RunSplit(seed, StoreKind::kSiblings);
    outcome.Add("cp_writes_acknowledged", static_cast<double>(quorum.acknowledged));
    outcome.Add("cp_minority_writes_refused", static_cast<double>(quorum.refused_minority_side));
    outcome.Add("cp_majority_writes_refused", static_cast<double>(quorum.refused_majority_side));
    outcome.Add("cp_writes_outcome_unknown", static_cast<double>(quorum.unknown));
    outcome.Add("cp_writes_lost", static_cast<double>(quorum.lost));
    outcome.Add("cp_converged_after_heal", quorum.converged ? 1 : 0);
    outcome.Add("ap_siblings_writes_acknowledged", static_cast<double>(siblings.acknowledged));
    outcome.Add("ap_siblings_writes_lost", static_cast<double>(siblings.lost));
    outcome.Add("ap_siblings_after_heal", static_cast<double>(siblings.final_values.size()));
    outcome.Add("ap_siblings_converged_after_heal", siblings.converged ? 1 : 0);
    std::string problems;
    if (quorum.lost > 0 || !quorum.converged) {
      problems = "CP quorum: " + (quorum.lost > 0 ? quorum.lost_description : std::string("diverged after heal"));
    }
    if (siblings.lost > 0 || !siblings.converged) {
      problems += (problems.empty() ? "" : "; ") + std::string("AP siblings: ") +
                  (siblings.lost > 0 ? siblings.lost_description : std::string("diverged after heal"));
    }
    outcome.violated = !problems.empty();
    outcome.violation = problems;
    outcome.summary = "CP: " + std::to_string(quorum.refused_minority_side) + " writes refused in DC2 (minority), " +
                      std::to_string(quorum.lost) + " of " + std::to_string(quorum.acknowledged) +
                      " acknowledged lost; AP+version vectors: siblings " + Join(siblings.final_values) + ", " +
                      std::to_string(siblings.lost) + " of " + std::to_string(siblings.acknowledged) + " lost";
    return outcome;
  }
};

}  // namespace

const Scenario& PartitionCpApScenario() {
  static const PartitionCpAp scenario;
  return scenario;
}

}  // namespace murphy
