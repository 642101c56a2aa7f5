#include "murphy/client/channel.h"

#include <algorithm>
#include <string>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/resilience/idempotency_key.h"

namespace murphy::client {
namespace {

// An answer that settles the call whichever transmission it answers: the node's stored
// result for this sequence number, not a "try again / elsewhere".
bool IsDefinitive(const protocol::Response& response) {
  return !response.not_leader && !IsRetryable(response.code) && !IsOutcomeUnknown(response.code);
}

}  // namespace

CircuitBreakerOptions ChannelOptions::DefaultBreakerOptions() {
  CircuitBreakerOptions options;
  options.sliding_window_type = SlidingWindowType::kCountBased;
  options.sliding_window_size = 6;
  options.minimum_number_of_calls = 3;
  options.failure_rate_threshold = 0.5;
  options.wait_duration_in_open_state = Seconds(1);
  options.open_duration_multiplier = 2.0;
  options.max_wait_duration_in_open_state = Seconds(30);
  options.stable_close_duration = Minutes(1);
  options.successes_to_close = 1;
  options.max_concurrent_probes = 1;
  options.max_wait_duration_in_half_open_state = Seconds(5);
  return options;
}

Channel::Channel(Env& env, ChannelOptions options)
    : env_(env), options_(std::move(options)), budget_(options_.retry_budget) {
  MURPHY_ASSERT(!options_.nodes.empty());
  MURPHY_ASSERT(options_.nodes.size() <= ChannelOptions::kMaxNodes);
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    for (size_t j = i + 1; j < options_.nodes.size(); ++j)
      MURPHY_ASSERT(options_.nodes[i] != options_.nodes[j]);
  }
  MURPHY_ASSERT(options_.attempt_timeout > Duration::Zero());
  MURPHY_ASSERT(!options_.attempt_timeout.is_infinite());
  MURPHY_ASSERT(options_.max_mutations_in_flight >= 1);
  MURPHY_ASSERT(options_.max_pending_calls >= 1);
  MURPHY_ASSERT(options_.budget_margin >= Duration::Zero());
  if (options_.max_redirects_per_attempt <= 0) {
    options_.max_redirects_per_attempt = static_cast<int>(options_.nodes.size());
  }
  const Instant now = env_.MonotonicNow();
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    breakers_.push_back(std::make_unique<CircuitBreaker>(options_.breaker, now));
  }
  uint64_t first = options_.first_sequence;
  if (first == 0) first = static_cast<uint64_t>(std::max<int64_t>(1, env_.BootNow().nanoseconds()));
  next_call_id_ = first;
  next_sequence_ = first;
}

Channel::~Channel() {
  for (auto& [id, call] : calls_) Disarm(call.get());
}

bool Channel::IsNode(NodeId node) const { return IndexOf(node).has_value(); }

std::optional<size_t> Channel::IndexOf(NodeId node) const {
  for (size_t i = 0; i < options_.nodes.size(); ++i) {
    if (options_.nodes[i] == node) return i;
  }
  return std::nullopt;
}

BreakerState Channel::breaker_state(NodeId node) const {
  const std::optional<size_t> index = IndexOf(node);
  MURPHY_ASSERT(index.has_value());
  return breakers_[*index]->state();
}

void Channel::Call(protocol::RequestBody body, Deadline deadline, Callback done, CallOptions options) {
  MURPHY_ASSERT(done != nullptr);
  ++metrics_.calls;
  auto owned = std::make_unique<Pending>();
  Pending* call = owned.get();
  call->id = next_call_id_++;
  call->mutation = protocol::IsMutation(body);
  call->body = std::move(body);
  call->deadline = deadline;
  call->options = std::move(options);
  call->done = std::move(done);
  const bool full = calls_.size() >= options_.max_pending_calls;
  calls_.emplace(call->id, std::move(owned));
  const Instant now = env_.MonotonicNow();
  if (full) {
    Complete(call->id, ResourceExhaustedError("too many pending requests; not sent"), std::nullopt);
  } else if (deadline.Expired(now)) {
    Complete(call->id, DeadlineExceededError("the deadline had passed; not sent"), std::nullopt);
  } else if (call->mutation && mutations_in_flight_ >= options_.max_mutations_in_flight) {
    queue_.push_back(call->id);
    if (!deadline.is_infinite()) {
      Arm(call, deadline.Remaining(now), [this, id = call->id] { OnQueueTimeout(id); });
    }
  } else {
    Start(call);
  }
}

void Channel::Start(Pending* call) {
  MURPHY_ASSERT(call->phase == Phase::kQueued);
  RetryRequest request;
  request.deadline = call->deadline;
  if (call->mutation) {
    ++mutations_in_flight_;
    call->sequence = next_sequence_++;
    request.idempotence = Idempotence::kNonIdempotent;
    request.key = IdempotencyKey::FromClientSequence(client_id().value(), call->sequence);
    if (auto* write = std::get_if<protocol::WriteRequest>(&call->body);
        write != nullptr && write->idempotency_key.empty()) {
      write->idempotency_key = request.key->ToString();
    }
  } else {
    request.idempotence = Idempotence::kIdempotent;
  }
  RetryOptions retry_options;
  retry_options.backoff = options_.backoff;
  retry_options.attempt_timeout = options_.attempt_timeout;
  call->retry.emplace(retry_options, std::move(request), &budget_);
  BeginAttempt(call);
}

