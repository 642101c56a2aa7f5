#include "murphy/node/kv_client.h"

#include "murphy/core/assert.h"
#include "murphy/protocol/frame.h"

namespace murphy::node {

Input ToHistoryInput(const KvOperation& operation) {
  switch (operation.op) {
    case KvOp::kGet:
      return Input::Read(operation.key);
    case KvOp::kPut:
      return Input::Write(operation.key, operation.value);
    case KvOp::kCompareAndSet:
      return Input::CompareAndSet(operation.key, operation.expected, operation.value);
    case KvOp::kDelete:
      return Input::Delete(operation.key);
  }
  MURPHY_UNREACHABLE();
}

KvClient::KvClient(Env& env, KvClientOptions options) : env_(env), options_(std::move(options)) {
  MURPHY_ASSERT(!options_.servers.empty());
  MURPHY_ASSERT(!options_.keys.empty());
  leader_ = options_.first_server != NodeId() ? options_.first_server
                                              : options_.servers[env_.rng().Uniform(options_.servers.size())];
  env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnReceive(source, payload); });
  if (options_.random) ScheduleRandom();
}

KvClient::~KvClient() {
  env_.CancelTimer(attempt_timer_);
  env_.CancelTimer(retry_timer_);
  env_.CancelTimer(think_timer_);
  env_.SetReceiver([](NodeId, std::span<const uint8_t>) {});
}

bool KvClient::Submit(const KvOperation& operation, std::function<void(const KvClientResult&)> done) {
  if (current_.has_value()) return false;
  Current current{operation,
                  ++sequence_,
                  env_.MonotonicNow() + options_.operation_timeout,
                  Backoff(options_.backoff),
                  std::nullopt,
                  std::move(done)};
  if (options_.history != nullptr) {
    current.history_id =
        options_.history->Invoke(env_.self(), options_.history_clock(), ToHistoryInput(operation));
  }
  current_ = std::move(current);
  SendAttempt();
  return true;
}

NodeId KvClient::NextServer(NodeId after) const {
  for (size_t i = 0; i < options_.servers.size(); ++i) {
    if (options_.servers[i] == after) return options_.servers[(i + 1) % options_.servers.size()];
  }
  return options_.servers.front();
}

void KvClient::SendAttempt() {
  if (!current_.has_value()) return;
  if (env_.MonotonicNow() >= current_->deadline) {
    Complete(current_->operation.op == KvOp::kGet ? Outcome::kFail : Outcome::kInfo, {});
    return;
  }
  ++attempts_;
  ClientRequest request;
  request.client_id = env_.self().value();
  request.sequence = current_->sequence;
  request.kind = current_->operation.op == KvOp::kGet ? RequestKind::kQuery : RequestKind::kCommand;
  request.payload = EncodeKvOperation(current_->operation);
  env_.Send(leader_, EncodeRequestFrame(request));
  env_.CancelTimer(attempt_timer_);
  attempt_timer_ = env_.SetTimer(options_.attempt_timeout, [this] { OnAttemptTimeout(); });
}

void KvClient::OnAttemptTimeout() {
  if (!current_.has_value()) return;
  // The believed leader may be down or cut off: try the next server.
  leader_ = NextServer(leader_);
  RetryLater();
}

void KvClient::RetryLater() {
  const Instant now = env_.MonotonicNow();
  const std::optional<Duration> delay = current_->backoff.NextDelay(env_.rng());
  if (!delay.has_value() || now >= current_->deadline) {
    Complete(current_->operation.op == KvOp::kGet ? Outcome::kFail : Outcome::kInfo, {});
    return;
  }
  env_.CancelTimer(retry_timer_);
  retry_timer_ = env_.SetTimer(Min(*delay, current_->deadline - now), [this] { SendAttempt(); });
}

