#include "murphy/sim/schedule.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "murphy/sim/simulator.h"
#include "murphy/sim/workload.h"

namespace murphy::sim {
namespace {

const std::vector<NodeId> kThree = {NodeId(1), NodeId(2), NodeId(3)};

TEST(FaultKindsTest, ParseAndFormat) {
  const Result<FaultKindSet> parsed = ParseFaultKinds("loss,crash,clock-drift");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ToString(), "loss,crash,clock-drift");
  EXPECT_EQ(ParseFaultKinds("all")->kinds().size(), static_cast<size_t>(kFaultKindCount));
  EXPECT_TRUE(ParseFaultKinds("none")->empty());
  const Result<FaultKindSet> bad = ParseFaultKinds("loss,gremlins");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("gremlins"), std::string_view::npos);
  EXPECT_NE(bad.status().message().find("partition"), std::string_view::npos);
}

TEST(FaultKindsTest, SwarmPicksDifferentNonEmptySubsets) {
  std::set<uint32_t> seen;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Rng rng(seed);
    const FaultKindSet kinds = SwarmKinds(rng, FaultKindSet::All());
    EXPECT_FALSE(kinds.empty());
    seen.insert(kinds.bits());
  }
  EXPECT_GT(seen.size(), 40u);
}

NemesisOptions ThreeNodeNemesis() {
  NemesisOptions options;
  options.nodes = kThree;
  options.crashable = kThree;
  options.disk_nodes = kThree;
  return options;
}

TEST(ScheduleTest, RandomScheduleIsDeterministicBoundedAndRoundTripsThroughJson) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    Rng first(seed);
    Rng second(seed);
    const Schedule schedule = RandomSchedule(first, ThreeNodeNemesis());
    EXPECT_EQ(schedule, RandomSchedule(second, ThreeNodeNemesis()));
    ASSERT_FALSE(schedule.empty());
    for (const FaultAction& action : schedule) {
      EXPECT_GE(action.at, Duration::Zero());
      EXPECT_LE(action.at + action.duration, Seconds(10) + Seconds(2)) << FormatAction(action);
    }
    const Result<Schedule> parsed = ParseScheduleJson(ScheduleToJson(schedule));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, schedule);
    EXPECT_NE(FormatSchedule(schedule).find("at="), std::string::npos);
  }
  EXPECT_FALSE(ParseScheduleJson("{").ok());
  EXPECT_FALSE(ParseScheduleJson("[{\"kind\":\"gremlins\"}]").ok());
}

TEST(ScheduleTest, SwizzleClogUnclogsInAnotherOrder) {
  NemesisOptions options = ThreeNodeNemesis();
  options.kinds = *ParseFaultKinds("clog");
  options.end = Seconds(60);
  int reordered = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    const Schedule schedule = RandomSchedule(rng, options);
    std::vector<const FaultAction*> swizzle;
    for (const FaultAction& action : schedule) {
      if (action.label == "swizzle") swizzle.push_back(&action);
    }
    for (size_t i = 1; i < swizzle.size(); ++i) {
      if (swizzle[i]->at > swizzle[i - 1]->at &&
          swizzle[i]->at + swizzle[i]->duration < swizzle[i - 1]->at + swizzle[i - 1]->duration) {
        ++reordered;
      }
    }
  }
  EXPECT_GT(reordered, 0);
}

TEST(PartitionShapesTest, MajoritiesRingGivesEveryNodeADifferentMajority) {
  const std::vector<NodeId> nodes = {NodeId(1), NodeId(2), NodeId(3), NodeId(4), NodeId(5)};
  const std::vector<Link> cuts = MajoritiesRingCuts(nodes);
  std::set<std::set<uint32_t>> views;
  for (const NodeId node : nodes) {
    std::set<uint32_t> view = {node.value()};
    for (const NodeId other : nodes) {
      if (other != node && std::find(cuts.begin(), cuts.end(), Link{node, other}) == cuts.end()) {
        view.insert(other.value());
      }
    }
    EXPECT_EQ(view.size(), 3u);
    views.insert(view);
  }
  EXPECT_EQ(views.size(), 5u);
}

TEST(PartitionShapesTest, BridgeAndIsolate) {
  const std::vector<Link> bridge = BridgeCuts(kThree, NodeId(2));
  EXPECT_EQ(FormatLinks(bridge), "1->3 3->1");
  EXPECT_EQ(IsolateCuts(NodeId(1), kThree).size(), 4u);
  EXPECT_EQ(OneWayCuts({NodeId(1)}, kThree).size(), 2u);
}

TEST(PartialPartitionSweepTest, SixtyFourDistinctPatterns) {
  const std::vector<std::vector<Link>> patterns = PartialPartitionPatterns(kThree);
  ASSERT_EQ(patterns.size(), 64u);
  std::set<std::vector<Link>> distinct(patterns.begin(), patterns.end());
  EXPECT_EQ(distinct.size(), 64u);
  EXPECT_TRUE(patterns[0].empty());
  EXPECT_EQ(patterns[63].size(), 6u);
  // The etcd/Cloudflare shape: 1 and 2 cannot talk, both reach 3.
  const std::vector<Link> partial = {{NodeId(1), NodeId(2)}, {NodeId(2), NodeId(1)}};
  EXPECT_TRUE(distinct.contains(partial));
  EXPECT_EQ(PartialPartitionSweep(kThree, Duration(), Seconds(1), Seconds(1)).size(), 63u);
}

