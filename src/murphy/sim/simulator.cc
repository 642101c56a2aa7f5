#include "murphy/sim/simulator.h"

#include <algorithm>
#include <utility>

namespace murphy::sim {
namespace {
// Trace fields hold 64-bit integers; widen 32-bit ids explicitly.
constexpr uint64_t Wide(uint32_t value) { return value; }
}  // namespace

// --- Internal state -----------------------------------------------------------------

struct Simulator::LinkState {
  LinkConfig base;
  LinkConfig effective;  // base with the active overlays applied
  uint32_t cut_count = 0;
  uint32_t clog_count = 0;
  uint32_t in_flight = 0;  // scheduled arrivals plus held messages
  int64_t last_arrival_ns = 0;  // for FIFO links
  std::vector<uint32_t> held;   // message slots held by a clog, in order
};

struct Simulator::ProcessState {
  ProcessState(std::string name_in, uint32_t index_in, ProcessFactory factory_in, SimClock clock_in, Rng rng_in)
      : name(std::move(name_in)), index(index_in), factory(std::move(factory_in)), clock(clock_in), rng(rng_in) {}

  std::string name;
  uint32_t index;
  ProcessFactory factory;
  SimClock clock;
  Rng rng;
  std::unique_ptr<SimEnv> env;
  std::unique_ptr<SimDisk> disk;
  std::unique_ptr<Process> object;
  std::function<void(NodeId, std::span<const uint8_t>)> receiver;
  std::function<void(NodeId, std::span<const uint8_t>)> next_receiver;
  bool receiver_replaced = false;
  bool in_receiver = false;
  bool alive = false;
  bool paused = false;
  bool suspended = false;
  int64_t pause_until_ns = 0;
  uint64_t pause_serial = 0;
  int64_t busy_until_ns = 0;
  Duration slow_cost = Duration::Zero();
  uint64_t incarnation = 0;
  std::vector<Event> deferred;  // events that arrived while paused, in order
  size_t deferred_messages = 0;
};

class Simulator::SimEnv final : public Env, public SimDisk::Host {
 public:
  SimEnv(Simulator* simulator, uint32_t index) : simulator_(simulator), index_(index) {}

  NodeId self() const override { return NodeId(index_ + 1); }
  Instant MonotonicNow() override { return state().clock.Monotonic(simulator_->now_); }
  WallTime WallNow() override { return state().clock.Wall(simulator_->now_); }
  Instant BootNow() override { return state().clock.Boot(simulator_->now_); }
  TimerId SetTimer(Duration delay, std::function<void()> callback) override {
    return simulator_->SetTimer(index_, delay, std::move(callback));
  }
  bool CancelTimer(TimerId id) override { return simulator_->CancelTimer(index_, id); }
  void Send(NodeId target, Bytes payload) override { simulator_->Send(index_, target, std::move(payload)); }
  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) override {
    ProcessState& process = state();
    if (!process.alive) return;
    if (process.in_receiver) {
      // Replacing the handler that is running would destroy it mid-call.
      process.next_receiver = std::move(receiver);
      process.receiver_replaced = true;
    } else {
      process.receiver = std::move(receiver);
    }
  }
  Disk& disk() override { return *state().disk; }
  Rng& rng() override { return state().rng; }
  void Trace(std::string_view event, std::initializer_list<TraceField> fields) override {
    ++simulator_->counters_.user_trace_events;
    if (simulator_->tracing()) simulator_->TraceProcess(state(), event, fields);
  }

  void DiskTrace(std::string_view event, std::initializer_list<TraceField> fields) override {
    if (simulator_->tracing()) simulator_->TraceProcess(state(), event, fields);
  }
  void DiskBusy(Duration duration) override {
    ProcessState& process = state();
    process.busy_until_ns = std::max(process.busy_until_ns, simulator_->now_.nanoseconds()) + duration.nanoseconds();
  }
  void DiskLater(Duration delay, std::function<void()> action) override {
    simulator_->DiskLater(index_, delay, std::move(action));
  }

 private:
  ProcessState& state() const { return *simulator_->processes_[index_]; }
  Simulator* simulator_;
  uint32_t index_;
};


// --- Construction and bookkeeping ---------------------------------------------------

Simulator::Simulator(SimOptions options)
    : options_(options),
      root_rng_(options.seed),
      network_rng_(root_rng_.Fork()),
      nemesis_rng_(root_rng_.Fork()) {
  default_link_ = options.default_link;
  queue_.reserve(1024);
}

Simulator::~Simulator() {
  // Destroy processes while the simulator is still whole: their destructors may
  // cancel timers or send (both harmless once they are marked dead).
  for (auto& process : processes_) {
    process->alive = false;
    process->object.reset();
  }
}

uint32_t Simulator::Index(NodeId node) const {
  MURPHY_ASSERT_MSG(node.value() >= 1 && node.value() <= processes_.size(), "unknown simulated process");
  return node.value() - 1;
}

