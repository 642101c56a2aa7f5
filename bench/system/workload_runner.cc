#include "bench/system/workload_runner.h"

#include <algorithm>
#include <asio.hpp>
#include <cmath>
#include <memory>

namespace murphy::bench {
namespace {

BenchClock::duration ToChrono(Duration duration) { return std::chrono::nanoseconds(duration.nanoseconds()); }

}  // namespace

bool RunLoopUntil(asio::io_context& loop, const std::function<bool()>& done, Duration timeout) {
  const BenchClock::time_point deadline = BenchClock::now() + ToChrono(timeout);
  while (!done()) {
    const BenchClock::time_point now = BenchClock::now();
    if (now >= deadline) return false;
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::min<BenchClock::duration>(deadline - now, std::chrono::milliseconds(20)));
  }
  return true;
}

LoopStats RunClosedLoop(asio::io_context& loop, const ClosedLoopOptions& options,
                        const Operation& operation) {
  struct Shared {
    BenchClock::time_point window_open;
    BenchClock::time_point window_close;
    int active = 0;
    LoopStats stats;
    bool opened = false;
    bool closed = false;
  };
  auto shared = std::make_shared<Shared>();
  const BenchClock::time_point start = BenchClock::now();
  shared->window_open = start + ToChrono(options.warmup);
  shared->window_close = shared->window_open + ToChrono(options.measure);
  shared->active = options.clients;
  shared->stats.seconds = std::chrono::duration<double>(shared->window_close - shared->window_open).count();

  // issue(client) starts the client's next operation, or retires the client.
  auto issue = std::make_shared<std::function<void(int)>>();
  *issue = [&loop, &options, &operation, shared, weak_issue = std::weak_ptr(issue)](int client) {
    if (BenchClock::now() >= shared->window_close) {
      --shared->active;
      return;
    }
    const BenchClock::time_point started = BenchClock::now();
    operation(client, [&loop, &options, shared, weak_issue, client, started](bool ok) {
      const BenchClock::time_point finished = BenchClock::now();
      if (finished >= shared->window_open && finished < shared->window_close) {
        if (ok) {
          ++shared->stats.completed;
          shared->stats.latency_us.push_back(
              std::chrono::duration<double, std::micro>(finished - started).count());
        } else {
          ++shared->stats.errors;
        }
      }
      std::shared_ptr<std::function<void(int)>> next = weak_issue.lock();
      if (!next) return;
      if (ok) {
        (*next)(client);
        return;
      }
      auto timer = std::make_shared<asio::steady_timer>(loop, ToChrono(options.error_pause));
      timer->async_wait([timer, next, client](const asio::error_code&) { (*next)(client); });
    });
  };
  for (int client = 0; client < options.clients; ++client) (*issue)(client);
  const auto window_events = [&] {
    const BenchClock::time_point now = BenchClock::now();
    if (!shared->opened && now >= shared->window_open) {
      shared->opened = true;
      if (options.on_window_open) options.on_window_open();
    }
    if (!shared->closed && now >= shared->window_close) {
      shared->closed = true;
      if (options.on_window_close) options.on_window_close();
    }
  };
  const BenchClock::time_point drain_deadline = shared->window_close + ToChrono(options.drain_timeout);
  while (shared->active > 0 && BenchClock::now() < drain_deadline) {
    window_events();
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::chrono::milliseconds(5));
  }
  window_events();
  shared->stats.abandoned = static_cast<uint64_t>(std::max(shared->active, 0));
  LoopStats result = shared->stats;
  // Pending operations of abandoned clients may still complete later: they find the
  // issue function gone and stop.
  issue.reset();
  return result;
}

uint64_t RunBounded(asio::io_context& loop, int total, int concurrency, Duration timeout,
                    const std::function<void(int index, int slot, DoneCallback done)>& operation) {
  struct Shared {
    int next = 0;
    int finished = 0;
    uint64_t failed = 0;
  };
  if (total <= 0) return 0;
  auto shared = std::make_shared<Shared>();
  auto start_next = std::make_shared<std::function<void(int)>>();
  *start_next = [shared, total, &operation, weak = std::weak_ptr(start_next)](int slot) {
    if (shared->next >= total) return;
    const int index = shared->next++;
    operation(index, slot, [shared, weak, slot](bool ok) {
      ++shared->finished;
      if (!ok) ++shared->failed;
      if (std::shared_ptr<std::function<void(int)>> next = weak.lock()) (*next)(slot);
    });
  };
  for (int slot = 0; slot < std::min(concurrency, total); ++slot) (*start_next)(slot);
  RunLoopUntil(
      loop, [&] { return shared->finished >= total; }, timeout);
  const uint64_t failed = shared->failed + static_cast<uint64_t>(total - shared->finished);
  start_next.reset();
  return failed;
}

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
  const size_t index = rank < 1 ? 0 : std::min(samples.size() - 1, static_cast<size_t>(rank) - 1);
  return samples[index];
}

}  // namespace murphy::bench
