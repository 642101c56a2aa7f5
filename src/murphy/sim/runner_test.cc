#include "murphy/sim/runner.h"

#include <gtest/gtest.h>

namespace murphy::sim {
namespace {

RunConfig Config(uint64_t seed, std::string workload) {
  RunConfig config;
  config.seed = seed;
  config.workload = std::move(workload);
  return config;
}

TEST(RunnerTest, CorrectWorkloadsPassUnderSwarmFaults) {
  const WorkloadRegistry registry = WorkloadRegistry::Builtin();
  for (const char* workload : {"ping", "heartbeat"}) {
    for (uint64_t seed = 1; seed <= 40; ++seed) {
      SCOPED_TRACE(std::string(workload) + " seed " + std::to_string(seed));
      const Result<RunReport> report = RunOnce(registry, Config(seed, workload));
      ASSERT_TRUE(report.ok());
      EXPECT_TRUE(report->verdict.ok()) << report->verdict.ToString() << "\nkinds " << report->kinds.ToString()
                                        << "\n" << FormatSchedule(report->schedule)
                                        << "replay: " << ReplayCommand(Config(seed, workload));
    }
  }
}

TEST(RunnerTest, CorrectPingPassesUnderEveryKindAtOnce) {
  const WorkloadRegistry registry = WorkloadRegistry::Builtin();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RunConfig config = Config(seed, "ping");
    config.faults = FaultKindSet::All();
    const Result<RunReport> report = RunOnce(registry, config);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->verdict.ok()) << report->verdict.ToString() << "\n" << FormatSchedule(report->schedule);
  }
}

TEST(RunnerTest, UnknownWorkloadIsAnError) {
  const WorkloadRegistry registry = WorkloadRegistry::Builtin();
  EXPECT_EQ(RunOnce(registry, Config(1, "nope")).status().code(), StatusCode::kInvalidArgument);
}

TEST(RunnerTest, DeterministicTraceHashPerSeed) {
  const WorkloadRegistry registry = WorkloadRegistry::Builtin();
  uint64_t hashes[3] = {};
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RunConfig config = Config(seed, "ping");
    config.faults = FaultKindSet::All();
    const Status status = CheckDeterminism(registry, config, &hashes[seed - 1]);
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  EXPECT_NE(hashes[0], hashes[1]);
  EXPECT_NE(hashes[1], hashes[2]);
}

TEST(RunnerTest, BrokenPingIsCaughtQuicklyAndItsScheduleShrinks) {
  const WorkloadRegistry registry = WorkloadRegistry::Builtin();
  std::optional<RunReport> failure;
  uint64_t seed = 1;
  for (; seed <= 30 && !failure.has_value(); ++seed) {
    const Result<RunReport> report = RunOnce(registry, Config(seed, "ping-no-dedup"));
    ASSERT_TRUE(report.ok());
    if (report->failed()) failure = *report;
  }
  ASSERT_TRUE(failure.has_value()) << "no failing seed in 1..30 for ping-no-dedup";
  SCOPED_TRACE("failing seed " + std::to_string(failure->seed));
  EXPECT_NE(failure->verdict.message().find("duplicate effect"), std::string_view::npos)
      << failure->verdict.ToString();
  ASSERT_GE(failure->schedule.size(), 2u);

  RunConfig config = Config(failure->seed, "ping-no-dedup");
  const Result<ShrinkResult> shrunk = ShrinkSchedule(registry, config, failure->schedule);
  ASSERT_TRUE(shrunk.ok()) << shrunk.status().ToString();
  EXPECT_FALSE(shrunk->verdict.ok());
  EXPECT_LT(shrunk->schedule.size(), failure->schedule.size());
  EXPECT_LE(shrunk->schedule.size(), 2u) << FormatSchedule(shrunk->schedule);
  // Replaying the shrunk schedule fails again: a schedule is a replayable value.
  config.schedule = shrunk->schedule;
  const Result<RunReport> replay = RunOnce(registry, config);
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->failed());
  // The correct server survives the very schedule that breaks the broken one.
  config.workload = "ping";
  const Result<RunReport> correct = RunOnce(registry, config);
  ASSERT_TRUE(correct.ok());
  EXPECT_TRUE(correct->verdict.ok()) << correct->verdict.ToString();
}

TEST(RunnerTest, ReplayCommandNamesEverythingNeeded) {
  RunConfig config = Config(7, "ping");
  config.faults = *ParseFaultKinds("loss,crash");
  EXPECT_EQ(ReplayCommand(config), "murphy sim --seed 7 --workload ping --faults loss,crash --duration 10s");
}

}  // namespace
}  // namespace murphy::sim
