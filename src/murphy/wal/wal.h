// murphy/wal/wal.h — the write-ahead log that makes a Raft node's state durable.
//
// Contract: `Wal` stores, through a `Disk`, three kinds of state a consensus node must
// not forget across a crash, in generic form (independent of raft/; the node shell
// translates): log entries (index, term, bytes), the hard state (term, vote, commit)
// and the latest snapshot (index, term, membership bytes, data bytes). `Wal::Open`
// recovers the durable state and returns a Wal positioned to continue.
//
// Durability. Nothing is durable until the call that says so has succeeded:
//   Append / DiscardAfter  write records; durable only after a later Sync/SyncAsync
//                          completes (group commit: one sync covers every record
//                          written before it). `durable_index()` tells the caller how
//                          far the log may be acknowledged; never acknowledge beyond it.
//   SaveHardState / SaveSnapshot  durable when they return OK (temp file, Sync, Rename
//                          over the old file, SyncDirectory: a crash at any point
//                          leaves the old or the new file, never a mix).
// Fatal errors. Any Disk error on a write path — above all a failed fsync — puts the
// Wal in a failed state: every later call returns that error. The durable content is
// then unknown (fsyncgate: retrying fsync is unsafe), so the node MUST crash and
// recover with Open; recovery truncates whatever half-written tail is left.
//
// Files (flat names on the Disk; other names are ignored, `wal-*.tmp` are removed):
//   wal-<sequence, 10 digits>-<first index, 20 digits>.log   log segments
//   wal-hard-state                                           one kHardState record
//   wal-snapshot                                             one kSnapshot record
// Segments are replayed in sequence order; the sequence, not the index, orders them
// because an overwrite can make a later segment start at a lower index. The index in
// the name is the index the segment was opened to start at (for operators); the
// records are authoritative. Every segment but the last (the active one) was synced
// before its successor was created. Record framing: wal/record.h.
//
// Segment record payloads (little-endian):
//   kEntry         index u64 | term u64 | data (rest)
//   kDiscardAfter  index u64
//
// Replay rule (the durable form of Raft's log-conflict rule): records apply in
// order. An entry at index i requires 1 <= i <= max(last, snapshot index) + 1 (else
// a gap: DataLoss) and discards every entry >= i before it becomes the last; so
// "appending at an index that already exists discards the old suffix" holds after a
// crash too — the later record wins. kDiscardAfter(i) discards every entry > i.
// Recovered entries are those after the snapshot's index.
//
// Recovery verdicts. The last record of the last segment may be incomplete or fail
// its CRC: that is what a crash during an unsynced append leaves (a torn tail). Open
// truncates it, syncs the truncation and reports the bytes dropped — but only if no
// valid record follows it and a second read returns the same bytes (so a transient
// read error is reported, not "repaired" by truncating good data). Anything else —
// a bad record followed by valid ones, a bad record or short tail in a closed
// segment, an index gap, a missing segment, a bad hard-state or snapshot file — is
// DataLoss naming the file and offset: the node refuses to start rather than silently
// drop committed entries. Residual risk, as in LevelDB: corruption of exactly the last
// synced record of the last segment is indistinguishable from a torn write.
//
// Limits (WalOptions): entry size, batch size, snapshot size, segment size, number of
// segments, SyncAsync calls in flight.
//
// Thread safety: none; a Wal belongs to one event loop, like its Disk. Ownership: the
// Disk must outlive the Wal. If the Wal is destroyed before a SyncAsync completes, the
// completion is dropped without calling `done`.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/env/env.h"

namespace murphy {

struct WalEntry {
  LogIndex index;
  Term term;
  Bytes data;
  friend bool operator==(const WalEntry&, const WalEntry&) = default;
};

struct HardState {
  Term term;
  NodeId vote;  // NodeId(0): no vote in this term
  LogIndex commit;
  friend bool operator==(const HardState&, const HardState&) = default;
};

struct WalSnapshot {
  LogIndex index;  // the last index the snapshot covers
  Term term;       // the term of that entry
  Bytes membership;
  Bytes data;
  friend bool operator==(const WalSnapshot&, const WalSnapshot&) = default;
};

struct WalOptions {
  // A segment that would grow past this is closed (synced) and a new one started. A
  // single record larger than this gets a segment of its own.
  uint64_t segment_limit_bytes = uint64_t{4} << 20;
  uint64_t max_entry_data_bytes = uint64_t{1} << 20;
  // Sum of the encoded records of one Append call.
  uint64_t max_batch_bytes = uint64_t{16} << 20;
  // Membership plus data.
  uint64_t max_snapshot_bytes = uint64_t{32} << 20;
  // Open refuses more; Append refuses to grow beyond (compact first).
  uint64_t max_segments = 4096;
  uint64_t max_pending_syncs = 64;
};

// What Open found on the disk.
struct RecoveredState {
  std::optional<HardState> hard_state;
  std::optional<WalSnapshot> snapshot;
  // Consecutive; the first is at the snapshot's index + 1 (1 without a snapshot).
  std::vector<WalEntry> entries;
  // Bytes of torn tail that recovery truncated (0 after a clean shutdown).
  uint64_t truncated_tail_bytes = 0;
};

class Wal {
 public:
  struct Opened;

