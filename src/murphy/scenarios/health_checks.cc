// health-checks — "Practical Patterns: Health Checks" (liveness vs readiness).
//
// The story: three replicas N1..N3 serve requests only while they are in contact with
// a quorum (they heard a heartbeat from at least one peer — 2 of 3 with themselves —
// within 300 ms); a load balancer spreads a client's requests (100/s) over them and
// probes each replica every 200 ms on two endpoints: liveness ("is the process
// running?") and readiness ("can it serve now?" — in contact with a quorum). Three
// failed liveness probes in a row mean a restart (Kubernetes' livenessProbe with
// failureThreshold 3); two failed readiness probes take a replica out of rotation and
// one success puts it back. From t = 2 s to t = 8 s N3 is cut off from N1 and N2, but
// not from the load balancer or the client (a partial partition: the load balancer
// still sees a healthy process).
//
// Without the remedy the load balancer routes by liveness (the chapter's `/health`
// only): N3's process is alive, so it stays in rotation and keeps receiving a third of
// the traffic it cannot serve. With the remedy it routes by readiness: N3's readiness
// fails once it is out of quorum, the load balancer drains it, and returns it after
// the heal; liveness stays up throughout, so nobody restarts a process that is fine
// (no restart storm).
//
// The checker: requests the load balancer routes to a replica that cannot serve them
// (the replica answers "unavailable: not in quorum") are failures; those routed within
// the stated detection bound — 1.5 s after the partition began (quorum timeout 300 ms
// + two 200 ms readiness probes + the 100 ms probe timeout, with margin) — are
// tolerated, any later one is a violation. A restart of a live replica is one too.
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

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

constexpr int kReplicas = 3;
constexpr Duration kHeartbeatInterval = Milliseconds(100);
constexpr Duration kQuorumTimeout = Milliseconds(300);
constexpr Duration kProbeInterval = Milliseconds(200);
constexpr Duration kProbeTimeout = Milliseconds(100);
constexpr int kLivenessFailureThreshold = 3;
constexpr int kReadinessFailureThreshold = 2;
constexpr Duration kRequestInterval = Milliseconds(10);
constexpr Instant kCutAt = Instant() + Seconds(2);
constexpr Instant kHealAt = Instant() + Seconds(8);
constexpr Instant kRunEnd = Instant() + Seconds(10);
constexpr Duration kDetectionBound = Milliseconds(1500);

constexpr uint8_t kHeartbeat = 1;
constexpr uint8_t kProbe = 2;
constexpr uint8_t kProbeAnswer = 3;
constexpr uint8_t kRequest = 4;
constexpr uint8_t kForwarded = 5;
constexpr uint8_t kResponse = 6;

constexpr uint8_t kLiveness = 0;
constexpr uint8_t kReadiness = 1;

constexpr uint8_t kServed = 0;
constexpr uint8_t kNotInQuorum = 1;
constexpr uint8_t kNoBackend = 2;

struct Routed {
  NodeId backend;
  Instant at;
};

struct Oracle {
  const sim::Simulator* simulator = nullptr;
  std::map<uint64_t, Routed> routed;       // request -> where and when the LB sent it
  std::map<uint64_t, uint8_t> responses;   // request -> the answer the client got
  std::vector<NodeId> restart_requests;    // liveness failed kLivenessFailureThreshold times
  int64_t liveness_failures = 0;
  Instant drained_at = Instant::Max();     // when the LB took N3 out of rotation
  Instant returned_at = Instant::Max();    // when it put N3 back
};

Bytes Message(uint8_t type, std::initializer_list<uint64_t> fields) {
  ByteWriter writer;
  for (const uint64_t field : fields) writer.PutU64(field);
  return EncodeFrame(type, writer.bytes());
}

