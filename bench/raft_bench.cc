// Micro-benchmarks of the pure Raft core.
//
// Back of the envelope: the core does no I/O, so a commit costs a few message
// constructions and vector copies per replica — on the order of a microsecond per
// entry for a 3-node in-memory cluster. The real limit of murphyd is fsync (~0.1–10
// ms) and the network RTT (~0.1 ms in a data centre), so the core should sit two or
// more orders of magnitude below them; the "entries/s" counter shows the margin.
//
// BM_Failover / BM_FalseElections are not timings but a deterministic comparison,
// in logical ticks (think 10 ms each), of the plain randomized election timeout
// with external leader failure detection driven by a PhiAccrualDetector over the
// leader's heartbeat arrivals (Config::external_leader_failure_detection). The
// estimate: with election_ticks = 10, the plain timeout fires in [10, 20) ticks,
// and the first of two followers at about 10 + 10/3 = 13.3 ticks after the last
// heartbeat; with the detector, a follower campaigns at the floor (5 ticks) plus
// a jitter in [0, 10), the first of two at about 5 + 10/3 = 8.3; an election
// round and a commit add three round trips (1-3 ticks each way here) to both.
// A smaller jitter (5) loses: two followers that campaign within one round trip
// grant each other's pre-votes and split the real vote. The price: a leader paused for more
// than the floor but less than the election timeout is replaced with the
// detector and not without it (BM_FalseElections).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/detect/phi_accrual_detector.h"

#include "murphy/raft/message_codec.h"
#include "murphy/raft/raw_node.h"
#include "murphy/raft/storage.h"

namespace murphy::raft {
namespace {

struct BenchCluster {
  std::vector<std::unique_ptr<RawNode>> nodes;
  std::vector<MemoryStorage> disks;
  std::deque<Message> wire;

  explicit BenchCluster(int size) {
    Membership membership;
    for (int i = 1; i <= size; ++i) membership.voters.push_back(NodeId(i));
    for (int i = 1; i <= size; ++i) {
      Config config;
      config.id = NodeId(i);
      config.seed = static_cast<uint64_t>(i);
      config.max_inflight_messages = 256;
      disks.emplace_back(membership);
      nodes.push_back(std::make_unique<RawNode>(config, disks.back().Restore()));
    }
    nodes[0]->Campaign();
    Drive();
  }

  void Drive() {
    bool moved = true;
    while (moved) {
      moved = false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i]->HasReady()) continue;
        moved = true;
        Ready ready = nodes[i]->GetReady();
        for (Message& message : ready.messages) wire.push_back(std::move(message));
        disks[i].Persist(ready);
        for (Message& message : ready.messages_after_persist) wire.push_back(std::move(message));
        nodes[i]->Advance();
      }
      while (!wire.empty()) {
        moved = true;
        Message message = std::move(wire.front());
        wire.pop_front();
        nodes[message.to.value() - 1]->Step(message).IgnoreError();
      }
    }
  }
};

void BM_ProposeAndCommit(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  BenchCluster cluster(3);
  std::string payload(64, 'x');
  int64_t entries = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) cluster.nodes[0]->Propose(payload).value();
    cluster.Drive();
    entries += batch;
    // Keep memory bounded: the log is not compacted, so restart the cluster now and then.
    if (cluster.nodes[0]->raft().log().last_index().value() > 50000) {
      state.PauseTiming();
      cluster = BenchCluster(3);
      state.ResumeTiming();
    }
  }
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProposeAndCommit)->Arg(1)->Arg(16)->Arg(256);

void BM_EncodeDecodeAppend(benchmark::State& state) {
  Message message;
  message.type = MessageType::kAppend;
  message.from = NodeId(1);
  message.to = NodeId(2);
  message.term = Term(3);
  for (uint64_t i = 1; i <= 64; ++i) message.entries.push_back({Term(3), LogIndex(i), EntryType::kNormal, std::string(64, 'x')});
  for (auto _ : state) {
    Bytes bytes = EncodeMessage(message);
    Result<Message> decoded = DecodeMessage(bytes);
    benchmark::DoNotOptimize(decoded.ok());
  }
}
BENCHMARK(BM_EncodeDecodeAppend);

