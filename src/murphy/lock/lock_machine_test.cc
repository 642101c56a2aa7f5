// Unit tests of every rule of the lock/lease state machine (lock_machine.h).
#include "murphy/lock/lock_machine.h"

#include <gtest/gtest.h>

#include "murphy/lock/lease_timers.h"
#include "murphy/lock/lock_test_util.h"

namespace murphy::lock {
namespace {

using testing::FindEvent;
using testing::Harness;

const NodeId kA(1);
const NodeId kB(2);
const NodeId kC(3);
const NodeId kD(4);

// The chapter's timeline, at the state-machine level, with the leader's timers deciding
// the expiry: A gets 33, its lease ends at 10 s, B gets 34 at 11 s.
TEST(LockMachineTest, ChapterTimelineTokens33Then34) {
  Harness h;
  h.AdvanceTokenTo("storage", FencingToken(32));
  const Instant t0 = Instant::FromNanoseconds(0);
  LeaseTimers timers(h.machine, t0);

  ApplyOutput grant = h.Apply(GrantLease{h.Next(kA), Seconds(10)});
  timers.Observe(grant.events, t0);
  const LeaseId lease_a = grant.result.lease;
  ApplyOutput acquired = h.Acquire(kA, lease_a, "storage");
  ASSERT_EQ(acquired.result.state, AcquireState::kGranted);
  EXPECT_EQ(acquired.result.token, FencingToken(33));

  // 5 s: A pauses (GC); no keepalives. At 9.999 s the lease is still A's.
  for (const Command& command : timers.Poll(t0 + Milliseconds(9999))) {
    EXPECT_FALSE(std::holds_alternative<ExpireLease>(command));
    h.Apply(command);  // checkpoints
  }
  // 10 s: the leader's clock says the lease ended; it commits ExpireLease.
  std::vector<Command> proposals = timers.Poll(t0 + Seconds(10));
  ASSERT_FALSE(proposals.empty());
  ASSERT_TRUE(std::holds_alternative<ExpireLease>(proposals.front()));
  ApplyOutput expired = h.Apply(proposals.front());
  ASSERT_TRUE(expired.result.status.ok());
  const Event* lost = FindEvent(expired.events, EventKind::kLost);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->lease, lease_a);
  EXPECT_EQ(lost->token, FencingToken(33));
  EXPECT_EQ(lost->reason, EndReason::kLeaseExpired);
  EXPECT_EQ(lost->client, kA);

  // 11 s: B acquires and gets 34.
  const LeaseId lease_b = h.GrantLease(kB);
  ApplyOutput b = h.Acquire(kB, lease_b, "storage");
  ASSERT_EQ(b.result.state, AcquireState::kGranted);
  EXPECT_EQ(b.result.token, FencingToken(34));
  EXPECT_EQ(h.machine.GetLock("storage")->holder, lease_b);
}

TEST(LockMachineTest, EachLockHasItsOwnCounter) {
  Harness h;
  const LeaseId lease = h.GrantLease(kA);
  EXPECT_EQ(h.Acquire(kA, lease, "a").result.token, FencingToken(1));
  EXPECT_EQ(h.Acquire(kA, lease, "b").result.token, FencingToken(1));
  h.Release(kA, lease, "a");
  EXPECT_EQ(h.Acquire(kA, lease, "a").result.token, FencingToken(2));
  EXPECT_EQ(h.machine.GetLock("b")->token, FencingToken(1));
}

TEST(LockMachineTest, WaitersAreGrantedInFifoOrderWithIncreasingTokens) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  const LeaseId d = h.GrantLease(kD);
  EXPECT_EQ(h.Acquire(kA, a, "x").result.token, FencingToken(1));
  ApplyOutput wait_b = h.Acquire(kB, b, "x");
  ApplyOutput wait_c = h.Acquire(kC, c, "x");
  ApplyOutput wait_d = h.Acquire(kD, d, "x");
  EXPECT_EQ(wait_b.result.state, AcquireState::kWaiting);
  EXPECT_EQ(wait_b.result.position, 0u);
  EXPECT_EQ(wait_c.result.position, 1u);
  EXPECT_EQ(wait_d.result.position, 2u);
  ASSERT_NE(FindEvent(wait_b.events, EventKind::kWaitStarted), nullptr);
  std::vector<WaiterInfo> waiters = h.machine.GetLock("x")->waiters;
  ASSERT_EQ(waiters.size(), 3u);
  EXPECT_EQ(waiters[0].lease, b);
  EXPECT_EQ(waiters[2].lease, d);