Simulator::ProcessState& Simulator::State(NodeId node) { return *processes_[Index(node)]; }
const Simulator::ProcessState& Simulator::State(NodeId node) const { return *processes_[Index(node)]; }

Simulator::LinkState& Simulator::LinkAt(uint32_t source, uint32_t target) {
  return links_[source * link_stride_ + target];
}
const Simulator::LinkState& Simulator::LinkAt(uint32_t source, uint32_t target) const {
  return links_[source * link_stride_ + target];
}

void Simulator::EnsureLinkCapacity(uint32_t count) {
  if (count <= link_stride_) return;
  uint32_t stride = std::max<uint32_t>(4, link_stride_);
  while (stride < count) stride *= 2;
  std::vector<LinkState> links(static_cast<size_t>(stride) * stride);
  for (uint32_t source = 0; source < stride; ++source) {
    for (uint32_t target = 0; target < stride; ++target) {
      LinkState& link = links[source * stride + target];
      if (source < link_stride_ && target < link_stride_) {
        link = std::move(LinkAt(source, target));
      } else {
        link.base = default_link_;
        link.effective = default_link_;
      }
    }
  }
  links_ = std::move(links);
  link_stride_ = stride;
}

NodeId Simulator::AddProcess(std::string name, ProcessFactory factory) {
  MURPHY_ASSERT_MSG(processes_.size() < kMaxProcesses, "too many simulated processes");
  const auto index = static_cast<uint32_t>(processes_.size());
  // Each machine has booted at a different moment: monotonic readings of different
  // processes are not comparable, as in reality.
  const Instant monotonic_start = Instant() + Seconds(3600) + nemesis_rng_.UniformDuration(Duration(), Hours(100));
  Rng process_rng = root_rng_.Fork();
  Rng disk_rng = root_rng_.Fork();
  auto state = std::make_unique<ProcessState>(std::move(name), index, std::move(factory),
                                              SimClock(now_, monotonic_start, options_.wall_origin, Duration()),
                                              process_rng);
  state->env = std::make_unique<SimEnv>(this, index);
  state->disk = std::make_unique<SimDisk>(disk_rng, state->env.get());
  processes_.push_back(std::move(state));
  EnsureLinkCapacity(index + 1);
  StartProcess(*processes_.back());
  return NodeId(index + 1);
}

std::vector<NodeId> Simulator::nodes() const {
  std::vector<NodeId> result;
  for (size_t i = 0; i < processes_.size(); ++i) result.push_back(NodeId(static_cast<uint32_t>(i + 1)));
  return result;
}

Env& Simulator::env(NodeId node) { return *State(node).env; }
Process* Simulator::process(NodeId node) { return State(node).object.get(); }
bool Simulator::alive(NodeId node) const { return State(node).alive; }
const std::string& Simulator::name(NodeId node) const { return State(node).name; }
const SimClock& Simulator::clock(NodeId node) const { return State(node).clock; }
SimDisk& Simulator::disk(NodeId node) { return *State(node).disk; }
bool Simulator::paused(NodeId node) const { return State(node).paused; }

void Simulator::StartProcess(ProcessState& process) {
  process.alive = true;
  const int64_t previous = running_process_;
  running_process_ = process.index;
  process.object = process.factory(*process.env);
  running_process_ = previous;
}

// --- Event queue --------------------------------------------------------------------

void Simulator::Push(EventKind kind, int64_t time_ns, uint32_t process, uint32_t slot, uint64_t tag) {
  queue_.push_back(Event{time_ns, next_sequence_++, slot, process, tag, kind});
  std::push_heap(queue_.begin(), queue_.end(), EventLater());
}

void Simulator::Repush(Event event, int64_t time_ns) {
  event.time_ns = time_ns;
  event.sequence = next_sequence_++;
  if (event.kind == EventKind::kTimer) timers_[event.slot].pending_sequence = event.sequence;
  queue_.push_back(event);
  std::push_heap(queue_.begin(), queue_.end(), EventLater());
}

Status Simulator::RunUntil(Instant deadline) {
  while (!queue_.empty() && queue_.front().time_ns <= deadline.nanoseconds()) {
    if (counters_.events >= options_.max_events) {
      return ResourceExhaustedError("simulation event limit reached (SimOptions::max_events)");
    }
    std::pop_heap(queue_.begin(), queue_.end(), EventLater());
    const Event event = queue_.back();
    queue_.pop_back();
    MURPHY_ASSERT(event.time_ns >= now_.nanoseconds());
    now_ = Instant::FromNanoseconds(event.time_ns);
    ++counters_.events;
    Dispatch(event);
  }
  if (deadline > now_) now_ = deadline;
  return Status::Ok();
}

Result<bool> Simulator::RunUntil(const std::function<bool()>& predicate, Instant limit) {
  if (predicate()) return true;
  while (!queue_.empty() && queue_.front().time_ns <= limit.nanoseconds()) {
    MURPHY_RETURN_IF_ERROR(RunUntil(Instant::FromNanoseconds(queue_.front().time_ns)));
    if (predicate()) return true;
  }
  if (limit > now_) now_ = limit;
  return predicate();
}

