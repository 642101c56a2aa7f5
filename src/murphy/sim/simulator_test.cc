// Each fault kind shows its effect on a toy protocol, in the counters and in the
// trace: no fault may be a silent no-op.
#include "murphy/sim/simulator.h"

#include <gtest/gtest.h>

#include "murphy/core/crc32c.h"
#include "murphy/sim/workload.h"

namespace murphy::sim {
namespace {


SimOptions Options(uint64_t seed, TraceWriter* trace = nullptr, uint64_t max_events = 200'000'000) {
  SimOptions options;
  options.seed = seed;
  options.trace = trace;
  options.max_events = max_events;
  return options;
}

LinkConfig Link(double loss, double duplicate, double corrupt) {
  LinkConfig config;
  config.loss_probability = loss;
  config.duplicate_probability = duplicate;
  config.corrupt_probability = corrupt;
  return config;
}

DiskFaults LoseUnsynced() {
  DiskFaults faults;
  faults.unsynced_on_crash = DiskFaults::Unsynced::kLose;
  return faults;
}

TraceOptions InMemory() {
  TraceOptions options;
  options.keep_in_memory = true;
  return options;
}

// Replies to every valid frame with the same body; counts rejected (corrupt) frames.
class Echo {
 public:
  explicit Echo(Env& env) : env_(env) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) {
      bool ok = false;
      const std::span<const uint8_t> body = OpenFrame(payload, &ok);
      if (!ok) {
        ++rejected;
        return;
      }
      ++received;
      received_mono.push_back(env_.MonotonicNow());
      env_.Send(source, SealFrame(Bytes(body.begin(), body.end())));
    });
  }
  uint64_t received = 0;
  uint64_t rejected = 0;
  std::vector<Instant> received_mono;

 private:
  Env& env_;
};

// Sends a numbered frame to `target` every `interval` and records replies.
class Pinger {
 public:
  Pinger(Env& env, NodeId target, Duration interval, int count) : env_(env), target_(target), interval_(interval), left_(count) {
    env_.SetReceiver([this](NodeId, std::span<const uint8_t> payload) {
      bool ok = false;
      const std::span<const uint8_t> body = OpenFrame(payload, &ok);
      if (!ok) {
        ++rejected;
        return;
      }
      ByteReader reader(body);
      uint64_t sequence = 0;
      if (reader.GetU64(&sequence)) replies.push_back(sequence);
    });
    timer_ = env_.SetTimer(interval_, [this] { Tick(); });
  }
  ~Pinger() { env_.CancelTimer(timer_); }
  void Tick() {
    tick_mono.push_back(env_.MonotonicNow());
    ByteWriter writer;
    writer.PutU64(++sent);
    writer.PutU64(0x1234567890abcdefULL);  // some body to flip bits in
    env_.Send(target_, SealFrame(writer.Take()));
    if (--left_ > 0) timer_ = env_.SetTimer(interval_, [this] { Tick(); });
  }
  uint64_t sent = 0;
  uint64_t rejected = 0;
  std::vector<uint64_t> replies;
  std::vector<Instant> tick_mono;

 private:
  Env& env_;
  NodeId target_;
  Duration interval_;
  int left_;
  TimerId timer_;
};

struct Cluster {
  explicit Cluster(uint64_t seed, int pings = 100, Duration interval = Milliseconds(10), bool trace = true)
      : writer(InMemory()),
        sim(Options(seed, trace ? &writer : nullptr)) {
    echo_id = sim.AddProcess("echo", [](Env& env) { return Hold(std::make_unique<Echo>(env)); });
    pinger_id = sim.AddProcess("pinger", [this, pings, interval](Env& env) {
      return Hold(std::make_unique<Pinger>(env, echo_id, interval, pings));
    });
  }
  Echo* echo() { return sim.ProcessAs<Echo>(echo_id); }
  Pinger* pinger() { return sim.ProcessAs<Pinger>(pinger_id); }
  size_t TraceCount(std::string_view needle) const {
    size_t count = 0;
    for (size_t at = writer.text().find(needle); at != std::string::npos; at = writer.text().find(needle, at + 1)) ++count;
    return count;
  }
  TraceWriter writer;
  Simulator sim;
  NodeId echo_id;
  NodeId pinger_id;
};

