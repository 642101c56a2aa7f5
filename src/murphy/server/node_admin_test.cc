#include "murphy/server/node_admin.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace murphy::server {
namespace {

NodeAdminView ReadyFollower() {
  NodeAdminView view;
  view.id = 2;
  view.role = "follower";
  view.term = 3;
  view.leader = 1;
  view.commit_index = 10;
  view.applied_index = 10;
  view.election_ticks = 10;
  view.leader_silence_ticks = 1;
  return view;
}

HttpRequest Get(std::string target) {
  HttpRequest request;
  request.method = "GET";
  request.target = std::move(target);
  request.version = "HTTP/1.1";
  return request;
}

TEST(ReadinessTest, EachConditionIsRequired) {
  EXPECT_TRUE(CheckReadiness(ReadyFollower()).ready);
  NodeAdminView view = ReadyFollower();
  view.leader = 0;
  EXPECT_EQ(CheckReadiness(view).reason, "no leader known");
  view = ReadyFollower();
  view.leader_silence_ticks = 10;
  EXPECT_FALSE(CheckReadiness(view).ready);
  view.role = "leader";  // CheckQuorum vouches for the leader
  EXPECT_TRUE(CheckReadiness(view).ready);
  view = ReadyFollower();
  view.applied_index = 9;
  EXPECT_FALSE(CheckReadiness(view).ready);
  view = ReadyFollower();
  view.stopped = true;
  EXPECT_FALSE(CheckReadiness(view).ready);
}

TEST(RouteTest, Endpoints) {
  NodeAdminView view = ReadyFollower();
  EXPECT_EQ(RouteAdminRequest(Get("/livez"), view).status, 200);
  EXPECT_EQ(RouteAdminRequest(Get("/readyz"), view).status, 200);
  EXPECT_EQ(RouteAdminRequest(Get("/nope"), view).status, 404);
  const HttpResponse health = RouteAdminRequest(Get("/health"), view);
  EXPECT_EQ(nlohmann::json::parse(health.body)["health"], "true");
  const nlohmann::json status = nlohmann::json::parse(RouteAdminRequest(Get("/status?pretty"), view).body);
  EXPECT_EQ(status["id"], 2);
  EXPECT_EQ(status["role"], "follower");
  EXPECT_EQ(status["ready"], true);
  const std::string metrics = RouteAdminRequest(Get("/metrics"), view).body;
  EXPECT_NE(metrics.find("\nmurphy_raft_term 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE murphy_raft_leader_changes_total counter\n"), std::string::npos);
  view.leader = 0;
  const HttpResponse not_ready = RouteAdminRequest(Get("/readyz"), view);
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_EQ(not_ready.body, "not ready: no leader known\n");
  EXPECT_EQ(nlohmann::json::parse(RouteAdminRequest(Get("/health"), view).body)["health"], "false");
}

TEST(MetricsTest, LockServiceCountersAndLatencyHistograms) {
  NodeAdminView view = ReadyFollower();
  view.service.requests = 7;
  view.service.fencing_rejections = 2;
  view.service.mutation_latency.Record(Microseconds(800));   // le 0.001
  view.service.mutation_latency.Record(Milliseconds(30));    // le 0.05
  view.service.mutation_latency.Record(Seconds(20));         // +Inf only
  view.leases = 4;
  view.api.retries = 3;
  const std::string metrics = RenderMetrics(view);
  EXPECT_NE(metrics.find("\nmurphy_api_retries_total 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_fencing_rejections_total 2\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nmurphy_lock_requests_total 7\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_lock_leases 4\n"), std::string::npos);
  EXPECT_NE(metrics.find("# TYPE murphy_lock_mutation_latency_seconds histogram\n"), std::string::npos);
  // Buckets are cumulative.
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_bucket{le=\"0.0005\"} 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_bucket{le=\"0.001\"} 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_bucket{le=\"0.05\"} 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_bucket{le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_mutation_latency_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(metrics.find("murphy_lock_read_latency_seconds_count 0\n"), std::string::npos);
}

// What the clock prober reports when this node's clock is 812 ms ahead of two peers that
// agree with each other, with a 500 ms bound.
clocksync::ClockOffsetReport FarFromMajority() {
  clocksync::ClockOffsetReport clock;
  clock.estimates = {PeerOffset{NodeId(1), -Milliseconds(812), Milliseconds(2), Instant()},
                     PeerOffset{NodeId(3), -Milliseconds(815), Milliseconds(1), Instant()}};
  clock.verdict.far_peers = 2;
  clock.verdict.must_fence = true;
  clock.bound = Milliseconds(500);
  clock.max_abs_offset = Milliseconds(815);
  clock.offset_from_cluster = Milliseconds(812);
  clock.offset_to_majority = Milliseconds(812);
  return clock;
}

TEST(ReadinessTest, ClockFarFromAMajorityIsNotReady) {
  NodeAdminView view = ReadyFollower();
  view.clock = FarFromMajority();
  const Readiness readiness = CheckReadiness(view);
  EXPECT_FALSE(readiness.ready);
  EXPECT_EQ(readiness.reason, "clock offset 812 ms to a majority exceeds 500 ms");
  const HttpResponse readyz = RouteAdminRequest(Get("/readyz"), view);
  EXPECT_EQ(readyz.status, 503);
  EXPECT_EQ(readyz.body, "not ready: clock offset 812 ms to a majority exceeds 500 ms\n");
  EXPECT_EQ(RouteAdminRequest(Get("/health"), view).status, 503);
  // Stopped, leaderless or lagging say so first; the clock is the last condition.
  view.leader = 0;
  EXPECT_EQ(CheckReadiness(view).reason, "no leader known");
}

TEST(ReadinessTest, NoClockEstimateDoesNotBlockReadiness) {
  // Single node, just started, or peers unreachable: no estimates at all.
  NodeAdminView view = ReadyFollower();
  view.clock.bound = Milliseconds(500);
  EXPECT_TRUE(CheckReadiness(view).ready);
  const nlohmann::json status = nlohmann::json::parse(RenderStatusJson(view));
  EXPECT_TRUE(status["clock_offset_ms"].is_null());
  EXPECT_TRUE(status["clock_offsets"].empty());
  const std::string metrics = RenderMetrics(view);
  EXPECT_NE(metrics.find("# TYPE murphy_clock_offset_max_seconds gauge\n"), std::string::npos);
  EXPECT_EQ(metrics.find("\nmurphy_clock_offset_max_seconds "), std::string::npos) << "no false zero";
  EXPECT_EQ(metrics.find("\nmurphy_clock_offset_seconds{"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_exceeded 0\n"), std::string::npos);
}

TEST(ReadinessTest, OneFarPeerOrInconclusivePeersKeepTheNodeReady) {
  NodeAdminView view = ReadyFollower();
  view.clock.estimates = {PeerOffset{NodeId(1), Milliseconds(3), Milliseconds(1), Instant()},
                          PeerOffset{NodeId(3), Seconds(10), Milliseconds(1), Instant()}};
  view.clock.verdict = {.near_peers = 1, .far_peers = 1, .inconclusive_peers = 0, .must_fence = false};
  view.clock.bound = Milliseconds(500);
  EXPECT_TRUE(CheckReadiness(view).ready);
  view.clock.verdict = {.near_peers = 0, .far_peers = 0, .inconclusive_peers = 2, .must_fence = false};
  EXPECT_TRUE(CheckReadiness(view).ready);
}

TEST(RouteTest, StatusAndMetricsCarryTheClockOffset) {
  NodeAdminView view = ReadyFollower();
  view.clock = FarFromMajority();
  view.clock_probes.pings_sent = 7;
  const nlohmann::json status = nlohmann::json::parse(RouteAdminRequest(Get("/status"), view).body);
  ASSERT_TRUE(status["clock_offset_ms"].is_number()) << status.dump();
  EXPECT_DOUBLE_EQ(status["clock_offset_ms"].get<double>(), 812.0);
  ASSERT_EQ(status["clock_offsets"].size(), 2u);
  EXPECT_EQ(status["clock_offsets"][0]["peer"], 1);
  EXPECT_DOUBLE_EQ(status["clock_offsets"][0]["offset_ms"].get<double>(), -812.0);
  EXPECT_DOUBLE_EQ(status["clock_offsets"][1]["uncertainty_ms"].get<double>(), 1.0);
  EXPECT_EQ(status["ready"], false);
  const std::string metrics = RouteAdminRequest(Get("/metrics"), view).body;
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_seconds{peer=\"1\"} -0.812\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_seconds{peer=\"3\"} -0.815\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_uncertainty_seconds{peer=\"3\"} 0.001\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_max_seconds 0.815\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_from_cluster_seconds 0.812\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_bound_seconds 0.5"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_far_peers 2\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_offset_exceeded 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_clock_pings_sent_total 7\n"), std::string::npos);
  EXPECT_NE(metrics.find("\nmurphy_node_ready 0\n"), std::string::npos);
}

}  // namespace
}  // namespace murphy::server
