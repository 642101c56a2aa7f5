#include "murphy/server/node_admin.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "murphy/node/node_shell.h"

namespace murphy::server {
namespace {

void Metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            double value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  // Integers print exactly; Prometheus accepts either form.
  if (value == static_cast<double>(static_cast<uint64_t>(value))) {
    out += std::to_string(static_cast<uint64_t>(value));
  } else {
    out += std::to_string(value);
  }
  out += '\n';
}

// A gauge with one label per sample; values may be negative or fractional.
void LabeledGaugeHeader(std::string& out, std::string_view name, std::string_view help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " gauge\n";
}

void Sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char number[64];
  std::snprintf(number, sizeof(number), "%.9g", value);
  out += name;
  out += labels;
  out += ' ';
  out += number;
  out += '\n';
}

std::string PeerLabel(NodeId peer) { return "{peer=\"" + std::to_string(peer.value()) + "\"}"; }

void RenderClockMetrics(std::string& out, const NodeAdminView& view) {
  const clocksync::ClockOffsetReport& clock = view.clock;
  LabeledGaugeHeader(out, "murphy_clock_offset_seconds",
                     "Estimated wall-clock offset of each peer (peer minus this node).");
  for (const PeerOffset& estimate : clock.estimates) {
    Sample(out, "murphy_clock_offset_seconds", PeerLabel(estimate.peer), ToSecondsDouble(estimate.offset));
  }
  LabeledGaugeHeader(out, "murphy_clock_offset_uncertainty_seconds",
                     "Half the round trip of the sample behind each peer's estimate.");
  for (const PeerOffset& estimate : clock.estimates) {
    Sample(out, "murphy_clock_offset_uncertainty_seconds", PeerLabel(estimate.peer),
           ToSecondsDouble(estimate.uncertainty));
  }
  // Without estimates these stay without samples: an absent value, not a false zero.
  LabeledGaugeHeader(out, "murphy_clock_offset_max_seconds", "Largest absolute offset to any peer.");
  if (!clock.estimates.empty()) {
    Sample(out, "murphy_clock_offset_max_seconds", "", ToSecondsDouble(clock.max_abs_offset));
  }
  LabeledGaugeHeader(out, "murphy_clock_offset_from_cluster_seconds",
                     "This node's clock minus the median clock of the cluster.");
  if (clock.offset_from_cluster.has_value()) {
    Sample(out, "murphy_clock_offset_from_cluster_seconds", "", ToSecondsDouble(*clock.offset_from_cluster));
  }
  Metric(out, "murphy_clock_offset_bound_seconds", "gauge",
         "Readiness bound on the offset to a majority (--max-clock-offset-ms).",
         ToSecondsDouble(clock.bound));
  Metric(out, "murphy_clock_offset_far_peers", "gauge", "Peers provably beyond the bound.",
         clock.verdict.far_peers);
  Metric(out, "murphy_clock_offset_inconclusive_peers", "gauge",
         "Peers whose round trip is too slow to judge the offset.", clock.verdict.inconclusive_peers);
  Metric(out, "murphy_clock_offset_exceeded", "gauge",
         "1 if this node's clock is beyond the bound from a majority (not ready).",
         clock.verdict.must_fence ? 1 : 0);
  const clocksync::ClockProberMetrics& probes = view.clock_probes;
  Metric(out, "murphy_clock_pings_sent_total", "counter", "Clock pings sent.",
         static_cast<double>(probes.pings_sent));
  Metric(out, "murphy_clock_pongs_sent_total", "counter", "Clock pings answered.",
         static_cast<double>(probes.pongs_sent));
  Metric(out, "murphy_clock_samples_total", "counter", "Round trips recorded.",
         static_cast<double>(probes.samples_recorded));
  Metric(out, "murphy_clock_samples_rejected_total", "counter", "Round trips refused (a clock stepped).",
         static_cast<double>(probes.samples_rejected));
  Metric(out, "murphy_clock_pings_lost_total", "counter", "Pings unanswered by the next round.",
         static_cast<double>(probes.pings_lost));
  Metric(out, "murphy_clock_pongs_unmatched_total", "counter", "Late, duplicated or unexpected pongs.",
         static_cast<double>(probes.pongs_unmatched));
  Metric(out, "murphy_clock_bad_frames_total", "counter", "Clock frames that failed to decode.",
         static_cast<double>(probes.bad_messages));
}

}  // namespace