// --- Failover comparison -------------------------------------------------------

constexpr int kTickMilliseconds = 10;

Instant TickTime(int64_t tick) { return Instant::FromNanoseconds(0) + Milliseconds(tick * kTickMilliseconds); }

PhiAccrualConfig LeaderDetectorConfig() {
  PhiAccrualConfig config;
  config.threshold = 8.0;
  config.min_standard_deviation = Milliseconds(kTickMilliseconds);
  config.acceptable_heartbeat_pause = Milliseconds(0);
  config.first_heartbeat_estimate = Milliseconds(kTickMilliseconds);
  return config;
}

// Three nodes ticking together; each message takes 1 to 3 ticks (so heartbeat
// arrivals jitter, as the detector sees them in life). A paused or crashed node
// neither ticks nor sends; messages to a paused node wait for it.
struct FailoverCluster {
  struct Node {
    std::unique_ptr<RawNode> raw;
    MemoryStorage disk;
    std::optional<PhiAccrualDetector> detector;
    NodeId watched = kNoNode;
    uint64_t contacts = 0;
    bool crashed = false;
    int paused_until = 0;
  };
  struct InFlight {
    int64_t deliver_at;
    Message message;
  };
  bool external;
  std::vector<Node> nodes;
  std::deque<InFlight> wire;
  Rng rng;
  int64_t now = 0;

  // jitter_ticks: Config::leader_failure_jitter_ticks (0: the default).
  FailoverCluster(uint64_t seed, bool external_detection, int jitter_ticks = 0)
      : external(external_detection), rng(seed) {
    Membership membership;
    for (int i = 1; i <= 3; ++i) membership.voters.push_back(NodeId(i));
    for (int i = 1; i <= 3; ++i) {
      Config config;
      config.id = NodeId(i);
      config.seed = seed * 31 + static_cast<uint64_t>(i);
      config.external_leader_failure_detection = external_detection;
      config.leader_failure_jitter_ticks = jitter_ticks;
      nodes.push_back(Node{nullptr, MemoryStorage(membership), std::nullopt, kNoNode, 0, false, 0});
      nodes.back().raw = std::make_unique<RawNode>(config, nodes.back().disk.Restore());
    }
  }

  bool Running(const Node& node) const { return !node.crashed && now >= node.paused_until; }

  void Send(Message message) {
    wire.push_back({now + 1 + static_cast<int64_t>(rng.Uniform(3)), std::move(message)});
  }

  void Drain() {
    for (Node& node : nodes) {
      if (!Running(node) || !node.raw->HasReady()) continue;
      Ready ready = node.raw->GetReady();
      for (Message& message : ready.messages) Send(std::move(message));
      node.disk.Persist(ready);
      for (Message& message : ready.messages_after_persist) Send(std::move(message));
      node.raw->Advance();
    }
  }

  void Step() {
    ++now;
    for (Node& node : nodes) {
      if (Running(node)) node.raw->Tick();
    }
    Drain();
    for (size_t i = 0; i < wire.size();) {
      Node& target = nodes[wire[i].message.to.value() - 1];
      if (wire[i].deliver_at > now || (!target.crashed && !Running(target))) {
        ++i;
        continue;
      }
      if (!target.crashed) {
        target.raw->Step(wire[i].message).IgnoreError();
        Feed(target);
      }
      wire.erase(wire.begin() + static_cast<ptrdiff_t>(i));
    }
    for (Node& node : nodes) {
      if (!Running(node) || !external) continue;
      Feed(node);
      if (node.raw->raft().role() == Role::kFollower && node.detector.has_value() &&
          node.detector->Suspect(TickTime(now))) {
        node.raw->ReportLeaderFailure().IgnoreError();
      }
    }
    Drain();
  }

  // The node shell's side of external detection: one detector per leader, fed
  // with the arrival time of every contact from it; kept while no leader is known
  // (a lost pre-vote forgets the leader, but it is still silent).
  void Feed(Node& node) {
    const NodeId leader = node.raw->raft().leader();
    if (leader != kNoNode && leader != node.watched) {
      node.watched = leader;
      node.detector.reset();
      if (leader != kNoNode && leader != node.raw->raft().id()) node.detector.emplace(LeaderDetectorConfig());
    }
    const uint64_t contacts = node.raw->leader_contacts();
    if (contacts != node.contacts) {
      node.contacts = contacts;
      if (node.detector.has_value()) node.detector->Heartbeat(TickTime(now));
    }
  }

