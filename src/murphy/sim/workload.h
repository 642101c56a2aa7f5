// murphy/sim/workload.h — workloads for `murphy sim`: a cluster of processes, the
// fault targets, and a checker that decides whether the run went wrong.
//
// Contract: a `Workload` builds its processes on a fresh Simulator (Setup), names
// which processes faults may hit (targets), and after the run judges it (Check: OK or
// a FAILED_PRECONDITION status naming the violated property). The runner runs the
// faults in [0, duration) and then a quiet period without faults, so liveness
// properties ("every request is eventually answered after heal") can be checked.
// Checkers must be able to fail: `ping-no-dedup` is a deliberately broken server that
// applies duplicated or retried requests twice, and its checker catches it.
// `WorkloadRegistry` maps names to factories; it is a value the CLI builds (no global
// registry): later modules add their workloads with Register().
// Thread safety: a Workload belongs to one run; the registry is immutable after setup
// and may be shared for reading.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "murphy/sim/schedule.h"
#include "murphy/sim/simulator.h"

namespace murphy::sim {

class Workload {
 public:
  virtual ~Workload() = default;
  // Adds the processes. Called once, at true time zero.
  virtual void Setup(Simulator& sim) = 0;
  // Fault targets (fills nodes, crashable, disk_nodes, allow_sync_errors).
  virtual void Targets(NemesisOptions* options) const = 0;
  // Judges the finished run; `faults_end` is when the last fault window closed.
  virtual Status Check(Simulator& sim, Instant faults_end) = 0;
};

struct WorkloadInfo {
  std::string name;
  std::string description;
  std::function<std::unique_ptr<Workload>()> make;
};

class WorkloadRegistry {
 public:
  // The built-in workloads: ping, ping-no-dedup, heartbeat.
  static WorkloadRegistry Builtin();
  // REQUIRES: no workload of that name yet.
  void Register(WorkloadInfo info);
  const WorkloadInfo* Find(std::string_view name) const;
  const std::vector<WorkloadInfo>& all() const { return workloads_; }

 private:
  std::vector<WorkloadInfo> workloads_;
};

// --- The heartbeat process, reusable by tests -------------------------------------------
// Sends a checksummed heartbeat to every peer every `interval` (its monotonic clock)
// and reports every valid one it receives to `on_heartbeat(source, target)`.
class HeartbeatProcess {
 public:
  HeartbeatProcess(Env& env, std::vector<NodeId> peers, Duration interval,
                   std::function<void(NodeId source, NodeId target)> on_heartbeat);
  ~HeartbeatProcess();
  uint64_t rejected() const { return rejected_; }

 private:
  void Beat();
  Env& env_;
  std::vector<NodeId> peers_;
  Duration interval_;
  std::function<void(NodeId, NodeId)> on_heartbeat_;
  TimerId timer_;
  uint64_t counter_ = 0;
  uint64_t rejected_ = 0;
};

// Frames used by the built-in workloads: body then CRC-32C of the body (4 bytes LE).
Bytes SealFrame(Bytes body);
// The body if the CRC matches; empty span otherwise (and `*ok` false).
std::span<const uint8_t> OpenFrame(std::span<const uint8_t> frame, bool* ok);

}  // namespace murphy::sim
