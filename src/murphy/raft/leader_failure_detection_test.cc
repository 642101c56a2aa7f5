// External leader failure detection (Config::external_leader_failure_detection):
// the floor, the backstop timer, the lease, what the shell reads to feed its
// detector, failover time against the plain randomized timeout, and randomized
// runs with a noisy detector.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
namespace {

constexpr int kElectionTicks = 10;

Raft NewDetectingRaft(uint64_t id) {
  Config config;
  config.id = NodeId(static_cast<uint32_t>(id));
  config.election_ticks = kElectionTicks;
  config.external_leader_failure_detection = true;
  config.seed = id;
  RestoreState restore;
  restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
  return Raft(config, std::move(restore));
}

void Tick(Raft& raft, int ticks) {
  for (int i = 0; i < ticks; ++i) raft.Tick();
}

TEST(LeaderFailureDetectionTest, ConfigValidatesFloorAndJitter) {
  Config config;
  config.id = NodeId(1);
  config.leader_failure_floor_ticks = config.election_ticks + 1;
  EXPECT_FALSE(config.Validate().ok());
  config.leader_failure_floor_ticks = -1;
  EXPECT_FALSE(config.Validate().ok());
  config.leader_failure_floor_ticks = 3;
  config.leader_failure_jitter_ticks = -1;
  EXPECT_FALSE(config.Validate().ok());
  config.leader_failure_jitter_ticks = 2;
  EXPECT_TRUE(config.Validate().ok());
}

TEST(LeaderFailureDetectionTest, RefusedWhenOffOrLeading) {
  Raft off = NewRaft(1, {.pre_vote = true, .check_quorum = true});
  EXPECT_EQ(off.ReportLeaderFailure().code(), StatusCode::kFailedPrecondition);
  Raft leader = NewDetectingRaft(1);
  MakeLeader(leader);
  EXPECT_EQ(leader.ReportLeaderFailure().code(), StatusCode::kFailedPrecondition);
}

// The shell learns of leader contacts from the counter; stale-term traffic does
// not count.
TEST(LeaderFailureDetectionTest, LeaderContactsCountCurrentLeaderTraffic) {
  Raft raft = NewDetectingRaft(2);
  EXPECT_EQ(raft.leader_contacts(), 0u);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, 2, 2)).ok());
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kAppend, 1, 2, 2)).ok());
  EXPECT_EQ(raft.leader_contacts(), 2u);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 3, 2, 1)).ok());  // stale term.
  EXPECT_EQ(raft.leader_contacts(), 2u);
  Tick(raft, 3);
  EXPECT_EQ(raft.leader_silence_ticks(), 3);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, 2, 2)).ok());
  EXPECT_EQ(raft.leader_silence_ticks(), 0);
}

// The floor: a detector that fires before the follower has been without the
// leader for election_ticks / 2 is refused, and nothing happens; past the floor,
// a pre-vote starts within the jitter.
TEST(LeaderFailureDetectionTest, FloorRefusesEarlyReports) {
  Raft raft = NewDetectingRaft(2);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, 2, 1)).ok());
  raft.TakeMessages();
  const int floor = kElectionTicks / 2;
  for (int tick = 0; tick < floor - 1; ++tick) {
    raft.Tick();
    EXPECT_EQ(raft.ReportLeaderFailure().code(), StatusCode::kUnavailable) << "tick " << tick;
  }
  Tick(raft, 3);  // a refused report leaves nothing behind.
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_FALSE(raft.leader_suspected());
  EXPECT_TRUE(raft.TakeMessages().empty());
  ASSERT_TRUE(raft.ReportLeaderFailure().ok());
  EXPECT_TRUE(raft.leader_suspected());
  int waited = 0;
  while (raft.role() == Role::kFollower) {
    raft.Tick();
    ASSERT_LT(++waited, kElectionTicks) << "no campaign within the jitter";
  }
  EXPECT_EQ(raft.role(), Role::kPreCandidate);
  EXPECT_EQ(raft.term(), Term(1));  // PreVote first, as ever.
  EXPECT_EQ(MessagesOfType(raft.TakeMessages(), MessageType::kPreVote).size(), 2u);
}