  // Recovers the durable state from `disk` and returns a Wal ready to append after
  // it. Makes what it read durable (syncs the last segment and the directory), so a
  // later power loss cannot take back what recovery returned.
  // Errors: DataLoss (corruption, see the contract; the message names file and
  // offset), InvalidArgument (bad options), any Disk error.
  // REQUIRES: no other Wal is open on `disk`.
  static Result<Opened> Open(Disk& disk, const WalOptions& options = {});

  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;
  ~Wal();

  // Writes `entries` (one Disk append per segment touched). If the first index already
  // exists, the old entries from it on are discarded (durably so once synced), and
  // durable_index() drops below it.
  // REQUIRES (else InvalidArgument, nothing written): indexes consecutive; first index
  // in [snapshot_index() + 1, last_index() + 1]; each data <= max_entry_data_bytes;
  // the batch <= max_batch_bytes. ResourceExhausted if the batch would need more than
  // max_segments segments (compact first). Other errors are fatal (see contract).
  Status Append(std::span<const WalEntry> entries);

  // Discards every entry with an index > `index` (a no-op if there is none); durable
  // once synced. Use it before installing a snapshot that conflicts with the log.
  // REQUIRES: index >= snapshot_index() (else InvalidArgument).
  Status DiscardAfter(LogIndex index);

  // Makes every record written so far durable; on OK durable_index() == last_index().
  Status Sync();

  // Group commit without blocking: starts a sync covering every record written before
  // this call and, later on the loop (never inside this call), calls
  // `done(status, durable_index())`; a failed completion fails the Wal. When this call
  // itself returns an error, `done` is never called: the sticky error of a failed Wal,
  // or ResourceExhausted when max_pending_syncs are in flight (not fatal).
  Status SyncAsync(std::function<void(Status, LogIndex durable)> done);

  // Atomically replaces the hard state; durable on OK.
  Status SaveHardState(const HardState& state);

  // Atomically replaces the snapshot; durable on OK. Entries after its index stay.
  // REQUIRES: index >= 1 and >= snapshot_index(); size <= max_snapshot_bytes (else
  // InvalidArgument).
  Status SaveSnapshot(const WalSnapshot& snapshot);

  // Removes the oldest segments whose entries all lie at or below the snapshot's
  // index (never the active segment), each removal made durable before the next so
  // that the durable directory always holds a consecutive run of segments.
  Status Compact();

  // The last index of the log: its last entry, or the snapshot's index if larger.
  LogIndex last_index() const;
  // Every entry at or below this index, as the caller sees the log now, is durable
  // (or covered by the durable snapshot). Acknowledge nothing beyond it.
  LogIndex durable_index() const;
  LogIndex snapshot_index() const { return snapshot_index_; }
  size_t segment_count() const { return segments_.size(); }
  // OK, or the error that made this Wal fail.
  const Status& status() const { return failure_; }

 private:
  struct Segment {
    uint64_t sequence = 0;
    std::string name;
    uint64_t size_bytes = 0;
    LogIndex max_entry_index;  // largest index of any entry record in it (compaction)
  };
  struct PendingSync {
    uint64_t id = 0;
    LogIndex target;  // durable once this sync completes
  };
  struct RecoveryScan;

  Wal(Disk& disk, const WalOptions& options);

  Status Recover(RecoveredState* state);
  Status ReplaySegment(uint64_t sequence, const std::string& name, bool last, RecoveryScan* scan,
                       RecoveredState* state);
  // Reads a file that must hold exactly one record of `type`. found = false if the
  // file does not exist.
  Status LoadSingleRecordFile(std::string_view name, uint8_t type, uint64_t max_payload_bytes, Bytes* payload,
                              bool* found);
  // Validation shared by Append and DiscardAfter: enough segments left?
  Status CheckSegmentBudget(uint64_t batch_bytes) const;
  // Before writing a record of `record_bytes` that starts with `index`: closes the
  // active segment and starts a new one if the record would overflow it.
  Status MakeRoom(uint64_t record_bytes, LogIndex index, ByteWriter* buffer);
  Status FlushBuffer(ByteWriter* buffer);
  Status StartSegment(uint64_t sequence, LogIndex first_index);
  Status WriteAtomically(std::string_view name, const Bytes& content);
  void LowerDurable(LogIndex index);
  void OnSyncDone(uint64_t id, const Status& status, const std::function<void(Status, LogIndex)>& done);
  // Records a fatal error (the first one sticks) and returns it; OK passes through.
  Status Fail(Status status);

  Disk& disk_;
  WalOptions options_;
  std::vector<Segment> segments_;  // in sequence order; back() is the active one
  LogIndex last_entry_index_;
  LogIndex durable_entry_index_;
  LogIndex snapshot_index_;
  bool directory_dirty_ = false;  // a name changed since the last SyncDirectory
  Status failure_;
  std::vector<PendingSync> pending_syncs_;
  uint64_t next_sync_id_ = 1;
  // Completions hold a weak reference so that they do nothing after destruction.
  std::shared_ptr<int> lifetime_ = std::make_shared<int>(0);
};

struct Wal::Opened {
  std::unique_ptr<Wal> wal;
  RecoveredState state;
};

// Names used on the disk (exposed for tests, tools and the fuzz target).
inline constexpr std::string_view kWalHardStateName = "wal-hard-state";
inline constexpr std::string_view kWalSnapshotName = "wal-snapshot";
std::string WalSegmentName(uint64_t sequence, LogIndex first_index);

}  // namespace murphy