TEST(SimulatorTest, CleanNetworkDeliversEverything) {
  SCOPED_TRACE("seed 1");
  Cluster cluster(1);
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(3)).ok());
  EXPECT_EQ(cluster.pinger()->sent, 100u);
  EXPECT_EQ(cluster.pinger()->replies.size(), 100u);
  EXPECT_EQ(cluster.sim.counters().messages_sent, 200u);
  EXPECT_EQ(cluster.sim.counters().messages_delivered, 200u);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"send\""), 200u);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"deliver\""), 200u);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"timer\""), 100u);
}

TEST(SimulatorTest, LossDropsMessages) {
  SCOPED_TRACE("seed 2");
  Cluster cluster(2, 1000);
  cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, Link(0.3, 0, 0));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(20)).ok());
  const uint64_t dropped = cluster.sim.counters().dropped_loss;
  EXPECT_GT(dropped, 230u);
  EXPECT_LT(dropped, 370u);
  EXPECT_EQ(cluster.echo()->received, 1000u - dropped);
  EXPECT_EQ(cluster.TraceCount("\"reason\":\"loss\""), dropped);
}

TEST(SimulatorTest, DuplicationDuplicates) {
  SCOPED_TRACE("seed 3");
  Cluster cluster(3);
  cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, Link(0, 0.5, 0));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(3)).ok());
  const uint64_t duplicated = cluster.sim.counters().duplicated;
  EXPECT_GT(duplicated, 25u);
  EXPECT_EQ(cluster.echo()->received, 100u + duplicated);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"duplicate\""), duplicated);
  EXPECT_EQ(cluster.TraceCount("\"duplicate\":true"), duplicated);
}

TEST(SimulatorTest, CorruptionFlipsBitsAndTheCrcCatchesEveryOne) {
  SCOPED_TRACE("seed 4");
  Cluster cluster(4, 500);
  cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, Link(0, 0, 0.4));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(10)).ok());
  const uint64_t corrupted = cluster.sim.counters().corrupted;
  EXPECT_GT(corrupted, 150u);
  EXPECT_EQ(cluster.echo()->rejected, corrupted);
  EXPECT_EQ(cluster.echo()->received, 500u - corrupted);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"corrupt\""), corrupted);
}

TEST(SimulatorTest, OneWayPartitionBlocksExactlyTheCutDirection) {
  SCOPED_TRACE("seed 5");
  Cluster cluster(5);
  // Replies cut, requests flow: the echo keeps answering into the void.
  cluster.sim.AddCuts({{cluster.echo_id, cluster.pinger_id}});
  EXPECT_FALSE(cluster.sim.reachable(cluster.echo_id, cluster.pinger_id));
  EXPECT_TRUE(cluster.sim.reachable(cluster.pinger_id, cluster.echo_id));
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(505)).ok());
  EXPECT_EQ(cluster.echo()->received, 50u);
  EXPECT_TRUE(cluster.pinger()->replies.empty());
  EXPECT_EQ(cluster.sim.counters().dropped_partition, 50u);
  // Now the other way round.
  cluster.sim.Partition({{cluster.pinger_id, cluster.echo_id}});
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(500)).ok());
  EXPECT_EQ(cluster.echo()->received, 50u);
  cluster.sim.Heal();
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(1)).ok());
  EXPECT_EQ(cluster.echo()->received, 50u);  // pings 51..100 were lost; none were left
  EXPECT_EQ(cluster.TraceCount("\"reason\":\"partition\""), 100u);
}

TEST(SimulatorTest, OverlappingCutsCompose) {
  Simulator sim;
  for (int i = 0; i < 3; ++i) sim.AddProcess("n", [](Env&) { return std::make_unique<Process>(); });
  const std::vector<NodeId> nodes = sim.nodes();
  sim.AddCuts(IsolateCuts(NodeId(1), nodes));
  sim.AddCuts({{NodeId(1), NodeId(2)}});
  sim.RemoveCuts(IsolateCuts(NodeId(1), nodes));
  EXPECT_FALSE(sim.reachable(NodeId(1), NodeId(2)));
  EXPECT_TRUE(sim.reachable(NodeId(2), NodeId(1)));
  EXPECT_TRUE(sim.reachable(NodeId(1), NodeId(3)));
}

