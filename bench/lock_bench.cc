// Micro-benchmarks of the lock/lease state machine and the fenced store.
//
// Back of the envelope. A KeepAlive in a machine holding 100k leases (one per client)
// touches two hash tables (lease, client session) that no longer fit in L2 — about two
// cache misses, ~100 ns each — plus appending the result to the client's 8-entry
// window (a ~0.5 KB memmove, tens of ns) and one event: ~0.3–0.5 µs, under the target
// of 1 µs. Decoding the command adds tens of ns. An acquire+release pair does an
// ordered-map lookup by name, inserts/erases in two small ordered sets (allocations)
// and emits a grant: ~1–2 µs for the pair. A fenced write is one ordered-map lookup,
// one compare and a value copy: ~0.1–0.3 µs. None of it matters next to the real
// limits of murphyd: an fsync (0.1–10 ms) and a network round trip (~0.1 ms) per
// commit, i.e. the state machine should sit two or more orders of magnitude below
// them. "Time" is per operation; target_ns states the target where there is one.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "murphy/lock/lease_timers.h"
#include "murphy/lock/lock_machine.h"
#include "murphy/store/fenced_store.h"

namespace murphy {
namespace {

constexpr int kLeases = 100'000;

// A machine with kLeases live leases, lease i + 1 owned by client i + 1.
lock::LockMachine MachineWithLeases(std::vector<uint64_t>* sequences) {
  lock::LockMachine machine;
  sequences->assign(kLeases + 1, 0);
  for (int i = 1; i <= kLeases; ++i) {
    const NodeId client(static_cast<uint32_t>(i));
    lock::ApplyOutput output = machine.Apply(lock::GrantLease{{client, ++(*sequences)[i]}, Seconds(10)});
    if (output.result.lease != LeaseId(static_cast<uint64_t>(i))) std::abort();
  }
  return machine;
}

// Visits the leases in a scattered order (a full-period LCG over a power of two,
// skipping indexes beyond kLeases), as keepalives from many clients would arrive.
class ScatteredIndex {
 public:
  int Next() {
    do {
      state_ = (state_ * 1'103'515'245u + 12'345u) & ((1u << 17) - 1);
    } while (state_ == 0 || state_ > static_cast<uint32_t>(kLeases));
    return static_cast<int>(state_);
  }

 private:
  uint32_t state_ = 1;
};

void BM_KeepAlive100kLeases(benchmark::State& state) {
  std::vector<uint64_t> sequences;
  lock::LockMachine machine = MachineWithLeases(&sequences);
  ScatteredIndex index;
  for (auto _ : state) {
    const int i = index.Next();
    lock::ApplyOutput output =
        machine.Apply(lock::KeepAlive{{NodeId(static_cast<uint32_t>(i)), ++sequences[i]}, LeaseId(i)});
    benchmark::DoNotOptimize(output);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["target_ns"] = 1000;
}
BENCHMARK(BM_KeepAlive100kLeases);

// The same, from log bytes (what a replica really applies): decode + apply. Entries
// are encoded in batches outside the timed region.
void BM_KeepAlive100kLeasesEncoded(benchmark::State& state) {
  std::vector<uint64_t> sequences;
  lock::LockMachine machine = MachineWithLeases(&sequences);
  ScatteredIndex index;
  std::vector<Bytes> batch(1 << 14);
  size_t next = batch.size();
  for (auto _ : state) {
    if (next == batch.size()) {
      state.PauseTiming();
      for (Bytes& entry : batch) {
        const int i = index.Next();
        entry = lock::EncodeCommand(lock::KeepAlive{{NodeId(static_cast<uint32_t>(i)), ++sequences[i]}, LeaseId(i)});
      }
      next = 0;
      state.ResumeTiming();
    }
    lock::ApplyOutput output = machine.ApplyEncoded(batch[next++]);
    benchmark::DoNotOptimize(output);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["target_ns"] = 1000;
}
BENCHMARK(BM_KeepAlive100kLeasesEncoded);

// The leader's extra work per keepalive: re-arming the lease's timers.
void BM_LeaseTimersObserveKeepAlive100kLeases(benchmark::State& state) {
  std::vector<uint64_t> sequences;
  lock::LockMachine machine = MachineWithLeases(&sequences);
  lock::LeaseTimers timers(machine, Instant::FromNanoseconds(0));
  ScatteredIndex index;
  Instant now = Instant::FromNanoseconds(0);
  std::vector<lock::Event> events(1);
  events[0].kind = lock::EventKind::kLeaseRenewed;
  events[0].ttl = Seconds(10);
  for (auto _ : state) {
    now += Microseconds(1);
    events[0].lease = LeaseId(index.Next());
    ++events[0].renewals;
    timers.Observe(events, now);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LeaseTimersObserveKeepAlive100kLeases);

// Acquire then release of an uncontended lock, over 1000 lock names, one lease.
void BM_AcquireRelease(benchmark::State& state) {
  lock::LockMachine machine;
  const NodeId client(1);
  uint64_t sequence = 0;
  const LeaseId lease = machine.Apply(lock::GrantLease{{client, ++sequence}, Seconds(10)}).result.lease;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back("lock/" + std::to_string(i));
  size_t next = 0;
  for (auto _ : state) {
    const std::string& name = names[next++ % names.size()];
    lock::ApplyOutput acquired =
        machine.Apply(lock::Acquire{{client, ++sequence}, name, lease, lock::AcquireMode::kTry, Duration::Zero()});
    lock::ApplyOutput released = machine.Apply(lock::Release{{client, ++sequence}, name, lease});
    benchmark::DoNotOptimize(acquired);
    benchmark::DoNotOptimize(released);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AcquireRelease);

// A holder writes repeatedly with its token (accepted), over 10k resources.
void BM_FencedWrite(benchmark::State& state) {
  store::FencedStore fenced;
  std::vector<std::string> resources;
  for (int i = 0; i < 10'000; ++i) resources.push_back("resource/" + std::to_string(i));
  store::FencedWrite write;
  write.lock = "storage";
  write.token = FencingToken(34);
  write.value = std::string(100, 'v');
  size_t next = 0;
  for (auto _ : state) {
    write.resource = resources[next++ % resources.size()];
    store::WriteResult result = fenced.CheckAndWrite(write);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FencedWrite);

// The same with an idempotency key per write (remembered, oldest forgotten).
void BM_FencedWriteWithIdempotencyKey(benchmark::State& state) {
  store::FencedStoreOptions options;
  options.max_idempotency_keys = 100'000;
  store::FencedStore fenced(options);
  store::FencedWrite write;
  write.resource = "resource";
  write.lock = "storage";
  write.token = FencingToken(34);
  write.value = std::string(100, 'v');
  uint64_t key = 0;
  for (auto _ : state) {
    write.idempotency_key = "request-" + std::to_string(++key);
    store::WriteResult result = fenced.CheckAndWrite(write);
    benchmark::DoNotOptimize(result);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FencedWriteWithIdempotencyKey);

}  // namespace
}  // namespace murphy