TEST(PartialPartitionSweepTest, HeartbeatsObserveExactlyTheReachabilityOfEachPattern) {
  SCOPED_TRACE("seed 77");
  SimOptions options;
  options.seed = 77;
  Simulator sim(options);
  std::map<std::pair<uint32_t, uint32_t>, int> received;
  for (int i = 0; i < 3; ++i) {
    sim.AddProcess("node", [&](Env& env) {
      return Hold(std::make_unique<HeartbeatProcess>(env, kThree, Milliseconds(50), [&](NodeId source, NodeId target) {
        ++received[{source.value(), target.value()}];
      }));
    });
  }
  int checked = 0;
  const Status status = SweepPartialPartitions(
      sim, kThree, Milliseconds(500), Milliseconds(100),
      [&](uint32_t, const std::vector<Link>&) { received.clear(); },
      [&](uint32_t pattern, const std::vector<Link>& cuts) {
        SCOPED_TRACE("pattern " + std::to_string(pattern) + " cuts " + FormatLinks(cuts));
        for (const Link& link : AllLinks(kThree)) {
          const bool cut = std::find(cuts.begin(), cuts.end(), link) != cuts.end();
          const int count = received[{link.source.value(), link.target.value()}];
          if (cut) {
            EXPECT_EQ(count, 0) << FormatLinks({link});
          } else {
            EXPECT_GE(count, 8) << FormatLinks({link});
          }
        }
        ++checked;
      });
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(checked, 64);
}

// Every fault kind, installed through a schedule, leaves a mark: no silent no-ops.
TEST(InstallScheduleTest, EveryKindHasAVisibleEffect) {
  const std::map<FaultKind, std::string> marks = {
      {FaultKind::kLoss, "\"reason\":\"loss\""},         {FaultKind::kDuplicate, "\"event\":\"duplicate\""},
      {FaultKind::kCorrupt, "\"event\":\"corrupt\""},     {FaultKind::kDelay, "\"kind\":\"link_faults\""},
      {FaultKind::kReorder, "\"kind\":\"link_faults\""},  {FaultKind::kClog, "\"event\":\"clog_hold\""},
      {FaultKind::kPartition, "\"reason\":\"partition\""}, {FaultKind::kPause, "\"event\":\"resume\""},
      {FaultKind::kSuspend, "\"event\":\"suspend\""},     {FaultKind::kSlow, "\"kind\":\"slow\""},
      {FaultKind::kCrash, "\"event\":\"restart\""},       {FaultKind::kClockStep, "\"event\":\"clock_resync\""},
      {FaultKind::kClockDrift, "\"event\":\"clock_drift\""}, {FaultKind::kClockStrobe, "\"event\":\"clock_step\""},
      {FaultKind::kDisk, "\"kind\":\"disk\""}};
  ASSERT_EQ(marks.size(), static_cast<size_t>(kFaultKindCount));
  auto run = [](const Schedule& schedule, SimCounters* counters) {
    TraceOptions trace_options;
    trace_options.keep_in_memory = true;
    TraceWriter writer(trace_options);
    SimOptions options;
    options.seed = 5;
    options.trace = &writer;
    Simulator sim(options);
    for (int i = 0; i < 3; ++i) {
      sim.AddProcess("node", [](Env& env) {
        return Hold(std::make_unique<HeartbeatProcess>(env, kThree, Milliseconds(20), nullptr));
      });
    }
    InstallSchedule(sim, schedule, Instant());
    EXPECT_TRUE(sim.RunFor(Seconds(3)).ok());
    *counters = sim.counters();
    return writer.text();
  };
  SimCounters baseline_counters;
  const std::string baseline = run({}, &baseline_counters);
  for (const auto& [kind, mark] : marks) {
    SCOPED_TRACE(std::string(FaultKindName(kind)));
    FaultAction action;
    action.kind = kind;
    action.at = Milliseconds(500);
    action.duration = Seconds(1);
    action.node = NodeId(2);
    action.links = AllLinks(kThree);
    action.probability = 0.5;
    action.sync_error_probability = 0.5;
    action.amount = Milliseconds(30);
    action.period = Milliseconds(50);
    action.drift_ppm = 50'000;
    SimCounters counters;
    const std::string trace = run({action}, &counters);
    EXPECT_NE(trace.find(mark), std::string::npos);
    EXPECT_NE(trace, baseline);
    EXPECT_EQ(baseline.find(mark), std::string::npos);
    if (kind == FaultKind::kSlow) {
      EXPECT_GT(counters.deferred_by_slowness, 0u);
    }
    if (kind == FaultKind::kDelay || kind == FaultKind::kReorder || kind == FaultKind::kClockDrift) {
      EXPECT_NE(counters.messages_delivered + counters.events, baseline_counters.messages_delivered + baseline_counters.events);
    }
  }
}

}  // namespace
}  // namespace murphy::sim
