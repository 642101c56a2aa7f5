#include "murphy/server/daemon_config.h"

#include <gtest/gtest.h>

namespace murphy::server {
namespace {

DaemonConfig Valid() {
  DaemonConfig config;
  config.id = 2;
  config.listen = "127.0.0.1:7002";
  config.admin = "127.0.0.1:8002";
  config.peers = "1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003";
  config.data_directory = "/tmp/x";
  return config;
}

TEST(DaemonConfigTest, ValidConfigBootstrapsAllMembers) {
  const Result<ValidatedDaemonConfig> result = ValidateDaemonConfig(Valid());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->members, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(result->peers.at(3).port, 7003);
  EXPECT_TRUE(result->has_admin);
  EXPECT_EQ(result->admin.port, 8002);
}

TEST(DaemonConfigTest, SingleNodeNeedsNoPeers) {
  DaemonConfig config = Valid();
  config.peers.clear();
  const Result<ValidatedDaemonConfig> result = ValidateDaemonConfig(config);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->members, (std::vector<uint64_t>{2}));
}

TEST(DaemonConfigTest, BadValuesNameTheFlag) {
  const auto expect_error = [](DaemonConfig config, std::string_view flag) {
    const Result<ValidatedDaemonConfig> result = ValidateDaemonConfig(config);
    ASSERT_FALSE(result.ok());
    EXPECT_NE(result.status().message().find(flag), std::string_view::npos) << result.status().ToString();
  };
  DaemonConfig config = Valid();
  config.id = 0;
  expect_error(config, "--id");
  config = Valid();
  config.listen = "127.0.0.1";
  expect_error(config, "--listen");
  config = Valid();
  config.listen = "127.0.0.1:70000";
  expect_error(config, "--listen");
  config = Valid();
  config.admin = "x:";
  expect_error(config, "--admin");
  config = Valid();
  config.peers = "1=127.0.0.1:7001,1=127.0.0.1:7002";
  expect_error(config, "--peers");
  config = Valid();
  config.peers = "a=127.0.0.1:7001";
  expect_error(config, "--peers");
  config = Valid();
  config.peers = "1:127.0.0.1:7001";
  expect_error(config, "--peers");
  config = Valid();
  config.data_directory.clear();
  expect_error(config, "--data-dir");
  config = Valid();
  config.tick_ms = 0;
  expect_error(config, "--tick-ms");
  config = Valid();
  config.election_ticks = 1;
  expect_error(config, "--election-ticks");
  config = Valid();
  config.max_clock_offset_ms = 0;
  expect_error(config, "--max-clock-offset-ms");
  config = Valid();
  config.max_clock_offset_ms = 3'600'001;
  expect_error(config, "--max-clock-offset-ms");
}

TEST(DaemonConfigTest, ClockOffsetBoundDefaultsTo500Milliseconds) {
  EXPECT_EQ(DaemonConfig().max_clock_offset_ms, 500);
  DaemonConfig config = Valid();
  config.max_clock_offset_ms = 1;
  EXPECT_TRUE(ValidateDaemonConfig(config).ok());
}

TEST(HostPortTest, ParsesIpv6Brackets) {
  const Result<HostPort> result = ParseHostPort("[::1]:80");
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->host, "::1");
  EXPECT_EQ(result->port, 80);
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0").ok());
  EXPECT_TRUE(ParseHostPort("127.0.0.1:0", true).ok());
}

}  // namespace
}  // namespace murphy::server
