// request-fate — "Unreliable Networks": the six fates of a request.
//
// The story: a client sends a non-idempotent request ("increment the counter") to a
// server and gets no answer. From the client's side the six fates of the chapter look
// the same — silence — so it times out and sends the request again. We drive each
// fate explicitly with the simulator's faults, one logical request per fate:
//   1. lost request        the client->server link is cut while the request leaves
//   2. request queued      the client->server link is clogged (held) until the retry
//                          has left, then both copies are delivered
//   3. crash before reply  the server applies the increment and crashes before its
//                          reply leaves; it restarts from its durable log
//   4. server busy         the server is paused (a GC pause) while requests arrive
//   5. lost reply          the server->client link is cut while the reply leaves
//   6. delayed reply       the server->client link is clogged until the retry has
//                          left
// Without the remedy the client re-sends the same increment after every timeout
// (plain retry): every fate but the first applies it twice or more. With the remedy
// every attempt of a logical request carries one idempotency key (RetryState hands
// out the same key, with capped exponential backoff and full jitter between
// attempts), and the server remembers applied keys with their results
// (IdempotencyStore) — durably, in the same log record as the increment, so that a
// crash cannot make it forget a key whose effect survived: retries are answered from
// memory and every fate ends in exactly one increment.
//
// The checker counts effects per logical request from ground truth (the oracle sees
// every durable increment with the request it belongs to; the wire's request id is
// only a trace id, never used by the naive server): each logical request must take
// effect exactly once, and its client must get an answer.
#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/rng.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/resilience/idempotency_key.h"
#include "murphy/resilience/idempotency_store.h"
#include "murphy/resilience/retry_policy.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

using scenarios::RunTo;
using scenarios::RunUntilHolds;

constexpr uint8_t kIncrementRequest = 1;
constexpr uint8_t kIncrementReply = 2;
constexpr uint8_t kLogRecord = 3;
constexpr std::string_view kLogFile = "increments";
// The part of the handler after the increment is durable (serialise and send the
// reply): the window in which fate 3's crash hits.
constexpr Duration kReplyLatency = Milliseconds(2);
constexpr Duration kAttemptTimeout = Milliseconds(300);
constexpr int kNaiveMaxAttempts = 10;
constexpr Duration kThinkTime = Milliseconds(500);  // between two logical requests

enum class Fate : uint8_t {
  kLostRequest,
  kRequestQueued,
  kCrashBeforeReply,
  kServerBusy,
  kLostReply,
  kDelayedReply,
};
constexpr std::array<Fate, 6> kFates = {Fate::kLostRequest, Fate::kRequestQueued, Fate::kCrashBeforeReply,
                                        Fate::kServerBusy,  Fate::kLostReply,     Fate::kDelayedReply};

std::string_view FateName(Fate fate) {
  switch (fate) {
    case Fate::kLostRequest:
      return "lost_request";
    case Fate::kRequestQueued:
      return "request_queued";
    case Fate::kCrashBeforeReply:
      return "crash_before_reply";
    case Fate::kServerBusy:
      return "server_busy";
    case Fate::kLostReply:
      return "lost_reply";
    case Fate::kDelayedReply:
      return "delayed_reply";
  }
  MURPHY_UNREACHABLE();
}

// The world outside the processes: what really happened. A crash cannot undo it.
struct Oracle {
  const sim::Simulator* simulator = nullptr;  // for true time
  std::map<uint64_t, int> effects;        // request id -> increments applied
  std::map<uint64_t, std::string> effect_times;  // request id -> "+1.2s, +1.5s"
  std::map<uint64_t, int> attempts;       // request id -> attempts sent
  std::map<uint64_t, int> replies_sent;   // request id -> replies the server sent
  std::map<uint64_t, bool> completed;     // request id -> the client got an answer
  std::map<uint64_t, bool> finished;      // request id -> answered, or the client gave up
  int64_t rejected_frames = 0;
};