TEST(SimulatorTest, ClogHoldsThenReleasesInOrder) {
  SCOPED_TRACE("seed 6");
  Cluster cluster(6);
  LinkConfig fifo;
  fifo.fifo = true;
  cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, fifo);
  cluster.sim.Clog(cluster.pinger_id, cluster.echo_id);
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(505)).ok());
  EXPECT_EQ(cluster.echo()->received, 0u);
  EXPECT_EQ(cluster.sim.counters().clog_held, 50u);
  cluster.sim.Unclog(cluster.pinger_id, cluster.echo_id);
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(2)).ok());
  EXPECT_EQ(cluster.echo()->received, 100u);
  EXPECT_EQ(cluster.sim.counters().clog_released, 50u);
  const std::vector<uint64_t>& replies = cluster.pinger()->replies;
  ASSERT_GE(replies.size(), 50u);
  // The pinger's replies link is not FIFO; the echo saw the held ones in order, so
  // check order on the echo side through the trace-independent reply set instead.
  EXPECT_EQ(cluster.TraceCount("\"event\":\"clog_hold\""), 50u);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"clog_release\""), 50u);
}

TEST(SimulatorTest, FifoKeepsOrderAndJitterReorders) {
  for (const bool fifo : {true, false}) {
    SCOPED_TRACE(fifo ? "fifo, seed 7" : "no fifo, seed 7");
    Cluster cluster(7, 200, Milliseconds(1));
    LinkConfig config;
    config.fifo = fifo;
    config.jitter = Milliseconds(20);
    cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, config);
    cluster.sim.SetLink(cluster.echo_id, cluster.pinger_id, config);
    ASSERT_TRUE(cluster.sim.RunFor(Seconds(2)).ok());
    const std::vector<uint64_t>& replies = cluster.pinger()->replies;
    ASSERT_EQ(replies.size(), 200u);
    EXPECT_EQ(std::is_sorted(replies.begin(), replies.end()), fifo);
  }
}

TEST(SimulatorTest, QueueLimitDropsOnOverflow) {
  Cluster cluster(8, 100, Milliseconds(1));
  LinkConfig config;
  config.delay = DelayModel::Fixed(Milliseconds(50));
  config.queue_limit = 10;
  cluster.sim.SetLink(cluster.pinger_id, cluster.echo_id, config);
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(1)).ok());
  EXPECT_GT(cluster.sim.counters().dropped_queue_full, 50u);
  EXPECT_EQ(cluster.echo()->received + cluster.sim.counters().dropped_queue_full, 100u);
}

TEST(SimulatorTest, PauseDelaysTimersAndQueuesMessages) {
  SCOPED_TRACE("seed 9");
  Cluster cluster(9);
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(105)).ok());
  const uint64_t before = cluster.echo()->received;
  const Instant mono_before = cluster.sim.env(cluster.echo_id).MonotonicNow();
  cluster.sim.Pause(cluster.echo_id, Milliseconds(300));
  cluster.sim.Pause(cluster.pinger_id, Milliseconds(200));
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(150)).ok());
  EXPECT_EQ(cluster.echo()->received, before);   // queued, not delivered
  const size_t ticks = cluster.pinger()->tick_mono.size();
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(100)).ok());  // pinger resumed at 305ms
  // The pinger's overdue timer fired once at resume; its monotonic clock shows the jump.
  ASSERT_GT(cluster.pinger()->tick_mono.size(), ticks);
  EXPECT_GE(cluster.pinger()->tick_mono[ticks] - cluster.pinger()->tick_mono[ticks - 1], Milliseconds(200));
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(200)).ok());  // echo resumed at 405ms
  EXPECT_GT(cluster.echo()->received, before);
  // The echo handled its queued messages at resume, all at one monotonic instant.
  const std::vector<Instant>& seen = cluster.echo()->received_mono;
  EXPECT_GE(seen[before] - mono_before, Milliseconds(299));
  EXPECT_EQ(cluster.TraceCount("\"event\":\"pause\""), 2u);
  EXPECT_EQ(cluster.TraceCount("\"event\":\"resume\""), 2u);
}