NodeAdminView ViewNode(const node::NodeShell& node, int election_ticks) {
  NodeAdminView view;
  view.id = node.id().value();
  view.stopped = node.stopped();
  view.election_ticks = election_ticks;
  view.applied_index = node.applied_index().value();
  view.snapshot_index = node.snapshot_index().value();
  view.wal_syncs = node.syncs();
  if (node.stopped()) {
    view.role = "stopped";
    view.stop_reason = node.stop_reason().ToString();
    return view;
  }
  const raft::Raft& raft = node.raw_node().raft();
  view.role = raft::RoleName(raft.role());
  view.term = node.term().value();
  view.leader = node.leader().value();
  view.commit_index = node.commit_index().value();
  view.members = raft.membership().voters.size();
  view.leader_silence_ticks = raft.leader_silence_ticks();
  return view;
}

Readiness CheckReadiness(const NodeAdminView& view) {
  if (view.stopped) return {false, "node stopped: " + view.stop_reason};
  if (view.leader == 0) return {false, "no leader known"};
  if (view.role != "leader" && view.leader_silence_ticks >= view.election_ticks) {
    return {false, "not heard from the leader for " + std::to_string(view.leader_silence_ticks) + " ticks"};
  }
  if (view.applied_index < view.commit_index) {
    return {false, "applied index " + std::to_string(view.applied_index) + " behind commit index " +
                       std::to_string(view.commit_index)};
  }
  if (view.clock.verdict.must_fence) {
    return {false, "clock offset " + std::to_string(ToMilliseconds(view.clock.offset_to_majority)) +
                       " ms to a majority exceeds " + std::to_string(ToMilliseconds(view.clock.bound)) +
                       " ms"};
  }
  return {true, ""};
}

namespace {

// A Prometheus histogram (cumulative buckets, _sum, _count) in seconds.
void HistogramMetric(std::string& out, std::string_view name, std::string_view help,
                     const LatencyHistogram& histogram) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " histogram\n";
  uint64_t cumulative = 0;
  char line[160];
  for (size_t i = 0; i <= kLatencyBucketBounds.size(); ++i) {
    cumulative += histogram.counts()[i];
    if (i < kLatencyBucketBounds.size()) {
      std::snprintf(line, sizeof(line), "%.*s_bucket{le=\"%g\"} %llu\n", static_cast<int>(name.size()),
                    name.data(), kLatencyBucketBounds[i], static_cast<unsigned long long>(cumulative));
    } else {
      std::snprintf(line, sizeof(line), "%.*s_bucket{le=\"+Inf\"} %llu\n", static_cast<int>(name.size()),
                    name.data(), static_cast<unsigned long long>(cumulative));
    }
    out += line;
  }
  std::snprintf(line, sizeof(line), "%.*s_sum %.9g\n%.*s_count %llu\n", static_cast<int>(name.size()),
                name.data(), histogram.sum_seconds(), static_cast<int>(name.size()), name.data(),
                static_cast<unsigned long long>(histogram.count()));
  out += line;
}

}  // namespace