void Channel::StartQueued() {
  while (!queue_.empty() && mutations_in_flight_ < options_.max_mutations_in_flight) {
    const uint64_t id = queue_.front();
    queue_.erase(queue_.begin());
    const auto it = calls_.find(id);
    MURPHY_ASSERT(it != calls_.end());
    Disarm(it->second.get());  // the queue-deadline timer
    Start(it->second.get());
  }
}

void Channel::BeginAttempt(Pending* call) {
  const Instant now = env_.MonotonicNow();
  call->attempt = call->retry->BeginAttempt(now);
  call->redirects = 0;
  call->phase = Phase::kInFlight;
  const std::optional<size_t> endpoint = PickEndpoint(call);
  if (!endpoint.has_value()) {
    ++metrics_.all_breakers_open;
    EndAttempt(call, UnavailableError("every node's circuit breaker is open; not sent"), std::nullopt);
    return;
  }
  call->endpoint = *endpoint;
  Transmit(call);
}

std::optional<size_t> Channel::PickEndpoint(Pending* call) {
  const Instant now = env_.MonotonicNow();
  const size_t count = options_.nodes.size();
  for (size_t step = 0; step < count; ++step) {
    const size_t index = (leader_index_ + step) % count;
    BreakerPermit permit = breakers_[index]->TryAcquire(now);
    if (permit.admitted()) {
      call->permit.emplace(std::move(permit));
      return index;
    }
    ++metrics_.breaker_skips;
  }
  return std::nullopt;
}

void Channel::Transmit(Pending* call) {
  MURPHY_ASSERT(call->phase == Phase::kInFlight);
  if (call->send_number > 0 && call->options.may_continue != nullptr && !call->options.may_continue()) {
    if (call->retry->any_outcome_unknown()) {
      Complete(call->id,
               DeadlineExceededError("outcome unknown: an earlier attempt timed out, and the caller "
                                     "stopped the retries"),
               std::nullopt);
    } else {
      Complete(call->id, FailedPreconditionError("stopped by the caller before a retry; not applied"),
               std::nullopt);
    }
    return;
  }
  const Instant now = env_.MonotonicNow();
  ++call->send_number;
  protocol::Request request;
  request.header.request_id = call->id;
  request.header.send_number = call->send_number;
  request.header.client = client_id();
  request.header.sequence = call->sequence;
  request.header.budget = call->attempt.deadline.ToWireBudget(now, options_.budget_margin);
  request.body = call->body;
  if (!call->first_sent.has_value()) {
    call->first_sent = now;
    call->boot_offset_at_first_send = env_.BootNow() - now;
  }
  ++metrics_.transmissions;
  const NodeId target = options_.nodes[call->endpoint];
  env_.Trace("client_send", {{"request", call->id},
                             {"send", uint64_t{call->send_number}},
                             {"sequence", call->sequence},
                             {"kind", protocol::RequestKindName(call->body)},
                             {"target", uint64_t{target.value()}}});
  env_.Send(target, protocol::EncodeRequestFrame(request));
  Arm(call, call->attempt.deadline.Remaining(now), [this, id = call->id] { OnAttemptTimeout(id); });
}

void Channel::OnMessage(NodeId source, std::span<const uint8_t> payload) {
  protocol::ClientMessage message;
  if (!protocol::DecodeClientMessage(payload, &message).ok()) {
    ++metrics_.malformed;
    return;
  }
  if (const auto* response = std::get_if<protocol::Response>(&message)) {
    OnResponse(source, *response);
  } else if (const auto* push = std::get_if<protocol::Push>(&message)) {
    if (!IsNode(source)) {
      ++metrics_.responses_ignored;
      return;
    }
    ++metrics_.pushes;
    if (push_handler_ != nullptr) push_handler_(source, *push);
  } else {
    ++metrics_.responses_ignored;  // clients serve no requests
  }
}

