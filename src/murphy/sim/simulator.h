// murphy/sim/simulator.h — the deterministic fault simulator.
//
// Contract: a `Simulator` is a single-threaded discrete-event simulation in virtual
// true time (nanoseconds since the start of the run, as an `Instant`). Events are
// ordered by (time, sequence number), so ties resolve in scheduling order; all
// randomness comes from one seeded Rng forked per component (network, disks, each
// process, nemesis), so adding draws in one does not shift the others. Nothing here
// reads a real clock or real randomness: the same seed and binary give the same run
// and the same trace, byte for byte (FoundationDB's simulation, TigerBeetle's VOPR,
// madsim/turmoil in Rust are the models).
//
// A test declares a cluster in a few lines:
//   SimOptions options;
//   options.seed = 7;
//   Simulator sim(options);
//   NodeId server = sim.AddProcess("server", [](Env& env) { return Hold(std::make_unique<Server>(env)); });
//   NodeId client = sim.AddProcess("client", ...);
//   LinkConfig lossy;
//   lossy.loss_probability = 0.2;
//   sim.SetLink(client, server, lossy);
//   sim.At(Instant() + Seconds(1), [&] { sim.Partition(IsolateCuts(server, sim.nodes())); });
//   sim.At(Instant() + Seconds(3), [&] { sim.Heal(); });
//   ASSERT_TRUE(sim.RunUntil(Instant() + Seconds(10)).ok());
// Each process has its own `Env` (a SimEnv): its clocks (SimClock), timers on its own
// monotonic clock, its transport address (its NodeId), its Disk (SimDisk) and its Rng.
// The factory is called at AddProcess and again at every Restart after a crash, with
// the same Env whose disk kept only durable data.
//
// Faults are settable per directed link and per process and changeable at any time
// (from the test between runs, or from actions scheduled with At()): see the sections
// below. Every fault is traced (trace.h) and counted (SimCounters).
//
// Callbacks: the simulator calls process code (factories, timers, receivers, disk
// completions) one at a time; env.h's rules hold (never re-entrant; a crash drops
// every pending callback of the process). Fault methods must not be called from
// inside a callback of the process they act on (REQUIRES, asserted) — schedule them
// with At() instead.
//
// Limits: kMaxProcesses processes; SimOptions::max_events events per run (RunUntil
// returns RESOURCE_EXHAUSTED beyond it); LinkConfig::queue_limit messages per link;
// kMaxInbox queued messages per paused process; kMaxTimers pending timers in all.
// Thread safety: none. Different Simulator objects share no mutable state, so
// different seeds may run on different threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "murphy/env/env.h"
#include "murphy/sim/clock.h"
#include "murphy/sim/network.h"
#include "murphy/sim/sim_disk.h"
#include "murphy/sim/trace.h"

namespace murphy::sim {

// A simulated process: whatever the factory builds. Its constructor typically calls
// env.SetReceiver and env.SetTimer; its destructor runs at a crash.
class Process {
 public:
  virtual ~Process() = default;
};

// Wraps any object as a Process, so node code need not know about the simulator.
template <typename T>
class ProcessHolder : public Process {
 public:
  explicit ProcessHolder(std::unique_ptr<T> object) : object_(std::move(object)) {}
  T* get() const { return object_.get(); }

 private:
  std::unique_ptr<T> object_;
};
template <typename T>
std::unique_ptr<Process> Hold(std::unique_ptr<T> object) {
  return std::make_unique<ProcessHolder<T>>(std::move(object));
}

using ProcessFactory = std::function<std::unique_ptr<Process>(Env&)>;

struct SimCounters {
  uint64_t events = 0;
  uint64_t messages_sent = 0;
  uint64_t messages_delivered = 0;
  uint64_t dropped_loss = 0;
  uint64_t dropped_partition = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_target_down = 0;
  uint64_t dropped_other = 0;  // unknown target, source down, full inbox
  uint64_t duplicated = 0;
  uint64_t corrupted = 0;
  uint64_t clog_held = 0;
  uint64_t clog_released = 0;
  uint64_t timers_fired = 0;
  uint64_t crashes = 0;
  uint64_t restarts = 0;
  uint64_t pauses = 0;
  uint64_t suspends = 0;
  uint64_t clock_changes = 0;
  uint64_t faults = 0;  // fault/heal actions of any kind
  uint64_t deferred_by_slowness = 0;
  uint64_t user_trace_events = 0;
};

struct SimOptions {
  uint64_t seed = 1;
  // Events per run at most (a livelocked protocol must not run forever).
  uint64_t max_events = 200'000'000;
  // Not owned; null: tracing off (counters are still kept).
  TraceWriter* trace = nullptr;
  // Wall time at true time zero: 2026-01-01T00:00:00Z.
  WallTime wall_origin = WallTime::FromNanoseconds(int64_t{1767225600} * 1'000'000'000);
  // The config of every link until changed.
  LinkConfig default_link;
};

class Simulator {
 public:
  static constexpr size_t kMaxProcesses = 64;
  static constexpr size_t kMaxInbox = 4096;
  static constexpr size_t kMaxTimers = 1'000'000;