void Simulator::At(Instant when, std::function<void()> action) {
  uint32_t slot;
  if (!free_actions_.empty()) {
    slot = free_actions_.back();
    free_actions_.pop_back();
    actions_[slot] = std::move(action);
  } else {
    slot = static_cast<uint32_t>(actions_.size());
    actions_.push_back(std::move(action));
  }
  Push(EventKind::kAction, std::max(when, now_).nanoseconds(), 0, slot, 0);
}

void Simulator::Dispatch(const Event& event) {
  switch (event.kind) {
    case EventKind::kArrive:
      Arrive(event);
      return;
    case EventKind::kInbox:
      DeliverToProcess(event);
      return;
    case EventKind::kTimer:
      FireTimer(event);
      return;
    case EventKind::kAction:
      RunAction(event);
      return;
    case EventKind::kDiskDone:
      RunDiskCompletion(event);
      return;
    case EventKind::kResume:
      Resume(event);
      return;
  }
  MURPHY_UNREACHABLE();
}

bool Simulator::Admit(ProcessState& process, const Event& event) {
  if (process.paused) {
    if (event.kind == EventKind::kInbox) {
      if (process.deferred_messages >= kMaxInbox) {
        const Message& message = messages_[event.slot];
        ++counters_.dropped_other;
        TraceProcess(process, "drop", {{"source", Wide(message.source + 1)}, {"target", Wide(message.target + 1)},
                                       {"message", message.id}, {"reason", std::string_view("inbox_full")}});
        FreeMessage(event.slot);
        return false;
      }
      ++process.deferred_messages;
    }
    process.deferred.push_back(event);
    return false;
  }
  if (process.busy_until_ns > now_.nanoseconds()) {
    ++counters_.deferred_by_slowness;
    Repush(event, process.busy_until_ns);
    return false;
  }
  return true;
}

void Simulator::AfterHandler(ProcessState& process) {
  if (process.slow_cost > Duration::Zero()) {
    process.busy_until_ns = std::max(process.busy_until_ns, (now_ + process.slow_cost).nanoseconds());
  }
}

void Simulator::TraceProcess(const ProcessState& process, std::string_view event,
                             std::initializer_list<TraceField> fields) {
  if (options_.trace == nullptr) return;
  options_.trace->Write(now_.nanoseconds(), process.index + 1, process.clock.Monotonic(now_).nanoseconds(),
                        process.clock.Wall(now_).nanoseconds(), event, fields);
}

void Simulator::TraceEvent(NodeId node, std::string_view event, std::initializer_list<TraceField> fields) {
  if (options_.trace == nullptr) return;
  if (node.value() == 0) {
    options_.trace->Write(now_.nanoseconds(), 0, 0, 0, event, fields);
  } else {
    TraceProcess(State(node), event, fields);
  }
}

void Simulator::TraceRunEnd() {
  if (options_.trace == nullptr) return;
  const SimCounters& c = counters_;
  options_.trace->Write(now_.nanoseconds(), 0, 0, 0, "run_end",
                        {{"seed", options_.seed},
                         {"events", c.events},
                         {"messages_sent", c.messages_sent},
                         {"messages_delivered", c.messages_delivered},
                         {"dropped_loss", c.dropped_loss},
                         {"dropped_partition", c.dropped_partition},
                         {"dropped_queue_full", c.dropped_queue_full},
                         {"dropped_target_down", c.dropped_target_down},
                         {"duplicated", c.duplicated},
                         {"corrupted", c.corrupted},
                         {"timers_fired", c.timers_fired},
                         {"crashes", c.crashes},
                         {"restarts", c.restarts},
                         {"pauses", c.pauses},
                         {"faults", c.faults}});
}

// --- Timers -------------------------------------------------------------------------

TimerId Simulator::SetTimer(uint32_t index, Duration delay, std::function<void()> callback) {
  ProcessState& process = *processes_[index];
  if (!process.alive) return TimerId();  // a dying process's destructor: nothing will run
  uint32_t slot;
  if (!free_timers_.empty()) {
    slot = free_timers_.back();
    free_timers_.pop_back();
  } else {
    MURPHY_ASSERT_MSG(timers_.size() < kMaxTimers, "too many pending simulated timers");
    slot = static_cast<uint32_t>(timers_.size());
    timers_.emplace_back();
  }
  Timer& timer = timers_[slot];
  timer.callback = std::move(callback);
  timer.process = index;
  timer.live = true;
  timer.monotonic_deadline_ns = (process.clock.Monotonic(now_) + Max(delay, Duration::Zero())).nanoseconds();
  ScheduleTimerEvent(process, slot);
  return TimerId((static_cast<uint64_t>(timer.generation) << 32) | slot);
}

