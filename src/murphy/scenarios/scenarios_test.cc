#include <gtest/gtest.h>

#include <string>

#include "murphy/scenarios/scenario.h"

namespace murphy {
namespace {

// Every built scenario, for a fixed set of seeds: the failure happens without the
// remedy and not with it.
TEST(ScenariosTest, EachIsDemonstratedOnFixedSeeds) {
  ASSERT_FALSE(AllScenarios().empty());
  for (const Scenario* scenario : AllScenarios()) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      SCOPED_TRACE(std::string(scenario->name()) + " seed " + std::to_string(seed) +
                   " (replay: murphy demo " + std::string(scenario->name()) + " --seed " +
                   std::to_string(seed) + ")");
      const ScenarioResult result = RunScenario(*scenario, seed);
      EXPECT_TRUE(result.without.violated)
          << "without the remedy nothing went wrong: " << result.without.summary;
      EXPECT_FALSE(result.without.violation.empty());
      EXPECT_FALSE(result.with.violated) << "the remedy did not help: " << result.with.violation;
    }
  }
}

TEST(ScenariosTest, SameSeedSameFigures) {
  for (const Scenario* scenario : AllScenarios()) {
    SCOPED_TRACE(std::string(scenario->name()));
    for (bool with_remedy : {false, true}) {
      const RunOutcome first = scenario->Run(42, with_remedy);
      const RunOutcome second = scenario->Run(42, with_remedy);
      ASSERT_EQ(first.figures.size(), second.figures.size());
      for (size_t i = 0; i < first.figures.size(); ++i) {
        EXPECT_EQ(first.figures[i].name, second.figures[i].name);
        EXPECT_EQ(first.figures[i].value, second.figures[i].value) << first.figures[i].name;
      }
      EXPECT_EQ(first.summary, second.summary);
    }
  }
}

TEST(ScenariosTest, NamesAreUniqueAndFindable) {
  for (const Scenario* scenario : AllScenarios()) {
    EXPECT_EQ(FindScenario(scenario->name()), scenario);
    EXPECT_FALSE(scenario->section().empty());
    EXPECT_FALSE(scenario->remedy().empty());
  }
  EXPECT_EQ(FindScenario("no-such-scenario"), nullptr);
}

TEST(ScenariosTest, FiguresCarryTheStory) {
  const Scenario* lww = FindScenario("lww-clock-skew");
  ASSERT_NE(lww, nullptr);
  EXPECT_GT(lww->Run(1, false).Get("writes_lost"), 0);
  EXPECT_EQ(lww->Run(1, true).Get("writes_lost"), 0);

  const Scenario* herd = FindScenario("thundering-herd");
  ASSERT_NE(herd, nullptr);
  const RunOutcome synchronized = herd->Run(1, false);
  const RunOutcome jittered = herd->Run(1, true);
  EXPECT_GT(synchronized.Get("peak_load_per_window"), jittered.Get("peak_load_per_window"));
  EXPECT_GT(synchronized.Get("total_calls"), jittered.Get("total_calls"));

  const Scenario* truetime = FindScenario("truetime-commit-wait");
  ASSERT_NE(truetime, nullptr);
  const RunOutcome waited = truetime->Run(1, true);
  // Commit wait costs about twice the clock uncertainty.
  EXPECT_GE(waited.Get("mean_commit_wait_ms"), 1.5 * waited.Get("epsilon_ms"));
  EXPECT_LE(waited.Get("mean_commit_wait_ms"), 2.5 * waited.Get("epsilon_ms"));
}

