// wal_bench — CPU cost of the write-ahead log on the simulated disk: encoding, CRC-32C
// and bookkeeping, not real fsync (SimDisk's Sync is a memory copy).
//
// Back of the envelope. Appending one entry costs a record header and index/term
// (25 bytes written through ByteWriter, ~10 ns), a copy of the data into the batch
// buffer, CRC-32C over it (SSE4.2: ~8-16 bytes/cycle, so ~0.1-0.2 ns/byte), and a
// second copy into SimDisk's file (memcpy ~10 GB/s, 0.1 ns/byte); SimDisk's Sync then
// copies the segment's content again (current → durable). Per 100-byte entry:
// ~30-60 ns fixed + ~40 ns of bytes ≈ 100 ns → ~10 M records/s ≈ 1 GB/s of payload.
// Per 4 KiB entry: ~4 copies/passes over 4 KiB at ~10 GB/s ≈ 1.6 µs → ~2.5 GB/s,
// ~600 k records/s. Recovery reads the file (one copy), checks every CRC and copies each
// entry's data out: ~3 passes, so ~2-3 GB/s for large entries, ~5 M records/s for small
// ones. A real NVMe fsync costs 20 µs - 2 ms: with batches of 64 entries the WAL's CPU
// cost is ~1-5 % of a group commit, i.e. the disk, not this code, is the limit.
// Each benchmark reports bytes/s (payload) and items/s (records).
#include <benchmark/benchmark.h>

#include <vector>

#include "murphy/core/assert.h"
#include "murphy/sim/sim_disk.h"
#include "murphy/wal/wal.h"

namespace murphy {
namespace {

class NullHost : public sim::SimDisk::Host {
 public:
  void DiskTrace(std::string_view, std::initializer_list<TraceField>) override {}
  void DiskBusy(Duration) override {}
  void DiskLater(Duration, std::function<void()>) override {}
};

constexpr size_t kBatchEntries = 64;

WalOptions BenchOptions() {
  WalOptions options;
  options.segment_limit_bytes = uint64_t{1} << 20;
  return options;
}

std::vector<WalEntry> Batch(uint64_t first, size_t entry_bytes) {
  std::vector<WalEntry> batch;
  for (size_t i = 0; i < kBatchEntries; ++i) {
    batch.push_back(WalEntry{LogIndex(first + i), Term(1), Bytes(entry_bytes, static_cast<uint8_t>(i))});
  }
  return batch;
}

// Append a batch of 64 entries, then (if `sync_each_batch`) one Sync: the
// group-commit path. SimDisk's Sync copies the whole segment (current → durable), so
// with syncs the figure includes up to a 1 MiB memcpy per batch that a real disk does
// not have; without, it is the WAL's own cost (the closing sync at rotation remains).
void RunAppend(benchmark::State& state, bool sync_each_batch) {
  const size_t entry_bytes = static_cast<size_t>(state.range(0));
  NullHost host;
  sim::SimDisk disk(Rng(1), &host);
  auto opened = Wal::Open(disk, BenchOptions());
  MURPHY_ASSERT(opened.ok());
  Wal& wal = *opened->wal;
  std::vector<WalEntry> batch = Batch(1, entry_bytes);
  uint64_t records = 0;
  uint64_t bytes_since_compaction = 0;
  for (auto _ : state) {
    if (!wal.Append(batch).ok() || (sync_each_batch && !wal.Sync().ok()))
      state.SkipWithError("append failed");
    for (WalEntry& entry : batch) entry.index = LogIndex(entry.index.value() + kBatchEntries);
    records += kBatchEntries;
    bytes_since_compaction += kBatchEntries * entry_bytes;
    // Keep SimDisk under its limits: snapshot and compact every 16 MiB, as a node would.
    if (bytes_since_compaction >= (uint64_t{16} << 20)) {
      bytes_since_compaction = 0;
      if (!wal.SaveSnapshot(WalSnapshot{wal.last_index(), Term(1), {}, Bytes(64, 1)}).ok() ||
          !wal.Compact().ok()) {
        state.SkipWithError("compaction failed");
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
  state.SetBytesProcessed(static_cast<int64_t>(records * entry_bytes));
}
void BM_AppendBatchAndSync(benchmark::State& state) { RunAppend(state, true); }
void BM_AppendBatchOnly(benchmark::State& state) { RunAppend(state, false); }
BENCHMARK(BM_AppendBatchAndSync)->Arg(100)->Arg(4096);
BENCHMARK(BM_AppendBatchOnly)->Arg(100)->Arg(4096);

// Open on a log of 8 MiB of entries (torn-free): List, read, CRC, decode, copy out.
void BM_Recover(benchmark::State& state) {
  const size_t entry_bytes = static_cast<size_t>(state.range(0));
  NullHost host;
  sim::SimDisk disk(Rng(1), &host);
  uint64_t entries = 0;
  {
    auto opened = Wal::Open(disk, BenchOptions());
    MURPHY_ASSERT(opened.ok());
    for (uint64_t first = 1; first * (entry_bytes + 25) < (8u << 20); first += kBatchEntries) {
      MURPHY_ASSERT(opened->wal->Append(Batch(first, entry_bytes)).ok());
      entries += kBatchEntries;
    }
    MURPHY_ASSERT(opened->wal->Sync().ok());
  }
  for (auto _ : state) {
    auto opened = Wal::Open(disk, BenchOptions());
    if (!opened.ok() || opened->state.entries.size() != entries) state.SkipWithError("recovery failed");
    benchmark::DoNotOptimize(opened);
  }
  state.SetItemsProcessed(static_cast<int64_t>(entries * state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(entries * entry_bytes * state.iterations()));
}
BENCHMARK(BM_Recover)->Arg(100)->Arg(4096)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace murphy