  std::optional<NodeId> ServingLeader() const {
    for (const Node& node : nodes) {
      if (node.crashed) continue;
      const Raft& raft = node.raw->raft();
      if (raft.role() == Role::kLeader && raft.log().TermAtOrDie(raft.log().committed()) == raft.term()) {
        return raft.id();
      }
    }
    return std::nullopt;
  }

  Term MaxTerm() const {
    Term term;
    for (const Node& node : nodes) term = std::max(term, node.raw->raft().term());
    return term;
  }
};

// Elects a leader and lets heartbeats flow long enough for the detectors to learn.
std::optional<NodeId> Warm(FailoverCluster& cluster) {
  for (int i = 0; i < 200; ++i) cluster.Step();
  return cluster.ServingLeader();
}

double Percentile(std::vector<int> values, double q) {
  std::sort(values.begin(), values.end());
  const size_t at = std::min(values.size() - 1, static_cast<size_t>(q * static_cast<double>(values.size())));
  return values[at];
}

// Ticks from a leader crash until a new leader has committed an entry of its term.
// Arg: 0 plain timeout; 1 detector with the default jitter (10); 2 with jitter 5.
void BM_Failover(benchmark::State& state) {
  const bool external = state.range(0) != 0;
  const int jitter_ticks = state.range(0) == 2 ? 5 : 0;
  std::vector<int> ticks;
  for (auto _ : state) {
    ticks.clear();
    for (uint64_t seed = 1; seed <= 500; ++seed) {
      FailoverCluster cluster(seed, external, jitter_ticks);
      std::optional<NodeId> leader = Warm(cluster);
      if (!leader.has_value()) continue;
      cluster.nodes[leader->value() - 1].crashed = true;
      const int64_t crashed_at = cluster.now;
      while (cluster.now - crashed_at < 1000) {
        cluster.Step();
        if (cluster.ServingLeader().has_value()) break;
      }
      ticks.push_back(static_cast<int>(cluster.now - crashed_at));
    }
  }
  state.SetLabel(!external ? "plain timeout [10,20)"
                            : jitter_ticks == 0 ? "phi detector, floor 5, jitter 10" : "phi detector, floor 5, jitter 5");
  state.counters["runs"] = static_cast<double>(ticks.size());
  state.counters["p50_ticks"] = Percentile(ticks, 0.5);
  state.counters["p99_ticks"] = Percentile(ticks, 0.99);
}
BENCHMARK(BM_Failover)->Arg(0)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kMillisecond);

// A leader paused for P ticks (no ticks, sends nothing, receives nothing until it
// resumes): the fraction of runs in which the others elect a new leader anyway.
void BM_FalseElections(benchmark::State& state) {
  const bool external = state.range(0) != 0;
  const int pause_ticks = static_cast<int>(state.range(1));
  int runs = 0;
  int elections = 0;
  for (auto _ : state) {
    runs = 0;
    elections = 0;
    for (uint64_t seed = 1; seed <= 500; ++seed) {
      FailoverCluster cluster(seed, external);
      std::optional<NodeId> leader = Warm(cluster);
      if (!leader.has_value()) continue;
      const Term term = cluster.MaxTerm();
      cluster.nodes[leader->value() - 1].paused_until = static_cast<int>(cluster.now) + pause_ticks;
      for (int i = 0; i < pause_ticks + 30; ++i) cluster.Step();
      ++runs;
      if (cluster.MaxTerm() != term) ++elections;
    }
  }
  state.SetLabel(external ? "phi detector, floor 5" : "plain timeout [10,20)");
  state.counters["pause_ticks"] = pause_ticks;
  state.counters["false_election_ratio"] = runs == 0 ? 0.0 : static_cast<double>(elections) / runs;
}
BENCHMARK(BM_FalseElections)
    ->ArgsProduct({{0, 1}, {3, 5, 8, 12, 20}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy::raft