// Every fate but the lost request applies a plain retry twice or more; with keys and
// the server's memory of them each fate takes effect exactly once.
TEST(ScenariosTest, RequestFateCountsEffectsPerFate) {
  const Scenario* fate = FindScenario("request-fate");
  ASSERT_NE(fate, nullptr);
  for (uint64_t seed : {1, 2, 3}) {
    const RunOutcome plain = fate->Run(seed, false);
    const RunOutcome keyed = fate->Run(seed, true);
    EXPECT_EQ(plain.Get("lost_request_effects"), 1);
    for (const char* name :
         {"request_queued", "crash_before_reply", "server_busy", "lost_reply", "delayed_reply"}) {
      SCOPED_TRACE(name);
      EXPECT_GE(plain.Get(std::string(name) + "_effects"), 2);
      EXPECT_EQ(keyed.Get(std::string(name) + "_effects"), 1);
      // The client could not tell the fates apart: it retried in every one.
      EXPECT_GE(keyed.Get(std::string(name) + "_attempts"), 2);
    }
    EXPECT_EQ(keyed.Get("total_effects"), keyed.Get("logical_requests"));
    EXPECT_EQ(keyed.Get("unanswered_requests"), 0);
  }
}

// Every fixed number of messages can end with one general attacking alone; retrying
// until acknowledged makes disagreement rarer as retries grow, and losing every ack
// still defeats it.
TEST(ScenariosTest, TwoGeneralsDisagreeForEveryFixedCountAndRetriesOnlyMakeItRare) {
  const Scenario* generals = FindScenario("two-generals");
  ASSERT_NE(generals, nullptr);
  const RunOutcome fixed = generals->Run(1, false);
  for (int n = 1; n <= 6; ++n) {
    EXPECT_GT(fixed.Get("disagreements_with_" + std::to_string(n) + "_messages"), 0) << n;
  }
  // Disagreement needs the last message lost after all earlier ones arrived:
  // 0.3 x 0.7^(n-1) of 400 battles.
  EXPECT_GT(fixed.Get("disagreements_with_1_messages"), fixed.Get("disagreements_with_6_messages"));
  const RunOutcome retried = generals->Run(1, true);
  EXPECT_GT(retried.Get("disagreement_rate_0_retries"), retried.Get("disagreement_rate_4_retries"));
  EXPECT_GT(retried.Get("disagreement_rate_4_retries"), retried.Get("disagreement_rate_20_retries"));
  EXPECT_LE(retried.Get("disagreement_rate_20_retries"), 1e-3);
  EXPECT_EQ(retried.Get("disagreements_all_acks_lost"), 1);
}

// Flipped bits are applied as data without a checksum; with CRC-32C frames each
// corrupted message is dropped and resent, and every write still completes.
TEST(ScenariosTest, ByzantineBitsAreAppliedWithoutChecksumsAndDroppedWithThem) {
  const Scenario* bits = FindScenario("byzantine-bits");
  ASSERT_NE(bits, nullptr);
  const RunOutcome raw = bits->Run(1, false);
  const RunOutcome framed = bits->Run(1, true);
  EXPECT_GT(raw.Get("corrupted_values_applied"), 0);
  EXPECT_EQ(raw.Get("frames_dropped"), 0);
  EXPECT_GT(framed.Get("messages_corrupted"), 0);
  EXPECT_EQ(framed.Get("corrupted_values_applied"), 0);
  EXPECT_EQ(framed.Get("slots_wrong_at_end"), 0);
  EXPECT_EQ(framed.Get("frames_dropped"), framed.Get("messages_corrupted"));
  EXPECT_EQ(framed.Get("writes_acknowledged"), framed.Get("writes"));
}

// The same detector errs forever under asynchrony, only before GST under partial
// synchrony, and never under synchrony.
TEST(ScenariosTest, SystemModelsBoundMistakesOnlyWhenDelaysAreBounded) {
  const Scenario* models = FindScenario("system-models");
  ASSERT_NE(models, nullptr);
  const RunOutcome asynchronous = models->Run(1, false);
  const RunOutcome bounded = models->Run(1, true);
  EXPECT_GT(asynchronous.Get("asynchronous_mistakes_after_gst_settled"), 0);
  EXPECT_GT(asynchronous.Get("asynchronous_longest_delay_ms"), asynchronous.Get("timeout_ms"));
  EXPECT_GT(bounded.Get("partially_synchronous_mistakes_before_gst"), 0);
  EXPECT_EQ(bounded.Get("partially_synchronous_mistakes_after_gst_settled"), 0);
  EXPECT_EQ(bounded.Get("synchronous_mistakes"), 0);
  EXPECT_LE(bounded.Get("synchronous_longest_delay_ms"), 20);
}