// Hearing the leader again before the delayed campaign cancels it.
TEST(LeaderFailureDetectionTest, LeaderContactCancelsScheduledCampaign) {
  for (uint64_t id = 2; id <= 3; ++id) {
    Raft raft = NewDetectingRaft(id);
    ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, raft.id().value(), 1)).ok());
    Tick(raft, kElectionTicks / 2);
    ASSERT_TRUE(raft.ReportLeaderFailure().ok());
    if (raft.role() != Role::kFollower) continue;  // the draw was "now".
    ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, raft.id().value(), 1)).ok());
    EXPECT_FALSE(raft.leader_suspected());
    Tick(raft, kElectionTicks - 1);
    EXPECT_EQ(raft.role(), Role::kFollower);
  }
}

// While a leader is known the plain timer does not fire; it is a backstop at twice
// the randomized timeout. With no leader known, the plain timer runs.
TEST(LeaderFailureDetectionTest, OwnTimerIsOnlyABackstopWhileLeaderKnown) {
  Raft raft = NewDetectingRaft(2);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, 2, 1)).ok());
  Tick(raft, 2 * kElectionTicks - 1);  // the plain timer would have fired by now.
  EXPECT_EQ(raft.role(), Role::kFollower);
  Tick(raft, 2 * kElectionTicks + 1);
  EXPECT_EQ(raft.role(), Role::kPreCandidate);

  Raft fresh = NewDetectingRaft(3);
  Tick(fresh, 2 * kElectionTicks);
  EXPECT_EQ(fresh.role(), Role::kPreCandidate);
}

// The lease: a follower that still hears the leader refuses a pre-vote even with
// the option on; one whose own detector suspects the leader grants it.
TEST(LeaderFailureDetectionTest, LeaseEndsOnlyWhenOwnDetectorSuspects) {
  Raft raft = NewDetectingRaft(2);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 1, 2, 1)).ok());
  raft.TakeMessages();
  Tick(raft, kElectionTicks / 2);
  Message pre_vote = MakeMessage(MessageType::kPreVote, 3, 2, 2);
  ASSERT_TRUE(raft.Step(pre_vote).ok());
  EXPECT_TRUE(raft.TakeMessages().empty()) << "in lease: ignored";
  ASSERT_TRUE(raft.ReportLeaderFailure().ok());
  if (raft.role() == Role::kFollower) {
    ASSERT_TRUE(raft.Step(pre_vote).ok());
    std::vector<Message> answers = MessagesOfType(raft.TakeMessages(), MessageType::kPreVoteResponse);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_FALSE(answers[0].reject);
  }
  EXPECT_EQ(raft.term(), Term(1));
}

// --- Whole-cluster behaviour ----------------------------------------------------------

struct FailoverOptions {
  bool external = false;
  // The simulated detector suspects after this many ticks without leader contact.
  int suspect_after_ticks = 2;
};

// Elects node 1, runs a while, crashes it, and counts the ticks until a new leader
// has committed an entry of its term (so it can serve); -1 if none within 200.
int FailoverTicks(uint64_t seed, const FailoverOptions& failover) {
  ClusterOptions options;
  options.voters = 3;
  options.seed = seed;
  options.base.election_ticks = kElectionTicks;
  options.base.external_leader_failure_detection = failover.external;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  // The shell's side: the last tick at which each node's leader_contacts() grew.
  std::map<NodeId, uint64_t> contacts;
  std::map<NodeId, int> last_contact_tick;
  int now = 0;
  auto step = [&] {
    ++now;
    cluster.TickAll();
    cluster.Stabilize();
    for (NodeId id : cluster.ids()) {
      if (!cluster.alive(id)) continue;
      const uint64_t seen = cluster.raft(id).leader_contacts();
      if (seen != contacts[id]) {
        contacts[id] = seen;
        last_contact_tick[id] = now;
      }
      if (failover.external && cluster.raft(id).role() == Role::kFollower &&
          now - last_contact_tick[id] >= failover.suspect_after_ticks) {
        cluster.ReportLeaderFailure(id).IgnoreError();
      }
    }
    cluster.Stabilize();
  };
  for (int i = 0; i < 20; ++i) step();
  MURPHY_ASSERT(cluster.Leader() == NodeId(1));
  cluster.Crash(NodeId(1));
  const int crashed_at = now;
  while (now - crashed_at < 200) {
    step();
    std::optional<NodeId> leader = cluster.Leader();
    if (!leader.has_value()) continue;
    const RaftLog& log = cluster.raft(*leader).log();
    if (log.TermAtOrDie(log.committed()) == cluster.raft(*leader).term()) return now - crashed_at;
  }
  return -1;
}

