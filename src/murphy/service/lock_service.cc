#include "murphy/service/lock_service.h"

#include <algorithm>
#include <string>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy::service {
namespace {

lock::AcquireMode ToLockMode(protocol::AcquireMode mode) {
  switch (mode) {
    case protocol::AcquireMode::kWait:
      return lock::AcquireMode::kWait;
    case protocol::AcquireMode::kTry:
      return lock::AcquireMode::kTry;
    case protocol::AcquireMode::kWaitWithTimeout:
      return lock::AcquireMode::kWaitWithTimeout;
  }
  MURPHY_UNREACHABLE();
}

protocol::AcquireState ToProtocolState(lock::AcquireState state) {
  switch (state) {
    case lock::AcquireState::kNone:
      return protocol::AcquireState::kNone;
    case lock::AcquireState::kGranted:
      return protocol::AcquireState::kGranted;
    case lock::AcquireState::kWaiting:
      return protocol::AcquireState::kWaiting;
  }
  MURPHY_UNREACHABLE();
}

protocol::EndReason ToProtocolReason(lock::EndReason reason) {
  switch (reason) {
    case lock::EndReason::kNone:
      return protocol::EndReason::kNone;
    case lock::EndReason::kReleased:
      return protocol::EndReason::kReleased;
    case lock::EndReason::kLeaseExpired:
      return protocol::EndReason::kLeaseExpired;
    case lock::EndReason::kLeaseRevoked:
      return protocol::EndReason::kLeaseRevoked;
    case lock::EndReason::kWaitTimedOut:
      return protocol::EndReason::kWaitTimedOut;
  }
  MURPHY_UNREACHABLE();
}

lock::RequestId RequestIdOf(const protocol::RequestHeader& header) {
  MURPHY_ASSERT(header.sequence != 0);
  return lock::RequestId{header.client, header.sequence};
}

}  // namespace

Route RouteOf(const protocol::RequestBody& body) {
  if (std::holds_alternative<protocol::WriteRequest>(body)) return Route::kStoreWrite;
  if (std::holds_alternative<protocol::ReadRequest>(body)) return Route::kStoreRead;
  if (std::holds_alternative<protocol::GetLockRequest>(body) ||
      std::holds_alternative<protocol::GetLeaseRequest>(body)) {
    return Route::kLockRead;
  }
  return Route::kLockCommand;
}

Status CheckRequest(const protocol::Request& request, NodeId source) {
  if (request.header.client != source) {
    return PermissionDeniedError("request names client " + ToString(request.header.client) +
                                 " but came from " + ToString(source));
  }
  if (request.header.budget <= Duration::Zero()) {
    return DeadlineExceededError("the client's deadline budget was spent on arrival; not applied");
  }
  return Status::Ok();
}

lock::Command ToLockCommand(const protocol::Request& request) {
  MURPHY_ASSERT(RouteOf(request.body) == Route::kLockCommand);
  const lock::RequestId id = RequestIdOf(request.header);
  if (const auto* grant = std::get_if<protocol::GrantLeaseRequest>(&request.body)) {
    return lock::GrantLease{id, grant->ttl};
  }
  if (const auto* keepalive = std::get_if<protocol::KeepAliveRequest>(&request.body)) {
    return lock::KeepAlive{id, keepalive->lease};
  }
  if (const auto* revoke = std::get_if<protocol::RevokeLeaseRequest>(&request.body)) {
    return lock::RevokeLease{id, revoke->lease};
  }
  if (const auto* acquire = std::get_if<protocol::AcquireRequest>(&request.body)) {
    return lock::Acquire{id, acquire->lock, acquire->lease, ToLockMode(acquire->mode), acquire->wait_timeout};
  }
  if (const auto* cancel = std::get_if<protocol::CancelAcquireRequest>(&request.body)) {
    return lock::CancelWait{id, cancel->lock, cancel->lease};
  }
  const auto& release = std::get<protocol::ReleaseRequest>(request.body);
  return lock::Release{id, release.lock, release.lease};
}

store::FencedWrite ToFencedWrite(const protocol::Request& request) {
  const auto& write = std::get<protocol::WriteRequest>(request.body);
  store::FencedWrite fenced;
  fenced.resource = write.resource;
  fenced.lock = write.lock;
  fenced.token = write.token;
  fenced.value = write.value;
  fenced.expected_version = write.expected_version;
  fenced.idempotency_key = write.idempotency_key;
  fenced.expected_value = write.expected_value;
  return fenced;
}

protocol::Response LockCommandResponse(const protocol::Request& request, const lock::CommandResult& result) {
  MURPHY_ASSERT(RouteOf(request.body) == Route::kLockCommand);
  if (!result.status.ok()) return protocol::MakeResponse(request.header, result.status);
  if (std::holds_alternative<protocol::GrantLeaseRequest>(request.body) ||
      std::holds_alternative<protocol::KeepAliveRequest>(request.body)) {
    return protocol::MakeResponse(request.header, result.status,
                                  protocol::LeaseBody{result.lease, result.ttl});
  }
  if (std::holds_alternative<protocol::AcquireRequest>(request.body) ||
      std::holds_alternative<protocol::CancelAcquireRequest>(request.body)) {
    return protocol::MakeResponse(
        request.header, result.status,
        protocol::AcquireBody{ToProtocolState(result.state), result.token, result.position, result.ticket});
  }
  return protocol::MakeResponse(request.header, result.status);
}