void Simulator::ScheduleTimerEvent(ProcessState& process, uint32_t slot) {
  Timer& timer = timers_[slot];
  const Instant when =
      process.clock.TrueTimeWhenMonotonicReaches(Instant::FromNanoseconds(timer.monotonic_deadline_ns));
  if (when == Instant::Max()) {
    timer.pending_sequence = 0;  // the clock is stopped; Resume reschedules
    return;
  }
  timer.pending_sequence = next_sequence_;
  Push(EventKind::kTimer, std::max(when, now_).nanoseconds(), process.index, slot, timer.generation);
}

void Simulator::RescheduleTimers(ProcessState& process) {
  for (uint32_t slot = 0; slot < timers_.size(); ++slot) {
    if (timers_[slot].live && timers_[slot].process == process.index) ScheduleTimerEvent(process, slot);
  }
}

bool Simulator::CancelTimer(uint32_t index, TimerId id) {
  const auto slot = static_cast<uint32_t>(id.value() & 0xffffffffu);
  const auto generation = static_cast<uint32_t>(id.value() >> 32);
  if (slot >= timers_.size()) return false;
  Timer& timer = timers_[slot];
  if (!timer.live || timer.generation != generation || timer.process != index) return false;
  timer.live = false;
  ++timer.generation;
  timer.callback = nullptr;
  free_timers_.push_back(slot);
  return true;
}

void Simulator::FireTimer(const Event& event) {
  Timer& timer = timers_[event.slot];
  if (!timer.live || timer.generation != event.tag || timer.pending_sequence != event.sequence) return;
  ProcessState& process = *processes_[event.process];
  if (!process.alive || !Admit(process, event)) return;
  if (process.clock.Monotonic(now_).nanoseconds() < timer.monotonic_deadline_ns) {
    // The clock was stopped or slowed since the timer was scheduled.
    ScheduleTimerEvent(process, event.slot);
    return;
  }
  std::function<void()> callback = std::move(timer.callback);
  const uint64_t id = (static_cast<uint64_t>(timer.generation) << 32) | event.slot;
  timer.callback = nullptr;
  timer.live = false;
  ++timer.generation;
  free_timers_.push_back(event.slot);
  ++counters_.timers_fired;
  if (tracing()) TraceProcess(process, "timer", {{"timer", id}});
  running_process_ = process.index;
  callback();
  running_process_ = -1;
  AfterHandler(process);
}

// --- Messages -----------------------------------------------------------------------

uint32_t Simulator::AllocateMessage() {
  if (!free_messages_.empty()) {
    const uint32_t slot = free_messages_.back();
    free_messages_.pop_back();
    return slot;
  }
  messages_.emplace_back();
  return static_cast<uint32_t>(messages_.size() - 1);
}

void Simulator::FreeMessage(uint32_t slot) {
  messages_[slot].payload.clear();
  free_messages_.push_back(slot);
}

Duration Simulator::DrawDelay(const LinkState& link) {
  const LinkConfig& config = link.effective;
  Duration delay = config.delay.Draw(network_rng_);
  if (config.jitter > Duration::Zero()) delay += network_rng_.UniformDuration(Duration::Zero(), config.jitter);
  return Max(delay, Duration::Zero());
}

void Simulator::Send(uint32_t source, NodeId target, Bytes payload) {
  ++counters_.messages_sent;
  const uint64_t id = next_message_id_++;
  ProcessState& sender = *processes_[source];
  const bool known = target.value() >= 1 && target.value() <= processes_.size();
  if (!sender.alive || !known) {
    ++counters_.dropped_other;
    if (tracing()) {
      TraceProcess(sender, "drop", {{"source", Wide(source + 1)}, {"target", Wide(target.value())}, {"message", id},
                                    {"reason", std::string_view(known ? "source_down" : "unknown_target")}});
    }
    return;
  }
  if (tracing()) TraceProcess(sender, "send", {{"target", Wide(target.value())}, {"message", id}, {"bytes", payload.size()}});
  Transmit(source, target.value() - 1, std::move(payload), id, false);
}