// Request: request id (a trace id), attempt number, and the idempotency key if any.
struct Request {
  uint64_t id = 0;
  uint32_t attempt = 0;
  std::optional<IdempotencyKey> key;
};

Bytes EncodeRequest(const Request& request) {
  ByteWriter writer;
  writer.PutU64(request.id);
  writer.PutU32(request.attempt);
  writer.PutBool(request.key.has_value());
  writer.PutU64(request.key ? request.key->high() : 0);
  writer.PutU64(request.key ? request.key->low() : 0);
  return EncodeFrame(kIncrementRequest, writer.bytes());
}

std::optional<Request> DecodeRequest(std::span<const uint8_t> datagram) {
  Result<Frame> frame = DecodeFrame(datagram);
  if (!frame.ok() || frame->type != kIncrementRequest) return std::nullopt;
  ByteReader reader(frame->payload);
  Request request;
  bool keyed = false;
  uint64_t high = 0;
  uint64_t low = 0;
  if (!reader.GetU64(&request.id) || !reader.GetU32(&request.attempt) || !reader.GetBool(&keyed) ||
      !reader.GetU64(&high) || !reader.GetU64(&low) || !reader.at_end()) {
    return std::nullopt;
  }
  if (keyed) request.key = IdempotencyKey(high, low);
  return request;
}

// Reply: request id and the counter's value after the increment.
Bytes EncodeReply(uint64_t id, int64_t counter) {
  ByteWriter writer;
  writer.PutU64(id);
  writer.PutI64(counter);
  return EncodeFrame(kIncrementReply, writer.bytes());
}

