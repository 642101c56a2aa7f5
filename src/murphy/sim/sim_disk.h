// murphy/sim/sim_disk.h — the simulated `Disk` of one process: in memory, with
// explicit durability and seeded faults.
//
// Contract: implements env.h's Disk exactly, tracking for every file its *current*
// content (what reads see) and its *durable* content (what survives a crash), and for
// the directory its current and durable name → file mapping (inodes, so a rename moves
// a file without copying it). Append/Truncate change current content; Sync(name) makes
// it durable. Creations, renames and removals change current names; SyncDirectory()
// makes them durable — a synced file whose name was never made durable is lost in a
// crash, as on ext4 without a directory fsync (the strict model of the
// "ALICE"/"All File Systems Are Not Created Equal" study and of LevelDB's
// fault-injection Env).
// Crash(): current := durable; for a file whose unsynced change is an append, a seeded
// choice keeps nothing of the unsynced tail (lost) or a prefix of it (a torn write).
// Faults (DiskFaults, changeable at any time): Sync fails with DATA_LOSS with a
// probability, after which the durable content is a seeded choice between the old and
// the new (unknown to the caller — env.h says: stop, do not retry fsync); Read flips
// one bit of the returned copy with a probability (the stored data is intact); sync
// latency delays SyncAsync completions and makes a Sync block the process.
// Limits: kMaxFiles files, kMaxFileBytes per file, kMaxTotalBytes in all; beyond them
// calls fail with RESOURCE_EXHAUSTED.
// Thread safety: none; owned by the simulator, used from one simulated process.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "murphy/core/rng.h"
#include "murphy/env/env.h"

namespace murphy::sim {

struct DiskFaults {
  double sync_error_probability = 0;
  double read_corruption_probability = 0;
  Duration sync_latency = Duration::Zero();
  // What a crash does to an unsynced appended tail.
  enum class Unsynced : uint8_t { kLose, kTear, kRandom };
  Unsynced unsynced_on_crash = Unsynced::kRandom;
};

struct DiskCounters {
  uint64_t appends = 0;
  uint64_t syncs = 0;
  uint64_t sync_errors = 0;
  uint64_t read_corruptions = 0;
  uint64_t torn_files = 0;        // crashes that kept a strict prefix of an unsynced tail
  uint64_t lost_unsynced_bytes = 0;
  uint64_t lost_files = 0;        // files whose name was not durable at a crash
};

class SimDisk : public Disk {
 public:
  static constexpr size_t kMaxFiles = 4096;
  static constexpr uint64_t kMaxFileBytes = uint64_t{64} << 20;
  static constexpr uint64_t kMaxTotalBytes = uint64_t{256} << 20;

  // What the disk needs from the simulator: tracing, blocking the process, and
  // running a completion later on the process's loop (dropped if it crashes first).
  class Host {
   public:
    virtual ~Host() = default;
    virtual void DiskTrace(std::string_view event, std::initializer_list<TraceField> fields) = 0;
    virtual void DiskBusy(Duration duration) = 0;
    virtual void DiskLater(Duration delay, std::function<void()> action) = 0;
  };

  // `host` must outlive the disk.
  SimDisk(Rng rng, Host* host) : rng_(rng), host_(host) {}

  Status Append(std::string_view name, std::span<const uint8_t> data) override;
  Status Sync(std::string_view name) override;
  void SyncAsync(std::string_view name, std::function<void(Status)> done) override;
  Result<Bytes> Read(std::string_view name) override;
  Status Truncate(std::string_view name, uint64_t size) override;
  Status Rename(std::string_view source, std::string_view target) override;
  Status Remove(std::string_view name) override;
  Status SyncDirectory() override;
  Result<std::vector<std::string>> List() override;

  // The machine lost power: keep only durable state (see the contract).
  void Crash();

  void set_faults(const DiskFaults& faults) { faults_ = faults; }
  const DiskFaults& faults() const { return faults_; }
  const DiskCounters& counters() const { return counters_; }
  // Durable content of `name` under the durable directory (for tests and checkers).
  Result<Bytes> DurableContent(std::string_view name) const;

 private:
  struct File {
    Bytes current;
    Bytes durable;
    // Counts changes to `current`; `durable_version` is the version `durable` holds.
    // A sync completes only forward: a late SyncAsync of an older version never
    // undoes a newer Sync (no real fsync can un-persist data).
    uint64_t version = 0;
    uint64_t durable_version = 0;
  };
  using Names = std::map<std::string, uint64_t, std::less<>>;

  File* Find(std::string_view name);
  // Completes a sync of `inode` to `content`, with the fault roll.
  Status FinishSync(std::string_view name, uint64_t inode, uint64_t version, Bytes content);
  void CollectUnreferenced();

  Rng rng_;
  Host* host_;
  DiskFaults faults_;
  DiskCounters counters_;
  std::map<uint64_t, File> files_;
  Names current_names_;
  Names durable_names_;
  uint64_t next_inode_ = 1;
  uint64_t total_bytes_ = 0;
};

}  // namespace murphy::sim