  explicit Simulator(SimOptions options = {});
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  // --- Cluster ----------------------------------------------------------------------
  // Adds a process with id NodeId(count + 1) and starts it now (calls the factory).
  // REQUIRES: fewer than kMaxProcesses processes.
  NodeId AddProcess(std::string name, ProcessFactory factory);
  std::vector<NodeId> nodes() const;
  size_t process_count() const { return processes_.size(); }
  Env& env(NodeId node);
  // The live process object, or null while it is crashed.
  Process* process(NodeId node);
  // The object built by a factory that returned Hold(std::unique_ptr<T>), or a T
  // derived from Process; null if crashed or of another type.
  template <typename T>
  T* ProcessAs(NodeId node) {
    Process* object = process(node);
    if (object == nullptr) return nullptr;
    if (auto* holder = dynamic_cast<ProcessHolder<T>*>(object)) return holder->get();
    if constexpr (std::is_base_of_v<Process, T>) return dynamic_cast<T*>(object);
    return nullptr;
  }
  bool alive(NodeId node) const;
  const std::string& name(NodeId node) const;

  // --- Running ----------------------------------------------------------------------
  Instant now() const { return now_; }
  uint64_t seed() const { return options_.seed; }
  // Processes every event up to and including `deadline`, then sets now() to it.
  // RESOURCE_EXHAUSTED when the event limit is hit.
  Status RunUntil(Instant deadline);
  Status RunFor(Duration duration) { return RunUntil(now_ + duration); }
  // Runs until `predicate` holds (checked before the first and after every event) or
  // `limit` passes: true if it held. RESOURCE_EXHAUSTED at the event limit.
  Result<bool> RunUntil(const std::function<bool()>& predicate, Instant limit);
  // Runs `action` at true time `when` (now if in the past), between process events.
  void At(Instant when, std::function<void()> action);
  // Independent generator for test/nemesis decisions, forked from the seed.
  Rng& rng() { return nemesis_rng_; }

  // --- Network ----------------------------------------------------------------------
  void SetLink(NodeId source, NodeId target, const LinkConfig& config);
  void SetAllLinks(const LinkConfig& config);  // also the default for later processes
  const LinkConfig& link_config(NodeId source, NodeId target) const;
  // Sets every link's delay from the model. Partially synchronous: unbounded delays
  // now, and an action at GST switches every link to the bounded model.
  void SetSystemModel(const SystemModel& model);
  // Temporary faults over `links`; returns a handle for RemoveLinkFaults.
  uint64_t AddLinkFaults(std::vector<Link> links, const LinkFaultOverlay& overlay);
  void RemoveLinkFaults(uint64_t handle);

  // --- Partitions (directed reachability) ---------------------------------------------
  // Cuts are counted per link, so overlapping partitions compose: a link is up when
  // every cut on it has been removed. Messages are checked at send and at arrival.
  void AddCuts(const std::vector<Link>& links);
  void RemoveCuts(const std::vector<Link>& links);
  // Heal() then AddCuts(links).
  void Partition(const std::vector<Link>& links);
  // Removes every cut.
  void Heal();
  bool reachable(NodeId source, NodeId target) const;

  // --- Clogging (FoundationDB): hold messages on a link, release them later ------------
  void Clog(NodeId source, NodeId target);
  // Releases held messages in order, each after a fresh delay draw.
  void Unclog(NodeId source, NodeId target);
  bool clogged(NodeId source, NodeId target) const;

  // --- Processes --------------------------------------------------------------------
  // Crash: the process object is destroyed, its pending timers, queued messages and
  // disk completions dropped, its disk keeps only durable data. REQUIRES: alive.
  void Crash(NodeId node);
  // Calls the factory again with the same Env. REQUIRES: !alive.
  void Restart(NodeId node);
  // Stop-the-world for `duration` (a GC pause): timers and messages wait until the
  // end; monotonic and boot clocks keep running, so the process sees time jump.
  void Pause(NodeId node, Duration duration);
  // A VM suspend for `duration`: like Pause, but the monotonic clock stops while the
  // boot clock keeps counting (BootNow() − MonotonicNow() grows by `duration`).
  void Suspend(NodeId node, Duration duration);
  bool paused(NodeId node) const;
  // Every event the process handles costs `cost` of true time after it (a slow or
  // overloaded process); later events wait. Zero: normal speed.
  void SetSlow(NodeId node, Duration cost);

  // --- Clocks -----------------------------------------------------------------------
  void SetDriftPpm(NodeId node, double ppm);
  void StepWallClock(NodeId node, Duration amount);
  void SetWallClockOffset(NodeId node, Duration offset);
  void ResyncWallClock(NodeId node, SimClock::Resync how);
  // Jepsen's strobe: every `period` for `duration`, step the wall clock by
  // +amplitude and back, then leave it where it started.
  void StrobeWallClock(NodeId node, Duration amplitude, Duration period, Duration duration);
  const SimClock& clock(NodeId node) const;