// The server: a counter whose increments are durable (an fsynced log record each)
// before they are acknowledged. With `deduplicate`, applied keys and their results
// are kept in an IdempotencyStore and logged in the same record as the increment.
class CounterServer {
 public:
  CounterServer(Env& env, Oracle* oracle, bool deduplicate)
      : env_(env), oracle_(oracle), deduplicate_(deduplicate), applied_(StoreOptions()) {
    Recover();
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnRequest(source, payload); });
  }
  ~CounterServer() {
    for (const auto& [number, timer] : reply_timers_) env_.CancelTimer(timer);
  }
  CounterServer(const CounterServer&) = delete;
  CounterServer& operator=(const CounterServer&) = delete;

 private:
  static IdempotencyStoreOptions StoreOptions() {
    IdempotencyStoreOptions options;
    options.max_entries = 1024;
    options.ttl = Hours(1);
    return options;
  }
  static RequestFingerprint Fingerprint() { return FingerprintBuilder().Add("increment").Add(uint64_t{1}).Finish(); }

  // Rebuilds the counter (and the applied keys) from the durable log.
  void Recover() {
    Result<Bytes> content = env_.disk().Read(kLogFile);
    if (!content.ok()) {
      MURPHY_ASSERT(content.status().code() == StatusCode::kNotFound);
      return;
    }
    log_exists_ = true;
    FrameDecoder decoder;
    decoder.Feed(*content);
    for (;;) {
      Result<std::optional<Frame>> next = decoder.Next();
      MURPHY_ASSERT_MSG(next.ok(), "the increment log is fsynced record by record and never torn here");
      if (!next->has_value()) break;
      ByteReader reader((*next)->payload);
      bool keyed = false;
      uint64_t high = 0;
      uint64_t low = 0;
      int64_t counter = 0;
      MURPHY_ASSERT(reader.GetBool(&keyed) && reader.GetU64(&high) && reader.GetU64(&low) && reader.GetI64(&counter));
      counter_ = counter;
      if (keyed && deduplicate_) {
        const IdempotencyKey key(high, low);
        Result<IdempotencyStore<int64_t>::Admission> admission =
            applied_.Begin(key, Fingerprint(), env_.MonotonicNow());
        MURPHY_ASSERT(admission.ok() && admission->execute);
        applied_.Complete(key, counter, env_.MonotonicNow());
      }
    }
    MURPHY_ASSERT(decoder.buffered() == 0);
  }

  void OnRequest(NodeId source, std::span<const uint8_t> payload) {
    const std::optional<Request> request = DecodeRequest(payload);
    if (!request) {
      ++oracle_->rejected_frames;
      return;
    }
    if (deduplicate_ && request->key) {
      Result<IdempotencyStore<int64_t>::Admission> admission =
          applied_.Begin(*request->key, Fingerprint(), env_.MonotonicNow());
      // The handler completes within this call, so no duplicate can find the key in
      // flight; a key reused with other parameters cannot happen with this client.
      MURPHY_ASSERT(admission.ok());
      if (!admission->execute) {
        Reply(source, request->id, *admission->stored);
        return;
      }
      Apply(*request);
      applied_.Complete(*request->key, counter_, env_.MonotonicNow());
    } else {
      Apply(*request);
    }
    Reply(source, request->id, counter_);
  }

  // counter += 1, durably: one fsynced log record (with the key, if any).
  void Apply(const Request& request) {
    ++counter_;
    ByteWriter record;
    record.PutBool(request.key.has_value() && deduplicate_);
    record.PutU64(request.key ? request.key->high() : 0);
    record.PutU64(request.key ? request.key->low() : 0);
    record.PutI64(counter_);
    MURPHY_ASSERT(env_.disk().Append(kLogFile, EncodeFrame(kLogRecord, record.bytes())).ok());
    MURPHY_ASSERT(env_.disk().Sync(kLogFile).ok());
    if (!log_exists_) {
      MURPHY_ASSERT(env_.disk().SyncDirectory().ok());
      log_exists_ = true;
    }
    ++oracle_->effects[request.id];
    std::string& times = oracle_->effect_times[request.id];
    times += (times.empty() ? "" : ", ") + scenarios::FormatTrueTime(oracle_->simulator->now());
    env_.Trace("increment_applied", {{"request", request.id}, {"attempt", uint64_t{request.attempt}},
                                     {"counter", counter_}});
  }

  void Reply(NodeId client, uint64_t id, int64_t counter) {
    const uint64_t number = next_reply_++;
    reply_timers_[number] = env_.SetTimer(kReplyLatency, [this, number, client, id, counter] {
      reply_timers_.erase(number);
      ++oracle_->replies_sent[id];
      env_.Send(client, EncodeReply(id, counter));
    });
  }

  Env& env_;
  Oracle* oracle_;
  bool deduplicate_;
  bool log_exists_ = false;
  int64_t counter_ = 0;
  IdempotencyStore<int64_t> applied_;
  uint64_t next_reply_ = 0;
  std::map<uint64_t, TimerId> reply_timers_;  // replies not yet sent
};

