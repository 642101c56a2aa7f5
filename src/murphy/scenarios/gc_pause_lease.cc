// gc-pause-lease — "The Lease Problem" and "Fencing Tokens", the chapter's timeline.
//
// The story, with real processes in the simulator: a lock-service node (node 1) serves
// the client protocol with service::LocalLockService — the lock machine, leases expired
// on the node's monotonic clock, and the fenced store that stands for the chapter's
// "storage server" (the node fronts the resource `file`). Two clients, A (node 2) and
// B (node 3), run the real client::LockClient. Before the story starts, a third client
// ("earlier holders", node 4) acquires and releases the lock 32 times in quick
// succession, so that the lock's counter stands at 32 and A's grant carries the
// chapter's token 33; the story starts at true time T0 = 1 s and every time below is
// relative to T0.
//   0 s    A takes the lock under a 10 s lease: token 33. It writes (accepted).
//   ~5 s   A stops the world (sim Pause: a GC pause; A's code does not run) for 7 s.
//          Its renewal (keepalive every ttl/2) was due at 5 s and its next write at
//          4.99 s: both wait for the pause to end.
//   10 s   The lease expires on the node's clock; the lock is free.
//   11 s   B acquires the lock: token 34, and writes (accepted).
//   ~12 s  A wakes and writes at once with token 33. A's code had checked its lease
//          before the pause (the chapter's `if (lease.isValid())`); the write that
//          follows the check runs after the pause without looking again — it uses
//          WriteWithToken, the call that does not consult safe-until, because the
//          point of the story is that the paused process does not know it was paused.
//   ~12.5 s B writes again.
// Without the remedy the store does not check tokens (FencedStoreOptions::
// skip_token_check_for_test): A's write with 33 is accepted after B's with 34 — the
// file is corrupted. With it, the store checks them: A's write is rejected (ABORTED,
// max token 34) and B's writes are accepted.
//
// The seed varies what honestly varies: network delays (uniform 1..5 ms), where in
// [4.8 s, 4.95 s] the pause starts (so A wakes in [11.8 s, 11.95 s]) and when B writes
// (100..500 ms after its grant, and again 300..700 ms after A woke). The order of the
// story is kept: the pause starts before A's renewal is due, B's first write reaches
// the store before A wakes.
//
// The oracle: check/fencing.h's FencingChecker, fed by the node with every grant of
// the lock and every write that reached the resource, in true time: two holders'
// writes interleaved on the resource (an accepted write with a token older than one
// already written) is the violation.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/check/fencing.h"
#include "murphy/client/lock_client.h"
#include "murphy/core/rng.h"
#include "murphy/env/env.h"
#include "murphy/protocol/client_message.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/scenarios/trace_capture.h"
#include "murphy/service/lock_service.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr char kLock[] = "file-lock";
constexpr char kResource[] = "file";
constexpr int kEarlierGrants = 32;
constexpr Instant kStoryStart = Instant() + Seconds(1);
constexpr Duration kLeaseTtl = Seconds(10);
constexpr Duration kPauseLength = Seconds(7);
constexpr Duration kBAcquiresAt = Seconds(11);
constexpr Duration kANextWriteAt = Milliseconds(4990);
constexpr Duration kRunLength = Seconds(14);

// What the node sees, in true time, for the oracle and the figures.
struct Oracle {
  const sim::Simulator* simulator = nullptr;
  FencingChecker checker{kResource};
  NodeId client_a;
  NodeId client_b;
  int writes_accepted_a = 0;
  int writes_rejected_a = 0;
  int writes_accepted_b = 0;
  int writes_rejected_b = 0;
  std::optional<Instant> lease_a_expired_at;
};

