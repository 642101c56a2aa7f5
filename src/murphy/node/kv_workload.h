// murphy/node/kv_workload.h — the `kv` simulation workloads: a replicated KV store
// (NodeShell + KvStateMachine) under every fault the simulator has, judged by
// linearizability, Raft safety, persist-before-send and liveness.
//
// Contract: `RegisterKvWorkloads(registry)` adds
//   kv                 3 or 5 nodes (chosen from the seed) and 3 random KV clients;
//                      the runner's random nemesis (swarm kinds) hits every process
//                      with network, pause, suspend, slow and clock faults, and the
//                      nodes with crashes (unsynced writes lost or torn) and disk
//                      faults (fsync errors, read corruption, sync latency);
//   kv-partitions      3 nodes, 3 clients; instead of the random nemesis, a slice of
//                      the exhaustive 64-pattern directed partial-partition sweep
//                      (sim/schedule.h): seed s holds patterns 8(s mod 8) .. +7, one
//                      second each with 200 ms of full connectivity between, so
//                      eight consecutive seeds cover all 63 non-empty patterns;
//   kv-unsafe-persist  kv with the deliberately broken shell that sends
//                      messages_after_persist before its WAL sync: the checker
//                      must fail (proof that the monitor can).
// A node that stops on a fatal disk error is restarted by a supervisor (as systemd
// would) kSupervisorRestartDelay later; a restarted node recovers from its disk's
// durable content. Clients are not crashed (their sessions live in memory).
// The checker, after the fault phase and a fault-free quiet phase:
//   1. persist before send: no node sent a message its durable state did not allow;
//   2. Raft safety (check/raft_invariants.h) over every node's observations;
//   3. linearizability of the clients' history against the KV model, per key;
//   4. liveness: some client write invoked after the faults end commits (ok) within
//      kLivenessBound of the end of the faults.
// Thread safety: a workload belongs to one run.
#pragma once

#include "murphy/core/time.h"
#include "murphy/sim/workload.h"

namespace murphy::node {

inline constexpr Duration kLivenessBound = Seconds(2);
inline constexpr Duration kSupervisorRestartDelay = Milliseconds(300);

void RegisterKvWorkloads(sim::WorkloadRegistry& registry);

}  // namespace murphy::node