class ReplicaNode {
 public:
  ReplicaNode(Env& env, std::vector<NodeId> peers) : env_(env), peers_(std::move(peers)) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Beat(); });
  }
  ~ReplicaNode() { env_.CancelTimer(timer_); }
  ReplicaNode(const ReplicaNode&) = delete;
  ReplicaNode& operator=(const ReplicaNode&) = delete;

 private:
  bool InQuorum() const {
    int reachable = 1;
    const Instant now = env_.MonotonicNow();
    for (const auto& [peer, heard] : last_heard_) reachable += now - heard <= kQuorumTimeout ? 1 : 0;
    return reachable >= kReplicas / 2 + 1;
  }

  void Beat() {
    for (const NodeId peer : peers_) env_.Send(peer, Message(kHeartbeat, {}));
    timer_ = env_.SetTimer(kHeartbeatInterval, [this] { Beat(); });
  }

  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok()) return;
    ByteReader reader(frame->payload);
    switch (frame->type) {
      case kHeartbeat:
        last_heard_[source.value()] = env_.MonotonicNow();
        return;
      case kProbe: {
        uint64_t probe = 0;
        uint64_t kind = 0;
        if (!reader.GetU64(&probe) || !reader.GetU64(&kind)) return;
        // Liveness: the process runs and answers. Readiness: it can serve requests.
        const bool healthy = kind == kLiveness || InQuorum();
        env_.Send(source, Message(kProbeAnswer, {probe, kind, healthy ? 1u : 0u}));
        return;
      }
      case kForwarded: {
        uint64_t request = 0;
        uint64_t client = 0;
        if (!reader.GetU64(&request) || !reader.GetU64(&client)) return;
        env_.Send(NodeId(static_cast<uint32_t>(client)),
                  Message(kResponse, {request, static_cast<uint64_t>(InQuorum() ? kServed : kNotInQuorum)}));
        return;
      }
      default:
        return;
    }
  }

  Env& env_;
  std::vector<NodeId> peers_;
  std::map<uint32_t, Instant> last_heard_;
  TimerId timer_;
};

// What the load balancer knows of one backend.
struct BackendState {
  bool in_rotation = true;
  int liveness_failures = 0;   // consecutive
  int readiness_failures = 0;  // consecutive
  std::array<bool, 2> answered_healthy = {false, false};  // this round, by kind
};

class LoadBalancer {
 public:
  LoadBalancer(Env& env, std::vector<NodeId> backends, bool route_by_readiness, Oracle* oracle)
      : env_(env), backends_(std::move(backends)), route_by_readiness_(route_by_readiness), oracle_(oracle) {
    for (const NodeId backend : backends_) states_[backend.value()] = BackendState{};
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    timer_ = env_.SetTimer(kProbeInterval, [this] { ProbeRound(); });
  }
  ~LoadBalancer() {
    env_.CancelTimer(timer_);
    env_.CancelTimer(verdict_timer_);
  }
  LoadBalancer(const LoadBalancer&) = delete;
  LoadBalancer& operator=(const LoadBalancer&) = delete;

 private:
  void ProbeRound() {
    ++round_;
    for (const NodeId backend : backends_) {
      states_[backend.value()].answered_healthy = {false, false};
      for (const uint8_t kind : {kLiveness, kReadiness}) env_.Send(backend, Message(kProbe, {round_, kind}));
    }
    verdict_timer_ = env_.SetTimer(kProbeTimeout, [this] { Verdicts(); });
    timer_ = env_.SetTimer(kProbeInterval, [this] { ProbeRound(); });
  }