void Simulator::Transmit(uint32_t source, uint32_t target, Bytes payload, uint64_t id, bool duplicate) {
  LinkState& link = LinkAt(source, target);
  const LinkConfig& config = link.effective;
  const ProcessState& sender = *processes_[source];
  auto drop = [&](std::string_view reason, uint64_t* counter) {
    ++*counter;
    if (tracing()) {
      TraceProcess(sender, "drop",
                   {{"source", Wide(source + 1)}, {"target", Wide(target + 1)}, {"message", id}, {"reason", reason}});
    }
  };
  if (link.cut_count > 0) return drop("partition", &counters_.dropped_partition);
  if (network_rng_.Bernoulli(config.loss_probability)) return drop("loss", &counters_.dropped_loss);
  if (link.in_flight >= config.queue_limit) return drop("queue_full", &counters_.dropped_queue_full);

  const bool make_duplicate = !duplicate && network_rng_.Bernoulli(config.duplicate_probability);
  if (!payload.empty() && network_rng_.Bernoulli(config.corrupt_probability)) {
    // One to three flipped bits: within CRC-32C's guaranteed detection for the
    // message sizes we use, so a checksum must catch every one.
    const auto bits = static_cast<uint32_t>(network_rng_.UniformInRange(1, 3));
    for (uint32_t i = 0; i < bits; ++i) {
      const uint64_t bit = network_rng_.Uniform(payload.size() * 8);
      payload[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    }
    ++counters_.corrupted;
    if (tracing()) TraceProcess(sender, "corrupt", {{"target", Wide(target + 1)}, {"message", id}, {"bits", Wide(bits)}});
  }
  Bytes copy;
  if (make_duplicate) copy = payload;

  int64_t arrival = (now_ + DrawDelay(link)).nanoseconds();
  if (config.fifo) arrival = std::max(arrival, link.last_arrival_ns);
  link.last_arrival_ns = std::max(link.last_arrival_ns, arrival);
  const uint32_t slot = AllocateMessage();
  Message& message = messages_[slot];
  message.payload = std::move(payload);
  message.id = id;
  message.source = source;
  message.target = target;
  message.duplicate = duplicate;
  message.corrupted = false;
  ++link.in_flight;
  Push(EventKind::kArrive, arrival, target, slot, 0);

  if (make_duplicate) {
    ++counters_.duplicated;
    if (tracing()) TraceProcess(sender, "duplicate", {{"target", Wide(target + 1)}, {"message", id}});
    // The copy takes its own path through the network: its own delay, queue slot.
    Transmit(source, target, std::move(copy), id, true);
  }
}

void Simulator::Arrive(const Event& event) {
  Message& message = messages_[event.slot];
  LinkState& link = LinkAt(message.source, message.target);
  MURPHY_ASSERT(link.in_flight > 0);
  --link.in_flight;
  if (link.cut_count > 0) {
    ++counters_.dropped_partition;
    if (tracing()) {
      TraceProcess(*processes_[message.target], "drop",
                   {{"source", Wide(message.source + 1)}, {"target", Wide(message.target + 1)}, {"message", message.id},
                    {"reason", std::string_view("partition")}});
    }
    FreeMessage(event.slot);
    return;
  }
  if (link.clog_count > 0) {
    if (link.held.size() >= link.effective.queue_limit) {
      ++counters_.dropped_queue_full;
      if (tracing()) {
        TraceProcess(*processes_[message.target], "drop",
                     {{"source", Wide(message.source + 1)}, {"target", Wide(message.target + 1)}, {"message", message.id},
                      {"reason", std::string_view("clog_overflow")}});
      }
      FreeMessage(event.slot);
      return;
    }
    ++link.in_flight;
    link.held.push_back(event.slot);
    ++counters_.clog_held;
    if (tracing()) {
      TraceEvent(NodeId(0), "clog_hold",
                 {{"source", Wide(message.source + 1)}, {"target", Wide(message.target + 1)}, {"message", message.id}});
    }
    return;
  }
  Event inbox = event;
  inbox.kind = EventKind::kInbox;
  DeliverToProcess(inbox);
}

void Simulator::DeliverToProcess(const Event& event) {
  ProcessState& process = *processes_[event.process];
  if (!process.alive) {
    const Message& message = messages_[event.slot];
    ++counters_.dropped_target_down;
    if (tracing()) {
      TraceEvent(NodeId(0), "drop", {{"source", Wide(message.source + 1)}, {"target", Wide(message.target + 1)},
                                     {"message", message.id}, {"reason", std::string_view("target_down")}});
    }
    FreeMessage(event.slot);
    return;
  }
  if (!Admit(process, event)) return;
  Message& message = messages_[event.slot];
  // Move the payload out: the receiver may send, which may grow messages_.
  Bytes payload = std::move(message.payload);
  const NodeId source(message.source + 1);
  if (tracing()) {
    TraceProcess(process, "deliver", {{"source", Wide(source.value())}, {"message", message.id},
                                      {"bytes", payload.size()}, {"duplicate", message.duplicate}});
  }
  FreeMessage(event.slot);
  ++counters_.messages_delivered;
  if (process.receiver) {
    running_process_ = process.index;
    process.in_receiver = true;
    process.receiver(source, payload);
    process.in_receiver = false;
    running_process_ = -1;
    if (process.receiver_replaced) {
      process.receiver = std::move(process.next_receiver);
      process.next_receiver = nullptr;
      process.receiver_replaced = false;
    }
  }
  AfterHandler(process);
}

// --- Actions and disk completions ------------------------------------------------------

void Simulator::RunAction(const Event& event) {
  std::function<void()> action = std::move(actions_[event.slot]);
  actions_[event.slot] = nullptr;
  free_actions_.push_back(event.slot);
  action();
}

void Simulator::DiskLater(uint32_t index, Duration delay, std::function<void()> action) {
  ProcessState& process = *processes_[index];
  if (!process.alive) return;
  uint32_t slot;
  if (!free_actions_.empty()) {
    slot = free_actions_.back();
    free_actions_.pop_back();
    actions_[slot] = std::move(action);
  } else {
    slot = static_cast<uint32_t>(actions_.size());
    actions_.push_back(std::move(action));
  }
  Push(EventKind::kDiskDone, (now_ + Max(delay, Duration::Zero())).nanoseconds(), index, slot, process.incarnation);
}

void Simulator::RunDiskCompletion(const Event& event) {
  ProcessState& process = *processes_[event.process];
  if (!process.alive || process.incarnation != event.tag) {
    actions_[event.slot] = nullptr;
    free_actions_.push_back(event.slot);
    return;
  }
  if (!Admit(process, event)) return;
  std::function<void()> action = std::move(actions_[event.slot]);
  actions_[event.slot] = nullptr;
  free_actions_.push_back(event.slot);
  running_process_ = process.index;
  action();
  running_process_ = -1;
  AfterHandler(process);
}

// --- Network faults ---------------------------------------------------------------------

void Simulator::SetLink(NodeId source, NodeId target, const LinkConfig& config) {
  const uint32_t s = Index(source);
  const uint32_t t = Index(target);
  LinkAt(s, t).base = config;
  RecomputeLink(s, t);
  ++counters_.faults;
  if (tracing()) {
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("link")}, {"source", Wide(source.value())},
                                    {"target", Wide(target.value())}, {"loss_probability", config.loss_probability},
                                    {"duplicate_probability", config.duplicate_probability},
                                    {"corrupt_probability", config.corrupt_probability}, {"fifo", config.fifo}});
  }
}