protocol::Response StoreWriteResponse(const protocol::RequestHeader& header,
                                      const store::WriteResult& result) {
  return protocol::MakeResponse(header, result.status, protocol::WriteBody{result.max_token, result.version});
}

protocol::Response LockReadResponse(const protocol::Request& request, const lock::LockMachine& machine) {
  MURPHY_ASSERT(RouteOf(request.body) == Route::kLockRead);
  if (const auto* get = std::get_if<protocol::GetLockRequest>(&request.body)) {
    const std::optional<lock::LockInfo> info = machine.GetLock(get->lock);
    if (!info.has_value()) return protocol::MakeResponse(request.header, NotFoundError("no such lock"));
    protocol::LockInfoBody body;
    body.lock = info->name;
    body.holder = info->holder;
    body.token = info->token;
    body.waiter_count = info->waiters.size();
    const size_t listed = std::min(info->waiters.size(), protocol::kMaxWaitersInResponse);
    for (size_t i = 0; i < listed; ++i) {
      const lock::WaiterInfo& waiter = info->waiters[i];
      body.waiters.push_back({waiter.lease, waiter.ticket, waiter.timeout});
    }
    return protocol::MakeResponse(request.header, Status::Ok(), std::move(body));
  }
  const auto& get = std::get<protocol::GetLeaseRequest>(request.body);
  const std::optional<lock::LeaseInfo> info = machine.GetLease(get.lease);
  if (!info.has_value()) return protocol::MakeResponse(request.header, NotFoundError("no such lease"));
  protocol::LeaseInfoBody body;
  body.lease = info->id;
  body.client = info->client;
  body.ttl = info->ttl;
  body.remaining = info->remaining;
  body.renewals = info->renewals;
  const size_t held = std::min(info->held.size(), protocol::kMaxLocksInResponse);
  const size_t waiting = std::min(info->waiting.size(), protocol::kMaxLocksInResponse);
  body.held.assign(info->held.begin(), info->held.begin() + static_cast<std::ptrdiff_t>(held));
  body.waiting.assign(info->waiting.begin(), info->waiting.begin() + static_cast<std::ptrdiff_t>(waiting));
  return protocol::MakeResponse(request.header, Status::Ok(), std::move(body));
}

protocol::Response StoreReadResponse(const protocol::Request& request, const store::FencedStore& store) {
  const auto& read = std::get<protocol::ReadRequest>(request.body);
  const std::optional<store::ResourceView> view = store.Read(read.resource);
  if (!view.has_value()) return protocol::MakeResponse(request.header, NotFoundError("no such resource"));
  return protocol::MakeResponse(request.header, Status::Ok(),
                                protocol::ReadBody{view->lock, view->max_token, view->version, view->value});
}

std::optional<Delivery> PushFor(const lock::Event& event) {
  protocol::PushKind kind;
  switch (event.kind) {
    case lock::EventKind::kGranted:
      kind = protocol::PushKind::kGranted;
      break;
    case lock::EventKind::kLost:
      kind = protocol::PushKind::kLost;
      break;
    case lock::EventKind::kWaitEnded:
      kind = protocol::PushKind::kWaitEnded;
      break;
    default:
      return std::nullopt;
  }
  return Delivery{event.client, protocol::Push{kind, event.lease, event.lock, event.token, event.ticket,
                                               ToProtocolReason(event.reason)}};
}

LocalLockService::LocalLockService(const LocalLockServiceOptions& options, Instant now)
    : machine_(options.machine), store_(options.store), timers_(machine_, now, options.timers) {}

void LocalLockService::Apply(const lock::Command& command, Instant now, lock::CommandResult* result,
                             std::vector<Delivery>* pushes) {
  lock::ApplyOutput output = machine_.Apply(command);
  timers_.Observe(output.events, now);
  for (const lock::Event& event : output.events) {
    if (std::optional<Delivery> delivery = PushFor(event)) pushes->push_back(std::move(*delivery));
  }
  if (result != nullptr) *result = std::move(output.result);
}

LocalLockService::Output LocalLockService::Handle(NodeId source, const protocol::Request& request,
                                                  Instant now) {
  Output output;
  if (Status status = CheckRequest(request, source); !status.ok()) {
    output.response = protocol::MakeResponse(request.header, status);
    return output;
  }
  switch (RouteOf(request.body)) {
    case Route::kLockCommand: {
      lock::CommandResult result;
      Apply(ToLockCommand(request), now, &result, &output.pushes);
      output.response = LockCommandResponse(request, result);
      break;
    }
    case Route::kStoreWrite:
      output.response = StoreWriteResponse(request.header, store_.CheckAndWrite(ToFencedWrite(request)));
      break;
    case Route::kLockRead:
      output.response = LockReadResponse(request, machine_);
      break;
    case Route::kStoreRead:
      output.response = StoreReadResponse(request, store_);
      break;
  }
  return output;
}

std::vector<Delivery> LocalLockService::Tick(Instant now) {
  std::vector<Delivery> pushes;
  for (const lock::Command& command : timers_.Poll(now)) Apply(command, now, nullptr, &pushes);
  return pushes;
}

std::vector<Delivery> LocalLockService::ExpireLeaseNow(LeaseId lease, Instant now) {
  std::vector<Delivery> pushes;
  const std::optional<lock::LeaseInfo> info = machine_.GetLease(lease);
  if (!info.has_value()) return pushes;
  Apply(lock::ExpireLease{lease, info->renewals}, now, nullptr, &pushes);
  return pushes;
}

}  // namespace murphy::service