  // --- Disk ---------------------------------------------------------------------------
  void SetDiskFaults(NodeId node, const DiskFaults& faults);
  SimDisk& disk(NodeId node);

  // --- Observability ---------------------------------------------------------------
  const SimCounters& counters() const { return counters_; }
  TraceWriter* trace() const { return options_.trace; }
  bool tracing() const { return options_.trace != nullptr; }
  // Writes a simulator-level (node 0) or process-level event.
  void TraceEvent(NodeId node, std::string_view event, std::initializer_list<TraceField> fields);
  // Writes a run_end line with the counters.
  void TraceRunEnd();

 private:
  class SimEnv;
  struct ProcessState;
  struct LinkState;
  enum class EventKind : uint8_t { kArrive, kInbox, kTimer, kAction, kDiskDone, kResume };
  struct Event {
    int64_t time_ns;
    uint64_t sequence;
    uint32_t slot;
    uint32_t process;
    uint64_t tag;
    EventKind kind;
  };
  struct EventLater {
    bool operator()(const Event& a, const Event& b) const {
      return a.time_ns != b.time_ns ? a.time_ns > b.time_ns : a.sequence > b.sequence;
    }
  };
  struct Message {
    Bytes payload;
    uint64_t id = 0;
    uint32_t source = 0;
    uint32_t target = 0;
    bool duplicate = false;
    bool corrupted = false;
  };
  struct Timer {
    std::function<void()> callback;
    int64_t monotonic_deadline_ns = 0;
    uint64_t pending_sequence = 0;  // the queued event that may fire it
    uint32_t process = 0;
    uint32_t generation = 1;
    bool live = false;
  };
  struct LinkOverlay {
    std::vector<Link> links;
    LinkFaultOverlay overlay;
  };

  uint32_t Index(NodeId node) const;
  ProcessState& State(NodeId node);
  const ProcessState& State(NodeId node) const;
  LinkState& LinkAt(uint32_t source, uint32_t target);
  const LinkState& LinkAt(uint32_t source, uint32_t target) const;
  void Push(EventKind kind, int64_t time_ns, uint32_t process, uint32_t slot, uint64_t tag);
  void Repush(Event event, int64_t time_ns);
  void Dispatch(const Event& event);
  // True if the process may run `event` now; otherwise queues it for later.
  bool Admit(ProcessState& process, const Event& event);
  void AfterHandler(ProcessState& process);

  // SimEnv's implementation.
  TimerId SetTimer(uint32_t process, Duration delay, std::function<void()> callback);
  bool CancelTimer(uint32_t process, TimerId id);
  void ScheduleTimerEvent(ProcessState& process, uint32_t slot);
  void RescheduleTimers(ProcessState& process);
  void Send(uint32_t source, NodeId target, Bytes payload);
  void Transmit(uint32_t source, uint32_t target, Bytes payload, uint64_t id, bool duplicate);
  uint32_t AllocateMessage();
  void FreeMessage(uint32_t slot);
  void Arrive(const Event& event);
  void DeliverToProcess(const Event& event);
  void FireTimer(const Event& event);
  void RunAction(const Event& event);
  void RunDiskCompletion(const Event& event);
  void Resume(const Event& event);
  void DiskLater(uint32_t process, Duration delay, std::function<void()> action);
  void TraceProcess(const ProcessState& process, std::string_view event,
                    std::initializer_list<TraceField> fields);
  void RecomputeLink(uint32_t source, uint32_t target);
  void StartProcess(ProcessState& process);
  void DropDeferred(ProcessState& process);
  Duration DrawDelay(const LinkState& link);
  void EnsureLinkCapacity(uint32_t count);
  LinkConfig default_link_;

  SimOptions options_;
  Rng root_rng_;
  Rng network_rng_;
  Rng nemesis_rng_;
  Instant now_;
  uint64_t next_sequence_ = 0;
  uint64_t next_message_id_ = 1;
  uint64_t next_overlay_handle_ = 1;
  std::vector<Event> queue_;
  std::vector<std::unique_ptr<ProcessState>> processes_;
  std::vector<LinkState> links_;  // link_stride_ x link_stride_, row = source
  uint32_t link_stride_ = 0;
  std::vector<Message> messages_;
  std::vector<uint32_t> free_messages_;
  std::vector<Timer> timers_;
  std::vector<uint32_t> free_timers_;
  std::vector<std::function<void()>> actions_;
  std::vector<uint32_t> free_actions_;
  std::map<uint64_t, LinkOverlay> overlays_;
  SimCounters counters_;
  int64_t running_process_ = -1;  // index of the process whose code is running
};

}  // namespace murphy::sim
