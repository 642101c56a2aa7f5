#include "murphy/client/lock_client.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "murphy/core/assert.h"

namespace murphy::client {
namespace {

Status CheckName(std::string_view what, std::string_view name) {
  if (name.empty()) return InvalidArgumentError(std::string(what) + " name is empty");
  if (name.size() > protocol::kMaxNameBytes)
    return InvalidArgumentError(std::string(what) + " name too long");
  return Status::Ok();
}

}  // namespace

// --- LockHandle --------------------------------------------------------------------------

LockHandle::~LockHandle() {
  if (client_ != nullptr) client_->ReleaseHandle(session_);
}

bool LockHandle::IsSafe() const { return client_ != nullptr && client_->IsSafe(session_); }

Instant LockHandle::safe_until() const {
  if (client_ == nullptr) return Instant::Min();
  const LockClient::Session* session = client_->Find(session_);
  return session == nullptr ? Instant::Min() : session->safe_until;
}

bool LockHandle::lost() const {
  if (client_ == nullptr) return true;
  const LockClient::Session* session = client_->Find(session_);
  return session == nullptr || session->state == LockClient::State::kLost;
}

void LockHandle::OnLoss(std::function<void(Status)> callback) {
  if (client_ == nullptr) return;
  if (LockClient::Session* session = client_->Find(session_)) session->on_loss = std::move(callback);
}

void LockHandle::Release() {
  if (client_ == nullptr) return;
  client_->ReleaseHandle(session_);
  client_ = nullptr;
}

// --- LockClient ------------------------------------------------------------------------

LockClient::LockClient(Env& env, LockClientOptions options, bool install_receiver)
    : env_(env), options_(std::move(options)), channel_(env, options_.channel) {
  MURPHY_ASSERT(options_.max_drift_rate >= 0);
  MURPHY_ASSERT(options_.max_drift_rate < 1);
  MURPHY_ASSERT(options_.safety_margin >= Duration::Zero());
  MURPHY_ASSERT(options_.keepalive_divisor >= 2);
  MURPHY_ASSERT(options_.wait_poll_interval > Duration::Zero());
  MURPHY_ASSERT(options_.max_handles >= 1);
  channel_.SetPushHandler([this](NodeId source, const protocol::Push& push) { OnPush(source, push); });
  if (install_receiver) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
  }
}

LockClient::~LockClient() {
  for (auto& [id, session] : sessions_) {
    CancelTimers(&session);
    if (session.handle != nullptr) session.handle->client_ = nullptr;
  }
  for (auto& [id, timer] : soon_) env_.CancelTimer(timer);
}

