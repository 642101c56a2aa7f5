#include "murphy/lock/lease_timers.h"

#include "murphy/core/assert.h"

namespace murphy::lock {

LeaseTimers::LeaseTimers(const LockMachine& state, Instant now, const LeaseTimersOptions& options)
    : options_(options) {
  MURPHY_ASSERT(options.checkpoint_interval > Duration::Zero());
  MURPHY_ASSERT(options.repropose_interval > Duration::Zero());
  MURPHY_ASSERT(options.max_checkpoints_per_command >= 1);
  MURPHY_ASSERT(options.max_checkpoints_per_command <= state.options().max_checkpoints_per_command);
  MURPHY_ASSERT(options.max_expiries_per_poll >= 1);
  for (const LeaseInfo& lease : state.Leases()) {
    // Resume from the checkpoint, not from a full TTL.
    ArmLease(lease.id, lease.renewals, now + lease.remaining, now);
  }
  for (const WaitInfo& wait : state.TimedWaits()) {
    // Wait timeouts restart in full: they bound a client's patience, not safety.
    ArmWait(wait.waiter.ticket, wait.lock, wait.waiter.lease, now + wait.waiter.timeout);
  }
}

void LeaseTimers::Observe(std::span<const Event> events, Instant now) {
  for (const Event& event : events) {
    switch (event.kind) {
      case EventKind::kLeaseRenewed:
        ArmLease(event.lease, event.renewals, now + event.ttl, now);
        break;
      case EventKind::kLeaseEnded:
        DisarmLease(event.lease);
        break;
      case EventKind::kWaitStarted:
        if (event.ttl > Duration::Zero()) ArmWait(event.ticket, event.lock, event.lease, now + event.ttl);
        break;
      case EventKind::kGranted:
      case EventKind::kWaitEnded:
        if (event.ticket != 0) DisarmWait(event.ticket);
        break;
      case EventKind::kLost:
        break;
    }
  }
}

std::vector<Command> LeaseTimers::Poll(Instant now) {
  std::vector<Command> commands;
  size_t expiries = 0;
  while (!expiry_queue_.empty() && expiry_queue_.begin()->first <= now &&
         expiries < options_.max_expiries_per_poll) {
    const LeaseId id = expiry_queue_.begin()->second;
    expiry_queue_.erase(expiry_queue_.begin());
    LeaseTimer& timer = leases_.at(id);
    commands.push_back(ExpireLease{id, timer.renewals});
    ++expiries;
    timer.next_expiry = now + options_.repropose_interval;
    expiry_queue_.emplace(timer.next_expiry, id);
  }
  while (!wait_queue_.empty() && wait_queue_.begin()->first <= now && expiries < options_.max_expiries_per_poll) {
    const uint64_t ticket = wait_queue_.begin()->second;
    wait_queue_.erase(wait_queue_.begin());
    WaitTimer& timer = waits_.at(ticket);
    commands.push_back(ExpireWait{timer.lock, timer.lease, ticket});
    ++expiries;
    timer.next_expiry = now + options_.repropose_interval;
    wait_queue_.emplace(timer.next_expiry, ticket);
  }
  CheckpointLeases checkpoint;
  while (!checkpoint_queue_.empty() && checkpoint_queue_.begin()->first <= now &&
         checkpoint.checkpoints.size() < options_.max_checkpoints_per_command) {
    const LeaseId id = checkpoint_queue_.begin()->second;
    checkpoint_queue_.erase(checkpoint_queue_.begin());
    LeaseTimer& timer = leases_.at(id);
    timer.next_checkpoint = now + options_.checkpoint_interval;
    checkpoint_queue_.emplace(timer.next_checkpoint, id);
    // An ended lease has its expiry in flight; nothing left to checkpoint.
    if (timer.deadline <= now) continue;
    checkpoint.checkpoints.push_back(LeaseCheckpoint{id, timer.renewals, timer.deadline - now});
  }
  if (!checkpoint.checkpoints.empty()) commands.push_back(std::move(checkpoint));
  return commands;
}

std::optional<Instant> LeaseTimers::deadline(LeaseId lease) const {
  auto found = leases_.find(lease);
  if (found == leases_.end()) return std::nullopt;
  return found->second.deadline;
}

std::optional<Instant> LeaseTimers::NextWakeup() const {
  std::optional<Instant> earliest;
  const auto consider = [&](Instant at) {
    if (!earliest || at < *earliest) earliest = at;
  };
  if (!expiry_queue_.empty()) consider(expiry_queue_.begin()->first);
  if (!checkpoint_queue_.empty()) consider(checkpoint_queue_.begin()->first);
  if (!wait_queue_.empty()) consider(wait_queue_.begin()->first);
  return earliest;
}

void LeaseTimers::ArmLease(LeaseId lease, uint64_t renewals, Instant deadline, Instant now) {
  DisarmLease(lease);
  LeaseTimer timer{deadline, renewals, deadline, now + options_.checkpoint_interval};
  expiry_queue_.emplace(timer.next_expiry, lease);
  checkpoint_queue_.emplace(timer.next_checkpoint, lease);
  leases_.emplace(lease, timer);
}

void LeaseTimers::DisarmLease(LeaseId lease) {
  auto found = leases_.find(lease);
  if (found == leases_.end()) return;
  expiry_queue_.erase({found->second.next_expiry, lease});
  checkpoint_queue_.erase({found->second.next_checkpoint, lease});
  leases_.erase(found);
}

void LeaseTimers::ArmWait(uint64_t ticket, std::string lock, LeaseId lease, Instant deadline) {
  DisarmWait(ticket);
  waits_.emplace(ticket, WaitTimer{std::move(lock), lease, deadline});
  wait_queue_.emplace(deadline, ticket);
}

void LeaseTimers::DisarmWait(uint64_t ticket) {
  auto found = waits_.find(ticket);
  if (found == waits_.end()) return;
  wait_queue_.erase({found->second.next_expiry, ticket});
  waits_.erase(found);
}

}  // namespace murphy::lock