void KvClient::OnReceive(NodeId source, std::span<const uint8_t> payload) {
  (void)source;
  Result<Frame> frame = DecodeFrame(payload);
  if (!frame.ok() || frame->type != kClientResponseFrame) return;
  Result<ClientResponse> response = DecodeResponse(frame->payload);
  if (!response.ok() || !current_.has_value()) return;
  if (response->client_id != env_.self().value() || response->sequence != current_->sequence)
    return;  // stale
  switch (response->status) {
    case ResponseStatus::kOk: {
      Result<KvResult> result = DecodeKvResult(response->payload);
      if (!result.ok()) return;  // cannot happen past the frame checksum; wait for a retry
      leader_ = source;
      const bool refused = result->outcome == KvOutcome::kMalformed ||
                           result->outcome == KvOutcome::kRejected || result->outcome == KvOutcome::kStale;
      Complete(refused ? Outcome::kFail : Outcome::kOk, *result);
      return;
    }
    case ResponseStatus::kNotLeader:
      env_.CancelTimer(attempt_timer_);
      leader_ = response->leader_hint != NodeId() ? response->leader_hint : NextServer(source);
      RetryLater();
      return;
    case ResponseStatus::kUnavailable:
      env_.CancelTimer(attempt_timer_);
      RetryLater();
      return;
  }
}

void KvClient::Complete(Outcome outcome, const KvResult& result) {
  MURPHY_ASSERT(current_.has_value());
  env_.CancelTimer(attempt_timer_);
  env_.CancelTimer(retry_timer_);
  Current current = std::move(*current_);
  current_.reset();
  ++completed_;
  if (options_.history != nullptr) {
    const Instant now = options_.history_clock();
    if (outcome == Outcome::kOk) {
      Output output = Output::Success();
      if (current.operation.op == KvOp::kGet)
        output = result.value.has_value() ? Output::Value(*result.value) : Output::Absent();
      if (current.operation.op == KvOp::kCompareAndSet) output.succeeded = result.outcome == KvOutcome::kOk;
      options_.history->Ok(*current.history_id, now, output);
    } else if (outcome == Outcome::kFail) {
      options_.history->Fail(*current.history_id, now);
    } else {
      options_.history->Info(*current.history_id, now);
    }
  }
  env_.Trace("kv_complete", {{"sequence", current.sequence}, {"outcome", OutcomeName(outcome)}});
  if (current.done) current.done({outcome, result});
  if (options_.random) ScheduleRandom();
}

void KvClient::ScheduleRandom() {
  const Duration think = env_.rng().UniformDuration(Duration::Zero(), options_.think_time_max);
  think_timer_ = env_.SetTimer(think, [this] { NextRandom(); });
}

void KvClient::NextRandom() {
  Rng& rng = env_.rng();
  KvOperation operation;
  operation.key = options_.keys[rng.Uniform(options_.keys.size())];
  const uint64_t roll = rng.Uniform(100);
  // Written values are unique per client, so a read names the write it saw.
  const int64_t fresh =
      static_cast<int64_t>(env_.self().value()) * 1'000'000 + static_cast<int64_t>(++values_written_);
  if (roll < 40) {
    operation.op = KvOp::kGet;
  } else if (roll < 70) {
    operation.op = KvOp::kPut;
    operation.value = fresh;
  } else if (roll < 90) {
    operation.op = KvOp::kCompareAndSet;
    // Expect a value some client may have written recently, so some swaps succeed.
    const uint64_t client = 1 + rng.Uniform(8);
    operation.expected =
        static_cast<int64_t>(client) * 1'000'000 + static_cast<int64_t>(rng.Uniform(values_written_ + 1));
    if (last_read_.has_value() && rng.Bernoulli(0.7)) operation.expected = *last_read_;
    operation.value = fresh;
  } else {
    operation.op = KvOp::kDelete;
  }
  Submit(operation, [this](const KvClientResult& result) {
    if (result.outcome == Outcome::kOk && result.result.value.has_value()) last_read_ = result.result.value;
  });
}

}  // namespace murphy::node