void Simulator::SetAllLinks(const LinkConfig& config) {
  default_link_ = config;
  for (uint32_t s = 0; s < link_stride_; ++s) {
    for (uint32_t t = 0; t < link_stride_; ++t) {
      LinkAt(s, t).base = config;
      RecomputeLink(s, t);
    }
  }
  ++counters_.faults;
  if (tracing()) {
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("all_links")},
                                    {"loss_probability", config.loss_probability},
                                    {"duplicate_probability", config.duplicate_probability},
                                    {"corrupt_probability", config.corrupt_probability}, {"fifo", config.fifo}});
  }
}

const LinkConfig& Simulator::link_config(NodeId source, NodeId target) const {
  return LinkAt(Index(source), Index(target)).effective;
}

void Simulator::SetSystemModel(const SystemModel& model) {
  const bool bounded = model.kind == SystemModelKind::kSynchronous;
  const DelayModel delay = bounded ? model.Bounded() : model.Unbounded();
  default_link_.delay = delay;
  for (uint32_t s = 0; s < link_stride_; ++s) {
    for (uint32_t t = 0; t < link_stride_; ++t) {
      LinkAt(s, t).base.delay = delay;
      RecomputeLink(s, t);
    }
  }
  if (tracing()) {
    static constexpr std::string_view kNames[] = {"synchronous", "partially_synchronous", "asynchronous"};
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("system_model")},
                                    {"model", kNames[static_cast<int>(model.kind)]}});
  }
  if (model.kind == SystemModelKind::kPartiallySynchronous) {
    At(model.global_stabilization_time, [this, model] {
      SystemModel after = model;
      after.kind = SystemModelKind::kSynchronous;
      SetSystemModel(after);
      TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("global_stabilization")}});
    });
  }
}

void Simulator::RecomputeLink(uint32_t s, uint32_t t) {
  LinkState& link = LinkAt(s, t);
  link.effective = link.base;
  const Link key{NodeId(s + 1), NodeId(t + 1)};
  for (const auto& [handle, overlay] : overlays_) {
    if (std::find(overlay.links.begin(), overlay.links.end(), key) == overlay.links.end()) continue;
    const LinkFaultOverlay& o = overlay.overlay;
    LinkConfig& e = link.effective;
    e.loss_probability = std::max(e.loss_probability, o.loss_probability);
    e.duplicate_probability = std::max(e.duplicate_probability, o.duplicate_probability);
    e.corrupt_probability = std::max(e.corrupt_probability, o.corrupt_probability);
    if (o.extra_delay_mean > Duration::Zero()) {
      // A latency spike: shift the delay distribution by the extra mean and widen it.
      e.delay.min += o.extra_delay_mean / 2;
      e.jitter += o.extra_delay_mean;
    }
    if (o.reorder_jitter > Duration::Zero()) {
      e.fifo = false;
      e.jitter += o.reorder_jitter;
    }
  }
}

uint64_t Simulator::AddLinkFaults(std::vector<Link> links, const LinkFaultOverlay& overlay) {
  const uint64_t handle = next_overlay_handle_++;
  if (tracing()) {
    const std::string text = FormatLinks(links);
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("link_faults")}, {"handle", handle},
                                    {"links", std::string_view(text)},
                                    {"loss_probability", overlay.loss_probability},
                                    {"duplicate_probability", overlay.duplicate_probability},
                                    {"corrupt_probability", overlay.corrupt_probability},
                                    {"extra_delay_mean_ns", overlay.extra_delay_mean.nanoseconds()},
                                    {"reorder_jitter_ns", overlay.reorder_jitter.nanoseconds()}});
  }
  ++counters_.faults;
  auto& entry = overlays_[handle];
  entry.links = std::move(links);
  entry.overlay = overlay;
  for (const Link& link : entry.links) RecomputeLink(Index(link.source), Index(link.target));
  return handle;
}