// The client: logical requests 1..kFates.size(), one at a time, kThinkTime apart.
// Naive: re-sends the same increment every kAttemptTimeout (plain retry). Keyed: a
// RetryState per logical request (same key on every attempt, backoff between them).
class CounterClient {
 public:
  CounterClient(Env& env, Oracle* oracle, NodeId server, bool keyed)
      : env_(env), oracle_(oracle), server_(server), keyed_(keyed) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnReply(source, payload); });
    timer_ = env_.SetTimer(kThinkTime, [this] { Issue(); });
  }
  ~CounterClient() { env_.CancelTimer(timer_); }
  CounterClient(const CounterClient&) = delete;
  CounterClient& operator=(const CounterClient&) = delete;

 private:
  static RetryOptions Options() {
    RetryOptions options;
    options.backoff.base = Milliseconds(100);
    options.backoff.multiplier = 2.0;
    options.backoff.cap = Seconds(1);
    options.backoff.jitter = Jitter::kFull;
    options.backoff.max_retries = 10;
    options.attempt_timeout = kAttemptTimeout;
    return options;
  }

  void Issue() {
    if (next_ > kFates.size()) return;
    current_ = next_++;
    attempt_ = 0;
    if (keyed_) {
      RetryRequest request;
      request.idempotence = Idempotence::kNonIdempotent;
      request.key = IdempotencyKey::FromClientSequence(env_.self().value(), current_);
      retry_.emplace(Options(), request);
    }
    SendAttempt();
  }

  void SendAttempt() {
    Request request;
    request.id = current_;
    request.attempt = static_cast<uint32_t>(++attempt_);
    if (keyed_) request.key = retry_->BeginAttempt(env_.MonotonicNow()).key;
    ++oracle_->attempts[current_];
    attempt_in_flight_ = true;
    env_.Send(server_, EncodeRequest(request));
    timer_ = env_.SetTimer(kAttemptTimeout, [this] { OnTimeout(); });
  }

  // No answer: the outcome is unknown.
  void OnTimeout() {
    attempt_in_flight_ = false;
    if (!keyed_) {
      if (attempt_ < kNaiveMaxAttempts) {
        SendAttempt();
      } else {
        Finish();
      }
      return;
    }
    const RetryDecision decision =
        retry_->OnResult(DeadlineExceededError("no reply within the attempt timeout"), env_.MonotonicNow(), env_.rng());
    if (decision.done()) {
      Finish();
      return;
    }
    timer_ = env_.SetTimer(decision.delay(), [this] { SendAttempt(); });
  }

  void OnReply(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    ByteReader reader(frame.ok() ? std::span<const uint8_t>(frame->payload) : std::span<const uint8_t>());
    uint64_t id = 0;
    int64_t counter = 0;
    if (source != server_ || !frame.ok() || frame->type != kIncrementReply || !reader.GetU64(&id) ||
        !reader.GetI64(&counter)) {
      ++oracle_->rejected_frames;
      return;
    }
    if (id != current_ || current_ == 0) return;  // a late reply to an earlier request
    oracle_->completed[current_] = true;
    // A reply to an earlier attempt may arrive while we wait out a backoff: the
    // answer is the answer (same key), and the wait is cancelled below.
    if (keyed_ && attempt_in_flight_) {
      const RetryDecision decision = retry_->OnResult(Status::Ok(), env_.MonotonicNow(), env_.rng());
      MURPHY_ASSERT(decision.done());
    }
    env_.CancelTimer(timer_);
    Finish();
  }

  void Finish() {
    oracle_->finished[current_] = true;
    current_ = 0;
    attempt_in_flight_ = false;
    retry_.reset();
    timer_ = env_.SetTimer(kThinkTime, [this] { Issue(); });
  }

  Env& env_;
  Oracle* oracle_;
  NodeId server_;
  bool keyed_;
  uint64_t next_ = 1;
  uint64_t current_ = 0;  // 0: none in flight
  int attempt_ = 0;
  bool attempt_in_flight_ = false;
  std::optional<RetryState> retry_;
  TimerId timer_;
};

class RequestFate final : public Scenario {
 public:
  std::string_view name() const override { return "request-fate"; }
  std::string_view section() const override { return "Unreliable Networks: the six fates of a request"; }
  std::string_view remedy() const override { return "idempotency key + server-side dedup + retry with backoff"; }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
    simulator.SetAllLinks(scenarios::UniformLink(Milliseconds(1), Milliseconds(10)));
    Oracle oracle;
    oracle.simulator = &simulator;
    const NodeId server = simulator.AddProcess("server", [&oracle, with_remedy](Env& env) {
      return sim::Hold(std::make_unique<CounterServer>(env, &oracle, with_remedy));
    });
    const NodeId client = simulator.AddProcess("client", [&oracle, server, with_remedy](Env& env) {
      return sim::Hold(std::make_unique<CounterClient>(env, &oracle, server, with_remedy));
    });
    Rng& nemesis = simulator.rng();