  const std::vector<std::pair<NodeId, LeaseId>> order = {{kA, a}, {kB, b}, {kC, c}};
  uint64_t token = 1;
  for (const auto& [client, lease] : order) {
    ApplyOutput released = h.Release(client, lease, "x");
    ASSERT_TRUE(released.result.status.ok());
    EXPECT_EQ(FindEvent(released.events, EventKind::kLost), nullptr);  // voluntary: no loss event
    const Event* granted = FindEvent(released.events, EventKind::kGranted);
    ASSERT_NE(granted, nullptr);
    EXPECT_EQ(granted->token, FencingToken(++token));
    EXPECT_NE(granted->ticket, 0u);
  }
  EXPECT_EQ(h.machine.GetLock("x")->holder, d);
  EXPECT_EQ(h.machine.GetLock("x")->token, FencingToken(4));
}

TEST(LockMachineTest, TryFailsOnAHeldLockWithoutQueueing) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  ApplyOutput tried = h.Acquire(kB, b, "x", AcquireMode::kTry);
  EXPECT_EQ(tried.result.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(h.machine.GetLock("x")->waiters.empty());
  EXPECT_TRUE(tried.events.empty());
}

TEST(LockMachineTest, ExpiryReleasesHeldLocksAndGrantsTheNextWaiterANewToken) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  h.Acquire(kA, a, "y");
  h.Acquire(kB, b, "x");
  ApplyOutput expired = h.Expire(a);
  ASSERT_TRUE(expired.result.status.ok());
  // Ordered: losses (by lock name), the next grant right after its loss, then the lease end.
  ASSERT_EQ(expired.events.size(), 4u);
  EXPECT_EQ(expired.events[0].kind, EventKind::kLost);
  EXPECT_EQ(expired.events[0].lock, "x");
  EXPECT_EQ(expired.events[1].kind, EventKind::kGranted);
  EXPECT_EQ(expired.events[1].lease, b);
  EXPECT_EQ(expired.events[1].token, FencingToken(2));
  EXPECT_EQ(expired.events[2].kind, EventKind::kLost);
  EXPECT_EQ(expired.events[2].lock, "y");
  EXPECT_EQ(expired.events[3].kind, EventKind::kLeaseEnded);
  EXPECT_FALSE(h.machine.GetLease(a).has_value());
  EXPECT_FALSE(h.machine.GetLock("y")->holder.has_value());
  EXPECT_EQ(h.machine.GetLock("y")->token, FencingToken(1));  // a free lock keeps its counter
}

TEST(LockMachineTest, RevokeReleasesHeldLocksAndCancelsWaits) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  h.Acquire(kA, a, "x");
  h.Acquire(kB, b, "x");
  h.Acquire(kC, c, "x");
  ApplyOutput revoked = h.Revoke(kB, b);  // a waiter leaves the queue
  const Event* ended = FindEvent(revoked.events, EventKind::kWaitEnded);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->reason, EndReason::kLeaseRevoked);
  revoked = h.Revoke(kA, a);  // the holder leaves: C (not B) is next
  const Event* lost = FindEvent(revoked.events, EventKind::kLost);
  ASSERT_NE(lost, nullptr);
  EXPECT_EQ(lost->reason, EndReason::kLeaseRevoked);
  const Event* granted = FindEvent(revoked.events, EventKind::kGranted);
  ASSERT_NE(granted, nullptr);
  EXPECT_EQ(granted->lease, c);
  EXPECT_EQ(granted->token, FencingToken(2));
}

