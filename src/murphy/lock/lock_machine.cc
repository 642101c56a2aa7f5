#include "murphy/lock/lock_machine.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "murphy/core/assert.h"
#include "murphy/core/crc32c.h"

namespace murphy::lock {
namespace {

constexpr uint8_t kSnapshotVersion = 1;
constexpr LeaseId kNoLease{0};

bool ValidName(std::string_view name, size_t max_bytes) { return !name.empty() && name.size() <= max_bytes; }

}  // namespace

LockMachine::LockMachine(const LockMachineOptions& options) : options_(options) {
  MURPHY_ASSERT(options.max_sessions > options.max_leases);
  MURPHY_ASSERT(options.results_per_client >= 1);
  MURPHY_ASSERT(options.max_name_bytes >= 1);
  MURPHY_ASSERT(options.max_name_bytes <= kMaxEncodedNameBytes);
  MURPHY_ASSERT(options.max_checkpoints_per_command <= kMaxCheckpointsPerCommand);
  MURPHY_ASSERT(options.min_ttl > Duration::Zero());
  MURPHY_ASSERT(options.min_ttl <= options.max_ttl);
  MURPHY_ASSERT(options.max_wait_timeout > Duration::Zero());
}

ApplyOutput LockMachine::ApplyEncoded(std::span<const uint8_t> bytes) {
  Result<Command> command = DecodeCommand(bytes);
  if (!command.ok()) {
    ++applied_;  // every log entry advances the logical clock, decodable or not
    ApplyOutput output;
    output.result.status = command.status();
    return output;
  }
  return Apply(*command);
}

ApplyOutput LockMachine::Apply(const Command& command) {
  ++applied_;
  if (const auto* grant = std::get_if<GrantLease>(&command)) {
    return ApplyClientCommand(grant->request,
                              [&](std::vector<Event>* events) { return DoGrantLease(*grant, events); });
  }
  if (const auto* keep_alive = std::get_if<KeepAlive>(&command)) {
    return ApplyClientCommand(keep_alive->request,
                              [&](std::vector<Event>* events) { return DoKeepAlive(*keep_alive, events); });
  }
  if (const auto* revoke = std::get_if<RevokeLease>(&command)) {
    return ApplyClientCommand(revoke->request,
                              [&](std::vector<Event>* events) { return DoRevokeLease(*revoke, events); });
  }
  if (const auto* acquire = std::get_if<Acquire>(&command)) {
    return ApplyClientCommand(acquire->request,
                              [&](std::vector<Event>* events) { return DoAcquire(*acquire, events); });
  }
  if (const auto* release = std::get_if<Release>(&command)) {
    return ApplyClientCommand(release->request,
                              [&](std::vector<Event>* events) { return DoRelease(*release, events); });
  }
  if (const auto* cancel = std::get_if<CancelWait>(&command)) {
    return ApplyClientCommand(cancel->request,
                              [&](std::vector<Event>* events) { return DoCancelWait(*cancel, events); });
  }
  ApplyOutput output;
  if (const auto* expire = std::get_if<ExpireLease>(&command)) {
    output.result = DoExpireLease(*expire, &output.events);
  } else if (const auto* expire_wait = std::get_if<ExpireWait>(&command)) {
    output.result = DoExpireWait(*expire_wait, &output.events);
  } else if (const auto* checkpoint = std::get_if<CheckpointLeases>(&command)) {
    output.result = DoCheckpointLeases(*checkpoint);
  } else {
    MURPHY_UNREACHABLE();
  }
  return output;
}

// ---- Idempotency ------------------------------------------------------------------

template <typename Handler>
ApplyOutput LockMachine::ApplyClientCommand(const RequestId& request, Handler handler) {
  ApplyOutput output;
  if (request.sequence == 0) {
    output.result.status = InvalidArgumentError("sequence numbers start at 1");
    return output;
  }
  Session& session = TouchSession(request.client);
  if (request.sequence <= session.floor) {
    // Its result was forgotten; running it now could run it twice. Refuse, unapplied.
    output.result.status = FailedPreconditionError(
        "sequence number below the client's retained window: outcome of that request is unknown here");
    return output;
  }
  for (const StoredResult& stored : session.results) {
    if (stored.sequence == request.sequence) {
      output.result = stored.result;  // a retry: answered from memory, applied once
      return output;
    }
  }
  output.result = handler(&output.events);
  // `session` is still valid: handlers never insert or erase sessions, and
  // unordered_map references survive other changes.
  RememberResult(&session, request.sequence, output.result);
  return output;
}

LockMachine::Session& LockMachine::TouchSession(NodeId client) {
  auto found = sessions_.find(client);
  if (found == sessions_.end()) {
    if (sessions_.size() >= options_.max_sessions) {
      // Every session with a lease counts against max_leases < max_sessions, so a
      // lease-less one exists.
      MURPHY_ASSERT(!leaseless_sessions_.empty());
      const NodeId evicted = leaseless_sessions_.begin()->second;
      leaseless_sessions_.erase(leaseless_sessions_.begin());
      sessions_.erase(evicted);
    }
    found = sessions_.emplace(client, Session{}).first;
    found->second.last_used = applied_;
    leaseless_sessions_.emplace(applied_, client);
    return found->second;
  }
  Session& session = found->second;
  if (session.lease_count == 0) {
    leaseless_sessions_.erase({session.last_used, client});
    leaseless_sessions_.emplace(applied_, client);
  }
  session.last_used = applied_;
  return session;
}

void LockMachine::RememberResult(Session* session, uint64_t sequence, const CommandResult& result) {
  MURPHY_ASSERT(sequence > session->floor);
  auto position = std::lower_bound(session->results.begin(), session->results.end(), sequence,
                                   [](const StoredResult& stored, uint64_t value) { return stored.sequence < value; });
  MURPHY_ASSERT(position == session->results.end() || position->sequence != sequence);
  session->results.insert(position, StoredResult{sequence, result});
  if (session->results.size() > options_.results_per_client) {
    session->floor = std::max(session->floor, session->results.front().sequence);
    session->results.erase(session->results.begin());
  }
}

void LockMachine::SetLeaseCount(NodeId client, Session* session, size_t lease_count) {
  if (session->lease_count == 0 && lease_count > 0) leaseless_sessions_.erase({session->last_used, client});
  if (session->lease_count > 0 && lease_count == 0) leaseless_sessions_.emplace(session->last_used, client);
  session->lease_count = lease_count;
}

// ---- Leases -----------------------------------------------------------------------

Result<LockMachine::Lease*> LockMachine::OwnedLease(LeaseId lease, NodeId client) {
  auto found = leases_.find(lease);
  if (found == leases_.end()) return NotFoundError("lease not found: expired, revoked or never granted");
  if (found->second.client != client) return PermissionDeniedError("lease belongs to another client");
  return &found->second;
}

CommandResult LockMachine::DoGrantLease(const GrantLease& command, std::vector<Event>* events) {
  CommandResult result;
  if (command.ttl < options_.min_ttl || command.ttl > options_.max_ttl) {
    result.status = InvalidArgumentError("lease ttl out of range");
    return result;
  }
  if (leases_.size() >= options_.max_leases) {
    result.status = ResourceExhaustedError("too many leases");
    return result;
  }
  const NodeId client = command.request.client;
  Session& session = sessions_.at(client);
  if (session.lease_count >= options_.max_leases_per_client) {
    result.status = ResourceExhaustedError("too many leases for this client");
    return result;
  }
  const LeaseId id(next_lease_++);
  Lease lease;
  lease.client = client;
  lease.ttl = command.ttl;
  lease.remaining = command.ttl;
  leases_.emplace(id, std::move(lease));
  SetLeaseCount(client, &session, session.lease_count + 1);
  events->push_back(Event{.kind = EventKind::kLeaseRenewed, .client = client, .lease = id, .ttl = command.ttl});
  result.lease = id;
  result.ttl = command.ttl;
  return result;
}

CommandResult LockMachine::DoKeepAlive(const KeepAlive& command, std::vector<Event>* events) {
  CommandResult result;
  Result<Lease*> lease = OwnedLease(command.lease, command.request.client);
  if (!lease.ok()) {
    result.status = lease.status();
    return result;
  }
  Lease& renewed = **lease;
  ++renewed.renewals;
  renewed.remaining = renewed.ttl;
  events->push_back(Event{.kind = EventKind::kLeaseRenewed,
                          .client = renewed.client,
                          .lease = command.lease,
                          .ttl = renewed.ttl,
                          .renewals = renewed.renewals});
  result.lease = command.lease;
  result.ttl = renewed.ttl;
  return result;
}

CommandResult LockMachine::DoRevokeLease(const RevokeLease& command, std::vector<Event>* events) {
  CommandResult result;
  Result<Lease*> lease = OwnedLease(command.lease, command.request.client);
  if (!lease.ok()) {
    result.status = lease.status();
    return result;
  }
  EndLease(command.lease, EndReason::kLeaseRevoked, events);
  return result;
}

CommandResult LockMachine::DoExpireLease(const ExpireLease& command, std::vector<Event>* events) {
  CommandResult result;
  auto found = leases_.find(command.lease);
  if (found == leases_.end()) {
    result.status = NotFoundError("lease already ended");
    return result;
  }
  if (found->second.renewals != command.renewals) {
    result.status = AbortedError("lease was renewed after the leader decided it expired");
    return result;
  }
  EndLease(command.lease, EndReason::kLeaseExpired, events);
  return result;
}

CommandResult LockMachine::DoCheckpointLeases(const CheckpointLeases& command) {
  CommandResult result;
  if (command.checkpoints.size() > options_.max_checkpoints_per_command) {
    result.status = InvalidArgumentError("too many checkpoints in one command");
    return result;
  }
  for (const LeaseCheckpoint& checkpoint : command.checkpoints) {
    auto found = leases_.find(checkpoint.lease);
    // An ended lease or an older generation: the checkpoint is stale, skip it.
    if (found == leases_.end() || found->second.renewals != checkpoint.renewals) continue;
    Lease& lease = found->second;
    lease.remaining = Max(Duration::Zero(), Min(checkpoint.remaining, lease.ttl));
  }
  return result;
}

void LockMachine::EndLease(LeaseId id, EndReason reason, std::vector<Event>* events) {
  auto found = leases_.find(id);
  MURPHY_ASSERT(found != leases_.end());
  const NodeId client = found->second.client;
  // Copies: releasing edits the lease's sets.
  const std::vector<std::string> held(found->second.held.begin(), found->second.held.end());
  const std::vector<std::string> waiting(found->second.waiting.begin(), found->second.waiting.end());
  for (const std::string& name : held) {
    auto lock = locks_.find(name);
    MURPHY_ASSERT(lock != locks_.end());
    MURPHY_ASSERT(lock->second.holder == id);
    ReleaseHolder(name, &lock->second, reason, events);
  }
  for (const std::string& name : waiting) {
    auto lock = locks_.find(name);
    MURPHY_ASSERT(lock != locks_.end());
    std::deque<Waiter>& waiters = lock->second.waiters;
    auto waiter = std::find_if(waiters.begin(), waiters.end(), [&](const Waiter& w) { return w.lease == id; });
    MURPHY_ASSERT(waiter != waiters.end());
    events->push_back(Event{.kind = EventKind::kWaitEnded,
                            .client = client,
                            .lease = id,
                            .lock = name,
                            .reason = reason,
                            .ticket = waiter->ticket});
    waiters.erase(waiter);
    // A lock with waiters has a holder, so removing one never idles it.
    MURPHY_ASSERT(lock->second.holder != kNoLease);
  }
  events->push_back(Event{.kind = EventKind::kLeaseEnded, .client = client, .lease = id, .reason = reason});
  leases_.erase(found);
  Session& session = sessions_.at(client);
  SetLeaseCount(client, &session, session.lease_count - 1);
}

// ---- Locks ------------------------------------------------------------------------

void LockMachine::Grant(const std::string& name, Lock* lock, LeaseId lease, uint64_t ticket,
                        std::vector<Event>* events) {
  MURPHY_ASSERT(lock->holder == kNoLease);
  const FencingToken previous = lock->last_token;
  lock->last_token = lock->last_token.next();
  MURPHY_ASSERT(lock->last_token > previous);  // never wraps
  lock->holder = lease;
  Lease& holder = leases_.at(lease);
  holder.held.insert(name);
  events->push_back(Event{.kind = EventKind::kGranted,
                          .client = holder.client,
                          .lease = lease,
                          .lock = name,
                          .token = lock->last_token,
                          .ticket = ticket});
}

void LockMachine::ReleaseHolder(const std::string& name, Lock* lock, EndReason reason, std::vector<Event>* events) {
  const LeaseId previous = lock->holder;
  MURPHY_ASSERT(previous != kNoLease);
  Lease& holder = leases_.at(previous);
  holder.held.erase(name);
  if (reason != EndReason::kReleased) {
    events->push_back(Event{.kind = EventKind::kLost,
                            .client = holder.client,
                            .lease = previous,
                            .lock = name,
                            .token = lock->last_token,
                            .reason = reason});
  }
  lock->holder = kNoLease;
  if (!lock->waiters.empty()) {
    const Waiter next = lock->waiters.front();
    lock->waiters.pop_front();
    leases_.at(next.lease).waiting.erase(name);
    Grant(name, lock, next.lease, next.ticket, events);
    return;
  }
  MarkIdleIfFree(name, lock);  // may erase *lock: nothing may follow
}

void LockMachine::MarkIdleIfFree(const std::string& name, Lock* lock) {
  if (lock->holder != kNoLease || !lock->waiters.empty()) return;
  MURPHY_ASSERT(active_locks_ > 0);
  --active_locks_;
  lock->idle_since = applied_;
  idle_order_.emplace(applied_, name);
  while (idle_order_.size() > options_.max_idle_locks) {
    // Forget the lock idle longest, but keep its tokens unrepeatable: a lock created
    // later starts above every counter forgotten so far.
    const auto oldest = idle_order_.begin();
    auto forgotten = locks_.find(oldest->second);
    MURPHY_ASSERT(forgotten != locks_.end());
    token_floor_ = std::max(token_floor_, forgotten->second.last_token);
    locks_.erase(forgotten);
    idle_order_.erase(oldest);
  }
}

void LockMachine::MarkActive(const std::string& name, Lock* lock) {
  const size_t erased = idle_order_.erase({lock->idle_since, name});
  MURPHY_ASSERT(erased == 1);
  lock->idle_since = 0;
  ++active_locks_;
}

CommandResult LockMachine::DoAcquire(const Acquire& command, std::vector<Event>* events) {
  CommandResult result;
  if (!ValidName(command.lock, options_.max_name_bytes)) {
    result.status = InvalidArgumentError("lock name empty or too long");
    return result;
  }
  if (command.mode == AcquireMode::kWaitWithTimeout) {
    if (command.wait_timeout <= Duration::Zero() || command.wait_timeout > options_.max_wait_timeout) {
      result.status = InvalidArgumentError("wait timeout out of range");
      return result;
    }
  } else if (command.wait_timeout != Duration::Zero()) {
    result.status = InvalidArgumentError("wait timeout given without kWaitWithTimeout");
    return result;
  }
  Result<Lease*> found_lease = OwnedLease(command.lease, command.request.client);
  if (!found_lease.ok()) {
    result.status = found_lease.status();
    return result;
  }
  Lease& lease = **found_lease;
  const bool at_lease_limit = lease.held.size() + lease.waiting.size() >= options_.max_locks_per_lease;
  auto found = locks_.find(command.lock);
  if (found != locks_.end()) {
    Lock& lock = found->second;
    if (lock.holder == command.lease) {
      // Already ours: the same grant again, no new token.
      result.state = AcquireState::kGranted;
      result.token = lock.last_token;
      return result;
    }
    if (lease.waiting.contains(command.lock)) {
      // Already queued: report the place, do not queue twice.
      for (size_t i = 0; i < lock.waiters.size(); ++i) {
        if (lock.waiters[i].lease != command.lease) continue;
        result.state = AcquireState::kWaiting;
        result.position = i;
        result.ticket = lock.waiters[i].ticket;
        return result;
      }
      MURPHY_UNREACHABLE();
    }
    if (lock.holder != kNoLease) {
      if (command.mode == AcquireMode::kTry) {
        result.status = FailedPreconditionError("lock is held by another lease");
        return result;
      }
      if (lock.waiters.size() >= options_.max_waiters_per_lock) {
        result.status = ResourceExhaustedError("too many waiters for this lock");
        return result;
      }
      if (at_lease_limit) {
        result.status = ResourceExhaustedError("too many locks for this lease");
        return result;
      }
      const uint64_t ticket = next_ticket_++;
      const Duration timeout =
          command.mode == AcquireMode::kWaitWithTimeout ? command.wait_timeout : Duration::Zero();
      lock.waiters.push_back(Waiter{command.lease, ticket, timeout});
      lease.waiting.insert(command.lock);
      events->push_back(Event{.kind = EventKind::kWaitStarted,
                              .client = lease.client,
                              .lease = command.lease,
                              .lock = command.lock,
                              .ttl = timeout,
                              .ticket = ticket});
      result.state = AcquireState::kWaiting;
      result.position = lock.waiters.size() - 1;
      result.ticket = ticket;
      return result;
    }
  }
  // The lock is free (idle, or unknown).
  if (at_lease_limit) {
    result.status = ResourceExhaustedError("too many locks for this lease");
    return result;
  }
  if (active_locks_ >= options_.max_locks) {
    result.status = ResourceExhaustedError("too many locks");
    return result;
  }
  if (found == locks_.end()) {
    Lock lock;
    lock.last_token = token_floor_;
    found = locks_.emplace(command.lock, std::move(lock)).first;
    ++active_locks_;
  } else {
    MarkActive(found->first, &found->second);
  }
  Grant(found->first, &found->second, command.lease, /*ticket=*/0, events);
  result.state = AcquireState::kGranted;
  result.token = found->second.last_token;
  return result;
}

CommandResult LockMachine::DoRelease(const Release& command, std::vector<Event>* events) {
  CommandResult result;
  Result<Lease*> found_lease = OwnedLease(command.lease, command.request.client);
  if (!found_lease.ok()) {
    result.status = found_lease.status();
    return result;
  }
  Lease& lease = **found_lease;
  auto found = locks_.find(command.lock);
  if (found != locks_.end() && found->second.holder == command.lease) {
    ReleaseHolder(found->first, &found->second, EndReason::kReleased, events);
    return result;
  }
  if (found != locks_.end() && lease.waiting.contains(command.lock)) {
    WithdrawWaiter(found->first, &found->second, command.lease, &lease, events);
    return result;
  }
  result.status = FailedPreconditionError("lease neither holds nor waits for this lock");
  return result;
}

void LockMachine::WithdrawWaiter(const std::string& name, Lock* lock, LeaseId lease_id, Lease* lease,
                                 std::vector<Event>* events) {
  std::deque<Waiter>& waiters = lock->waiters;
  auto waiter =
      std::find_if(waiters.begin(), waiters.end(), [&](const Waiter& w) { return w.lease == lease_id; });
  MURPHY_ASSERT(waiter != waiters.end());
  events->push_back(Event{.kind = EventKind::kWaitEnded,
                          .client = lease->client,
                          .lease = lease_id,
                          .lock = name,
                          .reason = EndReason::kReleased,
                          .ticket = waiter->ticket});
  waiters.erase(waiter);
  lease->waiting.erase(name);
}

CommandResult LockMachine::DoCancelWait(const CancelWait& command, std::vector<Event>* events) {
  CommandResult result;
  if (command.lock.empty() || command.lock.size() > options_.max_name_bytes) {
    result.status = InvalidArgumentError("lock name empty or too long");
    return result;
  }
  Result<Lease*> found_lease = OwnedLease(command.lease, command.request.client);
  if (!found_lease.ok()) {
    result.status = found_lease.status();
    return result;
  }
  Lease& lease = **found_lease;
  auto found = locks_.find(command.lock);
  if (found != locks_.end() && found->second.holder == command.lease) {
    // The grant came first: say so, give nothing up.
    result.state = AcquireState::kGranted;
    result.token = found->second.last_token;
    return result;
  }
  if (found != locks_.end() && lease.waiting.contains(command.lock)) {
    WithdrawWaiter(found->first, &found->second, command.lease, &lease, events);
  }
  result.state = AcquireState::kNone;
  return result;
}

CommandResult LockMachine::DoExpireWait(const ExpireWait& command, std::vector<Event>* events) {
  CommandResult result;
  auto found = locks_.find(command.lock);
  if (found != locks_.end()) {
    std::deque<Waiter>& waiters = found->second.waiters;
    auto waiter = std::find_if(waiters.begin(), waiters.end(), [&](const Waiter& w) {
      return w.ticket == command.ticket && w.lease == command.lease;
    });
    if (waiter != waiters.end()) {
      Lease& lease = leases_.at(command.lease);
      events->push_back(Event{.kind = EventKind::kWaitEnded,
                              .client = lease.client,
                              .lease = command.lease,
                              .lock = command.lock,
                              .reason = EndReason::kWaitTimedOut,
                              .ticket = command.ticket});
      waiters.erase(waiter);
      lease.waiting.erase(command.lock);
      return result;
    }
  }
  result.status = NotFoundError("wait already ended");
  return result;
}

// ---- Reads ------------------------------------------------------------------------

std::optional<LockInfo> LockMachine::GetLock(std::string_view name) const {
  auto found = locks_.find(name);
  if (found == locks_.end()) return std::nullopt;
  LockInfo info;
  info.name = found->first;
  if (found->second.holder != kNoLease) info.holder = found->second.holder;
  info.token = found->second.last_token;
  for (const Waiter& waiter : found->second.waiters) {
    info.waiters.push_back(WaiterInfo{waiter.lease, waiter.ticket, waiter.timeout});
  }
  return info;
}

std::optional<LeaseInfo> LockMachine::GetLease(LeaseId id) const {
  auto found = leases_.find(id);
  if (found == leases_.end()) return std::nullopt;
  const Lease& lease = found->second;
  return LeaseInfo{id,
                   lease.client,
                   lease.ttl,
                   lease.remaining,
                   lease.renewals,
                   std::vector<std::string>(lease.held.begin(), lease.held.end()),
                   std::vector<std::string>(lease.waiting.begin(), lease.waiting.end())};
}

std::vector<LeaseInfo> LockMachine::Leases() const {
  std::vector<LeaseId> ids;
  ids.reserve(leases_.size());
  for (const auto& [id, lease] : leases_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  std::vector<LeaseInfo> infos;
  infos.reserve(ids.size());
  for (LeaseId id : ids) infos.push_back(*GetLease(id));
  return infos;
}

std::vector<WaitInfo> LockMachine::TimedWaits() const {
  std::vector<WaitInfo> waits;
  for (const auto& [name, lock] : locks_) {
    for (const Waiter& waiter : lock.waiters) {
      if (waiter.timeout > Duration::Zero()) {
        waits.push_back(WaitInfo{name, WaiterInfo{waiter.lease, waiter.ticket, waiter.timeout}});
      }
    }
  }
  return waits;
}

// ---- Snapshot ---------------------------------------------------------------------
//
// Layout (v1): version u8; next_lease, next_ticket, applied, token_floor varints;
// leases sorted by id (id, client, ttl, remaining, renewals); locks sorted by name
// (name, last_token, holder, idle_since, waiters (lease, ticket, timeout)); sessions
// sorted by client (client, floor, last_used, results (sequence, result)); then the
// CRC32C of all preceding bytes as u32. Derived indexes are not stored.

Bytes LockMachine::Serialize() const {
  ByteWriter writer;
  writer.PutU8(kSnapshotVersion);
  writer.PutVarint(next_lease_);
  writer.PutVarint(next_ticket_);
  writer.PutVarint(applied_);
  writer.PutVarint(token_floor_.value());

  std::vector<LeaseId> lease_ids;
  lease_ids.reserve(leases_.size());
  for (const auto& [id, lease] : leases_) lease_ids.push_back(id);
  std::sort(lease_ids.begin(), lease_ids.end());
  writer.PutVarint(lease_ids.size());
  for (LeaseId id : lease_ids) {
    const Lease& lease = leases_.at(id);
    writer.PutVarint(id.value());
    writer.PutVarint(lease.client.value());
    writer.PutSignedVarint(lease.ttl.nanoseconds());
    writer.PutSignedVarint(lease.remaining.nanoseconds());
    writer.PutVarint(lease.renewals);
  }

  writer.PutVarint(locks_.size());
  for (const auto& [name, lock] : locks_) {
    writer.PutString(name);
    writer.PutVarint(lock.last_token.value());
    writer.PutVarint(lock.holder.value());
    writer.PutVarint(lock.idle_since);
    writer.PutVarint(lock.waiters.size());
    for (const Waiter& waiter : lock.waiters) {
      writer.PutVarint(waiter.lease.value());
      writer.PutVarint(waiter.ticket);
      writer.PutSignedVarint(waiter.timeout.nanoseconds());
    }
  }

  std::vector<NodeId> clients;
  clients.reserve(sessions_.size());
  for (const auto& [client, session] : sessions_) clients.push_back(client);
  std::sort(clients.begin(), clients.end());
  writer.PutVarint(clients.size());
  for (NodeId client : clients) {
    const Session& session = sessions_.at(client);
    writer.PutVarint(client.value());
    writer.PutVarint(session.floor);
    writer.PutVarint(session.last_used);
    writer.PutVarint(session.results.size());
    for (const StoredResult& stored : session.results) {
      writer.PutVarint(stored.sequence);
      PutResult(&writer, stored.result);
    }
  }
  writer.PutU32(Crc32c(writer.bytes()));
  return writer.Take();
}

Status LockMachine::Restore(std::span<const uint8_t> bytes) {
  if (bytes.size() < 5) return InvalidArgumentError("lock snapshot: truncated");
  const std::span<const uint8_t> body = bytes.first(bytes.size() - 4);
  ByteReader trailer(bytes.last(4));
  uint32_t stored_crc = 0;
  const bool have_crc = trailer.GetU32(&stored_crc);
  MURPHY_ASSERT(have_crc);
  if (Crc32c(body) != stored_crc) return DataLossError("lock snapshot: checksum mismatch");

  ByteReader reader(body);
  uint8_t version = 0;
  if (!reader.GetU8(&version)) return InvalidArgumentError("lock snapshot: empty");
  if (version != kSnapshotVersion) return UnimplementedError("lock snapshot: unknown version");
  const auto malformed = [](std::string_view what) {
    return InvalidArgumentError(std::string("lock snapshot: ") + std::string(what));
  };

  LockMachine state(options_);
  uint64_t token_floor = 0;
  if (!reader.GetVarint(&state.next_lease_) || !reader.GetVarint(&state.next_ticket_) ||
      !reader.GetVarint(&state.applied_) || !reader.GetVarint(&token_floor)) {
    return malformed("header");
  }
  state.token_floor_ = FencingToken(token_floor);

  // Leases.
  uint64_t lease_count = 0;
  if (!reader.GetVarint(&lease_count)) return malformed("lease count");
  if (lease_count > options_.max_leases) return malformed("too many leases");
  if (lease_count > reader.remaining() / 5) return malformed("truncated leases");
  uint64_t previous_id = 0;
  for (uint64_t i = 0; i < lease_count; ++i) {
    uint64_t id = 0;
    uint64_t client = 0;
    int64_t ttl = 0;
    int64_t remaining = 0;
    Lease lease;
    if (!reader.GetVarint(&id) || !reader.GetVarint(&client) || !reader.GetSignedVarint(&ttl) ||
        !reader.GetSignedVarint(&remaining) || !reader.GetVarint(&lease.renewals)) {
      return malformed("lease");
    }
    if (id <= previous_id || id >= state.next_lease_) return malformed("lease id out of order or range");
    if (client > std::numeric_limits<NodeId::rep_type>::max()) return malformed("lease client out of range");
    if (ttl <= 0 || remaining < 0 || remaining > ttl) return malformed("lease ttl");
    previous_id = id;
    lease.client = NodeId(static_cast<NodeId::rep_type>(client));
    lease.ttl = Nanoseconds(ttl);
    lease.remaining = Nanoseconds(remaining);
    state.leases_.emplace(LeaseId(id), std::move(lease));
  }

  // Locks.
  uint64_t lock_count = 0;
  if (!reader.GetVarint(&lock_count)) return malformed("lock count");
  if (lock_count > options_.max_locks + options_.max_idle_locks) return malformed("too many locks");
  if (lock_count > reader.remaining() / 5) return malformed("truncated locks");
  std::set<uint64_t> tickets;
  for (uint64_t i = 0; i < lock_count; ++i) {
    std::string name;
    uint64_t last_token = 0;
    uint64_t holder = 0;
    uint64_t waiter_count = 0;
    Lock lock;
    if (!reader.GetString(options_.max_name_bytes, &name) || !reader.GetVarint(&last_token) ||
        !reader.GetVarint(&holder) || !reader.GetVarint(&lock.idle_since) || !reader.GetVarint(&waiter_count)) {
      return malformed("lock");
    }
    if (name.empty()) return malformed("empty lock name");
    if (!state.locks_.empty() && state.locks_.rbegin()->first >= name) return malformed("locks out of order");
    if (last_token == 0) return malformed("lock never granted");
    if (last_token == std::numeric_limits<uint64_t>::max()) return malformed("lock token exhausted");
    lock.last_token = FencingToken(last_token);
    lock.holder = LeaseId(holder);
    if (holder != 0) {
      auto lease = state.leases_.find(lock.holder);
      if (lease == state.leases_.end()) return malformed("lock held by an unknown lease");
      lease->second.held.insert(name);
      if (lock.idle_since != 0) return malformed("held lock marked idle");
    } else if (lock.idle_since > state.applied_) {
      return malformed("idle lock from the future");
    }
    if (waiter_count > options_.max_waiters_per_lock) return malformed("too many waiters");
    if (waiter_count > 0 && holder == 0) return malformed("waiters on a free lock");
    for (uint64_t w = 0; w < waiter_count; ++w) {
      uint64_t lease_id = 0;
      int64_t timeout = 0;
      Waiter waiter;
      if (!reader.GetVarint(&lease_id) || !reader.GetVarint(&waiter.ticket) || !reader.GetSignedVarint(&timeout)) {
        return malformed("waiter");
      }
      waiter.lease = LeaseId(lease_id);
      waiter.timeout = Nanoseconds(timeout);
      auto lease = state.leases_.find(waiter.lease);
      if (lease == state.leases_.end()) return malformed("waiter with an unknown lease");
      if (waiter.lease == lock.holder) return malformed("holder waits for its own lock");
      if (!lease->second.waiting.insert(name).second) return malformed("lease waits twice");
      if (waiter.ticket == 0 || waiter.ticket >= state.next_ticket_) return malformed("waiter ticket out of range");
      if (!tickets.insert(waiter.ticket).second) return malformed("duplicate waiter ticket");
      if (timeout < 0 || waiter.timeout > options_.max_wait_timeout) return malformed("waiter timeout");
      lock.waiters.push_back(waiter);
    }
    const bool idle = lock.holder == kNoLease;
    if (idle) {
      state.idle_order_.emplace(lock.idle_since, name);
    } else {
      ++state.active_locks_;
    }
    state.locks_.emplace(std::move(name), std::move(lock));
  }
  if (state.active_locks_ > options_.max_locks) return malformed("too many active locks");
  if (state.idle_order_.size() > options_.max_idle_locks) return malformed("too many idle locks");
  for (const auto& [id, lease] : state.leases_) {
    if (lease.held.size() + lease.waiting.size() > options_.max_locks_per_lease) {
      return malformed("too many locks for a lease");
    }
  }

  // Sessions.
  uint64_t session_count = 0;
  if (!reader.GetVarint(&session_count)) return malformed("session count");
  if (session_count > options_.max_sessions) return malformed("too many sessions");
  if (session_count > reader.remaining() / 4) return malformed("truncated sessions");
  uint64_t previous_client = 0;
  for (uint64_t i = 0; i < session_count; ++i) {
    uint64_t client = 0;
    uint64_t result_count = 0;
    Session session;
    if (!reader.GetVarint(&client) || !reader.GetVarint(&session.floor) || !reader.GetVarint(&session.last_used) ||
        !reader.GetVarint(&result_count)) {
      return malformed("session");
    }
    if (client > std::numeric_limits<NodeId::rep_type>::max()) return malformed("session client out of range");
    if (i > 0 && client <= previous_client) return malformed("sessions out of order");
    previous_client = client;
    if (session.last_used > state.applied_) return malformed("session from the future");
    if (result_count > options_.results_per_client) return malformed("too many results");
    uint64_t previous_sequence = session.floor;
    for (uint64_t r = 0; r < result_count; ++r) {
      StoredResult stored;
      if (!reader.GetVarint(&stored.sequence) || !GetResult(&reader, &stored.result)) return malformed("result");
      if (stored.sequence <= previous_sequence) return malformed("results out of order");
      previous_sequence = stored.sequence;
      session.results.push_back(std::move(stored));
    }
    const NodeId id(static_cast<NodeId::rep_type>(client));
    state.sessions_.emplace(id, std::move(session));
  }
  if (!reader.at_end()) return malformed("trailing bytes");

  // Derived: lease counts per session, the lease-less LRU order.
  std::map<NodeId, size_t> lease_counts;
  for (const auto& [id, lease] : state.leases_) ++lease_counts[lease.client];
  for (const auto& [client, count] : lease_counts) {
    auto session = state.sessions_.find(client);
    if (session == state.sessions_.end()) return malformed("lease of a client without a session");
    if (count > options_.max_leases_per_client) return malformed("too many leases for a client");
    session->second.lease_count = count;
  }
  for (const auto& [client, session] : state.sessions_) {
    if (session.lease_count == 0) state.leaseless_sessions_.emplace(session.last_used, client);
  }
  MURPHY_RETURN_IF_ERROR(state.CheckInvariants());
  *this = std::move(state);
  return Status::Ok();
}

Status LockMachine::CheckInvariants() const {
  size_t active = 0;
  std::set<std::pair<uint64_t, std::string>> idle;
  for (const auto& [name, lock] : locks_) {
    if (lock.holder == kNoLease) {
      if (!lock.waiters.empty()) return InternalError("waiters on a free lock " + name);
      idle.emplace(lock.idle_since, name);
    } else {
      ++active;
      auto lease = leases_.find(lock.holder);
      if (lease == leases_.end()) return InternalError("lock " + name + " held by an unknown lease");
      if (!lease->second.held.contains(name)) return InternalError("holder of " + name + " does not know it");
      if (lock.last_token < FencingToken(1)) return InternalError("held lock " + name + " without a token");
    }
    for (const Waiter& waiter : lock.waiters) {
      auto lease = leases_.find(waiter.lease);
      if (lease == leases_.end()) return InternalError("waiter of " + name + " with an unknown lease");
      if (!lease->second.waiting.contains(name)) return InternalError("waiter of " + name + " does not know it");
    }
  }
  if (active != active_locks_) return InternalError("active lock count");
  if (idle != idle_order_) return InternalError("idle lock index");
  std::map<NodeId, size_t> lease_counts;
  for (const auto& [id, lease] : leases_) {
    ++lease_counts[lease.client];
    for (const std::string& name : lease.held) {
      auto lock = locks_.find(name);
      if (lock == locks_.end() || lock->second.holder != id) return InternalError("lease holds a lock not its own");
    }
    for (const std::string& name : lease.waiting) {
      auto lock = locks_.find(name);
      if (lock == locks_.end()) return InternalError("lease waits for an unknown lock");
      const auto& waiters = lock->second.waiters;
      const LeaseId waiting_lease = id;  // structured bindings cannot be captured in C++20
      if (std::count_if(waiters.begin(), waiters.end(), [&](const Waiter& w) { return w.lease == waiting_lease; }) !=
          1) {
        return InternalError("lease waits for a lock that does not queue it once");
      }
    }
  }
  std::set<std::pair<uint64_t, NodeId>> leaseless;
  for (const auto& [client, session] : sessions_) {
    auto count = lease_counts.find(client);
    const size_t expected = count == lease_counts.end() ? 0 : count->second;
    if (session.lease_count != expected) return InternalError("session lease count");
    if (expected == 0) leaseless.emplace(session.last_used, client);
  }
  for (const auto& [client, count] : lease_counts) {
    if (!sessions_.contains(client)) return InternalError("lease of a client without a session");
  }
  if (leaseless != leaseless_sessions_) return InternalError("lease-less session index");
  return Status::Ok();
}

}  // namespace murphy::lock