LockClient::Session* LockClient::Find(uint64_t id) {
  const auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

void LockClient::Soon(std::function<void()> callback) {
  const uint64_t id = next_soon_++;
  soon_[id] = env_.SetTimer(Duration::Zero(), [this, id, callback = std::move(callback)] {
    soon_.erase(id);
    callback();
  });
}

void LockClient::Acquire(std::string name, Duration ttl, protocol::AcquireMode mode, AcquireCallback done,
                         const AcquireOptions& options) {
  MURPHY_ASSERT(done != nullptr);
  Status invalid = CheckName("lock", name);
  if (invalid.ok() && ttl <= Duration::Zero()) invalid = InvalidArgumentError("ttl must be positive");
  if (invalid.ok() && options.wait_timeout < Duration::Zero())
    invalid = InvalidArgumentError("negative wait");
  if (invalid.ok() && sessions_.size() >= options_.max_handles) {
    invalid = ResourceExhaustedError("too many locks held or being acquired");
  }
  if (!invalid.ok()) {
    Soon([done = std::move(done), invalid] { done(invalid); });
    return;
  }
  const uint64_t id = next_session_++;
  Session& session = sessions_[id];
  session.id = id;
  session.lock = std::move(name);
  session.ttl = ttl;
  session.mode = mode;
  session.wait_timeout = options.wait_timeout;
  session.request_deadline = Deadline::After(env_.MonotonicNow(), options.request_timeout);
  session.acquire_done = std::move(done);
  channel_.Call(protocol::GrantLeaseRequest{ttl}, session.request_deadline,
                [this, id](CallResult result) { OnGranted(id, std::move(result)); });
}

size_t LockClient::CancelAcquire(const std::string& name) {
  std::vector<uint64_t> cancelled;
  for (const auto& [id, session] : sessions_) {
    const bool in_progress = session.state == State::kGranting || session.state == State::kAcquiring ||
                             session.state == State::kWaiting;
    if (in_progress && session.lock == name) cancelled.push_back(id);
  }
  for (const uint64_t id : cancelled) {
    Session& session = sessions_.at(id);
    CancelTimers(&session);
    AcquireCallback done = std::move(session.acquire_done);
    if (session.lease_granted && !session.lease_ended) {
      // Withdraw the wait, then revoke the lease: the revoke also releases a grant
      // that raced ahead of the cancel. The lease is this acquisition's alone.
      const LeaseId lease = session.lease;
      const Deadline deadline = Deadline::After(env_.MonotonicNow(), options_.release_timeout);
      channel_.Call(protocol::CancelAcquireRequest{name, lease}, deadline,
                    [this, name, lease](CallResult result) {
                      if (result.response.has_value()) {
                        if (const auto* body = std::get_if<protocol::AcquireBody>(&result.response->body)) {
                          env_.Trace("client_acquire_cancelled",
                                     {{"lock", std::string_view(name)},
                                      {"lease", lease.value()},
                                      {"raced_grant", body->state == protocol::AcquireState::kGranted}});
                        }
                      }
                      // A deadline of its own: the cancel may have used all of its.
                      channel_.Call(protocol::RevokeLeaseRequest{lease},
                                    Deadline::After(env_.MonotonicNow(), options_.release_timeout),
                                    [](CallResult) {});
                    });
    }
    if (session.lease_granted) by_lease_.erase(session.lease);
    sessions_.erase(id);
    Soon([done = std::move(done)] { done(CancelledError("acquire cancelled by the client")); });
  }
  return cancelled.size();
}

void LockClient::OnGranted(uint64_t id, CallResult result) {
  Session* session = Find(id);
  if (session == nullptr || session->state != State::kGranting) return;
  if (!result.status.ok()) {
    // Unknown outcome: a lease may exist that we never heard of; it holds nothing and
    // ends with its TTL.
    FailAcquire(session, result.status);
    return;
  }
  const auto* body =
      result.response.has_value() ? std::get_if<protocol::LeaseBody>(&result.response->body) : nullptr;
  if (body == nullptr || !result.first_sent.has_value()) {
    FailAcquire(session, InternalError("lease grant answered without a lease"));
    return;
  }
  session->lease = body->lease;
  session->lease_granted = true;
  by_lease_[session->lease] = id;
  Renewed(session, result, body->ttl);
  session->state = State::kAcquiring;
  protocol::AcquireRequest request;
  request.lock = session->lock;
  request.lease = session->lease;
  request.mode = session->mode;
  request.wait_timeout = session->wait_timeout;
  channel_.Call(std::move(request), session->request_deadline,
                [this, id](CallResult acquired) { OnAcquired(id, std::move(acquired)); });
}

void LockClient::OnAcquired(uint64_t id, CallResult result) {
  Session* session = Find(id);
  if (session == nullptr || session->state != State::kAcquiring) return;  // a push came first
  if (!result.status.ok()) {
    if (result.status.outcome_unknown()) {
      // The acquire may have been applied: revoking the lease releases whatever it
      // got, so no lock stays held by a lease nobody uses (no ghost acquire).
      FailAcquire(session, DeadlineExceededError("outcome unknown (the lease is being revoked): " +
                                                 std::string(result.status.message())));
    } else {
      FailAcquire(session, result.status);
    }
    return;
  }
  const auto* body =
      result.response.has_value() ? std::get_if<protocol::AcquireBody>(&result.response->body) : nullptr;
  if (body == nullptr) {
    FailAcquire(session, InternalError("acquire answered without a result"));
    return;
  }
  if (body->state == protocol::AcquireState::kGranted) {
    BecomeHolder(session, body->token);
    return;
  }
  if (body->state != protocol::AcquireState::kWaiting) {
    FailAcquire(session, InternalError("acquire answered neither granted nor waiting"));
    return;
  }
  session->state = State::kWaiting;
  session->poll_timer = env_.SetTimer(options_.wait_poll_interval, [this, id] { Poll(id); });
  session->poll_armed = true;
}

void LockClient::BecomeHolder(Session* session, FencingToken token) {
  session->state = State::kHeld;
  session->token = token;
  if (session->poll_armed) {
    env_.CancelTimer(session->poll_timer);
    session->poll_armed = false;
  }
  std::unique_ptr<LockHandle> handle(new LockHandle(this, session->id, session->lock, token, session->lease));
  session->handle = handle.get();
  env_.Trace("client_lock_held", {{"lock", std::string_view(session->lock)},
                                  {"token", token.value()},
                                  {"lease", session->lease.value()}});
  AcquireCallback done = std::move(session->acquire_done);
  done(std::move(handle));
}

void LockClient::FailAcquire(Session* session, Status status) {
  MURPHY_ASSERT(session->state != State::kHeld);
  MURPHY_ASSERT(session->state != State::kLost);
  CancelTimers(session);
  RevokeBestEffort(session);
  AcquireCallback done = std::move(session->acquire_done);
  if (session->lease_granted) by_lease_.erase(session->lease);
  sessions_.erase(session->id);
  done(std::move(status));
}

void LockClient::Lose(Session* session, Status reason) {
  MURPHY_ASSERT(session->state == State::kHeld);
  session->state = State::kLost;
  CancelTimers(session);
  RevokeBestEffort(session);
  env_.Trace("client_lock_lost", {{"lock", std::string_view(session->lock)},
                                  {"token", session->token.value()},
                                  {"reason", reason.message()}});
  std::function<void(Status)> on_loss = std::move(session->on_loss);
  if (on_loss != nullptr) on_loss(std::move(reason));  // may destroy the handle
}

void LockClient::ReleaseHandle(uint64_t id) {
  Session* session = Find(id);
  if (session == nullptr) return;
  CancelTimers(session);
  RevokeBestEffort(session);
  if (session->lease_granted) by_lease_.erase(session->lease);
  sessions_.erase(id);
}

void LockClient::Renewed(Session* session, const CallResult& result, Duration ttl) {
  MURPHY_ASSERT(result.first_sent.has_value());
  const Instant sent = *result.first_sent;
  // Send time, not receive time; shortened by the drift bound and the margin.
  const Instant candidate = sent + ttl * (1.0 - options_.max_drift_rate) - options_.safety_margin;
  if (candidate > session->safe_until) {
    session->safe_until = candidate;
    session->boot_offset_at_renewal = result.boot_offset_at_first_send;
    session->last_renewal_sent = sent;
    session->ttl = ttl;
  }
  ArmSafety(session);
  const Instant next = session->last_renewal_sent + session->ttl / options_.keepalive_divisor;
  ArmKeepAlive(session, next - env_.MonotonicNow());
}

void LockClient::ArmKeepAlive(Session* session, Duration delay) {
  if (session->keepalive_armed) env_.CancelTimer(session->keepalive_timer);
  session->keepalive_timer = env_.SetTimer(delay, [this, id = session->id] {
    if (Session* found = Find(id)) {
      found->keepalive_armed = false;
      SendKeepAlive(id);
    }
  });
  session->keepalive_armed = true;
}

void LockClient::ArmSafety(Session* session) {
  if (session->safety_armed) env_.CancelTimer(session->safety_timer);
  session->safety_timer = env_.SetTimer(session->safe_until - env_.MonotonicNow(),
                                        [this, id = session->id] { OnSafetyTimer(id); });
  session->safety_armed = true;
}

void LockClient::OnSafetyTimer(uint64_t id) {
  Session* session = Find(id);
  if (session == nullptr) return;
  session->safety_armed = false;
  if (env_.MonotonicNow() < session->safe_until) {
    ArmSafety(session);
    return;
  }
  switch (session->state) {
    case State::kHeld:
      Lose(session, AbortedError("safe-until passed without an acknowledged renewal"));
      return;
    case State::kAcquiring:
    case State::kWaiting:
      FailAcquire(session, AbortedError("the lease could not be renewed while acquiring"));
      return;
    case State::kGranting:
    case State::kLost:
      return;
  }
}

void LockClient::CancelTimers(Session* session) {
  if (session->keepalive_armed) env_.CancelTimer(session->keepalive_timer);
  if (session->safety_armed) env_.CancelTimer(session->safety_timer);
  if (session->poll_armed) env_.CancelTimer(session->poll_timer);
  session->keepalive_armed = false;
  session->safety_armed = false;
  session->poll_armed = false;
}

void LockClient::SendKeepAlive(uint64_t id) {
  Session* session = Find(id);
  if (session == nullptr || session->keepalive_in_flight || session->state == State::kLost) return;
  if (!session->lease_granted || session->lease_ended) return;
  session->keepalive_in_flight = true;
  // Nothing is gained by renewing after safe-until: by then the holder has stopped.
  const Instant now = env_.MonotonicNow();
  const Instant until = std::max(session->safe_until, now + options_.channel.attempt_timeout);
  channel_.Call(protocol::KeepAliveRequest{session->lease}, Deadline::At(until),
                [this, id](CallResult result) { OnKeepAlive(id, std::move(result)); });
}

void LockClient::OnKeepAlive(uint64_t id, CallResult result) {
  Session* session = Find(id);
  if (session == nullptr) return;
  session->keepalive_in_flight = false;
  if (session->state == State::kLost) return;
  if (result.status.ok()) {
    const auto* body =
        result.response.has_value() ? std::get_if<protocol::LeaseBody>(&result.response->body) : nullptr;
    if (body != nullptr && result.first_sent.has_value()) {
      Renewed(session, result, body->ttl);
      return;
    }
  }
  if (result.status.ok() || result.status.retryable() || result.status.outcome_unknown()) {
    // Not renewed this time, but the lease may well be alive: try again soon; the
    // safety timer ends the holding if no renewal lands before safe-until.
    ArmKeepAlive(session, session->ttl / (options_.keepalive_divisor * 4));
    return;
  }
  // A definitive refusal: the lease is gone (expired, revoked) or not ours.
  session->lease_ended = true;
  Status reason = AbortedError("lease ended: " + result.status.ToString());
  if (session->state == State::kHeld) {
    Lose(session, std::move(reason));
  } else {
    FailAcquire(session, std::move(reason));
  }
}

void LockClient::Poll(uint64_t id) {
  Session* session = Find(id);
  if (session == nullptr) return;
  session->poll_armed = false;
  if (session->state != State::kWaiting || session->poll_in_flight) return;
  session->poll_in_flight = true;
  GetLock(session->lock, [this, id](Result<protocol::LockInfoBody> info) { OnPoll(id, std::move(info)); });
}

void LockClient::OnPoll(uint64_t id, Result<protocol::LockInfoBody> info) {
  Session* session = Find(id);
  if (session == nullptr) return;
  session->poll_in_flight = false;
  if (session->state != State::kWaiting) return;
  bool waiting = true;
  if (info.ok()) {
    if (info->holder == session->lease) {
      BecomeHolder(session, info->token);  // the `granted` push was lost
      return;
    }
    bool listed = false;
    for (const protocol::WaiterView& waiter : info->waiters)
      listed = listed || waiter.lease == session->lease;
    const bool complete = info->waiters.size() == info->waiter_count;
    waiting = listed || !complete;
  } else if (info.status().code() == StatusCode::kNotFound) {
    waiting = false;
  }
  if (!waiting) {
    FailAcquire(session, FailedPreconditionError("the wait ended without a grant"));
    return;
  }
  session->poll_timer = env_.SetTimer(options_.wait_poll_interval, [this, id] { Poll(id); });
  session->poll_armed = true;
}

void LockClient::OnPush(NodeId /*source*/, const protocol::Push& push) {
  const auto it = by_lease_.find(push.lease);
  if (it == by_lease_.end()) return;
  Session* session = Find(it->second);
  MURPHY_ASSERT(session != nullptr);
  if (push.lock != session->lock) return;
  const bool acquiring = session->state == State::kAcquiring || session->state == State::kWaiting;
  switch (push.kind) {
    case protocol::PushKind::kGranted:
      if (acquiring) BecomeHolder(session, push.token);
      return;
    case protocol::PushKind::kLost:
      if (push.reason == protocol::EndReason::kLeaseExpired ||
          push.reason == protocol::EndReason::kLeaseRevoked) {
        session->lease_ended = true;
      }
      if (session->state == State::kHeld && push.token == session->token) {
        Lose(session, AbortedError("lock lost: " + std::string(protocol::EndReasonName(push.reason))));
      } else if (acquiring) {
        FailAcquire(session, AbortedError("the lease ended before the lock was granted"));
      }
      return;
    case protocol::PushKind::kWaitEnded:
      if (acquiring) {
        FailAcquire(session, FailedPreconditionError("the wait ended without a grant: " +
                                                     std::string(protocol::EndReasonName(push.reason))));
      }
      return;
  }
}

void LockClient::RevokeBestEffort(Session* session) {
  if (!session->lease_granted || session->lease_ended || session->revoke_sent) return;
  session->revoke_sent = true;
  channel_.Call(protocol::RevokeLeaseRequest{session->lease},
                Deadline::After(env_.MonotonicNow(), options_.release_timeout), [](CallResult) {});
}

bool LockClient::Suspended(const Session& session) {
  const Duration offset = env_.BootNow() - env_.MonotonicNow();
  return offset - session.boot_offset_at_renewal > options_.suspension_tolerance;
}

bool LockClient::IsSafe(uint64_t id) {
  Session* session = Find(id);
  if (session == nullptr || session->state != State::kHeld) return false;
  if (env_.MonotonicNow() >= session->safe_until) return false;
  if (Suspended(*session)) {
    // Our clock stopped while the lease kept running: unsafe until a renewal sent
    // from now on is acknowledged.
    SendKeepAlive(id);
    return false;
  }
  return true;
}

void LockClient::Write(const LockHandle& handle, std::string resource, std::string value, WriteCallback done,
                       const WriteOptions& options) {
  MURPHY_ASSERT(done != nullptr);
  if (handle.client_ != this || !IsSafe(handle.session_)) {
    Soon([done = std::move(done)] {
      done(WriteReply{
          FailedPreconditionError("the lock handle is not safe to act on; write not sent"), {}, 0});
    });
    return;
  }
  // Every retry asks again: once the lock is no longer safe, stop sending it.
  CallOptions call_options;
  call_options.may_continue = [this, session = handle.session_] { return IsSafe(session); };
  StartWrite(std::move(resource), handle.lock(), handle.token(), std::move(value), std::move(done), options,
             std::move(call_options));
}

void LockClient::WriteWithToken(std::string resource, std::string lock, FencingToken token, std::string value,
                                WriteCallback done, const WriteOptions& options) {
  MURPHY_ASSERT(done != nullptr);
  StartWrite(std::move(resource), std::move(lock), token, std::move(value), std::move(done), options, {});
}

void LockClient::StartWrite(std::string resource, std::string lock, FencingToken token, std::string value,
                            WriteCallback done, const WriteOptions& options, CallOptions call_options) {
  Status invalid = CheckName("resource", resource);
  if (invalid.ok()) invalid = CheckName("lock", lock);
  if (invalid.ok() && value.size() > protocol::kMaxValueBytes)
    invalid = InvalidArgumentError("value too large");
  if (invalid.ok() && options.expected_value.has_value() && options.expected_value->size() > protocol::kMaxValueBytes)
    invalid = InvalidArgumentError("expected value too large");
  if (!invalid.ok()) {
    Soon([done = std::move(done), invalid] { done(WriteReply{invalid, {}, 0}); });
    return;
  }
  protocol::WriteRequest request;
  request.resource = std::move(resource);
  request.lock = std::move(lock);
  request.token = token;
  request.value = std::move(value);
  request.expected_version = options.expected_version;
  request.expected_value = options.expected_value;
  channel_.Call(
      std::move(request), Deadline::After(env_.MonotonicNow(), options.timeout),
      [done = std::move(done)](CallResult result) {
        WriteReply reply{result.status, {}, 0};
        if (result.response.has_value()) {
          if (const auto* body = std::get_if<protocol::WriteBody>(&result.response->body)) {
            reply.max_token = body->max_token;
            reply.version = body->version;
          }
        }
        done(std::move(reply));
      },
      std::move(call_options));
}

void LockClient::Read(std::string resource, ResultCallback<protocol::ReadBody> done, Duration timeout) {
  MURPHY_ASSERT(done != nullptr);
  if (Status invalid = CheckName("resource", resource); !invalid.ok()) {
    Soon([done = std::move(done), invalid] { done(invalid); });
    return;
  }
  channel_.Call(protocol::ReadRequest{std::move(resource)}, Deadline::After(env_.MonotonicNow(), timeout),
                [done = std::move(done)](CallResult result) {
                  if (!result.status.ok()) return done(result.status);
                  const auto* body = std::get_if<protocol::ReadBody>(&result.response->body);
                  if (body == nullptr) return done(InternalError("read answered without a value"));
                  done(*body);
                });
}

void LockClient::GetLock(std::string lock, ResultCallback<protocol::LockInfoBody> done, Duration timeout) {
  MURPHY_ASSERT(done != nullptr);
  if (Status invalid = CheckName("lock", lock); !invalid.ok()) {
    Soon([done = std::move(done), invalid] { done(invalid); });
    return;
  }
  channel_.Call(protocol::GetLockRequest{std::move(lock)}, Deadline::After(env_.MonotonicNow(), timeout),
                [done = std::move(done)](CallResult result) {
                  if (!result.status.ok()) return done(result.status);
                  const auto* body = std::get_if<protocol::LockInfoBody>(&result.response->body);
                  if (body == nullptr) return done(InternalError("lock read answered without a lock"));
                  done(*body);
                });
}

}  // namespace murphy::client