  // The probe timeout passed: a probe not answered healthy in time failed.
  void Verdicts() {
    for (const NodeId backend : backends_) {
      BackendState& state = states_[backend.value()];
      state.liveness_failures = state.answered_healthy[kLiveness] ? 0 : state.liveness_failures + 1;
      state.readiness_failures = state.answered_healthy[kReadiness] ? 0 : state.readiness_failures + 1;
      if (!state.answered_healthy[kLiveness]) ++oracle_->liveness_failures;
      if (state.liveness_failures == kLivenessFailureThreshold) oracle_->restart_requests.push_back(backend);
      const bool was = state.in_rotation;
      if (route_by_readiness_) {
        if (state.readiness_failures >= kReadinessFailureThreshold) state.in_rotation = false;
        if (state.readiness_failures == 0) state.in_rotation = true;
      } else {
        // The same thresholds, applied to the only endpoint it knows.
        if (state.liveness_failures >= kReadinessFailureThreshold) state.in_rotation = false;
        if (state.liveness_failures == 0) state.in_rotation = true;
      }
      if (backend == backends_.back() && was != state.in_rotation) {
        (state.in_rotation ? oracle_->returned_at : oracle_->drained_at) = oracle_->simulator->now();
      }
    }
  }

  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (!frame.ok()) return;
    ByteReader reader(frame->payload);
    if (frame->type == kProbeAnswer) {
      uint64_t probe = 0;
      uint64_t kind = 0;
      uint64_t healthy = 0;
      const auto state = states_.find(source.value());
      if (!reader.GetU64(&probe) || !reader.GetU64(&kind) || !reader.GetU64(&healthy) || kind > kReadiness ||
          state == states_.end() || probe != round_) {
        return;  // malformed, or late: the verdict for that round is in
      }
      state->second.answered_healthy[kind] = healthy == 1;
      return;
    }
    if (frame->type != kRequest) return;
    uint64_t request = 0;
    if (!reader.GetU64(&request)) return;
    // Round robin over the replicas in rotation.
    for (size_t tried = 0; tried < backends_.size(); ++tried) {
      const NodeId backend = backends_[next_++ % backends_.size()];
      if (!states_[backend.value()].in_rotation) continue;
      oracle_->routed[request] = Routed{backend, oracle_->simulator->now()};
      env_.Send(backend, Message(kForwarded, {request, source.value()}));
      return;
    }
    env_.Send(source, Message(kResponse, {request, uint64_t{kNoBackend}}));
  }

  Env& env_;
  std::vector<NodeId> backends_;
  bool route_by_readiness_;
  Oracle* oracle_;
  std::map<uint32_t, BackendState> states_;
  uint64_t round_ = 0;
  size_t next_ = 0;
  TimerId timer_;
  TimerId verdict_timer_;
};

class RequestClient {
 public:
  RequestClient(Env& env, NodeId balancer, Oracle* oracle) : env_(env), balancer_(balancer), oracle_(oracle) {
    env_.SetReceiver([this](NodeId, std::span<const uint8_t> payload) {
      Result<Frame> frame = DecodeFrame(payload);
      if (!frame.ok() || frame->type != kResponse) return;
      ByteReader reader(frame->payload);
      uint64_t request = 0;
      uint64_t answer = 0;
      if (reader.GetU64(&request) && reader.GetU64(&answer)) oracle_->responses[request] = static_cast<uint8_t>(answer);
    });
    timer_ = env_.SetTimer(kRequestInterval, [this] { Send(); });
  }
  ~RequestClient() { env_.CancelTimer(timer_); }
  RequestClient(const RequestClient&) = delete;
  RequestClient& operator=(const RequestClient&) = delete;

 private:
  void Send() {
    if (oracle_->simulator->now() < kRunEnd - Seconds(1)) {
      env_.Send(balancer_, Message(kRequest, {++next_request_}));
      timer_ = env_.SetTimer(kRequestInterval, [this] { Send(); });
    }
  }

  Env& env_;
  NodeId balancer_;
  Oracle* oracle_;
  uint64_t next_request_ = 0;
  TimerId timer_;
};

