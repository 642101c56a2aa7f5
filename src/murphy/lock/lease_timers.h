// murphy/lock/lease_timers.h — the leader's lease clock: which leases (and timed
// waits) have ended on the leader's monotonic clock, and what remaining TTL to
// checkpoint.
//
// Contract: `LeaseTimers` is pure (time is an argument) and deterministic. Only the
// leader has one. The node shell drives it:
//   on becoming leader   timers = LeaseTimers(machine, now, options): every lease is
//                        armed to expire at now + its remaining TTL *as last
//                        checkpointed* (not a fresh full TTL — etcd's long-standing
//                        issue), every timed wait at now + its full timeout;
//   after each apply     timers.Observe(output.events, now): grants and keepalives
//                        re-arm a lease to now + TTL, ended leases and waits disarm;
//   on every tick        for (Command c : timers.Poll(now)) Propose(EncodeCommand(c)):
//                        ExpireLease for each lease whose deadline has passed,
//                        ExpireWait for each timed-out wait, and CheckpointLeases with
//                        the remaining TTL of each lease whose checkpoint is due
//                        (every `checkpoint_interval` since its renewal or last
//                        checkpoint), at most `max_checkpoints_per_command` at a time;
//   on losing leadership drop the object; a later term builds a new one.
// An expiry proposed but not yet applied is proposed again after `repropose_interval`
// (a proposal can be lost in a leader change or dropped); the machine ignores the
// duplicate or the stale one (ExpireLease names the lease generation).
//
// The bound. Let a holder die right after its last keepalive was applied at leader
// time r, and let one leader change happen: the old leader fails at d, and the new one
// builds its timers at e. The old leader's deadline was r + TTL. The last checkpoint
// the old leader committed was taken at some c with d - c <= checkpoint_interval (plus
// commit latency); it recorded remaining = r + TTL - c (or, if no checkpoint followed
// the renewal, the full TTL measured from r >= c). The new leader expires the lease at
//     e + (r + TTL - c) = (r + TTL) + (e - d) + (d - c)
//                       <= r + TTL + election time + checkpoint interval,
// so a dead holder's lease ends within TTL + election time + checkpoint interval of its
// last keepalive (measured on the leaders' monotonic clocks; clock drift scales the
// terms). Since d >= c, it also never ends *earlier* than r + TTL: a leader change only
// lengthens a lease, which keeps the holder's conservative safe-until valid. Each
// further leader change that happens before the new leader's first checkpoint commits
// adds another election time + checkpoint interval.
// Thread safety: none; one owner (the leader's event loop). Ownership: copies what it
// needs from the machine; keeps no reference to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/time.h"
#include "murphy/lock/lock_command.h"
#include "murphy/lock/lock_machine.h"

namespace murphy::lock {

struct LeaseTimersOptions {
  Duration checkpoint_interval = Seconds(5);
  Duration repropose_interval = Seconds(1);
  // REQUIRES: <= the machine's max_checkpoints_per_command.
  size_t max_checkpoints_per_command = 1000;
  // Expiries proposed per Poll; the rest wait for the next Poll.
  size_t max_expiries_per_poll = 1000;
};

class LeaseTimers {
 public:
  // Arms every lease and timed wait of the applied state, as of `now`.
  LeaseTimers(const LockMachine& state, Instant now, const LeaseTimersOptions& options = {});

  // Feeds the events of one applied command, applied at `now`.
  void Observe(std::span<const Event> events, Instant now);

  // The commands to propose now, in a deterministic order: expiries, wait expiries,
  // then at most one checkpoint.
  std::vector<Command> Poll(Instant now);

  // When the lease will be proposed for expiry; nullopt if unknown here.
  std::optional<Instant> deadline(LeaseId lease) const;
  // The earliest time at which Poll has something to do; nullopt if nothing is armed.
  std::optional<Instant> NextWakeup() const;
  size_t lease_count() const { return leases_.size(); }
  size_t wait_count() const { return waits_.size(); }

 private:
  struct LeaseTimer {
    Instant deadline;
    uint64_t renewals = 0;
    Instant next_expiry;      // deadline, then each re-proposal
    Instant next_checkpoint;
  };
  struct WaitTimer {
    std::string lock;
    LeaseId lease;
    Instant next_expiry;
  };

  void ArmLease(LeaseId lease, uint64_t renewals, Instant deadline, Instant now);
  void DisarmLease(LeaseId lease);
  void ArmWait(uint64_t ticket, std::string lock, LeaseId lease, Instant deadline);
  void DisarmWait(uint64_t ticket);

  LeaseTimersOptions options_;
  std::unordered_map<LeaseId, LeaseTimer> leases_;
  std::set<std::pair<Instant, LeaseId>> expiry_queue_;
  std::set<std::pair<Instant, LeaseId>> checkpoint_queue_;
  std::map<uint64_t, WaitTimer> waits_;  // by ticket
  std::set<std::pair<Instant, uint64_t>> wait_queue_;
};

}  // namespace murphy::lock
