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
  const std::string metrics = RenderMetrics(view);
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

}  // namespace
}  // namespace murphy::server