// The lock-service node: answers requests at once, expires leases when the lease
// timers say so (a timer armed for the next wakeup), fronts the fenced resource.
class LockNode {
 public:
  LockNode(Env& env, const service::LocalLockServiceOptions& options, Oracle* oracle)
      : env_(env), service_(options, env.MonotonicNow()), oracle_(oracle) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
  }
  ~LockNode() {
    if (timer_armed_) env_.CancelTimer(timer_);
  }
  LockNode(const LockNode&) = delete;
  LockNode& operator=(const LockNode&) = delete;

 private:
  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    protocol::ClientMessage message;
    if (!protocol::DecodeClientMessage(payload, &message).ok()) return;
    const auto* request = std::get_if<protocol::Request>(&message);
    if (request == nullptr) return;
    service::LocalLockService::Output output = service_.Handle(source, *request, env_.MonotonicNow());
    Observe(source, *request, output.response);
    Deliver(output.pushes);
    env_.Send(source, protocol::EncodeResponseFrame(output.response));
    Rearm();
  }

  // Feeds the oracle and the trace with grants and writes.
  void Observe(NodeId source, const protocol::Request& request, const protocol::Response& response) {
    const Instant now = oracle_->simulator->now();
    if (const auto* acquire = std::get_if<protocol::AcquireRequest>(&request.body)) {
      const auto* body = std::get_if<protocol::AcquireBody>(&response.body);
      if (response.code == StatusCode::kOk && body != nullptr &&
          body->state == protocol::AcquireState::kGranted && acquire->lock == kLock) {
        oracle_->checker.RecordGrant(now, source, body->token);
      }
      return;
    }
    const auto* write = std::get_if<protocol::WriteRequest>(&request.body);
    if (write == nullptr || write->resource != kResource) return;
    const bool accepted = response.code == StatusCode::kOk;
    oracle_->checker.RecordWrite(now, source, write->token, accepted);
    if (source == oracle_->client_a) ++(accepted ? oracle_->writes_accepted_a : oracle_->writes_rejected_a);
    if (source == oracle_->client_b) ++(accepted ? oracle_->writes_accepted_b : oracle_->writes_rejected_b);
    const auto* body = std::get_if<protocol::WriteBody>(&response.body);
    const uint64_t max_token = body != nullptr ? body->max_token.value() : 0;
    env_.Trace(accepted ? "write_accepted" : "write_rejected",
               {{"token", write->token.value()},
                {"writer", static_cast<uint64_t>(source.value())},
                {"max_token", max_token},
                {"value", std::string_view(write->value)}});
  }

  void Deliver(const std::vector<service::Delivery>& pushes) {
    for (const service::Delivery& delivery : pushes) {
      const protocol::Push& push = delivery.push;
      if (push.kind == protocol::PushKind::kGranted && push.lock == kLock) {
        oracle_->checker.RecordGrant(oracle_->simulator->now(), delivery.client, push.token);
      }
      if (push.kind == protocol::PushKind::kLost && push.reason == protocol::EndReason::kLeaseExpired) {
        env_.Trace("lease_expired", {{"holder", static_cast<uint64_t>(delivery.client.value())},
                                     {"lock", std::string_view(push.lock)},
                                     {"token", push.token.value()}});
        if (delivery.client == oracle_->client_a && !oracle_->lease_a_expired_at) {
          oracle_->lease_a_expired_at = oracle_->simulator->now();
        }
      }
      env_.Send(delivery.client, protocol::EncodePushFrame(push));
    }
  }

  // One timer, at the lease timers' next wakeup.
  void Rearm() {
    if (timer_armed_) env_.CancelTimer(timer_);
    timer_armed_ = false;
    const std::optional<Instant> next = service_.NextWakeup();
    if (!next) return;
    timer_armed_ = true;
    timer_ = env_.SetTimer(*next - env_.MonotonicNow(), [this] {
      timer_armed_ = false;
      Deliver(service_.Tick(env_.MonotonicNow()));
      Rearm();
    });
  }

  Env& env_;
  service::LocalLockService service_;
  Oracle* oracle_;
  TimerId timer_;
  bool timer_armed_ = false;
};

client::LockClientOptions ClientOptions(NodeId node) {
  client::LockClientOptions options;
  options.channel.nodes = {node};
  // A renewal every ttl / 2: A's falls due at 5 s, inside the pause.
  options.keepalive_divisor = 2;
  return options;
}

// Acquires and releases the lock kEarlierGrants times, one after the other, so the
// story's first grant carries token 33.
class EarlierHolders {
 public:
  EarlierHolders(Env& env, NodeId node) : client_(env, ClientOptions(node)) { Next(); }
  EarlierHolders(const EarlierHolders&) = delete;
  EarlierHolders& operator=(const EarlierHolders&) = delete;
  int grants() const { return grants_; }

 private:
  void Next() {
    if (grants_ == kEarlierGrants) return;
    client_.Acquire(kLock, Seconds(1), protocol::AcquireMode::kWait,
                    [this](Result<std::unique_ptr<client::LockHandle>> handle) {
                      MURPHY_ASSERT_MSG(handle.ok(), "an earlier holder's acquire failed");
                      ++grants_;
                      (*handle)->Release();
                      Next();
                    });
  }

  client::LockClient client_;
  int grants_ = 0;
};

// What a story client did, for the figures and the summary.
struct ClientRecord {
  FencingToken token;
  std::vector<client::WriteReply> replies;
};

