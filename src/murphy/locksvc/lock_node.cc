#include "murphy/locksvc/lock_node.h"

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/service/lock_service.h"

namespace murphy::locksvc {
namespace {

std::span<const uint8_t> AsSpan(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

LockNodeService::LockNodeService(Env& env, const lock::LeaseTimersOptions& timers,
                                 bool full_ttl_on_failover_for_test)
    : env_(env), timer_options_(timers), full_ttl_on_failover_for_test_(full_ttl_on_failover_for_test) {}

const LockStateMachine& LockNodeService::state_machine() const {
  MURPHY_ASSERT(shell_ != nullptr);
  return static_cast<const LockStateMachine&>(shell_->state_machine());
}

void LockNodeService::Reply(NodeId target, const protocol::Response& response, Kind kind, Instant received) {
  if (response.code == StatusCode::kOk) {
    ++metrics_.answered_ok;
  } else if (response.not_leader) {
    ++metrics_.answered_not_leader;
  } else if (response.code == StatusCode::kAborted && std::holds_alternative<protocol::WriteBody>(response.body)) {
    ++metrics_.fencing_rejections;
  } else {
    ++metrics_.answered_error;
  }
  if (kind == Kind::kMutation) metrics_.mutation_latency.Record(env_.MonotonicNow() - received);
  if (kind == Kind::kRead) metrics_.read_latency.Record(env_.MonotonicNow() - received);
  env_.Send(target, protocol::EncodeResponseFrame(response));
}

void LockNodeService::OnFrame(NodeId source, uint8_t type, std::span<const uint8_t> payload) {
  if (type != protocol::kLockRequestFrame) return;
  Result<protocol::Request> request = protocol::DecodeRequest(payload);
  if (!request.ok()) return;
  OnRequest(source, *request);
}

void LockNodeService::OnRequest(NodeId source, const protocol::Request& request) {
  ++metrics_.requests;
  const Instant received = env_.MonotonicNow();
  if (Status status = service::CheckRequest(request, source); !status.ok()) {
    Reply(source, protocol::MakeResponse(request.header, status));
    return;
  }
  if (shell_->stopped() || !shell_->is_leader()) {
    Reply(source, protocol::MakeNotLeaderResponse(request.header, shell_->leader()));
    return;
  }
  const service::Route route = service::RouteOf(request.body);
  if (route == service::Route::kLockRead || route == service::Route::kStoreRead) {
    const Status started = shell_->ReadBarrier([this, source, request, route, received](Status status) {
      if (!status.ok()) {
        Reply(source, protocol::MakeNotLeaderResponse(request.header, shell_->leader()));
        return;
      }
      const LockStateMachine& machine = state_machine();
      Reply(source,
            route == service::Route::kLockRead ? service::LockReadResponse(request, machine.machine())
                                               : service::StoreReadResponse(request, machine.store()),
            Kind::kRead, received);
    });
    if (!started.ok()) Reply(source, protocol::MakeResponse(request.header, started));
    return;
  }
  std::string command;
  if (route == service::Route::kLockCommand) {
    command = TagLockCommand(service::ToLockCommand(request));
  } else {
    store::FencedWrite write = service::ToFencedWrite(request);
    // Exactly-once for retried writes: the (client, sequence) is the idempotency key.
    if (write.idempotency_key.empty()) {
      write.idempotency_key = "murphy/" + std::to_string(request.header.client.value()) + "/" +
                              std::to_string(request.header.sequence);
    }
    command = TagStoreWrite(request.header.client, write);
  }
  Result<LogIndex> index = shell_->ProposeCommand(std::move(command));
  if (!index.ok()) {
    Reply(source, protocol::MakeResponse(request.header, index.status()));
    return;
  }
  pending_[*index] = Pending{request, source, shell_->term(), received};
}

void LockNodeService::OnApplied(LogIndex index, Term term, std::string_view result) {
  const bool leader = shell_->is_leader();
  if (leader) {
    const std::vector<lock::Event>& events = state_machine().last_events();
    if (timers_.has_value()) timers_->Observe(events, env_.MonotonicNow());
    for (const lock::Event& event : events) {
      if (std::optional<service::Delivery> delivery = service::PushFor(event)) {
        env_.Send(delivery->client, protocol::EncodePushFrame(delivery->push));
      }
    }
  }
  auto pending = pending_.find(index);
  if (pending == pending_.end()) return;
  Pending request = std::move(pending->second);
  pending_.erase(pending);
  // Same index, same term: our proposal (log matching). Otherwise another leader's
  // entry replaced it: the client times out and retries.
  if (request.term != term) return;
  if (service::RouteOf(request.request.body) == service::Route::kLockCommand) {
    Result<lock::CommandResult> decoded = lock::DecodeResult(AsSpan(result));
    if (!decoded.ok()) return;
    Reply(request.source, service::LockCommandResponse(request.request, *decoded), Kind::kMutation,
          request.received);
  } else {
    Result<store::WriteResult> decoded = store::DecodeWriteResult(AsSpan(result));
    if (!decoded.ok()) return;
    Reply(request.source, service::StoreWriteResponse(request.request.header, *decoded), Kind::kMutation,
          request.received);
  }
}

void LockNodeService::OnBecameLeader() {
  const Instant now = env_.MonotonicNow();
  timers_.emplace(state_machine().machine(), now, timer_options_);
  if (full_ttl_on_failover_for_test_) {
    // The bug this option exists to catch: every lease restarts with its full TTL.
    std::vector<lock::Event> renewals;
    for (const lock::LeaseInfo& lease : state_machine().machine().Leases()) {
      lock::Event event;
      event.kind = lock::EventKind::kLeaseRenewed;
      event.client = lease.client;
      event.lease = lease.id;
      event.ttl = lease.ttl;
      event.renewals = lease.renewals;
      renewals.push_back(event);
    }
    timers_->Observe(renewals, now);
  }
  env_.Trace("lease_timers_armed", {{"leases", uint64_t{timers_->lease_count()}}});
}

void LockNodeService::OnLostLeadership() {
  timers_.reset();
  pending_.clear();
}

void LockNodeService::OnTick() {
  if (!timers_.has_value() || !shell_->is_leader()) return;
  for (const lock::Command& command : timers_->Poll(env_.MonotonicNow())) {
    // A refused proposal is proposed again after the repropose interval.
    shell_->ProposeCommand(TagLockCommand(command)).status().IgnoreError();
  }
}

LockNode::LockNode(Env& env, LockNodeOptions options)
    : service_(
          std::make_unique<LockNodeService>(env, options.timers, options.full_ttl_on_failover_for_test)) {
  options.node.service = service_.get();
  shell_ = std::make_unique<node::NodeShell>(
      env, std::move(options.node), std::make_unique<LockStateMachine>(std::move(options.state_machine)));
}

}  // namespace murphy::locksvc
