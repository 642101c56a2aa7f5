// bench/system/bench_cluster.h — a 3-member cluster on loopback, murphyd or etcd,
// started and controlled by the system benchmark (kill -9, restart, SIGSTOP/SIGCONT,
// who is the leader).
//
// Contract: Start() picks free loopback ports, starts every member (ChildProcess:
// nothing outlives the benchmark) with a fresh data directory under `work_directory`,
// and waits until WaitHealthy succeeds. Both systems run durable, with their default
// safety settings; only the timing knobs in ClusterTiming differ from the defaults
// when a trial asks for it:
//   murphyd  --tick-ms T --election-ticks E (election timeout E×T, randomized to
//            [E×T, 2E×T); heartbeat every 2 ticks);
//   etcd     --heartbeat-interval H --election-timeout E (ms).
// Member(i) is the process of member i in [0, size()); Restart(i) starts a killed
// member again on the same ports and data and waits until it is healthy.
// MemberState(i) asks member i itself (murphyd /status on its admin port; etcd POST
// /v3/maintenance/status on its client URL): its id, term, and whom it believes to
// be the leader. LeaderIndex() is the member every live member agrees leads.
// Errors: UNAVAILABLE (a process did not start or died), DEADLINE_EXCEEDED (not
// healthy in time). Blocking; for the benchmark's main thread only.
// Ownership: owns its processes (killed on destruction) and removes its work
// directory on destruction unless `keep_work_directory`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/system/child_process.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/remote/cluster_endpoints.h"

namespace murphy::bench {

struct ClusterTiming {
  std::string label = "defaults";
  // nullopt: the system's own default.
  std::optional<int> murphy_tick_ms;
  std::optional<int> murphy_election_ticks;
  std::optional<int> etcd_heartbeat_ms;
  std::optional<int> etcd_election_ms;
};

struct ClusterSetup {
  std::string work_directory;  // created; the cluster's data, logs
  std::string murphyd_path;
  std::string etcd_path = "etcd";
  ClusterTiming timing;
  bool keep_work_directory = false;
};

struct MemberState {
  uint64_t id = 0;
  uint64_t term = 0;
  uint64_t leader_id = 0;      // 0: none known
  uint64_t commit_index = 0;   // murphyd "commit"; etcd "raftIndex"
  uint64_t applied_index = 0;  // murphyd "applied"; etcd "raftAppliedIndex"
};

class BenchCluster {
 public:
  static std::unique_ptr<BenchCluster> CreateMurphy(ClusterSetup setup);
  static std::unique_ptr<BenchCluster> CreateEtcd(ClusterSetup setup);
  virtual ~BenchCluster() = default;

  virtual std::string system() const = 0;
  virtual Status Start(Duration timeout) = 0;
  virtual Status WaitHealthy(Duration timeout) = 0;
  virtual Status Restart(int index, Duration timeout) = 0;
  virtual Result<MemberState> State(int index) = 0;
  // The settings each member runs with, for the report.
  virtual std::vector<std::string> CommandLine(int index) const = 0;
  // Stops every member (SIGKILL; data directories stay until destruction).
  virtual void StopAll() = 0;

  int size() const { return 3; }
  ChildProcess* Member(int index) { return members_[static_cast<size_t>(index)].get(); }
  // The index of the member that every live member names as leader (and which
  // agrees), or NOT_FOUND if they do not agree right now.
  Result<int> LeaderIndex();
  // Polls LeaderIndex until it succeeds or `timeout` passes.
  Result<int> WaitLeader(Duration timeout);
  // The highest term any live member reports.
  Result<uint64_t> MaxTerm();
  // Waits until every live member has applied the highest commit index any member
  // reported when the wait began (a follower that fell behind under load has caught
  // up); returns how long that took. DEADLINE_EXCEEDED after `timeout`.
  Result<Duration> WaitCaughtUp(Duration timeout);

  // Where clients connect: murphy's cluster id and client addresses; etcd's client
  // ports (host 127.0.0.1).
  const remote::ClusterEndpoints& murphy_endpoints() const { return murphy_endpoints_; }
  const std::vector<uint16_t>& etcd_client_ports() const { return etcd_client_ports_; }

 protected:
  std::vector<std::unique_ptr<ChildProcess>> members_;
  std::vector<uint64_t> member_ids_;  // by index, once known
  remote::ClusterEndpoints murphy_endpoints_;
  std::vector<uint16_t> etcd_client_ports_;
};

}  // namespace murphy::bench
