// bench/system/workload_runner.h — closed-loop load on one asio loop, and the
// latency statistics the system benchmark reports.
//
// Contract: RunClosedLoop starts `clients` independent loops; each calls
// `operation(client, done)` and, when `done(ok)` runs, the next operation — at once
// after a success, after `error_pause` after a failure (so a failing system is not
// spun on). Operations completing inside the measurement window [start + warmup,
// start + warmup + measure) count: successes give a latency sample and the
// throughput, failures are counted. It returns when every client has finished its
// last operation after the window (bounded by `drain_timeout`; an operation still
// pending then is abandoned and counted in `abandoned`). `done` must run on the
// loop, not inline (both clients used here guarantee that).
// RunBounded runs `total` operations with at most `concurrency` in flight (setup
// work: granting leases): slot s in [0, concurrency) runs operations one after the
// other (so a slot may own a one-request-at-a-time connection); it returns the number
// that failed or did not finish within `timeout`.
// Timing is the host's steady clock: this is measurement code, not protocol code.
// Thread safety: the loop's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "murphy/core/time.h"

namespace asio {
class io_context;
}

namespace murphy::bench {

using BenchClock = std::chrono::steady_clock;
using DoneCallback = std::function<void(bool ok)>;
using Operation = std::function<void(int client, DoneCallback done)>;

struct LoopStats {
  uint64_t completed = 0;
  uint64_t errors = 0;
  uint64_t abandoned = 0;
  double seconds = 0;
  std::vector<double> latency_us;  // one per completed operation, in completion order

  double throughput_per_second() const { return seconds > 0 ? static_cast<double>(completed) / seconds : 0; }
};

struct ClosedLoopOptions {
  int clients = 1;
  Duration warmup = Seconds(1);
  Duration measure = Seconds(5);
  Duration error_pause = Milliseconds(10);
  Duration drain_timeout = Seconds(10);
  // Called once on the loop when the window opens and when it closes.
  std::function<void()> on_window_open;
  std::function<void()> on_window_close;
};

LoopStats RunClosedLoop(asio::io_context& loop, const ClosedLoopOptions& options, const Operation& operation);

// Returns the number of failed operations; `timeout` bounds the whole run (operations
// not finished by then count as failed).
uint64_t RunBounded(asio::io_context& loop, int total, int concurrency, Duration timeout,
                    const std::function<void(int index, int slot, DoneCallback done)>& operation);

// Runs the loop until `done()` or `timeout`; false on timeout.
bool RunLoopUntil(asio::io_context& loop, const std::function<bool()>& done, Duration timeout);

// Nearest-rank percentile of `samples` (p in [0, 100]); 0 for no samples.
double Percentile(std::vector<double> samples, double p);

}  // namespace murphy::bench