    std::vector<int> unanswered;
    for (size_t index = 0; index < kFates.size(); ++index) {
      const uint64_t id = index + 1;
      const Instant limit = simulator.now() + Seconds(30);
      auto attempts_at_least = [&oracle, id](int count) { return [&oracle, id, count] { return oracle.attempts[id] >= count; }; };
      switch (kFates[index]) {
        case Fate::kLostRequest:
          simulator.AddCuts({{client, server}});
          RunUntilHolds(simulator, attempts_at_least(1), limit);
          simulator.RemoveCuts({{client, server}});
          break;
        case Fate::kRequestQueued:
          simulator.Clog(client, server);
          RunUntilHolds(simulator, attempts_at_least(2), limit);
          simulator.Unclog(client, server);
          break;
        case Fate::kCrashBeforeReply:
          RunUntilHolds(simulator, [&oracle, id] { return oracle.effects[id] >= 1; }, limit);
          simulator.Crash(server);
          RunTo(simulator, simulator.now() + nemesis.UniformDuration(Milliseconds(400), Seconds(1)));
          simulator.Restart(server);
          break;
        case Fate::kServerBusy:
          RunUntilHolds(simulator, attempts_at_least(1), limit);
          simulator.Pause(server, nemesis.UniformDuration(Milliseconds(700), Milliseconds(1200)));
          break;
        case Fate::kLostReply:
          RunUntilHolds(simulator, attempts_at_least(1), limit);
          simulator.AddCuts({{server, client}});
          RunUntilHolds(simulator, [&oracle, id] { return oracle.replies_sent[id] >= 1; }, limit);
          simulator.RemoveCuts({{server, client}});
          break;
        case Fate::kDelayedReply:
          RunUntilHolds(simulator, attempts_at_least(1), limit);
          simulator.Clog(server, client);
          RunUntilHolds(simulator, attempts_at_least(2), limit);
          simulator.Unclog(server, client);
          break;
      }
      // The client finishes the request (answer, or gives up); then comes the next.
      const bool finished = RunUntilHolds(simulator, [&oracle, id] { return oracle.finished[id]; }, limit);
      MURPHY_ASSERT_MSG(finished, "a logical request neither completed nor ran out of attempts");
      if (!oracle.completed[id]) unanswered.push_back(static_cast<int>(id));
    }
    // Quiet time: late copies still in the network land now, and count.
    RunTo(simulator, simulator.now() + Seconds(5));

    RunOutcome outcome;
    std::string per_fate;
    std::string violations;
    int duplicate_effects = 0;
    int total_effects = 0;
    for (size_t index = 0; index < kFates.size(); ++index) {
      const uint64_t id = index + 1;
      const std::string fate(FateName(kFates[index]));
      const int effects = oracle.effects[id];
      total_effects += effects;
      duplicate_effects += effects > 1 ? effects - 1 : 0;
      outcome.Add(fate + "_effects", effects);
      outcome.Add(fate + "_attempts", oracle.attempts[id]);
      per_fate += (per_fate.empty() ? "" : ", ") + fate + " " + std::to_string(effects);
      if (effects != 1) {
        violations += (violations.empty() ? "" : "; ") + std::string("request ") + std::to_string(id) + " (" + fate +
                      ") took effect " + std::to_string(effects) + " times after " +
                      std::to_string(oracle.attempts[id]) + " attempts (applied at " + oracle.effect_times[id] + ")";
      }
    }
    for (const int id : unanswered) {
      violations += (violations.empty() ? "" : "; ") + std::string("request ") + std::to_string(id) + " (" +
                    std::string(FateName(kFates[static_cast<size_t>(id - 1)])) + ") never got an answer";
    }
    outcome.Add("logical_requests", static_cast<double>(kFates.size()));
    outcome.Add("total_effects", total_effects);
    outcome.Add("duplicate_effects", duplicate_effects);
    outcome.Add("unanswered_requests", static_cast<double>(unanswered.size()));
    outcome.violated = !violations.empty();
    if (outcome.violated) {
      outcome.violation = "not exactly once: " + violations;
    }
    outcome.summary = "effects per request by fate: " + per_fate + " (counter " + std::to_string(total_effects) +
                      " after " + std::to_string(kFates.size()) + " increments)";
    return outcome;
  }
};

}  // namespace

const Scenario& RequestFateScenario() {
  static const RequestFate scenario;
  return scenario;
}

}  // namespace murphy
