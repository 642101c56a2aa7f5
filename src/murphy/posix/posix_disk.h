// murphy/posix/posix_disk.h — env.h's Disk on real files in one data directory.
//
// Contract: every name is a file directly inside `directory` (created, with its
// parents, by Open). Names are validated — non-empty, at most kMaxNameLength bytes,
// no '/', no NUL, not "." or ".." — else INVALID_ARGUMENT; nothing outside the
// directory can be reached. Semantics are those of env.h and of the simulated disk
// (sim/sim_disk.h):
//   Append        write(2) on an fd opened O_APPEND|O_CREAT, kept in a bounded cache
//                 (kMaxOpenFiles; the least recently used fd is closed beyond it).
//   Sync          fdatasync(2). SyncAsync runs the same call on the fsync thread and
//                 posts the outcome to the loop (never inline, also for errors).
//   Read          the whole file (at most kMaxReadBytes, else RESOURCE_EXHAUSTED).
//   Truncate      ftruncate(2); OUT_OF_RANGE if the size is beyond the end.
//   Rename        rename(2) (atomic replace). Remove: unlink(2).
//   SyncDirectory fsync(2) of the directory fd (makes creations, renames and
//                 removals durable).
//   List          regular files of the directory, sorted by name.
// Errors map errno to codes (StatusFromErrno) and name the operation and the file:
// ENOENT → NOT_FOUND, ENOSPC/EDQUOT/EMFILE/ENFILE/EFBIG → RESOURCE_EXHAUSTED,
// EIO → DATA_LOSS, EACCES/EPERM/EROFS → PERMISSION_DENIED, EEXIST → ALREADY_EXISTS,
// ENAMETOOLONG/EINVAL/EISDIR/ENOTDIR → INVALID_ARGUMENT, anything else → INTERNAL.
// A failed fsync (of a file or of the directory, sync or async) is DATA_LOSS whatever
// the errno, because the durable content is then unknown; the disk remembers it and
// every later Sync, SyncAsync and SyncDirectory fails with that same error — on Linux
// a retried fsync may report success for pages that were dropped (fsyncgate), so this
// disk never pretends that a retry worked. The caller must stop (env.h).
//
// Threads: the disk owns one fsync thread, started by Open and joined by the
// destructor. SyncAsync hands the thread a reference-counted handle of the file's fd
// (so closing or evicting the fd on the loop cannot close it under the thread), and
// the thread posts the completion to the loop through `Poster`. The thread takes
// every queued request at once and runs one fdatasync per distinct file for all
// of them (group commit: requests made before the fsync started are all covered by
// it). Shared between the two threads, under `mutex_`: the request queue, the stop
// flag and the sticky sync error; everything else (the fd cache, the counters) is
// touched only on the loop. Completions still queued when the disk is destroyed are
// dropped without running (env.h allows it; the Env outlives its users).
// Every other method runs on the loop thread and blocks it for the system call.
//
// Ownership: owns its fds and the thread. Thread safety: methods from the loop thread
// only; `Poster` must be callable from any thread (asio::post is).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "murphy/env/env.h"

namespace murphy::posix {

// Maps an errno to a Status: "<operation> <name>: <strerror>".
Status StatusFromErrno(int error, std::string_view operation, std::string_view name);

struct DiskMetrics {
  uint64_t appends = 0;
  uint64_t bytes_appended = 0;
  uint64_t reads = 0;
  uint64_t fsyncs = 0;           // fdatasync/fsync calls that ran (sync, async, directory)
  uint64_t fsync_errors = 0;     // of which failed
  uint64_t async_syncs = 0;      // SyncAsync requests completed
  uint64_t coalesced_syncs = 0;  // SyncAsync requests that shared another request's fsync
};

class PosixDisk final : public Disk {
 public:
  // Runs a function on the loop, later. Called from the fsync thread.
  using Poster = std::function<void(std::function<void()>)>;

  static constexpr size_t kMaxNameLength = 255;
  static constexpr size_t kMaxOpenFiles = 64;
  static constexpr uint64_t kMaxReadBytes = uint64_t{1} << 30;
  // SyncAsync requests queued for the fsync thread at most; beyond it a request
  // fails with RESOURCE_EXHAUSTED (posted, as always).
  static constexpr size_t kMaxPendingSyncs = 65536;

  // Creates `directory` if needed and opens it. REQUIRES: poster is callable.
  static Result<std::unique_ptr<PosixDisk>> Open(std::string directory, Poster poster);
  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;

  Status Append(std::string_view name, std::span<const uint8_t> data) override;
  Status Sync(std::string_view name) override;
  void SyncAsync(std::string_view name, std::function<void(Status)> done) override;
  Result<Bytes> Read(std::string_view name) override;
  Status Truncate(std::string_view name, uint64_t size) override;
  Status Rename(std::string_view source, std::string_view target) override;
  Status Remove(std::string_view name) override;
  Status SyncDirectory() override;
  Result<std::vector<std::string>> List() override;

  const std::string& directory() const { return directory_; }
  const DiskMetrics& metrics() const { return metrics_; }
  // The remembered fsync failure, OK if there was none.
  Status sync_failure() const;
  // Fds currently cached.
  size_t open_files() const { return files_.size(); }

  // The name rules above: OK or INVALID_ARGUMENT.
  static Status ValidateName(std::string_view name);

 private:
  class OpenFile;
  struct SyncRequest;
  struct Shared;

  PosixDisk(std::string directory, int directory_fd, Poster poster);

  std::string PathOf(std::string_view name) const;
  // The cached fd of `name`, opening it (creating it if `create`) when needed.
  Result<std::shared_ptr<OpenFile>> Lookup(std::string_view name, bool create);
  void Forget(std::string_view name);
  // Records a failed fsync (sticky) and returns the DATA_LOSS status for it.
  Status RecordSyncFailure(int error, std::string_view operation, std::string_view name);
  void RunSyncThread();

  struct CacheEntry {
    std::shared_ptr<OpenFile> file;
    uint64_t last_use = 0;
  };

  std::string directory_;
  int directory_fd_;
  Poster poster_;
  std::map<std::string, CacheEntry, std::less<>> files_;
  uint64_t use_clock_ = 0;
  DiskMetrics metrics_;
  // Shared with the fsync thread and with posted completions (which check `alive`).
  std::shared_ptr<Shared> shared_;
};

}  // namespace murphy::posix