TEST(SimulatorTest, SuspendStopsMonotonicButNotBoot) {
  Cluster cluster(10);
  Env& env = cluster.sim.env(cluster.echo_id);
  ASSERT_TRUE(cluster.sim.RunFor(Milliseconds(100)).ok());
  const Duration gap_before = env.BootNow() - env.MonotonicNow();
  cluster.sim.Suspend(cluster.echo_id, Seconds(2));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(3)).ok());
  EXPECT_EQ((env.BootNow() - env.MonotonicNow()) - gap_before, Seconds(2));
  // A GC-like pause does not change the gap.
  const Duration gap_after = env.BootNow() - env.MonotonicNow();
  cluster.sim.Pause(cluster.echo_id, Seconds(1));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(2)).ok());
  EXPECT_EQ(env.BootNow() - env.MonotonicNow(), gap_after);
}

TEST(SimulatorTest, SuspendDelaysTimersByTheSuspension) {
  Simulator sim;
  Instant fired;
  const NodeId node = sim.AddProcess("t", [&](Env& env) {
    env.SetTimer(Seconds(1), [&] { fired = sim.now(); });
    return std::make_unique<Process>();
  });
  sim.At(Instant() + Milliseconds(500), [&] { sim.Suspend(node, Seconds(3)); });
  ASSERT_TRUE(sim.RunFor(Seconds(10)).ok());
  // 500ms ran before the suspension; the other 500ms of monotonic time ran after it.
  EXPECT_EQ(fired, Instant() + Milliseconds(4000));
}

TEST(SimulatorTest, DriftChangesTimerFiring) {
  for (const double ppm : {0.0, 100'000.0, -100'000.0}) {
    SCOPED_TRACE("drift " + std::to_string(ppm));
    Simulator sim;
    Instant fired;
    const NodeId node = sim.AddProcess("t", [&](Env& env) {
      env.SetTimer(Seconds(11), [&] { fired = sim.now(); });
      return std::make_unique<Process>();
    });
    sim.SetDriftPpm(node, ppm);
    ASSERT_TRUE(sim.RunFor(Seconds(20)).ok());
    // A fast clock (+10%) reaches 11s of local time after 10s of true time.
    const double expected = 11.0 / (1.0 + ppm * 1e-6);
    EXPECT_NEAR(ToSecondsDouble(fired - Instant()), expected, 1e-6);
  }
}

TEST(SimulatorTest, WallClockStepChangesWallNowButNotMonotonic) {
  Cluster cluster(11);
  Env& env = cluster.sim.env(cluster.echo_id);
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(1)).ok());
  const WallTime wall = env.WallNow();
  const Instant mono = env.MonotonicNow();
  cluster.sim.StepWallClock(cluster.echo_id, -Seconds(30));
  EXPECT_EQ(env.WallNow() - wall, -Seconds(30));
  EXPECT_EQ(env.MonotonicNow(), mono);
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(1)).ok());
  EXPECT_EQ(env.MonotonicNow() - mono, Seconds(1));
  EXPECT_EQ(env.WallNow() - wall, -Seconds(29));
  cluster.sim.ResyncWallClock(cluster.echo_id, SimClock::Resync::kStep);
  EXPECT_EQ(cluster.sim.clock(cluster.echo_id).WallOffset(cluster.sim.now()), Duration::Zero());
  EXPECT_EQ(cluster.TraceCount("\"event\":\"clock_step\""), 1u);
}

TEST(SimulatorTest, StrobeOscillatesAndEndsWhereItStarted) {
  Simulator sim;
  const NodeId node = sim.AddProcess("t", [](Env&) { return std::make_unique<Process>(); });
  std::vector<Duration> offsets;
  sim.StrobeWallClock(node, Seconds(2), Milliseconds(10), Milliseconds(95));
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(sim.RunUntil(Instant() + Milliseconds(10 * i + 5)).ok());
    offsets.push_back(sim.clock(node).WallOffset(sim.now()));
  }
  EXPECT_EQ(offsets[0], Seconds(2));
  EXPECT_EQ(offsets[1], Duration::Zero());
  EXPECT_EQ(offsets[2], Seconds(2));
  EXPECT_EQ(offsets.back(), Duration::Zero());
  EXPECT_GE(sim.counters().clock_changes, 10u);
}

