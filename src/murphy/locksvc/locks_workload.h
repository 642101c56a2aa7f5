// murphy/locksvc/locks_workload.h — the `locks` simulation workloads: the replicated
// lock service (LockNode: NodeShell + LockStateMachine + lease timers) under the
// random nemesis, used by LockClient workers that acquire, write with their fencing
// tokens, release, pause past their TTL and crash; judged by fencing, lease and
// liveness checkers.
//
// Contract: `RegisterLocksWorkloads(registry)` adds
//   locks                       3 or 5 nodes (from the seed), 4 workers on 2 locks;
//   locks-unsafe-store          the store skips the token check (must be caught);
//   locks-unsafe-client         workers ignore safe-until and loss: every write goes
//                               out with the token, whatever the lease (must be caught);
//   locks-full-ttl-on-failover  a new leader arms every lease with its full TTL instead
//                               of the checkpointed remaining TTL (must be caught).
// Workers: each loops acquire (kWait or kTry, TTL kTtl; some waits are cancelled after
// a while, LockClient::CancelAcquire) → 1–3 fenced writes through
// LockClient::Write (which refuses when not safe) → release. With some probability a
// holder is paused for kGcPause > TTL (the chapter's GC pause) and, on waking, makes a
// "zombie" write with WriteWithToken (no local check: the store's fence is the only
// protection). Workers are nemesis targets (network, pause, suspend, clock, crash);
// nodes also get disk faults and are restarted by a supervisor after a fatal disk error.
// Every replica reports each applied entry; the first application of each log index
// (in true time) is the record the checkers use.
// Checks, after faults and the quiet period:
//   1. per resource, the store never accepted a token lower than one it accepted
//      before (log order);
//   2. FencingChecker per resource (true time of first apply): no accepted write of a
//      superseded holder after the newer holder wrote, no ungranted token; and the
//      holder oracle: no write sent through the safe path (Write) at a true time after
//      its grant had been superseded (a newer grant of the lock applied);
//   3. lock safety: per lock, grant tokens strictly increase in log order, and every
//      token a client was told it holds was granted to that client; and
//      linearizability of lock operations: what the workers saw, in true time, is
//      checked against check/'s lock service model (model.h) — acquires (a granted
//      one with its token, whatever the mode: a granted wait is an acquire whose
//      interval covers the grant; a kTry refused because the lock was held; every
//      other failure as "unknown": it may have been granted — unless no grant of the
//      log that no successful acquire claims can explain it, then it failed), reads
//      of holder and token (GetLock), fenced writes (accepted with max token and version, rejected
//      as stale with the store's max token and version, or unknown) and fenced reads.
//      Leases end by the leader's timers or by a revoke, not by a client operation
//      with an answer: each end of a holding (a `lost` event of an applied entry: the
//      workers release by revoking their lease) is recorded as a release on the
//      holder's behalf at the true time its entry was first applied — after the
//      entry's commit and before any client could hear of it, so within the interval
//      of every operation that observed it. Not covered: the drill's lock (its
//      clients are steered directly), the wait queue's order (FIFO), waits that ended
//      without a grant, keepalives, and whether a worker acts only while safe (that
//      is the holder oracle of 2); a failing run reports every checker that failed;
//   4. the lease bound after leader changes (a drill after the quiet period): a holder
//      is crashed at t_c, then the leader is crashed three times; its lease must end
//      (applied) by t_c + TTL + checkpoint interval + Σ_k (election time_k + checkpoint
//      interval) + kCommitSlack, with election time_k measured (leader crash → next
//      leader) — lease_timers.h's bound, one term per leader change;
//   5. liveness: the waiter queued behind the dead holder is granted by the same
//      applied entry that ends the lease, and its client holds the lock within
//      kWaiterBound of that; plus Raft safety and persist-before-send (node_checkers.h).
#pragma once

#include "murphy/core/time.h"
#include "murphy/sim/workload.h"

namespace murphy::locksvc {

inline constexpr Duration kTtl = Seconds(2);
inline constexpr Duration kGcPause = Seconds(3);
inline constexpr Duration kCheckpointInterval = Milliseconds(500);
inline constexpr Duration kCommitSlack = Milliseconds(300);
inline constexpr Duration kWaiterBound = Milliseconds(1500);

void RegisterLocksWorkloads(sim::WorkloadRegistry& registry);

}  // namespace murphy::locksvc
