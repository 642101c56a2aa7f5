// murphy/sim/trace.h — the trace: one JSON object per line, the schema shared by
// simulated and real runs, read by the HTML report and the checkers.
//
// Schema (stable; add fields, never rename or remove them):
//   {"time_ns":T,"node":N,"mono_ns":M,"wall_ns":W,"event":"NAME", ...fields}
// - time_ns  true time in nanoseconds since the start of the run. Only the simulator
//            knows it; real runs write their best estimate (the host's monotonic clock).
// - node     the process the event belongs to (NodeId value); 0 is the simulator
//            itself (the nemesis), and then mono_ns and wall_ns are absent.
// - mono_ns, wall_ns  the process's own monotonic and wall clock readings at that
//            moment — what the process believed the time was (they drift, jump and
//            stop: the report draws them against true time).
// - event    the event name; then the event's fields as flat scalar members
//            (integers, doubles in shortest round-trip form, booleans, strings).
// Key order is fixed (the four above, then fields in the order written) and numbers
// are formatted by std::to_chars, so the same run gives the same bytes.
//
// Events written by the simulator (fields after the common ones):
//   send       target, message, bytes
//   deliver    source, message, bytes, [duplicate], [corrupted]
//   drop       source, target, message, reason (loss|partition|queue_full|
//              target_down|source_down|unknown_target|clog_overflow|inbox_full)
//   duplicate  target, message
//   corrupt    target, message, bits
//   clog_hold / clog_release   source, target, message
//   timer      timer
//   fault      kind, plus the fault's parameters (partition, heal, link faults,
//              clog, unclog, slow, disk faults, drift, ...)
//   crash, restart, pause, resume, suspend   duration_ns where known
//   clock_step offset_ns, clock_drift drift_ppm, clock_resync how
//   disk_crash name, synced_bytes, kept_bytes, lost_bytes
//   disk_sync_error name; disk_read_corrupt name, bit
//   run_end    events, plus the run's counters
// Every other event name comes from the code under test through Env::Trace.
//
// `TraceWriter` formats lines, hashes every byte (FNV-1a 64) so two runs can be
// compared without storing them, and optionally keeps them in memory or writes them
// to a FILE. A size limit stops storing/writing (the hash continues and
// `truncated()` is set). Thread safety: none; one writer per simulation.
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <string_view>

#include "murphy/env/env.h"

namespace murphy::sim {

struct TraceOptions {
  // Where lines go: a FILE (not owned, not closed), memory, or nowhere (hash only).
  std::FILE* file = nullptr;
  bool keep_in_memory = false;
  // Bytes stored or written at most; the rest is only hashed.
  uint64_t max_bytes = uint64_t{1} << 30;
};

class TraceWriter {
 public:
  explicit TraceWriter(TraceOptions options = {});
  ~TraceWriter();
  TraceWriter(const TraceWriter&) = delete;
  TraceWriter& operator=(const TraceWriter&) = delete;

  // Writes one line. `node` 0 means the simulator (no clock readings).
  void Write(int64_t time_ns, uint32_t node, int64_t monotonic_ns, int64_t wall_ns,
             std::string_view event, std::initializer_list<TraceField> fields);

  // Pushes buffered bytes to the file (also done by the destructor).
  void Flush();

  uint64_t hash() const { return hash_; }
  uint64_t lines() const { return lines_; }
  uint64_t bytes() const { return bytes_; }
  bool truncated() const { return truncated_; }
  // The stored lines (keep_in_memory only).
  const std::string& text() const { return memory_; }

 private:

  TraceOptions options_;
  std::string line_;
  std::string memory_;
  std::string file_buffer_;
  uint64_t hash_ = 14695981039346656037ULL;  // FNV-1a offset basis
  uint64_t lines_ = 0;
  uint64_t bytes_ = 0;
  uint64_t stored_bytes_ = 0;
  bool truncated_ = false;
};

// FNV-1a 64 of `bytes`, continuing from `hash`.
uint64_t Fnv1a64(uint64_t hash, std::string_view bytes);

}  // namespace murphy::sim