void Channel::OnResponse(NodeId source, const protocol::Response& response) {
  const auto it = calls_.find(response.request_id);
  if (it == calls_.end() || !IsNode(source)) {
    ++metrics_.responses_ignored;
    return;
  }
  Pending* call = it->second.get();
  const bool current = call->phase == Phase::kInFlight && response.send_number == call->send_number &&
                       source == options_.nodes[call->endpoint];
  if (!current) {
    // A late answer to an older transmission of a live call: use it if it settles the
    // call (the node's stored result for this sequence number).
    const bool live = call->phase == Phase::kInFlight || call->phase == Phase::kBackingOff;
    if (live && call->send_number > 0 && response.send_number <= call->send_number &&
        IsDefinitive(response)) {
      ++metrics_.late_responses_used;
      Complete(call->id, response.status(), response);
    } else {
      ++metrics_.responses_ignored;
    }
    return;
  }
  Disarm(call);
  if (response.not_leader) {
    RecordBreaker(call, CallOutcome::kSuccess);  // it answered: alive, just not leader
    const std::optional<size_t> hint = IndexOf(response.leader_hint);
    if (hint.has_value() && *hint != call->endpoint && call->redirects < options_.max_redirects_per_attempt) {
      leader_index_ = *hint;
      BreakerPermit permit = breakers_[*hint]->TryAcquire(env_.MonotonicNow());
      if (permit.admitted()) {
        ++call->redirects;
        ++metrics_.redirects;
        call->permit.emplace(std::move(permit));
        call->endpoint = *hint;
        Transmit(call);
        return;
      }
      ++metrics_.breaker_skips;
    } else {
      RotateFrom(call->endpoint);
    }
    EndAttempt(call, UnavailableError("not leader"), std::nullopt);
    return;
  }
  RecordBreaker(call, CallOutcomeOf(response.code));
  if (response.code != StatusCode::kUnavailable) leader_index_ = call->endpoint;
  EndAttempt(call, response.status(), response);
}

void Channel::OnAttemptTimeout(uint64_t id) {
  const auto it = calls_.find(id);
  MURPHY_ASSERT(it != calls_.end());
  Pending* call = it->second.get();
  call->timer_armed = false;
  ++metrics_.attempt_timeouts;
  RecordBreaker(call, CallOutcome::kFailure);
  RotateFrom(call->endpoint);
  EndAttempt(call, DeadlineExceededError("attempt timed out"), std::nullopt);
}

void Channel::OnQueueTimeout(uint64_t id) {
  const auto it = calls_.find(id);
  MURPHY_ASSERT(it != calls_.end());
  it->second->timer_armed = false;
  queue_.erase(std::find(queue_.begin(), queue_.end(), id));
  Complete(id, DeadlineExceededError("the deadline passed while queued; not sent"), std::nullopt);
}

void Channel::EndAttempt(Pending* call, Status status, std::optional<protocol::Response> response) {
  const Instant now = env_.MonotonicNow();
  budget_.Record(status.code());
  RetryDecision decision = call->retry->OnResult(status, now, env_.rng());
  if (decision.done()) {
    Status final_status = std::move(decision).status();
    // Pass the node's answer along only when it is the final word.
    if (response.has_value() && !(response->status() == final_status)) response.reset();
    Complete(call->id, std::move(final_status), std::move(response));
    return;
  }
  call->phase = Phase::kBackingOff;
  Arm(call, decision.delay(), [this, id = call->id] {
    const auto it = calls_.find(id);
    MURPHY_ASSERT(it != calls_.end());
    it->second->timer_armed = false;
    BeginAttempt(it->second.get());
  });
}

void Channel::Complete(uint64_t id, Status status, std::optional<protocol::Response> response) {
  const auto it = calls_.find(id);
  MURPHY_ASSERT(it != calls_.end());
  Pending* call = it->second.get();
  MURPHY_ASSERT(call->phase != Phase::kCompleting);
  Disarm(call);
  if (call->permit.has_value()) {
    if (call->permit->admitted()) breakers_[call->endpoint]->Release(std::move(*call->permit));
    call->permit.reset();
  }
  const bool started_mutation = call->mutation && call->retry.has_value();
  call->phase = Phase::kCompleting;
  call->failure = std::move(status);
  // Deliver on a later turn of the loop: never from inside Call or a caller's stack.
  CallResult result;
  result.status = call->failure;
  result.response = std::move(response);
  result.sequence = call->sequence;
  result.first_sent = call->first_sent;
  result.boot_offset_at_first_send = call->boot_offset_at_first_send;
  Arm(call, Duration::Zero(), [this, id, result = std::move(result)]() mutable {
    const auto found = calls_.find(id);
    MURPHY_ASSERT(found != calls_.end());
    Callback done = std::move(found->second->done);
    calls_.erase(found);
    done(std::move(result));
  });
  if (started_mutation) {
    MURPHY_ASSERT(mutations_in_flight_ > 0);
    --mutations_in_flight_;
    StartQueued();
  }
}

void Channel::Arm(Pending* call, Duration delay, std::function<void()> callback) {
  Disarm(call);
  call->timer = env_.SetTimer(delay, std::move(callback));
  call->timer_armed = true;
}

void Channel::Disarm(Pending* call) {
  if (!call->timer_armed) return;
  env_.CancelTimer(call->timer);
  call->timer_armed = false;
}

void Channel::RecordBreaker(Pending* call, CallOutcome outcome) {
  if (!call->permit.has_value()) return;
  if (call->permit->admitted()) {
    breakers_[call->endpoint]->Record(std::move(*call->permit), outcome, env_.MonotonicNow());
  }
  call->permit.reset();
}

void Channel::RotateFrom(size_t endpoint) {
  if (leader_index_ == endpoint) leader_index_ = (endpoint + 1) % options_.nodes.size();
}

}  // namespace murphy::client
