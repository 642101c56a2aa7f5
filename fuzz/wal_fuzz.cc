// libFuzzer target: arbitrary bytes as WAL files, through recovery. The first byte
// picks the file(s): a single segment, the hard-state file, the snapshot file, or two
// segments split at a point the second byte chooses. Properties checked: Open returns
// a state or an error, never crashes or over-reads (ASan); a recovered log is
// consecutive after the snapshot; and a recovered WAL is usable — an entry appended
// and synced after recovery is recovered again by a second Open (pairing recovery
// with the write path).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/sim/sim_disk.h"
#include "murphy/wal/wal.h"

namespace {

using murphy::Bytes;

class NullHost : public murphy::sim::SimDisk::Host {
 public:
  void DiskTrace(std::string_view, std::initializer_list<murphy::TraceField>) override {}
  void DiskBusy(murphy::Duration) override {}
  void DiskLater(murphy::Duration, std::function<void()>) override {}
};

murphy::WalOptions SmallOptions() {
  murphy::WalOptions options;
  options.segment_limit_bytes = 1024;
  options.max_entry_data_bytes = 256;
  options.max_snapshot_bytes = 4096;
  return options;
}

void Put(murphy::sim::SimDisk& disk, const std::string& name, std::span<const uint8_t> content) {
  MURPHY_ASSERT(disk.Append(name, content).ok());
  MURPHY_ASSERT(disk.Sync(name).ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const std::span<const uint8_t> input(data + 2, size - 2);
  NullHost host;
  murphy::sim::SimDisk disk(murphy::Rng(1), &host);
  switch (data[0] % 4) {
    case 0:
      Put(disk, murphy::WalSegmentName(1, murphy::LogIndex(1)), input);
      break;
    case 1:
      Put(disk, std::string(murphy::kWalHardStateName), input);
      break;
    case 2:
      Put(disk, std::string(murphy::kWalSnapshotName), input);
      break;
    default: {
      const size_t split = input.size() * data[1] / 255;
      Put(disk, murphy::WalSegmentName(7, murphy::LogIndex(1)), input.first(split));
      Put(disk, murphy::WalSegmentName(8, murphy::LogIndex(1)), input.subspan(split));
      break;
    }
  }
  MURPHY_ASSERT(disk.SyncDirectory().ok());

  auto opened = murphy::Wal::Open(disk, SmallOptions());
  if (!opened.ok()) return 0;
  const murphy::RecoveredState& state = opened->state;
  const uint64_t snapshot_index = state.snapshot ? state.snapshot->index.value() : 0;
  for (size_t i = 0; i < state.entries.size(); ++i) {
    MURPHY_ASSERT(state.entries[i].index.value() == snapshot_index + 1 + i);
  }
  murphy::Wal& wal = *opened->wal;
  // A forged snapshot or entry at the very top of the index space has no successor.
  if (wal.last_index().value() == UINT64_MAX) return 0;
  const murphy::LogIndex next = wal.last_index().next();
  const murphy::WalEntry entry{next, murphy::Term(99), Bytes{1, 2, 3}};
  MURPHY_ASSERT(wal.Append({&entry, 1}).ok());
  MURPHY_ASSERT(wal.Sync().ok());
  opened->wal.reset();
  disk.Crash();
  auto again = murphy::Wal::Open(disk, SmallOptions());
  MURPHY_ASSERT(again.ok());
  MURPHY_ASSERT(!again->state.entries.empty());
  MURPHY_ASSERT(again->state.entries.back() == entry);
  MURPHY_ASSERT(again->state.entries.size() == state.entries.size() + 1);
  return 0;
}

// Valid WAL files written by the WAL itself (with overwrites, discards and rotation),
// for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  NullHost host;
  murphy::sim::SimDisk disk(murphy::Rng(2), &host);
  auto opened = murphy::Wal::Open(disk, SmallOptions());
  MURPHY_ASSERT(opened.ok());
  murphy::Wal& wal = *opened->wal;
  std::vector<murphy::WalEntry> entries;
  for (uint64_t index = 1; index <= 12; ++index) {
    entries.push_back(murphy::WalEntry{murphy::LogIndex(index), murphy::Term(1), Bytes(index * 7, 0x5a)});
  }
  MURPHY_ASSERT(wal.Append(entries).ok());
  const murphy::WalEntry overwrite{murphy::LogIndex(4), murphy::Term(2), Bytes{9}};
  MURPHY_ASSERT(wal.Append({&overwrite, 1}).ok());
  MURPHY_ASSERT(wal.DiscardAfter(murphy::LogIndex(3)).ok());
  MURPHY_ASSERT(wal.Sync().ok());
  MURPHY_ASSERT(
      wal.SaveHardState(murphy::HardState{murphy::Term(2), murphy::NodeId(1), murphy::LogIndex(3)}).ok());
  MURPHY_ASSERT(
      wal.SaveSnapshot(murphy::WalSnapshot{murphy::LogIndex(2), murphy::Term(1), Bytes{1, 2}, Bytes(40, 1)})
          .ok());

  std::vector<std::vector<uint8_t>> seeds;
  const auto add = [&seeds](uint8_t mode, const Bytes& content) {
    std::vector<uint8_t> seed = {mode, 128};
    seed.insert(seed.end(), content.begin(), content.end());
    seeds.push_back(std::move(seed));
  };
  Bytes all_segments;
  const std::vector<std::string> names = disk.List().value();
  for (const std::string& name : names) {
    const Bytes content = disk.Read(name).value();
    if (name == murphy::kWalHardStateName) {
      add(1, content);
    } else if (name == murphy::kWalSnapshotName) {
      add(2, content);
    } else if (name.ends_with(".log")) {
      add(0, content);
      all_segments.insert(all_segments.end(), content.begin(), content.end());
    }
  }
  add(0, all_segments);
  add(3, all_segments);
  return seeds;
}
