#include "murphy/node/kv_workload.h"

#include <memory>
#include <string>
#include <vector>

#include "murphy/check/history.h"
#include "murphy/check/linearizability.h"
#include "murphy/check/model.h"
#include "murphy/node/kv_client.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/node/node_checkers.h"
#include "murphy/node/node_shell.h"

namespace murphy::node {
namespace {

enum class Variant : uint8_t { kRandom, kPartitions, kUnsafePersist };

constexpr int kClients = 3;
constexpr Duration kSweepHold = Seconds(1);
constexpr Duration kSweepGap = Milliseconds(200);
constexpr Duration kSweepStart = Milliseconds(200);
constexpr size_t kPatternsPerSeed = 8;

class KvWorkload : public sim::Workload {
 public:
  explicit KvWorkload(Variant variant) : variant_(variant) {}

  void Setup(sim::Simulator& sim) override {
    sim_ = &sim;
    checkers_ = std::make_unique<NodeCheckers>([&sim] { return sim.now(); });
    checkers_->on_stopped = [this](NodeId node, std::string_view) { ScheduleSupervisorRestart(node); };
    const size_t node_count = variant_ == Variant::kPartitions ? 3 : (sim.rng().Bernoulli(0.5) ? 3 : 5);
    for (size_t i = 1; i <= node_count; ++i) members_.push_back(NodeId(static_cast<uint32_t>(i)));
    for (size_t i = 0; i < node_count; ++i) {
      sim.AddProcess("node" + std::to_string(i + 1), [this](Env& env) {
        NodeOptions options;
        options.members = members_;
        options.observer = checkers_.get();
        // Small, so that snapshots, compaction and snapshot installs happen in
        // every run.
        options.snapshot_every_entries = 64;
        options.snapshot_bytes_per_entry = 0;
        options.unsafe_send_before_persist = variant_ == Variant::kUnsafePersist;
        return sim::Hold(std::make_unique<NodeShell>(env, options, std::make_unique<KvStateMachine>()));
      });
    }
    for (int i = 0; i < kClients; ++i) {
      const NodeId id = sim.AddProcess("client" + std::to_string(i + 1), [this](Env& env) {
        KvClientOptions options;
        options.servers = members_;
        options.random = true;
        options.history = &history_;
        options.history_clock = [this] { return sim_->now(); };
        return sim::Hold(std::make_unique<KvClient>(env, options));
      });
      clients_.push_back(id);
    }
    if (variant_ == Variant::kPartitions) InstallSweep(sim);
  }

  void Targets(sim::NemesisOptions* options) const override {
    if (variant_ == Variant::kPartitions) {
      // The sweep is the whole nemesis: no random faults.
      options->nodes = {};
      options->crashable = {};
      options->disk_nodes = {};
      return;
    }
    options->nodes = members_;
    options->nodes.insert(options->nodes.end(), clients_.begin(), clients_.end());
    if (variant_ == Variant::kUnsafePersist) {
      // Without crashes an early acknowledgement has no visible consequence in
      // the history: only the monitor can notice it, which is what this variant
      // proves. (With crashes the lie can reach a Raft assertion first: a leader
      // told to commit beyond a restarted follower's log.)
      options->crashable = {};
      options->disk_nodes = {};
      return;
    }
    options->crashable = members_;
    options->disk_nodes = members_;
    options->allow_sync_errors = true;
  }

  Status Check(sim::Simulator& sim, Instant faults_end) override {
    (void)sim;
    if (faults_end < sweep_end_) faults_end = sweep_end_;
    MURPHY_RETURN_IF_ERROR(checkers_->Verdict());
    const Result<LinearizabilityResult> linearizable = CheckLinearizability(history_, *MakeKeyValueModel());
    if (!linearizable.ok()) return FailedPreconditionError("kv history: " + linearizable.status().ToString());
    if (linearizable->verdict != Verdict::kLinearizable) {
      return FailedPreconditionError("kv history " + linearizable->ToString());
    }
    return CheckLiveness(faults_end);
  }

 private:
  Status CheckLiveness(Instant faults_end) const {
    std::optional<Instant> first_commit;
    for (const Operation& operation : history_.operations()) {
      if (operation.outcome != Outcome::kOk || operation.input.kind == OperationKind::kRead) continue;
      if (operation.invoke_time < faults_end) continue;
      if (!first_commit.has_value() || operation.complete_time < *first_commit)
        first_commit = operation.complete_time;
    }
    if (!first_commit.has_value() || *first_commit > faults_end + kLivenessBound) {
      return FailedPreconditionError(
          "kv liveness: no client write invoked after the faults ended (" + FormatInstant(faults_end) +
          ") committed within " + FormatDuration(kLivenessBound) +
          (first_commit.has_value() ? " (first at " + FormatInstant(*first_commit) + ")" : " (none at all)"));
    }
    return Status::Ok();
  }

  void ScheduleSupervisorRestart(NodeId node) {
    sim_->At(sim_->now() + kSupervisorRestartDelay, [this, node] {
      if (!sim_->alive(node)) return;  // crashed meanwhile: the nemesis restarts it
      NodeShell* shell = sim_->ProcessAs<NodeShell>(node);
      if (shell == nullptr || !shell->stopped()) return;
      sim_->Crash(node);
      sim_->Restart(node);
    });
  }

  void InstallSweep(sim::Simulator& sim) {
    const std::vector<std::vector<sim::Link>> patterns = sim::PartialPartitionPatterns(members_);
    const size_t first = kPatternsPerSeed * (sim.seed() % (patterns.size() / kPatternsPerSeed));
    sim::Schedule schedule;
    Duration at = kSweepStart;
    for (size_t pattern = first; pattern < first + kPatternsPerSeed && pattern < patterns.size(); ++pattern) {
      if (!patterns[pattern].empty()) {
        sim::FaultAction action;
        action.kind = sim::FaultKind::kPartition;
        action.at = at;
        action.duration = kSweepHold;
        action.links = patterns[pattern];
        action.label = "pattern-" + std::to_string(pattern);
        schedule.push_back(std::move(action));
      }
      at += kSweepHold + kSweepGap;
    }
    sweep_end_ = Instant() + at;
    sim::InstallSchedule(sim, schedule, Instant());
  }

  Variant variant_;
  sim::Simulator* sim_ = nullptr;
  std::unique_ptr<NodeCheckers> checkers_;
  std::vector<NodeId> members_;
  std::vector<NodeId> clients_;
  History history_;
  Instant sweep_end_;
};

}  // namespace

void RegisterKvWorkloads(sim::WorkloadRegistry& registry) {
  registry.Register(
      {"kv",
       "3 or 5 Raft nodes (NodeShell + WAL + KV state machine), 3 clients, random nemesis incl. "
       "crashes with lost unsynced writes and fsync errors; checks linearizability, Raft safety, "
       "persist-before-send, and that a write commits within 2s after the faults end",
       [] { return std::make_unique<KvWorkload>(Variant::kRandom); }});
  registry.Register(
      {"kv-partitions",
       "kv on 3 nodes under 8 of the 64 directed partial-partition patterns per seed (seeds 1..8 "
       "cover all), 1s each; same checks",
       [] { return std::make_unique<KvWorkload>(Variant::kPartitions); }});
  registry.Register(
      {"kv-unsafe-persist",
       "kv with a deliberately broken node that sends acknowledgements before its WAL sync: the "
       "persist-before-send monitor must catch it",
       [] { return std::make_unique<KvWorkload>(Variant::kUnsafePersist); }});
}

}  // namespace murphy::node