// Client A: takes the lock at T0, writes, and writes again "at 4.99 s" — a write that
// the GC pause delays until A wakes, and that does not look at the lease again.
class ClientA {
 public:
  ClientA(Env& env, NodeId node, Duration first_write_after, ClientRecord* record)
      : env_(env), client_(env, ClientOptions(node)), first_write_after_(first_write_after), record_(record) {
    // Built at true time zero; every delay below is on A's own monotonic clock.
    env_.SetTimer(kStoryStart - Instant(), [this] { Start(); });
  }
  ClientA(const ClientA&) = delete;
  ClientA& operator=(const ClientA&) = delete;

 private:
  void Start() {
    client_.Acquire(kLock, kLeaseTtl, protocol::AcquireMode::kTry,
                    [this](Result<std::unique_ptr<client::LockHandle>> handle) {
                      MURPHY_ASSERT_MSG(handle.ok(), "client A could not take the free lock");
                      handle_ = std::move(handle).value();
                      record_->token = handle_->token();
                      env_.Trace("lease_acquired", {{"token", handle_->token().value()},
                                                    {"ttl_ns", kLeaseTtl.nanoseconds()},
                                                    {"lock", std::string_view(kLock)}});
                      env_.SetTimer(first_write_after_, [this] {
                        client_.Write(
                            *handle_, kResource, "A: first write",
                            [this](client::WriteReply reply) { record_->replies.push_back(reply); });
                      });
                    });
    // On A's monotonic clock, from the start of the story: the pause delays it.
    env_.SetTimer(kANextWriteAt, [this] { WriteAfterCheck(); });
  }

  // The chapter's `process(request)` after `if (lease.isValid())`: A believes it still
  // holds the lock and writes with the token it was given.
  void WriteAfterCheck() {
    env_.Trace("write_sent", {{"token", record_->token.value()}, {"believes_holder", true}});
    client_.WriteWithToken(kResource, kLock, record_->token, "A: write after the pause",
                           [this](client::WriteReply reply) { record_->replies.push_back(reply); });
  }

  Env& env_;
  client::LockClient client_;
  Duration first_write_after_;
  ClientRecord* record_;
  std::unique_ptr<client::LockHandle> handle_;
};

// Client B: acquires at 11 s (waiting, should the lock still be held), writes twice.
class ClientB {
 public:
  ClientB(Env& env, NodeId node, Duration first_write_after, Instant second_write_at, ClientRecord* record)
      : env_(env),
        client_(env, ClientOptions(node)),
        first_write_after_(first_write_after),
        second_write_at_(second_write_at),
        record_(record) {
    // Built at true time zero.
    env_.SetTimer(kStoryStart + kBAcquiresAt - Instant(), [this] { Start(); });
    env_.SetTimer(second_write_at_ - Instant(), [this] { Write("B: second write"); });
  }
  ClientB(const ClientB&) = delete;
  ClientB& operator=(const ClientB&) = delete;

 private:
  void Start() {
    client_.Acquire(kLock, kLeaseTtl, protocol::AcquireMode::kWait,
                    [this](Result<std::unique_ptr<client::LockHandle>> handle) {
                      MURPHY_ASSERT_MSG(handle.ok(), "client B could not take the lock");
                      handle_ = std::move(handle).value();
                      record_->token = handle_->token();
                      env_.Trace("lease_acquired", {{"token", handle_->token().value()},
                                                    {"ttl_ns", kLeaseTtl.nanoseconds()},
                                                    {"lock", std::string_view(kLock)}});
                      env_.SetTimer(first_write_after_, [this] { Write("B: first write"); });
                    });
  }

  void Write(std::string value) {
    MURPHY_ASSERT_MSG(handle_ != nullptr, "client B writes before it holds the lock");
    client_.Write(*handle_, kResource, std::move(value),
                  [this](client::WriteReply reply) { record_->replies.push_back(reply); });
  }

  Env& env_;
  client::LockClient client_;
  Duration first_write_after_;
  Instant second_write_at_;
  ClientRecord* record_;
  std::unique_ptr<client::LockHandle> handle_;
};

std::string Seconds1(Duration duration) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f s", ToMillisecondsDouble(duration) / 1000);
  return buffer;
}