std::string RenderMetrics(const NodeAdminView& view) {
  std::string out;
  out.reserve(4096);
  const Readiness readiness = CheckReadiness(view);
  Metric(out, "murphy_raft_term", "gauge", "Current Raft term.", static_cast<double>(view.term));
  Metric(out, "murphy_raft_commit_index", "gauge", "Highest log index known committed.",
         static_cast<double>(view.commit_index));
  Metric(out, "murphy_raft_applied_index", "gauge", "Highest log index applied to the state machine.",
         static_cast<double>(view.applied_index));
  Metric(out, "murphy_raft_snapshot_index", "gauge", "Log index of the latest snapshot.",
         static_cast<double>(view.snapshot_index));
  Metric(out, "murphy_raft_is_leader", "gauge", "1 if this node is the leader.",
         view.role == "leader" ? 1 : 0);
  Metric(out, "murphy_raft_leader_changes_total", "counter", "Times a new leader became known to this node.",
         static_cast<double>(view.leader_changes));
  Metric(out, "murphy_raft_members", "gauge", "Voters in the membership.", static_cast<double>(view.members));
  Metric(out, "murphy_node_ready", "gauge", "1 if /readyz answers 200.", readiness.ready ? 1 : 0);
  Metric(out, "murphy_node_stopped", "gauge", "1 if the node stopped on a fatal disk error.",
         view.stopped ? 1 : 0);
  Metric(out, "murphy_wal_syncs_total", "counter", "WAL syncs completed (group commits).",
         static_cast<double>(view.wal_syncs));
  const posix::PosixMetrics& env = view.env;
  Metric(out, "murphy_transport_messages_sent_total", "counter", "Data frames sent.",
         static_cast<double>(env.messages_sent));
  Metric(out, "murphy_transport_messages_received_total", "counter", "Data frames received.",
         static_cast<double>(env.messages_received));
  Metric(out, "murphy_transport_sent_bytes_total", "counter", "Bytes written to sockets.",
         static_cast<double>(env.bytes_sent));
  Metric(out, "murphy_transport_received_bytes_total", "counter", "Bytes read from sockets.",
         static_cast<double>(env.bytes_received));
  // One family with a reason label would be more idiomatic; separate names keep the
  // renderer trivial and the names greppable.
  Metric(out, "murphy_transport_dropped_queue_full_total", "counter", "Messages dropped: queue full.",
         static_cast<double>(env.dropped_queue_full));
  Metric(out, "murphy_transport_dropped_too_large_total", "counter", "Messages dropped: too large.",
         static_cast<double>(env.dropped_too_large));
  Metric(out, "murphy_transport_dropped_no_route_total", "counter", "Messages dropped: no route.",
         static_cast<double>(env.dropped_no_route));
  Metric(out, "murphy_transport_dropped_connection_lost_total", "counter",
         "Messages dropped: connection lost.", static_cast<double>(env.dropped_connection_lost));
  Metric(out, "murphy_transport_dropped_no_receiver_total", "counter", "Messages dropped: no receiver.",
         static_cast<double>(env.dropped_no_receiver));
  Metric(out, "murphy_transport_bad_frames_total", "counter", "Connections closed for a corrupt stream.",
         static_cast<double>(env.bad_frames));
  Metric(out, "murphy_transport_handshakes_rejected_total", "counter", "Handshakes rejected.",
         static_cast<double>(env.handshakes_rejected));
  Metric(out, "murphy_transport_connections_accepted_total", "counter", "Inbound connections accepted.",
         static_cast<double>(env.connections_accepted));
  Metric(out, "murphy_transport_connections_refused_total", "counter", "Inbound connections refused.",
         static_cast<double>(env.connections_refused));
  Metric(out, "murphy_transport_connects_total", "counter", "Outbound connections established.",
         static_cast<double>(env.connects));
  Metric(out, "murphy_transport_connect_failures_total", "counter", "Outbound connection failures.",
         static_cast<double>(env.connect_failures));
  Metric(out, "murphy_transport_reconnects_total", "counter", "Connection attempts after a failure.",
         static_cast<double>(env.reconnects));
  Metric(out, "murphy_transport_disconnects_total", "counter", "Established connections closed.",
         static_cast<double>(env.disconnects));
  Metric(out, "murphy_timers_fired_total", "counter", "Env timers fired.",
         static_cast<double>(env.timers_fired));
  Metric(out, "murphy_disk_fsyncs_total", "counter", "fsync calls.", static_cast<double>(env.fsyncs));
  Metric(out, "murphy_disk_fsync_errors_total", "counter", "fsync failures.",
         static_cast<double>(env.fsync_errors));
  Metric(out, "murphy_process_suspensions_total", "counter", "Detected process/machine suspensions.",
         static_cast<double>(env.suspensions));
  Metric(out, "murphy_admin_requests_total", "counter", "Admin HTTP requests parsed.",
         static_cast<double>(view.admin.requests));
  Metric(out, "murphy_admin_bad_requests_total", "counter", "Admin HTTP requests refused (4xx).",
         static_cast<double>(view.admin.bad_requests));
  Metric(out, "murphy_admin_connections_refused_total", "counter", "Admin connections beyond the limit.",
         static_cast<double>(view.admin.connections_refused));
  Metric(out, "murphy_admin_response_timeouts_total", "counter",
         "HTTP requests answered 504 because no answer came in time.",
         static_cast<double>(view.admin.response_timeouts));
  Metric(out, "murphy_api_requests_total", "counter", "HTTP/JSON client API requests (/v1/).",
         static_cast<double>(view.api.requests));
  Metric(out, "murphy_api_bad_requests_total", "counter", "Client API requests refused as malformed.",
         static_cast<double>(view.api.bad_requests));
  Metric(out, "murphy_api_waits", "gauge", "Waiting lock acquires holding an HTTP request open.",
         static_cast<double>(view.api.waits));
  Metric(out, "murphy_api_waits_granted_total", "counter", "Waiting acquires that got the lock.",
         static_cast<double>(view.api.waits_granted));
  Metric(out, "murphy_api_waits_ended_total", "counter", "Waiting acquires that ended without the lock.",
         static_cast<double>(view.api.waits_ended));
  Metric(out, "murphy_api_retries_total", "counter",
         "Requests the HTTP API's channel sent again (after an attempt timeout or a redirect).",
         static_cast<double>(view.api.retries));
  Metric(out, "murphy_api_attempt_timeouts_total", "counter", "Attempts of the HTTP API's channel that timed out.",
         static_cast<double>(view.api.attempt_timeouts));
  Metric(out, "murphy_api_redirects_total", "counter", "'Not leader' redirects the HTTP API's channel followed.",
         static_cast<double>(view.api.redirects));
  Metric(out, "murphy_process_uptime_seconds", "gauge", "Seconds since the daemon started.",
         view.uptime_seconds);
  const locksvc::LockServiceMetrics& service = view.service;
  Metric(out, "murphy_lock_requests_total", "counter", "Client requests received by the lock service.",
         static_cast<double>(service.requests));
  Metric(out, "murphy_lock_answers_ok_total", "counter", "Client requests answered OK.",
         static_cast<double>(service.answered_ok));
  Metric(out, "murphy_lock_answers_not_leader_total", "counter",
         "Client requests answered 'not leader' (redirected).", static_cast<double>(service.answered_not_leader));
  Metric(out, "murphy_fencing_rejections_total", "counter",
         "Fenced writes rejected because their token was below the resource's max token.",
         static_cast<double>(service.fencing_rejections));
  Metric(out, "murphy_lock_answers_error_total", "counter", "Client requests answered with another error.",
         static_cast<double>(service.answered_error));
  HistogramMetric(out, "murphy_lock_mutation_latency_seconds",
                  "Receipt to answer of committed mutations (leases, locks, fenced writes).",
                  service.mutation_latency);
  HistogramMetric(out, "murphy_lock_read_latency_seconds", "Receipt to answer of linearizable reads.",
                  service.read_latency);
  Metric(out, "murphy_lock_leases", "gauge", "Live leases in the applied state.", static_cast<double>(view.leases));
  Metric(out, "murphy_lock_active_locks", "gauge", "Locks held or waited for in the applied state.",
         static_cast<double>(view.active_locks));
  Metric(out, "murphy_store_resources", "gauge", "Resources in the fenced store.",
         static_cast<double>(view.resources));
  RenderClockMetrics(out, view);
  return out;
}