void Simulator::RemoveLinkFaults(uint64_t handle) {
  const auto it = overlays_.find(handle);
  if (it == overlays_.end()) return;
  const std::vector<Link> links = std::move(it->second.links);
  overlays_.erase(it);
  for (const Link& link : links) RecomputeLink(Index(link.source), Index(link.target));
  ++counters_.faults;
  if (tracing()) TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("link_faults_end")}, {"handle", handle}});
}

void Simulator::AddCuts(const std::vector<Link>& links) {
  for (const Link& link : links) {
    if (link.source == link.target) continue;
    ++LinkAt(Index(link.source), Index(link.target)).cut_count;
  }
  ++counters_.faults;
  if (tracing()) {
    const std::string text = FormatLinks(links);
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("partition")}, {"cuts", std::string_view(text)}});
  }
}

void Simulator::RemoveCuts(const std::vector<Link>& links) {
  for (const Link& link : links) {
    if (link.source == link.target) continue;
    LinkState& state = LinkAt(Index(link.source), Index(link.target));
    if (state.cut_count > 0) --state.cut_count;
  }
  ++counters_.faults;
  if (tracing()) {
    const std::string text = FormatLinks(links);
    TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("partition_end")}, {"cuts", std::string_view(text)}});
  }
}

void Simulator::Partition(const std::vector<Link>& links) {
  Heal();
  AddCuts(links);
}

void Simulator::Heal() {
  for (LinkState& link : links_) link.cut_count = 0;
  ++counters_.faults;
  if (tracing()) TraceEvent(NodeId(0), "fault", {{"kind", std::string_view("heal")}});
}

bool Simulator::reachable(NodeId source, NodeId target) const {
  return LinkAt(Index(source), Index(target)).cut_count == 0;
}

void Simulator::Clog(NodeId source, NodeId target) {
  ++LinkAt(Index(source), Index(target)).clog_count;
  ++counters_.faults;
  if (tracing()) {
    TraceEvent(NodeId(0), "fault",
               {{"kind", std::string_view("clog")}, {"source", Wide(source.value())}, {"target", Wide(target.value())}});
  }
}

void Simulator::Unclog(NodeId source, NodeId target) {
  const uint32_t s = Index(source);
  const uint32_t t = Index(target);
  LinkState& link = LinkAt(s, t);
  if (link.clog_count == 0) return;
  ++counters_.faults;
  if (tracing()) {
    TraceEvent(NodeId(0), "fault",
               {{"kind", std::string_view("unclog")}, {"source", Wide(source.value())}, {"target", Wide(target.value())}});
  }
  if (--link.clog_count > 0) return;
  // Release in order; a FIFO link keeps that order through last_arrival_ns.
  std::vector<uint32_t> held = std::move(link.held);
  link.held.clear();
  for (const uint32_t slot : held) {
    --link.in_flight;
    int64_t arrival = (now_ + DrawDelay(link)).nanoseconds();
    if (link.effective.fifo) arrival = std::max(arrival, link.last_arrival_ns);
    link.last_arrival_ns = std::max(link.last_arrival_ns, arrival);
    ++link.in_flight;
    ++counters_.clog_released;
    if (tracing()) {
      TraceEvent(NodeId(0), "clog_release",
                 {{"source", Wide(source.value())}, {"target", Wide(target.value())}, {"message", messages_[slot].id}});
    }
    Push(EventKind::kArrive, arrival, t, slot, 0);
  }
}

bool Simulator::clogged(NodeId source, NodeId target) const {
  return LinkAt(Index(source), Index(target)).clog_count > 0;
}

// --- Process faults -------------------------------------------------------------------

void Simulator::DropDeferred(ProcessState& process) {
  for (const Event& event : process.deferred) {
    if (event.kind == EventKind::kInbox) {
      ++counters_.dropped_target_down;
      FreeMessage(event.slot);
    } else if (event.kind == EventKind::kDiskDone) {
      actions_[event.slot] = nullptr;
      free_actions_.push_back(event.slot);
    }
  }
  process.deferred.clear();
  process.deferred_messages = 0;
}

void Simulator::Crash(NodeId node) {
  ProcessState& process = State(node);
  MURPHY_ASSERT_MSG(running_process_ != static_cast<int64_t>(process.index),
                    "a process must not crash itself from its own callback; use At()");
  if (!process.alive) return;
  ++counters_.crashes;
  TraceProcess(process, "crash", {});
  process.alive = false;
  ++process.incarnation;
  for (uint32_t slot = 0; slot < timers_.size(); ++slot) {
    Timer& timer = timers_[slot];
    if (!timer.live || timer.process != process.index) continue;
    timer.live = false;
    ++timer.generation;
    timer.callback = nullptr;
    free_timers_.push_back(slot);
  }
  DropDeferred(process);
  process.paused = false;
  ++process.pause_serial;
  if (process.suspended) {
    process.clock.Resume(now_);
    process.suspended = false;
  }
  process.busy_until_ns = 0;
  process.receiver = nullptr;
  process.next_receiver = nullptr;
  process.receiver_replaced = false;
  process.object.reset();
  process.disk->Crash();
}