class GcPauseLease final : public Scenario {
 public:
  std::string_view name() const override { return "gc-pause-lease"; }
  std::string_view section() const override { return "The Lease Problem; Fencing Tokens"; }
  std::string_view remedy() const override {
    return "the storage checks fencing tokens (rejects a token older than one seen)";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const override {
    Rng story(seed * 0x9E3779B97F4A7C15ULL + 0x6A09E667ULL);
    const Duration pause_start = story.UniformDuration(Milliseconds(4800), Milliseconds(4950));
    const Duration a_first_write = story.UniformDuration(Milliseconds(500), Milliseconds(1500));
    const Duration b_first_write = story.UniformDuration(Milliseconds(100), Milliseconds(500));
    const Instant b_second_write = kStoryStart + pause_start + kPauseLength +
                                   story.UniformDuration(Milliseconds(300), Milliseconds(700));

    scenarios::TraceCapture capture(
        options, with_remedy ? "the store checks fencing tokens" : "the store ignores tokens",
        sim::SimOptions().wall_origin);
    sim::Simulator simulator(scenarios::SimOptionsFor(seed, capture));
    simulator.SetAllLinks(scenarios::UniformLink(Milliseconds(1), Milliseconds(5)));
    Oracle oracle;
    oracle.simulator = &simulator;
    service::LocalLockServiceOptions service_options;
    service_options.store.skip_token_check_for_test = !with_remedy;
    ClientRecord record_a;
    ClientRecord record_b;

    const NodeId node = simulator.AddProcess("lock service + storage", [&](Env& env) {
      return sim::Hold(std::make_unique<LockNode>(env, service_options, &oracle));
    });
    oracle.client_a = simulator.AddProcess("client A", [&](Env& env) {
      return sim::Hold(std::make_unique<ClientA>(env, node, a_first_write, &record_a));
    });
    oracle.client_b = simulator.AddProcess("client B", [&](Env& env) {
      return sim::Hold(std::make_unique<ClientB>(env, node, b_first_write, b_second_write, &record_b));
    });
    const NodeId earlier = simulator.AddProcess(
        "earlier holders", [&](Env& env) { return sim::Hold(std::make_unique<EarlierHolders>(env, node)); });

    scenarios::RunTo(simulator, kStoryStart);
    const EarlierHolders* holders = simulator.ProcessAs<EarlierHolders>(earlier);
    MURPHY_ASSERT_MSG(holders != nullptr && holders->grants() == kEarlierGrants,
                      "the earlier holders did not finish before the story");
    scenarios::RunTo(simulator, kStoryStart + pause_start);
    simulator.Pause(oracle.client_a, kPauseLength);
    scenarios::RunTo(simulator, kStoryStart + kRunLength);

    MURPHY_ASSERT_MSG(record_a.token.value() == kEarlierGrants + 1, "client A's token is not 33");
    const std::vector<FencingViolation> violations = oracle.checker.Check();
    RunOutcome outcome;
    outcome.violated = !violations.empty();
    for (const FencingViolation& violation : violations) {
      outcome.violation += (outcome.violation.empty() ? "" : "; ") + violation.description;
    }
    if (outcome.violated)
      outcome.violation +=
          " (node 2 is client A, node 3 client B; true times: the story starts at +1s with A's grant)";

    // A's write after the pause: the last reply A got.
    std::string a_late = "A's write after the pause: no answer";
    if (record_a.replies.size() >= 2) {
      const client::WriteReply& reply = record_a.replies.back();
      a_late = reply.status.ok()
                   ? "A's write with token " + std::to_string(record_a.token.value()) +
                         " after the pause ACCEPTED after B's with " + std::to_string(record_b.token.value())
                   : "A's write with token " + std::to_string(record_a.token.value()) +
                         " after the pause rejected (" + std::string(StatusCodeName(reply.status.code())) +
                         ", max token " + std::to_string(reply.max_token.value()) + ")";
    }
    outcome.summary =
        std::string(with_remedy ? "store checks tokens: " : "store ignores tokens: ") + "A paused at " +
        Seconds1(pause_start) + " for 7 s, lease expired at " +
        (oracle.lease_a_expired_at ? Seconds1(*oracle.lease_a_expired_at - kStoryStart) : "never") +
        ", B got token " + std::to_string(record_b.token.value()) + "; " + a_late + "; " +
        std::to_string(violations.size()) + " interleaved writes";

    outcome.Add("token_a", static_cast<double>(record_a.token.value()));
    outcome.Add("token_b", static_cast<double>(record_b.token.value()));
    outcome.Add("writes_accepted_a", oracle.writes_accepted_a);
    outcome.Add("writes_rejected_a", oracle.writes_rejected_a);
    outcome.Add("writes_accepted_b", oracle.writes_accepted_b);
    outcome.Add("writes_rejected_b", oracle.writes_rejected_b);
    outcome.Add("interleaved_writes", static_cast<double>(violations.size()));
    outcome.Add("pause_start_ms", ToMillisecondsDouble(pause_start));
    outcome.Add("lease_expired_at_ms", oracle.lease_a_expired_at
                                           ? ToMillisecondsDouble(*oracle.lease_a_expired_at - kStoryStart)
                                           : -1.0);
    capture.NameLanes(simulator);
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& GcPauseLeaseScenario() {
  static const GcPauseLease scenario;
  return scenario;
}

}  // namespace murphy