std::string RenderStatusJson(const NodeAdminView& view) {
  const Readiness readiness = CheckReadiness(view);
  nlohmann::json status = {
      {"id", view.id},
      {"role", view.role},
      {"term", view.term},
      {"leader", view.leader},
      {"commit", view.commit_index},
      {"applied", view.applied_index},
      {"snapshot", view.snapshot_index},
      {"ready", readiness.ready},
      {"reason", readiness.reason},
      {"leader_changes", view.leader_changes},
      {"clock_offset_ms", nullptr},
      {"clock_offsets", nlohmann::json::array()},
  };
  if (view.clock.offset_from_cluster.has_value()) {
    status["clock_offset_ms"] = ToMillisecondsDouble(*view.clock.offset_from_cluster);
  }
  for (const PeerOffset& estimate : view.clock.estimates) {
    status["clock_offsets"].push_back({{"peer", estimate.peer.value()},
                                       {"offset_ms", ToMillisecondsDouble(estimate.offset)},
                                       {"uncertainty_ms", ToMillisecondsDouble(estimate.uncertainty)}});
  }
  return status.dump() + "\n";
}

std::string RenderHealthJson(const NodeAdminView& view) {
  const Readiness readiness = CheckReadiness(view);
  nlohmann::json health = {{"health", readiness.ready ? "true" : "false"}, {"reason", readiness.reason}};
  return health.dump() + "\n";
}

HttpResponse RouteAdminRequest(const HttpRequest& request, const NodeAdminView& view) {
  const std::string_view path = request.path();
  constexpr std::string_view kText = "text/plain; charset=utf-8";
  constexpr std::string_view kJson = "application/json";
  if (path == "/livez") return {200, std::string(kText), "ok\n"};
  if (path == "/readyz") {
    const Readiness readiness = CheckReadiness(view);
    if (readiness.ready) return {200, std::string(kText), "ok\n"};
    return {503, std::string(kText), "not ready: " + readiness.reason + "\n"};
  }
  if (path == "/health") {
    return {CheckReadiness(view).ready ? 200 : 503, std::string(kJson), RenderHealthJson(view)};
  }
  if (path == "/metrics") return {200, "text/plain; version=0.0.4; charset=utf-8", RenderMetrics(view)};
  if (path == "/status") return {200, std::string(kJson), RenderStatusJson(view)};
  return {404, std::string(kText), "not found\n"};
}

}  // namespace murphy::server
