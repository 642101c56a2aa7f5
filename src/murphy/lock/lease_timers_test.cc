// Tests of the leader's lease clock (lease_timers.h), including the stated bound on a
// dead holder's lease across a leader change.
#include "murphy/lock/lease_timers.h"

#include <gtest/gtest.h>

#include "murphy/lock/lock_test_util.h"

namespace murphy::lock {
namespace {

using testing::Harness;

const NodeId kA(1);
const NodeId kB(2);
const Instant kOrigin = Instant::FromNanoseconds(0);

// Applies the leader's proposals at once (zero commit latency) and feeds the events
// back, as the node shell does on the leader. Returns the applied outputs.
std::vector<ApplyOutput> Drive(Harness* h, LeaseTimers* timers, Instant now) {
  std::vector<ApplyOutput> outputs;
  for (const Command& command : timers->Poll(now)) {
    outputs.push_back(h->Apply(command));
    timers->Observe(outputs.back().events, now);
  }
  return outputs;
}

bool Expired(const std::vector<ApplyOutput>& outputs) {
  for (const ApplyOutput& output : outputs) {
    if (testing::FindEvent(output.events, EventKind::kLeaseEnded) != nullptr) return true;
  }
  return false;
}

TEST(LeaseTimersTest, ProposesExpiryAtTheDeadlineAndAgainIfNotApplied) {
  Harness h;
  LeaseTimers timers(h.machine, kOrigin);
  ApplyOutput grant = h.Apply(GrantLease{h.Next(kA), Seconds(10)});
  timers.Observe(grant.events, kOrigin);
  const LeaseId lease = grant.result.lease;
  EXPECT_EQ(timers.deadline(lease), kOrigin + Seconds(10));

  LeaseTimersOptions options;
  std::vector<Command> at_deadline = timers.Poll(kOrigin + Seconds(10));
  ASSERT_FALSE(at_deadline.empty());
  EXPECT_EQ(at_deadline.front(), Command(ExpireLease{lease, 0}));
  // Not applied (say the proposal was dropped): nothing until the re-proposal interval.
  for (const Command& command : timers.Poll(kOrigin + Seconds(10) + options.repropose_interval / 2)) {
    EXPECT_FALSE(std::holds_alternative<ExpireLease>(command));
  }
  std::vector<Command> again = timers.Poll(kOrigin + Seconds(10) + options.repropose_interval);
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again.front(), Command(ExpireLease{lease, 0}));
  // Applied (twice, even): the lease ends once and the timer is gone.
  ApplyOutput first = h.Apply(again.front());
  ApplyOutput duplicate = h.Apply(again.front());
  EXPECT_TRUE(first.result.status.ok());
  EXPECT_EQ(duplicate.result.status.code(), StatusCode::kNotFound);
  timers.Observe(first.events, kOrigin + Seconds(11));
  EXPECT_EQ(timers.lease_count(), 0u);
  EXPECT_FALSE(timers.NextWakeup().has_value());
}

TEST(LeaseTimersTest, KeepAliveRearmsAndWinsOverAnExpiryInFlight) {
  Harness h;
  LeaseTimers timers(h.machine, kOrigin);
  ApplyOutput grant = h.Apply(GrantLease{h.Next(kA), Seconds(10)});
  timers.Observe(grant.events, kOrigin);
  const LeaseId lease = grant.result.lease;
  std::vector<Command> expiry = timers.Poll(kOrigin + Seconds(10));
  ASSERT_TRUE(std::holds_alternative<ExpireLease>(expiry.front()));
  // A keepalive commits between the leader's decision and the expiry entry.
  ApplyOutput kept = h.KeepAlive(kA, lease);
  timers.Observe(kept.events, kOrigin + Seconds(10) + Milliseconds(1));
  EXPECT_EQ(h.Apply(expiry.front()).result.status.code(), StatusCode::kAborted);
  EXPECT_TRUE(h.machine.GetLease(lease).has_value());
  EXPECT_EQ(timers.deadline(lease), kOrigin + Seconds(20) + Milliseconds(1));
  std::vector<Command> later = timers.Poll(kOrigin + Seconds(20) + Milliseconds(1));
  ASSERT_FALSE(later.empty());
  EXPECT_EQ(later.front(), Command(ExpireLease{lease, 1}));
}

TEST(LeaseTimersTest, CheckpointsTheRemainingTtlInBoundedBatches) {
  Harness h;
  LeaseTimersOptions options;
  options.checkpoint_interval = Seconds(2);
  options.max_checkpoints_per_command = 2;
  LeaseTimers timers(h.machine, kOrigin, options);
  for (int i = 0; i < 5; ++i) timers.Observe(h.Apply(GrantLease{h.Next(kA), Seconds(10)}).events, kOrigin);
  const Instant at = kOrigin + Seconds(2);
  size_t checkpointed = 0;
  for (int poll = 0; poll < 3; ++poll) {
    std::vector<Command> commands = timers.Poll(at);
    ASSERT_EQ(commands.size(), 1u);
    const auto& checkpoint = std::get<CheckpointLeases>(commands.front());
    EXPECT_LE(checkpoint.checkpoints.size(), 2u);
    checkpointed += checkpoint.checkpoints.size();
    h.Apply(commands.front());
  }
  EXPECT_EQ(checkpointed, 5u);
  EXPECT_TRUE(timers.Poll(at).empty());
  for (const LeaseInfo& lease : h.machine.Leases()) EXPECT_EQ(lease.remaining, Seconds(8));
  EXPECT_EQ(timers.NextWakeup(), kOrigin + Seconds(4));
}

TEST(LeaseTimersTest, TimedWaitsExpireUnlessGranted) {
  Harness h;
  LeaseTimers timers(h.machine, kOrigin);
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(NodeId(3));
  h.Acquire(kA, a, "x");
  ApplyOutput wait_b = h.Acquire(kB, b, "x", AcquireMode::kWaitWithTimeout, Seconds(2));
  timers.Observe(wait_b.events, kOrigin);
  ApplyOutput wait_c = h.Acquire(NodeId(3), c, "x", AcquireMode::kWaitWithTimeout, Seconds(3));
  timers.Observe(wait_c.events, kOrigin);
  EXPECT_EQ(timers.wait_count(), 2u);
  std::vector<ApplyOutput> outputs = Drive(&h, &timers, kOrigin + Seconds(2));
  ASSERT_EQ(outputs.size(), 1u);
  EXPECT_EQ(testing::FindEvent(outputs[0].events, EventKind::kWaitEnded)->reason, EndReason::kWaitTimedOut);
  EXPECT_EQ(timers.wait_count(), 1u);
  // C is granted before its timeout: the timer is disarmed by the grant event.
  timers.Observe(h.Release(kA, a, "x").events, kOrigin + Seconds(2));
  EXPECT_EQ(timers.wait_count(), 0u);
  EXPECT_EQ(h.machine.GetLock("x")->holder, c);
}

TEST(LeaseTimersTest, ANewLeaderResumesFromTheCheckpointNotAFullTtl) {
  Harness h;
  LeaseTimersOptions options;
  options.checkpoint_interval = Seconds(2);
  LeaseTimers old_leader(h.machine, kOrigin, options);
  ApplyOutput grant = h.Apply(GrantLease{h.Next(kA), Seconds(10)});
  old_leader.Observe(grant.events, kOrigin);
  Drive(&h, &old_leader, kOrigin + Seconds(4));  // checkpoints remaining 6 s (one missed at 2 s is fine)
  EXPECT_EQ(h.machine.GetLease(grant.result.lease)->remaining, Seconds(6));
  // The new leader's monotonic clock has another origin entirely.
  const Instant new_now = Instant::FromNanoseconds(0) + Hours(100);
  LeaseTimers new_leader(h.machine, new_now, options);
  EXPECT_EQ(new_leader.deadline(grant.result.lease), new_now + Seconds(6));
}

// The bound of lease_timers.h: a holder that dies right after its grant; the leader
// crashes at `crash` (true time); a new leader takes over `election` later. The lease
// must end no earlier than TTL and no later than TTL + election + checkpoint interval.
// Without checkpoints the new leader would renew it to a full TTL from its election.
struct LeaderChangeRun {
  Duration expired_at;  // true time the ExpireLease was applied
};

LeaderChangeRun RunLeaderChange(Duration crash, Duration election, Duration interval, Duration ttl) {
  const Duration step = Milliseconds(10);
  Harness h;
  LeaseTimersOptions options;
  options.checkpoint_interval = interval;
  // Old and new leader clocks with unrelated origins.
  const Instant old_origin = Instant::FromNanoseconds(123'456'789);
  const Instant new_origin = Instant::FromNanoseconds(0) + Hours(500);
  LeaseTimers old_leader(h.machine, old_origin, options);
  old_leader.Observe(h.Apply(GrantLease{h.Next(kA), ttl}).events, old_origin);
  Duration now = Duration::Zero();
  for (; now < crash; now += step) {
    if (Expired(Drive(&h, &old_leader, old_origin + now))) return {now};
  }
  // Leader dead; nobody drives timers during the election.
  now = crash + election;
  LeaseTimers new_leader(h.machine, new_origin + now, options);
  for (; now < Hours(1); now += step) {
    if (Expired(Drive(&h, &new_leader, new_origin + now))) return {now};
  }
  ADD_FAILURE() << "lease never expired";
  return {Duration::Infinite()};
}

TEST(LeaseTimersTest, DeadHoldersLeaseEndsWithinTtlPlusElectionPlusCheckpointInterval) {
  const Duration ttl = Seconds(10);
  const Duration interval = Seconds(2);
  const Duration step = Milliseconds(10);
  int runs = 0;
  for (Duration crash = Milliseconds(50); crash < ttl; crash += Milliseconds(370)) {
    for (Duration election : {Milliseconds(150), Seconds(1), Seconds(3)}) {
      SCOPED_TRACE("crash " + FormatDuration(crash) + " election " + FormatDuration(election));
      const Duration expired_at = RunLeaderChange(crash, election, interval, ttl).expired_at;
      EXPECT_GE(expired_at, ttl);  // never earlier than the old leader's deadline
      EXPECT_LE(expired_at, ttl + election + interval + step);
      ++runs;
    }
  }
  EXPECT_GT(runs, 50);
  // The contrast (etcd's issue): with no checkpoint before the crash, the new leader
  // grants a full TTL from its election.
  const Duration crash = Seconds(9);
  const Duration election = Seconds(1);
  const Duration without = RunLeaderChange(crash, election, /*interval=*/Hours(1), ttl).expired_at;
  EXPECT_GE(without, crash + election + ttl);
  const Duration with = RunLeaderChange(crash, election, interval, ttl).expired_at;
  EXPECT_LE(with, ttl + election + interval + step);
}

TEST(LeaseTimersTest, ANewLeaderRearmsTimedWaitsAndKnowsNothingEnded) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  h.Acquire(kB, b, "x", AcquireMode::kWaitWithTimeout, Seconds(5));
  LeaseTimers timers(h.machine, kOrigin);
  EXPECT_EQ(timers.lease_count(), 2u);
  EXPECT_EQ(timers.wait_count(), 1u);
  EXPECT_EQ(timers.NextWakeup(), kOrigin + Seconds(5));  // the default checkpoint interval, and the wait
  std::vector<Command> commands = timers.Poll(kOrigin + Seconds(5));
  ASSERT_FALSE(commands.empty());
  EXPECT_TRUE(std::holds_alternative<ExpireWait>(commands.front()));
}

}  // namespace
}  // namespace murphy::lock
