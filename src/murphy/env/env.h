// murphy/env/env.h — the one seam between murphy's code and the uncertain world.
//
// Contract: everything the chapter calls unreliable — clocks, the network, disks,
// scheduling and randomness — reaches node and client code only through an `Env`.
// The simulator (sim/SimEnv) and the real runtime (posix/PosixEnv) implement it; the
// node shell and the client are written once against it.
//
// Threading: an Env belongs to one single-threaded event loop. Every callback it
// invokes (timer, receiver, sync completion) runs on that loop, never concurrently
// with another callback of the same Env, and never re-entrantly from inside a call
// to the Env (Send never calls the receiver; SetTimer never runs the callback
// inline). Its methods must be called from that loop only.
//
// Ownership and lifetime: the Env outlives the code that uses it. Callbacks are
// owned by the Env until they run or are cancelled; code that is destroyed before the
// Env must cancel its timers first. When a process crashes (simulation) the Env drops
// every pending callback of that process without running it.
//
// Failure model: Send may lose, delay, duplicate, reorder or corrupt a message —
// payloads must carry their own checksum (protocol/ frames do). Clocks may drift and
// the wall clock may jump; the monotonic clock never goes backward. Disk writes are
// durable only after Sync; a crash may lose or tear unsynced data.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

using TimerId = StrongId<struct TimerIdTag>;

// One field of a trace event: a key and a scalar value. Keys are short identifiers
// (snake_case); string values are copied by the Env before Trace returns.
struct TraceField {
  std::string_view key;
  std::variant<int64_t, uint64_t, double, bool, std::string_view> value;
};

// Files of one process, in a flat namespace (names, not paths; no directories).
// Durability: Append and Truncate change the file immediately for readers but
// become durable only after Sync(name). Rename and Remove are atomic and become
// durable only after SyncDirectory(). After a failed Sync the file's durable content
// is unknown: callers must stop (crash) rather than continue — retrying fsync is
// not safe on Linux (the "fsyncgate" lesson).
class Disk {
 public:
  virtual ~Disk() = default;

  // Appends `data` to `name`, creating the file if it does not exist.
  virtual Status Append(std::string_view name, std::span<const uint8_t> data) = 0;
  // Makes the current content of `name` durable. NotFound if it does not exist.
  virtual Status Sync(std::string_view name) = 0;
  // Starts a Sync and calls `done` with its outcome later on the loop; lets a
  // caller group many appends under one sync (group commit) without blocking.
  virtual void SyncAsync(std::string_view name, std::function<void(Status)> done) = 0;
  // The whole content. NotFound if the file does not exist; DataLoss if the disk
  // reports corruption.
  virtual Result<Bytes> Read(std::string_view name) = 0;
  // Shortens `name` to `size` bytes. OutOfRange if size > current size.
  virtual Status Truncate(std::string_view name, uint64_t size) = 0;
  // Atomically replaces `target` (if it exists) with `source`.
  virtual Status Rename(std::string_view source, std::string_view target) = 0;
  // Deletes `name`. NotFound if it does not exist.
  virtual Status Remove(std::string_view name) = 0;
  // Makes creations, renames and removals durable.
  virtual Status SyncDirectory() = 0;
  // Names of all files, sorted.
  virtual Result<std::vector<std::string>> List() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // This process's id, which is also its address on the transport.
  virtual NodeId self() const = 0;

  // --- Clocks -------------------------------------------------------------------
  // Monotonic clock: never goes backward, may drift from true time. Use it for every
  // duration, timeout and lease.
  virtual Instant MonotonicNow() = 0;
  // Time of day: may jump in either direction. For display and timestamps only.
  virtual WallTime WallNow() = 0;
  // Like MonotonicNow but keeps counting while the process or machine is suspended
  // (Linux CLOCK_BOOTTIME). A growth of BootNow() − MonotonicNow() means this process
  // was suspended, and anything it believed about time (leases) is suspect.
  virtual Instant BootNow() = 0;

  // --- Timers (on the monotonic clock) ----------------------------------------------
  // Calls `callback` on the loop once `delay` has elapsed on this process's monotonic
  // clock (a paused process runs it late). Zero or negative delay: as soon as possible.
  virtual TimerId SetTimer(Duration delay, std::function<void()> callback) = 0;
  // Cancels a pending timer. False if it already ran or was cancelled.
  virtual bool CancelTimer(TimerId id) = 0;

  // --- Transport ---------------------------------------------------------------------
  // Sends `payload` to `target`, fire-and-forget. Never blocks and never reports
  // delivery: the message may be lost, delayed, duplicated, reordered or corrupted.
  virtual void Send(NodeId target, Bytes payload) = 0;
  // Installs the handler for every inbound message (replacing any earlier one). The
  // payload view is valid only during the call.
  virtual void SetReceiver(std::function<void(NodeId source, std::span<const uint8_t> payload)> receiver) = 0;

  // --- Disk and randomness -------------------------------------------------------
  virtual Disk& disk() = 0;
  // This process's seeded generator: the only source of randomness.
  virtual Rng& rng() = 0;

  // --- Observability ----------------------------------------------------------------
  // Records an event of the code under test in the trace (JSON lines in the
  // simulator's schema). Cheap when tracing is off.
  virtual void Trace(std::string_view event, std::initializer_list<TraceField> fields) = 0;
};

// Forwards every call to another Env; a test double overrides the one call it changes
// (LevelDB's EnvWrapper). Does not own the target.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  NodeId self() const override { return target_->self(); }
  Instant MonotonicNow() override { return target_->MonotonicNow(); }
  WallTime WallNow() override { return target_->WallNow(); }
  Instant BootNow() override { return target_->BootNow(); }
  TimerId SetTimer(Duration delay, std::function<void()> callback) override {
    return target_->SetTimer(delay, std::move(callback));
  }
  bool CancelTimer(TimerId id) override { return target_->CancelTimer(id); }
  void Send(NodeId target, Bytes payload) override { target_->Send(target, std::move(payload)); }
  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) override {
    target_->SetReceiver(std::move(receiver));
  }
  Disk& disk() override { return target_->disk(); }
  Rng& rng() override { return target_->rng(); }
  void Trace(std::string_view event, std::initializer_list<TraceField> fields) override {
    target_->Trace(event, fields);
  }

 private:
  Env* target_;
};

}  // namespace murphy