// Appends a record per message, syncing every other one.
class Logger {
 public:
  explicit Logger(Env& env) : env_(env) {
    env_.SetReceiver([this](NodeId, std::span<const uint8_t> payload) {
      ASSERT_TRUE(env_.disk().Append("log", payload).ok());
      if (++count_ % 2 == 0) {
        ASSERT_TRUE(env_.disk().Sync("log").ok());
        ASSERT_TRUE(env_.disk().SyncDirectory().ok());
      }
    });
    env_.SetTimer(Hours(1), [] {});
  }

 private:
  Env& env_;
  int count_ = 0;
};

TEST(SimulatorTest, CrashLosesMemoryTimersAndUnsyncedDataAndRestartRebuilds) {
  SCOPED_TRACE("seed 12");
  Simulator sim(Options(12));
  int constructions = 0;
  const NodeId logger = sim.AddProcess("logger", [&](Env& env) {
    ++constructions;
    return Hold(std::make_unique<Logger>(env));
  });
  sim.SetDiskFaults(logger, LoseUnsynced());
  for (int i = 0; i < 3; ++i) sim.env(logger).Send(logger, Bytes(8, static_cast<uint8_t>(i)));
  ASSERT_TRUE(sim.RunFor(Milliseconds(100)).ok());
  ASSERT_EQ(sim.disk(logger).Read("log")->size(), 24u);
  sim.Crash(logger);
  EXPECT_FALSE(sim.alive(logger));
  EXPECT_EQ(sim.process(logger), nullptr);
  // Messages to a crashed process are dropped.
  sim.env(logger).Send(logger, Bytes(8, 9));
  ASSERT_TRUE(sim.RunFor(Milliseconds(100)).ok());
  sim.Restart(logger);
  EXPECT_EQ(constructions, 2);
  // Two records were synced; the third was not.
  EXPECT_EQ(sim.disk(logger).Read("log")->size(), 16u);
  EXPECT_EQ(sim.counters().crashes, 1u);
  EXPECT_EQ(sim.counters().restarts, 1u);
  EXPECT_EQ(sim.disk(logger).counters().lost_unsynced_bytes, 8u);
  // The first incarnation's one-hour timer died with it; the second set its own.
  ASSERT_TRUE(sim.RunFor(Hours(2)).ok());
  EXPECT_EQ(sim.counters().timers_fired, 1u);
}

TEST(SimulatorTest, SlowProcessDelaysHandling) {
  Cluster fast(13, 20, Milliseconds(10));
  Cluster slow(13, 20, Milliseconds(10));
  slow.sim.SetSlow(slow.echo_id, Milliseconds(30));
  ASSERT_TRUE(fast.sim.RunFor(Milliseconds(250)).ok());
  ASSERT_TRUE(slow.sim.RunFor(Milliseconds(250)).ok());
  EXPECT_GT(fast.echo()->received, slow.echo()->received + 5);
  EXPECT_GT(slow.sim.counters().deferred_by_slowness, 0u);
  ASSERT_TRUE(slow.sim.RunFor(Seconds(2)).ok());
  EXPECT_EQ(slow.echo()->received, 20u);  // slow, not lossy
}

TEST(SimulatorTest, SynchronousModelBoundsDelays) {
  SCOPED_TRACE("seed 14");
  Cluster cluster(14, 500, Milliseconds(1));
  cluster.sim.SetSystemModel(SystemModel::Synchronous(Milliseconds(1), Milliseconds(5)));
  ASSERT_TRUE(cluster.sim.RunFor(Seconds(1)).ok());
  ASSERT_EQ(cluster.pinger()->replies.size(), 500u);
  // Round trips: the echo's receipt times (its monotonic clock) are within one bound
  // of the send; here the observable consequence is that all 500 replies arrived
  // by 500ms + 2 * 5ms.
  Cluster late(14, 500, Milliseconds(1));
  late.sim.SetSystemModel(SystemModel::Synchronous(Milliseconds(1), Milliseconds(5)));
  ASSERT_TRUE(late.sim.RunFor(Milliseconds(510)).ok());
  EXPECT_EQ(late.pinger()->replies.size(), 500u);
  Rng rng(14);
  const DelayModel bounded = SystemModel::Synchronous(Milliseconds(1), Milliseconds(5)).Bounded();
  for (int i = 0; i < 10'000; ++i) {
    const Duration delay = bounded.Draw(rng);
    ASSERT_GE(delay, Milliseconds(1));
    ASSERT_LE(delay, Milliseconds(5));
  }
}