TEST(LockMachineTest, AKeepAliveCommittedBeforeTheExpiryWins) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  h.Acquire(kA, a, "x");
  const uint64_t decided_generation = h.machine.GetLease(a)->renewals;
  ApplyOutput kept = h.KeepAlive(kA, a);
  EXPECT_TRUE(kept.result.status.ok());
  EXPECT_EQ(kept.result.ttl, Seconds(10));
  ApplyOutput expired = h.Apply(ExpireLease{a, decided_generation});
  EXPECT_EQ(expired.result.status.code(), StatusCode::kAborted);
  EXPECT_TRUE(expired.events.empty());
  EXPECT_EQ(h.machine.GetLock("x")->holder, a);
  EXPECT_EQ(h.Apply(ExpireLease{LeaseId(77), 0}).result.status.code(), StatusCode::kNotFound);
}

TEST(LockMachineTest, KeepAliveRestoresTheFullTtlAndBumpsTheGeneration) {
  Harness h;
  const LeaseId a = h.GrantLease(kA, Seconds(10));
  h.Apply(CheckpointLeases{{{a, 0, Seconds(3)}}});
  EXPECT_EQ(h.machine.GetLease(a)->remaining, Seconds(3));
  h.KeepAlive(kA, a);
  EXPECT_EQ(h.machine.GetLease(a)->remaining, Seconds(10));
  EXPECT_EQ(h.machine.GetLease(a)->renewals, 1u);
}

TEST(LockMachineTest, CheckpointsOfAnOlderGenerationAreIgnoredAndValuesClamped) {
  Harness h;
  const LeaseId a = h.GrantLease(kA, Seconds(10));
  h.KeepAlive(kA, a);  // generation 1
  EXPECT_TRUE(h.Apply(CheckpointLeases{{{a, 0, Seconds(2)}}}).result.status.ok());
  EXPECT_EQ(h.machine.GetLease(a)->remaining, Seconds(10));
  h.Apply(CheckpointLeases{{{a, 1, Seconds(99)}}});
  EXPECT_EQ(h.machine.GetLease(a)->remaining, Seconds(10));
  h.Apply(CheckpointLeases{{{a, 1, -Seconds(1)}, {LeaseId(42), 0, Seconds(1)}}});
  EXPECT_EQ(h.machine.GetLease(a)->remaining, Duration::Zero());
}

TEST(LockMachineTest, AcquireIsIdempotentPerLockAndLease) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  EXPECT_EQ(h.Acquire(kA, a, "x").result.token, FencingToken(1));
  ApplyOutput again = h.Acquire(kA, a, "x");  // new sequence number, same lease
  EXPECT_EQ(again.result.state, AcquireState::kGranted);
  EXPECT_EQ(again.result.token, FencingToken(1));
  EXPECT_TRUE(again.events.empty());
  ApplyOutput wait = h.Acquire(kB, b, "x");
  ApplyOutput wait_again = h.Acquire(kB, b, "x", AcquireMode::kTry);
  EXPECT_EQ(wait_again.result.state, AcquireState::kWaiting);
  EXPECT_EQ(wait_again.result.ticket, wait.result.ticket);
  EXPECT_EQ(h.machine.GetLock("x")->waiters.size(), 1u);
}

// ZOOKEEPER-1262: the reply to an acquire is lost, the client retries, and the server
// must not create a second ("ghost") grant or waiter.
TEST(LockMachineTest, RetriedAcquireNeverCreatesAGhostGrant) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const Acquire acquire{h.Next(kA), "x", a, AcquireMode::kWait, Duration::Zero()};
  ApplyOutput first = h.Apply(acquire);
  ASSERT_EQ(first.result.token, FencingToken(1));
  ApplyOutput retry = h.Apply(acquire);  // reply lost; same request id
  EXPECT_EQ(retry.result, first.result);
  EXPECT_TRUE(retry.events.empty());
  EXPECT_EQ(h.machine.GetLock("x")->token, FencingToken(1));

  // Released, taken by B; then A's old acquire arrives once more, late.
  const Release release{h.Next(kA), "x", a};
  ASSERT_TRUE(h.Apply(release).result.status.ok());
  EXPECT_EQ(h.Acquire(kB, b, "x").result.token, FencingToken(2));
  ApplyOutput late = h.Apply(acquire);
  EXPECT_EQ(late.result, first.result);  // the stored answer, not a new grant
  EXPECT_TRUE(late.events.empty());
  EXPECT_EQ(h.machine.GetLock("x")->holder, b);
  EXPECT_TRUE(h.machine.GetLock("x")->waiters.empty());
  EXPECT_TRUE(h.machine.GetLease(a)->held.empty());
  // A retried release does not release B's grant either.
  EXPECT_TRUE(h.Apply(release).result.status.ok());
  EXPECT_EQ(h.machine.GetLock("x")->holder, b);
  EXPECT_EQ(h.machine.GetLock("x")->token, FencingToken(2));
}