void Simulator::Restart(NodeId node) {
  ProcessState& process = State(node);
  MURPHY_ASSERT_MSG(!process.alive, "Restart of a live process");
  ++counters_.restarts;
  TraceProcess(process, "restart", {});
  StartProcess(process);
}

void Simulator::Pause(NodeId node, Duration duration) {
  ProcessState& process = State(node);
  MURPHY_ASSERT_MSG(running_process_ != static_cast<int64_t>(process.index), "pause from its own callback");
  if (!process.alive) return;
  ++counters_.pauses;
  TraceProcess(process, "pause", {{"duration_ns", duration.nanoseconds()}});
  process.paused = true;
  process.pause_until_ns = std::max(process.pause_until_ns, (now_ + duration).nanoseconds());
  Push(EventKind::kResume, process.pause_until_ns, process.index, 0, ++process.pause_serial);
}

void Simulator::Suspend(NodeId node, Duration duration) {
  ProcessState& process = State(node);
  if (!process.alive) return;
  ++counters_.suspends;
  TraceProcess(process, "suspend", {{"duration_ns", duration.nanoseconds()}});
  if (!process.suspended) {
    process.clock.Suspend(now_);
    process.suspended = true;
  }
  Pause(node, duration);
}

void Simulator::Resume(const Event& event) {
  ProcessState& process = *processes_[event.process];
  if (!process.alive || event.tag != process.pause_serial) return;
  process.paused = false;
  if (process.suspended) {
    process.clock.Resume(now_);
    process.suspended = false;
    RescheduleTimers(process);
  }
  TraceProcess(process, "resume", {});
  std::vector<Event> deferred = std::move(process.deferred);
  process.deferred.clear();
  process.deferred_messages = 0;
  for (const Event& waiting : deferred) Repush(waiting, now_.nanoseconds());
}

void Simulator::SetSlow(NodeId node, Duration cost) {
  ProcessState& process = State(node);
  process.slow_cost = Max(cost, Duration::Zero());
  ++counters_.faults;
  TraceProcess(process, "fault", {{"kind", std::string_view("slow")}, {"cost_ns", process.slow_cost.nanoseconds()}});
}

// --- Clock faults --------------------------------------------------------------------

void Simulator::SetDriftPpm(NodeId node, double ppm) {
  ProcessState& process = State(node);
  process.clock.SetDriftPpm(now_, ppm);
  ++counters_.clock_changes;
  TraceProcess(process, "clock_drift", {{"drift_ppm", ppm}});
  RescheduleTimers(process);
}

void Simulator::StepWallClock(NodeId node, Duration amount) {
  ProcessState& process = State(node);
  process.clock.StepWall(now_, amount);
  ++counters_.clock_changes;
  TraceProcess(process, "clock_step", {{"step_ns", amount.nanoseconds()},
                                       {"offset_ns", process.clock.WallOffset(now_).nanoseconds()}});
}

void Simulator::SetWallClockOffset(NodeId node, Duration offset) {
  ProcessState& process = State(node);
  process.clock.SetWallOffset(now_, offset);
  ++counters_.clock_changes;
  TraceProcess(process, "clock_step", {{"offset_ns", offset.nanoseconds()}});
}

void Simulator::ResyncWallClock(NodeId node, SimClock::Resync how) {
  ProcessState& process = State(node);
  process.clock.ResyncWall(now_, how);
  ++counters_.clock_changes;
  TraceProcess(process, "clock_resync", {{"how", std::string_view(how == SimClock::Resync::kStep ? "step" : "slew")}});
}

void Simulator::StrobeWallClock(NodeId node, Duration amplitude, Duration period, Duration duration) {
  MURPHY_ASSERT(period > Duration::Zero());
  const int64_t steps = std::min<int64_t>(duration / period, 100'000);
  for (int64_t i = 0; i < steps; ++i) {
    At(now_ + period * i, [this, node, amplitude, i] { StepWallClock(node, i % 2 == 0 ? amplitude : -amplitude); });
  }
  if (steps % 2 == 1) At(now_ + period * steps, [this, node, amplitude] { StepWallClock(node, -amplitude); });
}

void Simulator::SetDiskFaults(NodeId node, const DiskFaults& faults) {
  ProcessState& process = State(node);
  process.disk->set_faults(faults);
  ++counters_.faults;
  TraceProcess(process, "fault", {{"kind", std::string_view("disk")},
                                  {"sync_error_probability", faults.sync_error_probability},
                                  {"read_corruption_probability", faults.read_corruption_probability},
                                  {"sync_latency_ns", faults.sync_latency.nanoseconds()}});
}

}  // namespace murphy::sim
