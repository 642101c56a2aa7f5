#include "murphy/remote/cluster_endpoints.h"

#include <gtest/gtest.h>

namespace murphy::remote {
namespace {

TEST(ClusterEndpoints, ParsesTheFileClusterUpWrites) {
  Result<ClusterEndpoints> cluster = ParseClusterJson(R"({"cluster_id": 77, "nodes": [
      {"id": 2, "listen": "127.0.0.1:7002", "admin": "127.0.0.1:8002"},
      {"id": 1, "listen": "127.0.0.1:7001", "admin": "127.0.0.1:8001"}]})");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->cluster_id, 77u);
  ASSERT_EQ(cluster->nodes.size(), 2u);
  EXPECT_EQ(cluster->nodes[0].id, NodeId(1));  // sorted by id
  EXPECT_EQ(cluster->nodes[0].client.host, "127.0.0.1");
  EXPECT_EQ(cluster->nodes[0].client.port, 7001);
  EXPECT_EQ(cluster->nodes[1].admin, "127.0.0.1:8002");
}

TEST(ClusterEndpoints, RejectsMalformedFiles) {
  for (const char* text : {"", "not json", "[]", R"({"nodes": []})", R"({"cluster_id": 1, "nodes": []})",
                           R"({"cluster_id": 1, "nodes": [{"id": 0, "listen": "127.0.0.1:1"}]})",
                           R"({"cluster_id": 1, "nodes": [{"id": 1}]})",
                           R"({"cluster_id": 1, "nodes": [{"id": 1, "listen": "127.0.0.1:1"},
                                                          {"id": 1, "listen": "127.0.0.1:2"}]})",
                           R"({"cluster_id": 1, "nodes": [{"id": 1, "listen": "127.0.0.1:1"},
                                                          {"id": 2, "listen": "127.0.0.1:1"}]})",
                           R"({"cluster_id": -1, "nodes": [{"id": 1, "listen": "127.0.0.1:1"}]})"}) {
    Result<ClusterEndpoints> cluster = ParseClusterJson(text);
    EXPECT_FALSE(cluster.ok()) << text;
    if (!cluster.ok()) {
      EXPECT_EQ(cluster.status().code(), StatusCode::kInvalidArgument) << text;
    }
  }
}

TEST(ClusterEndpoints, MissingDirectoryIsNotFoundWithAHint) {
  Result<ClusterEndpoints> cluster = ReadClusterDirectory("/nonexistent/murphy-dir");
  ASSERT_FALSE(cluster.ok());
  EXPECT_EQ(cluster.status().code(), StatusCode::kNotFound);
  EXPECT_NE(cluster.status().message().find("murphy cluster up --dir /nonexistent/murphy-dir"), std::string::npos);
}

TEST(ClusterEndpoints, ParsesAnEndpointList) {
  Result<ClusterEndpoints> cluster = ParseEndpointList("3=127.0.0.1:7003,1=[::1]:7001", 9);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->cluster_id, 9u);
  ASSERT_EQ(cluster->nodes.size(), 2u);
  EXPECT_EQ(cluster->nodes[0].id, NodeId(1));
  EXPECT_EQ(cluster->nodes[1].client.port, 7003);
  for (const char* list : {"", "1", "1=nohost", "0=127.0.0.1:1", "1=127.0.0.1:1,1=127.0.0.1:2",
                           "1=127.0.0.1:1,2=127.0.0.1:1"}) {
    Result<ClusterEndpoints> bad = ParseEndpointList(list, 1);
    EXPECT_FALSE(bad.ok()) << list;
    if (!bad.ok()) {
      EXPECT_EQ(bad.status().message().substr(0, 12), "--endpoints:") << bad.status().ToString();
    }
  }
}

}  // namespace
}  // namespace murphy::remote
