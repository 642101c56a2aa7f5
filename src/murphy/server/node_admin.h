// murphy/server/node_admin.h — what a node's admin endpoints say: readiness, the
// Prometheus metrics text, the /status and /health JSON, and the routing of paths.
//
// Contract: pure functions of a NodeAdminView (a snapshot of the node, taken on the
// node's loop), so they are unit-testable without a cluster. Readiness
// (ARCHITECTURE.md "Runtime shape"), all of which must hold:
//   - the node is running (not stopped by a fatal disk error);
//   - a leader is known;
//   - in contact with a quorum within an election timeout: a leader relies on
//     CheckQuorum, which steps it down when it has not heard from a quorum within
//     an election timeout, so "still leader" means "in contact"; a follower must
//     have heard from the leader within `election_ticks` ticks;
//   - the applied index has caught up with the commit index;
//   - the clock offset is within bound: not ready only when the clock prober
//     (clocksync/clock_prober.h) has proof that this node's wall clock is more than the
//     bound (murphyd --max-clock-offset-ms) away from a strict majority of the cluster,
//     reason "clock offset 812 ms to a majority exceeds 500 ms". A node with no fresh
//     estimate (single node, just started, peers unreachable) or only inconclusive ones
//     (round trip too slow to tell) passes this condition: absence of evidence must not
//     keep a node unready forever, and a node cut off from its peers already fails the
//     leader and quorum conditions. A healthy node that sees one bad peer stays ready.
// /status "clock_offset_ms" is this node's clock minus the cluster's median clock
// (ClockOffsetReport::offset_from_cluster), null without estimates; "clock_offsets" lists
// each peer's estimate. /metrics has murphy_clock_offset_seconds{peer} (peer minus
// this node), its uncertainty, the max |offset|, the offset from the cluster and the
// bound, all in seconds.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "murphy/locksvc/lock_node.h"
#include "murphy/clocksync/clock_prober.h"
#include "murphy/posix/posix_env.h"
#include "murphy/server/admin_server.h"
#include "murphy/server/client_gateway.h"
#include "murphy/server/http.h"

namespace murphy::node {
class NodeShell;
}  // namespace murphy::node

namespace murphy::server {

struct NodeAdminView {
  uint64_t id = 0;
  bool stopped = false;
  std::string stop_reason;
  std::string role;  // follower, pre-candidate, candidate, leader, stopped
  uint64_t term = 0;
  uint64_t leader = 0;  // 0: none known
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t snapshot_index = 0;
  uint64_t members = 0;
  int leader_silence_ticks = 0;
  int election_ticks = 0;
  uint64_t leader_changes = 0;
  uint64_t wal_syncs = 0;
  double uptime_seconds = 0;
  posix::PosixMetrics env;
  AdminServerMetrics admin;
  // The lock service: its request metrics and the size of its state.
  locksvc::LockServiceMetrics service;
  uint64_t leases = 0;
  uint64_t active_locks = 0;  // held or waited for
  uint64_t resources = 0;     // fenced-store resources
  HttpApiGatewayMetrics api;  // zero without the HTTP API
  // Default (no prober, e.g. in tests of other conditions): no estimates, no verdict.
  clocksync::ClockOffsetReport clock;
  clocksync::ClockProberMetrics clock_probes;
};

// Reads the node (on its loop).
NodeAdminView ViewNode(const node::NodeShell& node, int election_ticks);

struct Readiness {
  bool ready = false;
  std::string reason;  // why not ready; empty when ready
};
Readiness CheckReadiness(const NodeAdminView& view);

std::string RenderMetrics(const NodeAdminView& view);
std::string RenderStatusJson(const NodeAdminView& view);
std::string RenderHealthJson(const NodeAdminView& view);

// /livez, /readyz, /health, /metrics, /status; 404 otherwise.
HttpResponse RouteAdminRequest(const HttpRequest& request, const NodeAdminView& view);

}  // namespace murphy::server
