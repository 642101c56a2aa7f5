// bench/system/child_process.h — a server process started by the system benchmark
// (murphyd or etcd), which never outlives the benchmark.
//
// Contract: Spawn forks and execs `argv` (argv[0] an absolute path or a name found
// on PATH) with stdin from /dev/null and stdout+stderr appended to `log_path`, in its
// own process group (a Ctrl-C on the terminal reaches the benchmark, which then kills
// its children, not the servers directly). The child asks the kernel for SIGKILL when
// the benchmark dies (PR_SET_PDEATHSIG), so no server is orphaned even if the
// benchmark is killed with SIGKILL; the destructor kills and reaps it too. Spawn
// returns only after the exec succeeded (UNAVAILABLE when fork or exec failed).
// Signal() sends any signal (SIGSTOP/SIGCONT for pauses); Kill() is kill -9 and reap.
// CpuSeconds() is utime + stime from /proc/PID/stat.
// REQUIRES: the process that spawns is single-threaded at the time (the death signal
// is tied to the spawning thread).
// Thread safety: none. Ownership: owns the child (kills it when destroyed).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "murphy/core/status.h"

namespace murphy::bench {

class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                     const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once the child has exited (reaps it).
  bool Running();
  void Signal(int signal_number);
  // SIGKILL (also to a stopped child), then waits for it.
  void Kill();
  // CPU time (user + system) the child has used; UNAVAILABLE once it is gone.
  Result<double> CpuSeconds() const;

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  bool reaped_ = false;
};

// `count` distinct free TCP ports on 127.0.0.1 (bound together, then released; a
// race with another process is possible and shows up as a server failing to start).
Result<std::vector<uint16_t>> PickFreeLoopbackPorts(int count);

}  // namespace murphy::bench
