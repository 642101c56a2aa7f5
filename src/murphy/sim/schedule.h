// murphy/sim/schedule.h — fault schedules (the nemesis): values that list timed fault
// actions, drawn at random from a seed (with swarm testing) or written by hand, that
// can be printed, saved as JSON, replayed, and shrunk.
//
// Contract: a `Schedule` is a plain value: a list of `FaultAction`s, each a *window* —
// the fault starts at `at` (relative to the schedule's origin) and is undone at
// `at + duration` (a crash restarts, a partition heals, a drift returns to zero, a
// wall-clock step is resynced). Because every action carries its own undo, any
// subset of a schedule is again a meaningful schedule, which is what delta debugging
// needs (FoundationDB's and Jepsen's nemeses schedule faults the same way).
// Everything an action needs is stored in it (the cut links, the node, the amounts):
// installing a schedule draws nothing from the simulator's generators, so a schedule
// replays identically, alone or as a subset. Windows of the same kind on the same
// process are undone to the neutral setting, not to the previous one (documented
// simplification: overlaps end early; they never outlive the schedule).
// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012): each seed enables a random
// subset of fault kinds, which finds more bugs than enabling all of them every time.
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/sim/network.h"

namespace murphy::sim {

class Simulator;

enum class FaultKind : uint8_t {
  kLoss,
  kDuplicate,
  kCorrupt,
  kDelay,
  kReorder,
  kClog,
  kPartition,
  kPause,
  kSuspend,
  kSlow,
  kCrash,
  kClockStep,
  kClockDrift,
  kClockStrobe,
  kDisk,
};
inline constexpr int kFaultKindCount = 15;

// "loss", "duplicate", "corrupt", "delay", "reorder", "clog", "partition", "pause",
// "suspend", "slow", "crash", "clock-step", "clock-drift", "clock-strobe", "disk".
std::string_view FaultKindName(FaultKind kind);

class FaultKindSet {
 public:
  constexpr FaultKindSet() = default;
  static constexpr FaultKindSet All() { return FaultKindSet((1u << kFaultKindCount) - 1); }
  bool contains(FaultKind kind) const { return (bits_ >> static_cast<int>(kind)) & 1u; }
  void Add(FaultKind kind) { bits_ |= 1u << static_cast<int>(kind); }
  void Remove(FaultKind kind) { bits_ &= ~(1u << static_cast<int>(kind)); }
  bool empty() const { return bits_ == 0; }
  uint32_t bits() const { return bits_; }
  std::vector<FaultKind> kinds() const;
  // "loss,partition" in kind order; "none" when empty.
  std::string ToString() const;
  friend bool operator==(FaultKindSet, FaultKindSet) = default;

 private:
  explicit constexpr FaultKindSet(uint32_t bits) : bits_(bits) {}
  uint32_t bits_ = 0;
};

// Parses "loss,partition,crash", "all" or "none". INVALID_ARGUMENT names the bad item
// and lists the valid ones.
Result<FaultKindSet> ParseFaultKinds(std::string_view list);
// Each kind of `allowed` with probability 1/2, at least one (if allowed is not empty).
FaultKindSet SwarmKinds(Rng& rng, FaultKindSet allowed);

struct FaultAction {
  Duration at;
  Duration duration;
  FaultKind kind = FaultKind::kLoss;
  NodeId node;                    // process faults
  std::vector<Link> links;        // link faults, clogs and partitions (the cut links)
  double probability = 0;         // loss/duplicate/corrupt; disk read corruption
  double sync_error_probability = 0;  // disk
  Duration amount;                // extra delay, reorder jitter, slow cost, clock step, strobe amplitude
  Duration period;                // strobe period
  double drift_ppm = 0;
  std::string label;              // partition shape, "swizzle", ... (for people)
  friend bool operator==(const FaultAction&, const FaultAction&) = default;
};
using Schedule = std::vector<FaultAction>;

// One line, e.g. "at=1.2s for=800ms partition[halves] cuts=1->2 2->1".
std::string FormatAction(const FaultAction& action);
// One action per line; "(no faults)" when empty.
std::string FormatSchedule(const Schedule& schedule);
// A JSON array, one object per action; ParseScheduleJson reads it back exactly.
std::string ScheduleToJson(const Schedule& schedule);
Result<Schedule> ParseScheduleJson(std::string_view json);

// Schedules every action of `schedule` on `sim` relative to `origin` (true time).
// REQUIRES: the nodes named by the schedule exist in `sim`.
void InstallSchedule(Simulator& sim, const Schedule& schedule, Instant origin);

struct NemesisOptions {
  std::vector<NodeId> nodes;      // targets of network, pause and clock faults
  std::vector<NodeId> crashable;  // targets of crashes
  std::vector<NodeId> disk_nodes; // targets of disk faults
  bool allow_sync_errors = true;  // a workload that cannot survive fsync errors says no
  FaultKindSet kinds = FaultKindSet::All();
  // Faults start and end within [start, end).
  Duration start = Duration::Zero();
  Duration end = Seconds(10);
  Duration mean_gap = Milliseconds(600);
  Duration max_duration = Seconds(2);
  size_t max_actions = 200;
};

// A random schedule drawn from `rng` (kinds without eligible targets are skipped).
// Swizzle-clog (FoundationDB): clogs a random subset of links one by one and unclogs
// them in a different random order, emitted as one kClog action per link.
Schedule RandomSchedule(Rng& rng, const NemesisOptions& options);

// --- The exhaustive partial-partition sweep ---------------------------------------------
// Among n nodes there are n(n-1) directed links and 2^(n(n-1)) sets of cut links; for
// 3 nodes, 64. Pattern bit i cuts AllLinks(nodes)[i]. Among them are the partial
// partitions where two nodes cannot talk but both reach a third — the shape of the
// 2020 Cloudflare outage that left etcd without a stable leader.
// REQUIRES: n(n-1) <= 20.
std::vector<std::vector<Link>> PartialPartitionPatterns(const std::vector<NodeId>& nodes);
// A schedule holding each pattern for `hold`, separated by `gap` of full connectivity.
Schedule PartialPartitionSweep(const std::vector<NodeId>& nodes, Duration start, Duration hold, Duration gap);
// Drives `sim` through every pattern: cut, run `hold`, call `after_hold(pattern,
// cuts)`, heal, run `gap`. Stops at the first error (event limit).
Status SweepPartialPartitions(Simulator& sim, const std::vector<NodeId>& nodes, Duration hold, Duration gap,
                              const std::function<void(uint32_t pattern, const std::vector<Link>& cuts)>& before_hold,
                              const std::function<void(uint32_t pattern, const std::vector<Link>& cuts)>& after_hold);

}  // namespace murphy::sim
