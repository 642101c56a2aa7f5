#include "murphy/cli/client_command_support.h"

#include <gtest/gtest.h>

#include <string>

namespace murphy::cli {
namespace {

Duration Parsed(const std::string& text) {
  const Result<Duration> result = ParseDuration(text);
  EXPECT_TRUE(result.ok()) << text << ": " << result.status().ToString();
  return result.ok() ? *result : Duration::Infinite();
}

TEST(ParseDurationTest, AcceptsEveryUnit) {
  EXPECT_EQ(Parsed("7ns"), Nanoseconds(7));
  EXPECT_EQ(Parsed("12us"), Microseconds(12));
  EXPECT_EQ(Parsed("500ms"), Milliseconds(500));
  EXPECT_EQ(Parsed("10s"), Seconds(10));
  EXPECT_EQ(Parsed("2m"), Minutes(2));
  EXPECT_EQ(Parsed("1h"), Hours(1));
  EXPECT_EQ(Parsed("0s"), Duration::Zero());
}

TEST(ParseDurationTest, AcceptsFractionsAndGroups) {
  EXPECT_EQ(Parsed("1.5s"), Milliseconds(1500));
  EXPECT_EQ(Parsed("0.25ms"), Microseconds(250));
  EXPECT_EQ(Parsed(".5s"), Milliseconds(500));
  EXPECT_EQ(Parsed("1m30s"), Seconds(90));
  EXPECT_EQ(Parsed("1h2m3s4ms"), Hours(1) + Minutes(2) + Seconds(3) + Milliseconds(4));
  EXPECT_EQ(Parsed("0.1h"), Minutes(6));
  EXPECT_EQ(Parsed("24h"), Hours(24));
}

TEST(ParseDurationTest, RejectsGarbageWithAMessageThatNamesIt) {
  for (const std::string text : {"", "10", "s", "10x", "10 s", " 10s", "-3s", "+3s", "1.s", "10sec", "1e3s",
                                 "10S", "5s!", "abc", "1..5s"}) {
    const Result<Duration> result = ParseDuration(text);
    ASSERT_FALSE(result.ok()) << "accepted \"" << text << "\"";
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(result.status().message()).find("bad duration \"" + text + "\""), std::string::npos)
        << result.status().ToString();
  }
}

TEST(ParseDurationTest, RejectsMoreThanADayAndHugeNumbersWithoutOverflow) {
  EXPECT_FALSE(ParseDuration("25h").ok());
  EXPECT_FALSE(ParseDuration("24h1ns").ok());
  EXPECT_FALSE(ParseDuration("99999999999999999999999999s").ok());
  EXPECT_FALSE(ParseDuration("9223372036854775807ns9223372036854775807ns").ok());
  EXPECT_FALSE(ParseDuration(std::string(100, '1') + "s").ok());
}

TEST(ExitCodeForTest, TimeoutIsOutcomeUnknownEverythingElseFailed) {
  EXPECT_EQ(ExitCodeFor(Status::Ok()), kExitOk);
  EXPECT_EQ(ExitCodeFor(DeadlineExceededError("x")), kExitOutcomeUnknown);
  EXPECT_EQ(ExitCodeFor(FailedPreconditionError("held")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(NotFoundError("x")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(UnavailableError("x")), kExitFailed);
}

TEST(ResolveClusterTest, EndpointsNeedAClusterIdAndADirMustHoldACluster) {
  ClientFlags flags;
  flags.endpoints = "1=127.0.0.1:7001";
  EXPECT_EQ(ResolveCluster(flags).status().code(), StatusCode::kInvalidArgument);
  flags.cluster_id = 42;
  const Result<remote::ClusterEndpoints> cluster = ResolveCluster(flags);
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  EXPECT_EQ(cluster->cluster_id, 42u);
  ASSERT_EQ(cluster->nodes.size(), 1u);
  EXPECT_EQ(cluster->nodes[0].client.port, 7001);
  flags.endpoints = "1=nonsense";
  EXPECT_EQ(ResolveCluster(flags).status().code(), StatusCode::kInvalidArgument);

  ClientFlags directory;
  directory.dir = "/nonexistent/murphy-cluster";
  const Result<remote::ClusterEndpoints> missing = ResolveCluster(directory);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(std::string(missing.status().message()).find("no cluster in /nonexistent/murphy-cluster"),
            std::string::npos);
  directory.cluster_id = 5;  // without --endpoints: a mistake, said so
  EXPECT_EQ(ResolveCluster(directory).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace murphy::cli