TEST(LockMachineTest, RetriedWaitingAcquireQueuesOnce) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  const Acquire acquire{h.Next(kB), "x", b, AcquireMode::kWait, Duration::Zero()};
  ApplyOutput first = h.Apply(acquire);
  ApplyOutput retry = h.Apply(acquire);
  EXPECT_EQ(retry.result, first.result);
  EXPECT_EQ(h.machine.GetLock("x")->waiters.size(), 1u);
}

TEST(LockMachineTest, RetriedGrantLeaseCreatesOneLease) {
  Harness h;
  const GrantLease grant{h.Next(kA), Seconds(5)};
  ApplyOutput first = h.Apply(grant);
  ApplyOutput retry = h.Apply(grant);
  EXPECT_EQ(retry.result, first.result);
  EXPECT_EQ(h.machine.lease_count(), 1u);
}

TEST(LockMachineTest, SequenceWindowReplaysRemembersReorderingAndRefusesForgottenNumbers) {
  LockMachineOptions options;
  options.results_per_client = 3;
  Harness h(options);
  const LeaseId a = h.GrantLease(kA);  // sequence 1
  // Sequence 3 arrives before 2 (pipelined requests): both apply once.
  EXPECT_TRUE(h.Apply(KeepAlive{{kA, 3}, a}).result.status.ok());
  EXPECT_TRUE(h.Apply(KeepAlive{{kA, 2}, a}).result.status.ok());
  EXPECT_EQ(h.machine.GetLease(a)->renewals, 2u);
  EXPECT_TRUE(h.Apply(KeepAlive{{kA, 2}, a}).result.status.ok());
  EXPECT_EQ(h.machine.GetLease(a)->renewals, 2u);  // replayed, not applied
  // Window holds 3 results: 4 pushes out 1.
  EXPECT_TRUE(h.Apply(KeepAlive{{kA, 4}, a}).result.status.ok());
  ApplyOutput forgotten = h.Apply(GrantLease{{kA, 1}, Seconds(10)});
  EXPECT_EQ(forgotten.result.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.machine.lease_count(), 1u);
  EXPECT_EQ(h.Apply(KeepAlive{{kA, 0}, a}).result.status.code(), StatusCode::kInvalidArgument);
}

TEST(LockMachineTest, ErrorsAreStoredAndReplayedToo) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  const Acquire tried{h.Next(kB), "x", b, AcquireMode::kTry, Duration::Zero()};
  EXPECT_EQ(h.Apply(tried).result.status.code(), StatusCode::kFailedPrecondition);
  h.Release(kA, a, "x");
  // The same request again: "what happened to it?" — it failed; nothing is granted now.
  EXPECT_EQ(h.Apply(tried).result.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(h.machine.GetLock("x")->holder.has_value());
}