// Retries keep a recovered dependency overloaded; breakers fail fast, let its queue
// drain and bring goodput back within the objective.
TEST(ScenariosTest, CascadeStaysDownWithoutBreakersAndRecoversWithThem) {
  const Scenario* cascade = FindScenario("cascade");
  ASSERT_NE(cascade, nullptr);
  const RunOutcome retrying = cascade->Run(1, false);
  const RunOutcome breaking = cascade->Run(1, true);
  EXPECT_EQ(retrying.Get("success_ratio_before_fault"), 1);
  EXPECT_LT(retrying.Get("success_ratio_after_fault"), 0.1);
  EXPECT_EQ(retrying.Get("time_to_recover_s"), -1);
  EXPECT_GT(retrying.Get("mean_queue_depth_after_fault"), 150);
  EXPECT_GT(retrying.Get("served_after_caller_gave_up"), 1000);
  EXPECT_GE(breaking.Get("time_to_recover_s"), 0);
  EXPECT_LE(breaking.Get("time_to_recover_s"), 5);
  EXPECT_LT(breaking.Get("mean_queue_depth_after_fault"), 10);
  EXPECT_LT(breaking.Get("peak_queue_depth"), retrying.Get("peak_queue_depth"));
  EXPECT_GT(breaking.Get("breaker_opens"), 0);
  EXPECT_GT(breaking.Get("failed_fast_calls"), 0);
  EXPECT_LT(breaking.Get("attempts"), retrying.Get("attempts"));
}

// LWW silently drops one side's acknowledged writes on heal; a majority quorum refuses
// the minority's writes instead; version vectors keep both sides as siblings.
TEST(ScenariosTest, PartitionLosesWritesWithLwwOnly) {
  const Scenario* partition = FindScenario("partition-cp-ap");
  ASSERT_NE(partition, nullptr);
  const RunOutcome lww = partition->Run(1, false);
  const RunOutcome remedies = partition->Run(1, true);
  EXPECT_GE(lww.Get("replica_states_at_heal"), 2);
  EXPECT_GT(lww.Get("writes_lost"), 0);
  EXPECT_EQ(lww.Get("writes_refused"), 0);
  EXPECT_EQ(lww.Get("converged_after_heal"), 1);  // converged, on one side's value
  EXPECT_GT(remedies.Get("cp_minority_writes_refused"), 0);
  EXPECT_EQ(remedies.Get("cp_majority_writes_refused"), 0);
  EXPECT_EQ(remedies.Get("cp_writes_lost"), 0);
  EXPECT_LT(remedies.Get("cp_writes_acknowledged"),
            lww.Get("writes_acknowledged"));  // the price: availability
  EXPECT_EQ(remedies.Get("ap_siblings_writes_lost"), 0);
  EXPECT_EQ(remedies.Get("ap_siblings_after_heal"), 2);
  EXPECT_EQ(remedies.Get("ap_siblings_writes_acknowledged"), lww.Get("writes_acknowledged"));
}