TEST(SimulatorTest, PartialSynchronyIsBoundedOnlyAfterGst) {
  Simulator sim(Options(15));
  sim.AddProcess("a", [](Env&) { return std::make_unique<Process>(); });
  sim.AddProcess("b", [](Env&) { return std::make_unique<Process>(); });
  sim.SetSystemModel(SystemModel::PartiallySynchronous(Instant() + Seconds(1), Milliseconds(1), Milliseconds(5)));
  EXPECT_EQ(sim.link_config(NodeId(1), NodeId(2)).delay.shape, DelayModel::Shape::kPareto);
  ASSERT_TRUE(sim.RunFor(Seconds(2)).ok());
  EXPECT_EQ(sim.link_config(NodeId(1), NodeId(2)).delay.shape, DelayModel::Shape::kUniform);
  EXPECT_EQ(sim.link_config(NodeId(1), NodeId(2)).delay.max, Duration::Infinite());
  Rng rng(1);
  for (int i = 0; i < 1000; ++i) EXPECT_LE(sim.link_config(NodeId(1), NodeId(2)).delay.Draw(rng), Milliseconds(5));
  // Before GST the tail is unbounded: some draws are far beyond the bound.
  const DelayModel tail = SystemModel::Asynchronous(Milliseconds(1), Milliseconds(2), 1.1).Unbounded();
  int beyond = 0;
  for (int i = 0; i < 1000; ++i) beyond += tail.Draw(rng) > Milliseconds(50) ? 1 : 0;
  EXPECT_GT(beyond, 10);
}

TEST(SimulatorTest, RunUntilPredicateStopsEarlyAndEventLimitIsEnforced) {
  Cluster cluster(16);
  auto result = cluster.sim.RunUntil([&] { return cluster.echo()->received >= 10; }, Instant() + Seconds(10));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(*result);
  EXPECT_LT(cluster.sim.now(), Instant() + Milliseconds(200));

  Simulator limited(Options(1, nullptr, 50));
  limited.AddProcess("echo", [](Env& env) { return Hold(std::make_unique<Echo>(env)); });
  limited.AddProcess("pinger", [](Env& env) { return Hold(std::make_unique<Pinger>(env, NodeId(1), Milliseconds(1), 1000)); });
  EXPECT_EQ(limited.RunFor(Seconds(10)).code(), StatusCode::kResourceExhausted);
}

TEST(SimulatorTest, SameSeedSameTraceBytes) {
  auto run = [](uint64_t seed) {
    Cluster cluster(seed, 300, Milliseconds(3));
    LinkConfig config = Link(0.1, 0.1, 0.1);
    config.delay = DelayModel::Pareto(Milliseconds(1), Milliseconds(1), 1.5);
    cluster.sim.SetAllLinks(config);
    cluster.sim.At(Instant() + Milliseconds(200), [&cluster] { cluster.sim.Pause(cluster.echo_id, Milliseconds(100)); });
    EXPECT_TRUE(cluster.sim.RunFor(Seconds(2)).ok());
    return cluster.writer.text();
  };
  const std::string first = run(42);
  EXPECT_GT(first.size(), 10'000u);
  EXPECT_EQ(first, run(42));
  EXPECT_NE(first, run(43));
}

TEST(SimulatorTest, UserTraceEventsCarryClockReadings) {
  TraceWriter writer(InMemory());
  Simulator sim(Options(1, &writer));
  const NodeId node = sim.AddProcess("t", [](Env&) { return std::make_unique<Process>(); });
  sim.SetWallClockOffset(node, Seconds(5));
  sim.env(node).Trace("lease_granted", {{"lease", uint64_t{3}}, {"holder", std::string_view("a\"b")}});
  EXPECT_NE(writer.text().find("\"event\":\"lease_granted\",\"lease\":3,\"holder\":\"a\\\"b\""), std::string::npos);
  EXPECT_NE(writer.text().find("\"wall_ns\":1767225605000000000"), std::string::npos);
  EXPECT_EQ(sim.counters().user_trace_events, 1u);
}

}  // namespace
}  // namespace murphy::sim