TEST(LockMachineTest, LeasesBelongToTheirClient) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  EXPECT_EQ(h.KeepAlive(kB, a).result.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(h.Revoke(kB, a).result.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(h.Acquire(kB, a, "x").result.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(h.KeepAlive(kA, LeaseId(99)).result.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(h.Acquire(kA, LeaseId(99), "x").result.status.code(), StatusCode::kNotFound);
}

TEST(LockMachineTest, ReleaseByAWaiterCancelsItsWaitAndByAStrangerFails) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  h.Acquire(kA, a, "x");
  h.Acquire(kB, b, "x");
  EXPECT_EQ(h.Release(kC, c, "x").result.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.Release(kC, c, "nope").result.status.code(), StatusCode::kFailedPrecondition);
  ApplyOutput cancelled = h.Release(kB, b, "x");
  ASSERT_TRUE(cancelled.result.status.ok());
  const Event* ended = FindEvent(cancelled.events, EventKind::kWaitEnded);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->reason, EndReason::kReleased);
  EXPECT_TRUE(h.machine.GetLock("x")->waiters.empty());
  EXPECT_TRUE(h.machine.GetLease(b)->waiting.empty());
}

TEST(LockMachineTest, CancelWaitWithdrawsAWaitIdempotentlyAndNeverGivesUpAGrant) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  ASSERT_EQ(h.Acquire(kA, a, "x").result.state, AcquireState::kGranted);
  ASSERT_EQ(h.Acquire(kB, b, "x").result.state, AcquireState::kWaiting);
  const ApplyOutput wait_c = h.Acquire(kC, c, "x");
  ASSERT_EQ(wait_c.result.state, AcquireState::kWaiting);

  // B withdraws: its wait ends (pushed to it), C moves up, A keeps the lock.
  ApplyOutput cancelled = h.Apply(CancelWait{h.Next(kB), "x", b});
  ASSERT_TRUE(cancelled.result.status.ok());
  EXPECT_EQ(cancelled.result.state, AcquireState::kNone);
  const Event* ended = FindEvent(cancelled.events, EventKind::kWaitEnded);
  ASSERT_NE(ended, nullptr);
  EXPECT_EQ(ended->lease, b);
  EXPECT_EQ(ended->client, kB);
  EXPECT_EQ(h.machine.GetLock("x")->waiters, (std::vector<WaiterInfo>{{c, wait_c.result.ticket, Duration::Zero()}}));
  EXPECT_TRUE(h.machine.GetLease(b)->waiting.empty());
  EXPECT_EQ(h.machine.GetLock("x")->holder, a);

  // Idempotent: again (a new request) there is nothing left to withdraw; a retry of
  // the same request is answered from memory.
  ApplyOutput again = h.Apply(CancelWait{h.Next(kB), "x", b});
  EXPECT_TRUE(again.result.status.ok());
  EXPECT_EQ(again.result.state, AcquireState::kNone);
  EXPECT_TRUE(again.events.empty());
  EXPECT_TRUE(h.Apply(CancelWait{h.Next(kB), "never-waited", b}).result.status.ok());

  // The grant races ahead of C's cancel: the answer says so, and C still holds.
  h.Release(kA, a, "x");
  ASSERT_EQ(h.machine.GetLock("x")->holder, c);
  ApplyOutput raced = h.Apply(CancelWait{h.Next(kC), "x", c});
  ASSERT_TRUE(raced.result.status.ok());
  EXPECT_EQ(raced.result.state, AcquireState::kGranted);
  EXPECT_EQ(raced.result.token, FencingToken(2));
  EXPECT_TRUE(raced.events.empty());
  EXPECT_EQ(h.machine.GetLock("x")->holder, c);

  // Only the lease's own client may cancel; unknown leases and bad names are errors.
  EXPECT_EQ(h.Apply(CancelWait{h.Next(kA), "x", c}).result.status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(h.Apply(CancelWait{h.Next(kA), "x", LeaseId(99)}).result.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(h.Apply(CancelWait{h.Next(kA), "", a}).result.status.code(), StatusCode::kInvalidArgument);
}

TEST(LockMachineTest, TimedWaitsEndByExpireWaitUnlessGrantedFirst) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  h.Acquire(kA, a, "x");
  ApplyOutput wait_b = h.Acquire(kB, b, "x", AcquireMode::kWaitWithTimeout, Seconds(2));
  ApplyOutput wait_c = h.Acquire(kC, c, "x", AcquireMode::kWaitWithTimeout, Seconds(2));
  const Event* started = FindEvent(wait_b.events, EventKind::kWaitStarted);
  ASSERT_NE(started, nullptr);
  EXPECT_EQ(started->ttl, Seconds(2));
  EXPECT_EQ(h.machine.TimedWaits().size(), 2u);
  ApplyOutput timed_out = h.Apply(ExpireWait{"x", b, wait_b.result.ticket});
  ASSERT_TRUE(timed_out.result.status.ok());
  EXPECT_EQ(FindEvent(timed_out.events, EventKind::kWaitEnded)->reason, EndReason::kWaitTimedOut);
  h.Release(kA, a, "x");
  EXPECT_EQ(h.machine.GetLock("x")->holder, c);
  // Too late for C's wait: it was granted; the expiry is ignored.
  EXPECT_EQ(h.Apply(ExpireWait{"x", c, wait_c.result.ticket}).result.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(h.machine.GetLock("x")->holder, c);
}

TEST(LockMachineTest, ArgumentsAreValidated) {
  LockMachineOptions options;
  options.max_name_bytes = 8;
  Harness h(options);
  const LeaseId a = h.GrantLease(kA);
  EXPECT_EQ(h.Acquire(kA, a, "").result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Acquire(kA, a, "123456789").result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.Acquire(kA, a, "12345678").result.status.ok());
  EXPECT_EQ(h.Acquire(kA, a, "t", AcquireMode::kWaitWithTimeout).result.status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Acquire(kA, a, "t", AcquireMode::kWaitWithTimeout, Hours(2)).result.status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Acquire(kA, a, "t", AcquireMode::kWait, Seconds(1)).result.status.code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Apply(GrantLease{h.Next(kA), Milliseconds(999)}).result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.Apply(GrantLease{h.Next(kA), Hours(2)}).result.status.code(), StatusCode::kInvalidArgument);
}

TEST(LockMachineTest, LimitsGiveResourceExhaustedAndChangeNothing) {
  LockMachineOptions options;
  options.max_waiters_per_lock = 1;
  options.max_leases_per_client = 2;
  options.max_locks_per_lease = 2;
  options.max_locks = 3;
  options.max_leases = 4;
  options.max_sessions = 5;
  Harness h(options);
  const LeaseId a = h.GrantLease(kA);
  const LeaseId a2 = h.GrantLease(kA);
  EXPECT_EQ(h.Apply(GrantLease{h.Next(kA), Seconds(10)}).result.status.code(), StatusCode::kResourceExhausted);
  const LeaseId b = h.GrantLease(kB);
  const LeaseId c = h.GrantLease(kC);
  EXPECT_EQ(h.Apply(GrantLease{h.Next(kD), Seconds(10)}).result.status.code(), StatusCode::kResourceExhausted);

  h.Acquire(kA, a, "x");
  h.Acquire(kA, a, "y");
  EXPECT_EQ(h.Acquire(kA, a, "z").result.status.code(), StatusCode::kResourceExhausted);  // locks per lease
  h.Acquire(kB, b, "x");
  EXPECT_EQ(h.Acquire(kC, c, "x").result.status.code(), StatusCode::kResourceExhausted);  // waiters
  h.Acquire(kA, a2, "z");
  EXPECT_EQ(h.Acquire(kC, c, "w").result.status.code(), StatusCode::kResourceExhausted);  // total locks
  EXPECT_EQ(h.machine.active_lock_count(), 3u);
  EXPECT_FALSE(h.machine.GetLock("w").has_value());
}

TEST(LockMachineTest, ForgottenIdleLocksNeverRepeatATokenForTheirName) {
  LockMachineOptions options;
  options.max_idle_locks = 1;
  Harness h(options);
  const LeaseId a = h.GrantLease(kA);
  for (int i = 0; i < 5; ++i) {
    h.Acquire(kA, a, "a");
    h.Release(kA, a, "a");
  }
  EXPECT_EQ(h.machine.GetLock("a")->token, FencingToken(5));
  h.Acquire(kA, a, "b");
  h.Release(kA, a, "b");  // "a" was idle longest: forgotten, floor raised to 5
  EXPECT_FALSE(h.machine.GetLock("a").has_value());
  EXPECT_EQ(h.machine.token_floor(), FencingToken(5));
  EXPECT_EQ(h.Acquire(kA, a, "a").result.token, FencingToken(6));
  EXPECT_EQ(h.machine.idle_lock_count(), 1u);
  EXPECT_EQ(h.machine.GetLock("b")->token, FencingToken(1));
}

TEST(LockMachineTest, LeaselessSessionsAreForgottenLeastRecentlyUsedFirst) {
  LockMachineOptions options;
  options.max_leases = 1;
  options.max_sessions = 2;
  Harness h(options);
  const LeaseId a = h.GrantLease(kA);
  EXPECT_EQ(h.KeepAlive(kB, a).result.status.code(), StatusCode::kPermissionDenied);  // B: session, no lease
  EXPECT_EQ(h.KeepAlive(kC, a).result.status.code(), StatusCode::kPermissionDenied);  // evicts B, not A
  EXPECT_EQ(h.machine.session_count(), 2u);
  const RequestId retry{kA, 1};
  EXPECT_EQ(h.Apply(GrantLease{retry, Seconds(10)}).result.lease, a);  // A's memory survived
}

TEST(LockMachineTest, UndecodableEntriesChangeNothing) {
  Harness h;
  h.GrantLease(kA);
  const Bytes before = h.machine.Serialize();
  const uint8_t garbage[] = {kCommandEncodingVersion, 4, 0xff};
  ApplyOutput output = h.machine.ApplyEncoded(garbage);
  EXPECT_EQ(output.result.status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(output.events.empty());
  const Bytes after = h.machine.Serialize();
  EXPECT_EQ(h.machine.lease_count(), 1u);
  EXPECT_NE(before, after);  // only the logical clock moved, identically on every replica
}

TEST(LockMachineTest, EncodedAndStructCommandsAgree) {
  Harness first;
  Harness second;
  const Command grant = GrantLease{{kA, 1}, Seconds(10)};
  const Command acquire = Acquire{{kA, 2}, "x", LeaseId(1), AcquireMode::kWait, Duration::Zero()};
  for (const Command& command : {grant, acquire}) {
    ApplyOutput direct = first.machine.Apply(command);
    ApplyOutput encoded = second.machine.ApplyEncoded(EncodeCommand(command));
    EXPECT_EQ(direct.result, encoded.result);
    EXPECT_EQ(direct.events, encoded.events);
  }
  EXPECT_EQ(first.machine.Serialize(), second.machine.Serialize());
}

TEST(LockMachineTest, SnapshotRoundTripsToTheSameBytesAndTokensKeepIncreasing) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  const LeaseId b = h.GrantLease(kB);
  h.Acquire(kA, a, "x");
  h.Acquire(kB, b, "x", AcquireMode::kWaitWithTimeout, Seconds(3));
  h.Acquire(kA, a, "y");
  h.Release(kA, a, "y");
  h.Apply(CheckpointLeases{{{a, 0, Seconds(4)}}});
  const Bytes snapshot = h.machine.Serialize();

  LockMachine restored;
  ASSERT_TRUE(restored.Restore(snapshot).ok());
  EXPECT_TRUE(restored.CheckInvariants().ok());
  EXPECT_EQ(restored.Serialize(), snapshot);
  EXPECT_EQ(restored.GetLease(a)->remaining, Seconds(4));
  EXPECT_EQ(restored.GetLock("x")->waiters.size(), 1u);

  // After the restore (a restart, a new replica): the next grant of x is 2, of y 2.
  ApplyOutput expired = restored.Apply(ExpireLease{a, 0});
  EXPECT_EQ(FindEvent(expired.events, EventKind::kGranted)->token, FencingToken(2));
  ApplyOutput y = restored.Apply(Acquire{{kB, 9}, "y", b, AcquireMode::kTry, Duration::Zero()});
  EXPECT_EQ(y.result.token, FencingToken(2));
  // And the idempotency memory came along: A's first request is still answered.
  EXPECT_EQ(restored.Apply(GrantLease{{kA, 1}, Seconds(10)}).result.lease, a);
}

TEST(LockMachineTest, CorruptSnapshotsAreRefusedAndLeaveTheStateUntouched) {
  Harness h;
  const LeaseId a = h.GrantLease(kA);
  h.Acquire(kA, a, "x");
  Bytes snapshot = h.machine.Serialize();
  Harness other;
  other.GrantLease(kB);
  const Bytes before = other.machine.Serialize();

  Bytes flipped = snapshot;
  flipped[3] ^= 0x10;
  EXPECT_EQ(other.machine.Restore(flipped).code(), StatusCode::kDataLoss);
  EXPECT_EQ(other.machine.Restore(std::span<const uint8_t>(snapshot.data(), 4)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(other.machine.Serialize(), before);
}

}  // namespace
}  // namespace murphy::lock