TEST(LeaderFailureDetectionTest, FailoverIsFasterThanPlainTimeout) {
  int plain_total = 0;
  int external_total = 0;
  constexpr int kSeeds = 100;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const int plain = FailoverTicks(seed, {.external = false});
    const int external = FailoverTicks(seed, {.external = true});
    ASSERT_GT(plain, 0) << "seed " << seed;
    ASSERT_GT(external, 0) << "seed " << seed;
    // Never below the floor: nobody may campaign before it.
    EXPECT_GE(external, kElectionTicks / 2) << "seed " << seed;
    plain_total += plain;
    external_total += external;
  }
  std::printf("failover after a leader crash, mean ticks over %d seeds: plain %.2f, external detector %.2f\n",
              kSeeds, static_cast<double>(plain_total) / kSeeds, static_cast<double>(external_total) / kSeeds);
  EXPECT_LT(external_total, plain_total);
}

// A detector that suspects all the time (or after a single missed heartbeat) never
// gets past the floor while the leader's heartbeats arrive every tick: no election.
TEST(LeaderFailureDetectionTest, FloorStopsAnEarlyDetectorFromCausingElections) {
  ClusterOptions options;
  options.base.external_leader_failure_detection = true;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  const Term term = cluster.raft(NodeId(1)).term();
  int refused = 0;
  for (int tick = 0; tick < 300; ++tick) {
    // Every third round, the leader's heartbeats of a few ticks are lost: a detector
    // tuned too tight fires, but the silence stays below the floor.
    const bool lossy = tick % 30 < 4;
    if (lossy) cluster.Partition({{NodeId(1)}, {NodeId(2), NodeId(3)}});
    cluster.TickAll();
    cluster.Stabilize();
    if (lossy) cluster.Heal();
    for (NodeId id : {NodeId(2), NodeId(3)}) {
      if (cluster.ReportLeaderFailure(id).code() == StatusCode::kUnavailable) ++refused;
    }
    cluster.Stabilize();
  }
  EXPECT_GT(refused, 500);
  EXPECT_EQ(cluster.Leader(), NodeId(1));
  EXPECT_EQ(cluster.raft(NodeId(1)).term(), term);
  EXPECT_EQ(cluster.raft(NodeId(2)).term(), term);
}

// PreVote keeps its purpose: a partitioned node whose detector keeps reporting
// never raises its term, and rejoins without deposing the leader, because the
// others still hear the leader and keep their lease.
TEST(LeaderFailureDetectionTest, PartitionedNodeWithDetectorDoesNotDisrupt) {
  ClusterOptions options;
  options.base.external_leader_failure_detection = true;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  const Term term = cluster.raft(NodeId(1)).term();
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3)}});
  for (int tick = 0; tick < 100; ++tick) {
    cluster.TickAll();
    cluster.ReportLeaderFailure(NodeId(3)).IgnoreError();
    cluster.Stabilize();
  }
  EXPECT_EQ(cluster.raft(NodeId(3)).term(), term);
  cluster.Heal();
  for (int tick = 0; tick < 30; ++tick) {
    cluster.TickAll();
    cluster.ReportLeaderFailure(NodeId(3)).IgnoreError();
    cluster.Stabilize();
  }
  EXPECT_EQ(cluster.Leader(), NodeId(1));
  EXPECT_EQ(cluster.raft(NodeId(1)).term(), term);
}

// CheckQuorum is unchanged: an isolated leader steps down within an election
// timeout with the option on.
TEST(LeaderFailureDetectionTest, CheckQuorumUnchanged) {
  ClusterOptions options;
  options.base.external_leader_failure_detection = true;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  cluster.Partition({{NodeId(1)}, {NodeId(2), NodeId(3)}});
  int ticks = 0;
  while (cluster.raft(NodeId(1)).role() == Role::kLeader) {
    cluster.Tick(NodeId(1));
    cluster.Stabilize();
    ASSERT_LE(++ticks, options.base.election_ticks);
  }
}

// All invariants hold with the option on and a noisy detector, and the cluster
// stays live (the backstop timer covers a detector that never fires).
TEST(LeaderFailureDetectionTest, RandomizedRunsKeepInvariants) {
  size_t applied = 0;
  for (uint64_t seed = 5000; seed <= 5100; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    RandomRunResult result = RunRandomCluster(seed, {.external_leader_failure_detection = true});
    if (!result.violations.empty()) return;  // reported with the seed.
    EXPECT_TRUE(result.live) << "seed " << seed << result.liveness_detail;
    applied += result.applied;
    if (HasFailure()) return;
  }
  EXPECT_GT(applied, 101u);
}

}  // namespace
}  // namespace murphy::raft::testing