// Routing by liveness keeps feeding a replica that lost its quorum; routing by
// readiness drains it within the bound and brings it back after the heal, and
// liveness never fails, so nothing is restarted.
TEST(ScenariosTest, HealthChecksDrainByReadinessAndNeverRestart) {
  const Scenario* health = FindScenario("health-checks");
  ASSERT_NE(health, nullptr);
  const RunOutcome liveness = health->Run(1, false);
  const RunOutcome readiness = health->Run(1, true);
  EXPECT_GT(liveness.Get("requests_misrouted_after_detection_bound"), 0);
  EXPECT_EQ(liveness.Get("drained_after_ms"), -1);
  EXPECT_EQ(readiness.Get("requests_misrouted_after_detection_bound"), 0);
  EXPECT_GT(readiness.Get("drained_after_ms"), 0);
  EXPECT_LE(readiness.Get("drained_after_ms"), 1500);
  EXPECT_GE(readiness.Get("returned_after_heal_ms"), 0);
  EXPECT_GT(readiness.Get("requests_served"), liveness.Get("requests_served"));
  for (const RunOutcome* outcome : {&liveness, &readiness}) {
    EXPECT_EQ(outcome->Get("liveness_probe_failures"), 0);
    EXPECT_EQ(outcome->Get("restarts"), 0);
  }
}

TEST(ScenariosTest, GcPauseLeaseFollowsTheChaptersTimeline) {
  const Scenario* gc = FindScenario("gc-pause-lease");
  ASSERT_NE(gc, nullptr);
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const RunOutcome unfenced = gc->Run(seed, false);
    const RunOutcome fenced = gc->Run(seed, true);
    for (const RunOutcome* outcome : {&unfenced, &fenced}) {
      EXPECT_EQ(outcome->Get("token_a"), 33);
      EXPECT_EQ(outcome->Get("token_b"), 34);
      EXPECT_EQ(outcome->Get("writes_accepted_b"), 2);
      EXPECT_EQ(outcome->Get("writes_rejected_b"), 0);
      // The lease ran out on the node's clock 10 s after A took it (plus transit).
      EXPECT_GE(outcome->Get("lease_expired_at_ms"), 10000);
      EXPECT_LT(outcome->Get("lease_expired_at_ms"), 10100);
    }
    // Without fencing A's write after the pause lands after B's: both accepted.
    EXPECT_EQ(unfenced.Get("writes_accepted_a"), 2);
    EXPECT_EQ(unfenced.Get("interleaved_writes"), 1);
    EXPECT_NE(unfenced.violation.find("token 33"), std::string::npos) << unfenced.violation;
    EXPECT_NE(unfenced.violation.find("token 34"), std::string::npos) << unfenced.violation;
    // With it the write with token 33 is rejected (ABORTED, max token 34).
    EXPECT_EQ(fenced.Get("writes_accepted_a"), 1);
    EXPECT_EQ(fenced.Get("writes_rejected_a"), 1);
    EXPECT_EQ(fenced.Get("interleaved_writes"), 0);
    EXPECT_NE(fenced.summary.find("rejected (ABORTED, max token 34)"), std::string::npos) << fenced.summary;
  }
}

TEST(ScenariosTest, SplitBrainNaiveFailoverLosesWritesRaftDoesNot) {
  const Scenario* split = FindScenario("split-brain");
  ASSERT_NE(split, nullptr);
  const RunOutcome naive = split->Run(1, false);
  const RunOutcome raft = split->Run(1, true);
  EXPECT_EQ(naive.Get("leaders_at_once"), 2);
  EXPECT_GT(naive.Get("writes_acknowledged_by_isolated_leader"), 0);
  EXPECT_GE(naive.Get("acknowledged_writes_lost"), naive.Get("writes_acknowledged_by_isolated_leader"));
  EXPECT_EQ(naive.Get("isolated_leader_step_down_ms"), -1);
  EXPECT_EQ(raft.Get("writes_acknowledged_by_isolated_leader"), 0);
  EXPECT_EQ(raft.Get("acknowledged_writes_lost"), 0);
  EXPECT_GT(raft.Get("writes_acknowledged"), 0);
  // CheckQuorum: within an election timeout (10..20 ticks of 10 ms) plus a tick.
  EXPECT_GT(raft.Get("isolated_leader_step_down_ms"), 0);
  EXPECT_LE(raft.Get("isolated_leader_step_down_ms"), 210);
}

}  // namespace
}  // namespace murphy