class HealthChecks final : public Scenario {
 public:
  std::string_view name() const override { return "health-checks"; }
  std::string_view section() const override { return "Health Checks"; }
  std::string_view remedy() const override {
    return "route by readiness (in quorum), keep liveness for restarts only";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
    simulator.SetAllLinks(scenarios::UniformLink(Milliseconds(1), Milliseconds(3)));
    Oracle oracle;
    oracle.simulator = &simulator;
    std::vector<NodeId> replicas;
    for (int i = 1; i <= kReplicas; ++i) replicas.push_back(NodeId(static_cast<uint32_t>(i)));
    for (int i = 0; i < kReplicas; ++i) {
      std::vector<NodeId> peers;
      for (const NodeId other : replicas) {
        if (other != replicas[static_cast<size_t>(i)]) peers.push_back(other);
      }
      simulator.AddProcess("n" + std::to_string(i + 1), [peers](Env& env) {
        return sim::Hold(std::make_unique<ReplicaNode>(env, peers));
      });
    }
    const NodeId balancer = simulator.AddProcess("balancer", [&oracle, replicas, with_remedy](Env& env) {
      return sim::Hold(std::make_unique<LoadBalancer>(env, replicas, with_remedy, &oracle));
    });
    simulator.AddProcess("client", [&oracle, balancer](Env& env) {
      return sim::Hold(std::make_unique<RequestClient>(env, balancer, &oracle));
    });

    const NodeId isolated = replicas.back();
    const std::vector<sim::Link> cuts = {{isolated, replicas[0]}, {replicas[0], isolated},
                                         {isolated, replicas[1]}, {replicas[1], isolated}};
    int64_t restarts = 0;
    size_t handled_restarts = 0;
    // Acts on restart requests (the orchestrator), in 50 ms steps.
    auto run_until = [&](Instant deadline) {
      for (Instant at = simulator.now(); at < deadline;) {
        at = std::min(at + Milliseconds(50), deadline);
        scenarios::RunTo(simulator, at);
        for (; handled_restarts < oracle.restart_requests.size(); ++handled_restarts) {
          const NodeId node = oracle.restart_requests[handled_restarts];
          ++restarts;
          simulator.Crash(node);
          simulator.Restart(node);
        }
      }
    };
    run_until(kCutAt);
    simulator.AddCuts(cuts);
    run_until(kHealAt);
    simulator.RemoveCuts(cuts);
    run_until(kRunEnd);

    int64_t served = 0;
    int64_t not_in_quorum = 0;
    int64_t no_backend = 0;
    int64_t misrouted_late = 0;
    Instant last_misrouted;
    uint64_t last_misrouted_request = 0;
    for (const auto& [request, answer] : oracle.responses) {
      if (answer == kServed) ++served;
      if (answer == kNoBackend) ++no_backend;
      if (answer != kNotInQuorum) continue;
      ++not_in_quorum;
      const Routed& routed = oracle.routed.at(request);
      if (routed.at >= kCutAt + kDetectionBound) {
        ++misrouted_late;
        last_misrouted = routed.at;
        last_misrouted_request = request;
      }
    }
    const int64_t requests = static_cast<int64_t>(oracle.routed.size()) + no_backend;

    RunOutcome outcome;
    outcome.Add("requests", static_cast<double>(requests));
    outcome.Add("requests_served", static_cast<double>(served));
    outcome.Add("requests_to_node_out_of_quorum", static_cast<double>(not_in_quorum));
    outcome.Add("requests_misrouted_after_detection_bound", static_cast<double>(misrouted_late));
    outcome.Add("liveness_probe_failures", static_cast<double>(oracle.liveness_failures));
    outcome.Add("restarts", static_cast<double>(restarts));
    outcome.Add("drained_after_ms", oracle.drained_at == Instant::Max() ? -1.0
                                                                         : ToMillisecondsDouble(oracle.drained_at - kCutAt));
    outcome.Add("returned_after_heal_ms", oracle.returned_at == Instant::Max()
                                              ? -1.0
                                              : ToMillisecondsDouble(oracle.returned_at - kHealAt));
    std::string problems;
    if (misrouted_late > 0) {
      problems = std::to_string(misrouted_late) + " requests routed to n" + std::to_string(isolated.value()) +
                 " while it was out of quorum, more than " + FormatDuration(kDetectionBound) +
                 " after the partition began at " + scenarios::FormatTrueTime(kCutAt) + " (the last, request " +
                 std::to_string(last_misrouted_request) + ", at " + scenarios::FormatTrueTime(last_misrouted) +
                 "): its liveness probe kept passing";
    }
    if (restarts > 0) {
      problems += (problems.empty() ? "" : "; ") + std::to_string(restarts) + " restarts of a live process";
    }
    outcome.violated = !problems.empty();
    outcome.violation = problems;
    const std::string routing = with_remedy ? "routing by readiness" : "routing by liveness";
    outcome.summary = routing + ": " + std::to_string(not_in_quorum) + " of " + std::to_string(requests) +
                      " requests hit n" + std::to_string(isolated.value()) + " out of quorum (" +
                      std::to_string(misrouted_late) + " after the " + FormatDuration(kDetectionBound) +
                      " bound), " +
                      (oracle.drained_at == Instant::Max()
                           ? std::string("never drained")
                           : "drained after " + FormatDuration(oracle.drained_at - kCutAt)) +
                      ", " + std::to_string(restarts) + " restarts";
    return outcome;
  }
};

}  // namespace

const Scenario& HealthChecksScenario() {
  static const HealthChecks scenario;
  return scenario;
}

}  // namespace murphy
