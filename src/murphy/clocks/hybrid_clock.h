// murphy/clocks/hybrid_clock.h — hybrid logical clocks (HLC).
//
// Source: S. Kulkarni, M. Demirbas, D. Madeppa, B. Avva, M. Leone, "Logical Physical
// Clocks", OPODIS 2014 (the HLC algorithm and its 48-bit/16-bit packing); semantics
// of Now()/Update() and of the max-offset guard follow CockroachDB's pkg/util/hlc
// (Update ratchets without ticking; the next Now() is above the remote timestamp).
//
// Contract:
// - An `HlcTimestamp` is {wall, logical}. `wall` is a physical time of day kept at a
//   granularity of kHlcWallGranularity = 2^16 ns = 65.536 us: the low 16 bits of its
//   nanosecond count are always zero. That makes `wall` exactly "the top 48 bits of a
//   64-bit nanosecond clock" and lets Pack() put `logical` in the low 16 bits:
//   packed = wall_ns | logical. The 48-bit field would cover 2^64 ns = 584 years from
//   1970; WallTime itself (signed 64-bit) limits us to 2262, so the top bit of a packed
//   value is always zero. Packed values compare exactly as the structs do.
// - Timestamps order events consistently with causality (if a -> b then ts(a) < ts(b))
//   and stay close to physical time: wall >= the local physical clock (quantised)
//   after every Now(), and wall <= (highest physical reading so far) + max_offset,
//   as long as at most 2^16 timestamps are issued per 65.536 us tick (see overflow).
// - Now() returns strictly increasing timestamps, whatever the physical clock does
//   (stalls, backward jumps): a backward jump is *reported* (counter, amount, observer)
//   and absorbed by the logical component, never passed on.
// - Update(remote) refuses (kFailedPrecondition) a remote timestamp whose wall is more
//   than max_offset ahead of the local physical clock, instead of silently dragging
//   this clock into the future (CockroachDB's "remote wall time is too far ahead").
//   Either the peer's clock or ours is broken; the ClockOffsetMonitor decides which.
// - Logical overflow: when logical is already 0xFFFF and another timestamp is needed
//   at the same wall, the wall is advanced by one tick (65.536 us) and logical resets
//   to 0 — we borrow a tick from the future rather than fail Now(). Each borrow is
//   counted (logical_overflows()) and loosens the upper bound above by one tick. It
//   takes 65,536 timestamps inside one 65.536 us tick (one per nanosecond), which a
//   single node does not produce; remote timestamps near 0xFFFF can also cause it.
// - Physical readings before the epoch (negative WallTime) are treated as 0.
// Thread safety: none; one clock per node, used from its event loop. The injected
// physical clock and observer are called synchronously and must not call back into
// this clock.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

inline constexpr int kHlcLogicalBits = 16;
inline constexpr uint16_t kHlcMaxLogical = 0xFFFF;
inline constexpr Duration kHlcWallGranularity = Nanoseconds(int64_t{1} << kHlcLogicalBits);

struct HlcTimestamp {
  WallTime wall;         // a multiple of kHlcWallGranularity, >= 0
  uint16_t logical = 0;  // orders events that share a wall tick

  // True iff wall is non-negative and a multiple of kHlcWallGranularity.
  bool IsValid() const {
    return wall.nanoseconds() >= 0 && (wall.nanoseconds() & (kHlcWallGranularity.nanoseconds() - 1)) == 0;
  }

  // The 64-bit encoding: 48 bits of wall (in 65.536 us units) then 16 bits of
  // logical. REQUIRES: IsValid().
  uint64_t Pack() const;
  // The inverse of Pack(). kOutOfRange if the top bit is set (beyond WallTime's range).
  static Result<HlcTimestamp> Unpack(uint64_t packed);

  // "2026-11-26T12:00:00.000065536Z+3".
  std::string ToString() const;

  friend auto operator<=>(const HlcTimestamp&, const HlcTimestamp&) = default;
  friend bool operator==(const HlcTimestamp&, const HlcTimestamp&) = default;
};

// Rounds a physical reading down to the HLC wall granularity; negative becomes 0.
constexpr WallTime QuantizeHlcWall(WallTime physical) {
  const int64_t nanoseconds = physical.nanoseconds();
  if (nanoseconds < 0) return WallTime::FromNanoseconds(0);
  return WallTime::FromNanoseconds(nanoseconds & ~(kHlcWallGranularity.nanoseconds() - 1));
}

class HybridClock {
 public:
  // Reads the local time-of-day clock (Env::WallNow in a node).
  using PhysicalClock = std::function<WallTime()>;
  // Told the size of each backward jump of the physical clock.
  using BackwardJumpObserver = std::function<void(Duration jump)>;

  // REQUIRES: physical_clock is callable; max_offset > 0 (Duration::Infinite()
  // disables the guard).
  HybridClock(PhysicalClock physical_clock, Duration max_offset);

  // A timestamp for a local event or a send; strictly greater than every timestamp
  // this clock returned or was updated to before. Never fails.
  HlcTimestamp Now();

  // Receipt of a message stamped `remote`: ratchets the clock so that every later
  // Now() is greater than `remote`. Fails, leaving the clock unchanged, with
  // kInvalidArgument if `remote` is not a valid HLC timestamp and with
  // kFailedPrecondition if remote.wall is more than max_offset ahead of the local
  // physical clock.
  Status Update(HlcTimestamp remote);

  // The latest timestamp issued by Now() or ratcheted to by Update().
  HlcTimestamp last() const { return last_; }
  Duration max_offset() const { return max_offset_; }

  // Physical clock health, for metrics and alerts.
  uint64_t backward_jumps() const { return backward_jumps_; }
  // The size of the most recent backward jump (Zero() if none yet).
  Duration last_backward_jump() const { return last_backward_jump_; }
  uint64_t logical_overflows() const { return logical_overflows_; }
  uint64_t rejected_updates() const { return rejected_updates_; }

  // Installs (or, with an empty function, removes) the backward-jump observer.
  void SetBackwardJumpObserver(BackwardJumpObserver observer) { observer_ = std::move(observer); }

 private:
  // Reads the physical clock and records a backward jump against the previous reading.
  WallTime ReadPhysical();
  void RecordBackwardJump(Duration jump);
  // The next timestamp after last_ at the same wall (overflowing into the wall).
  void AdvanceLogical();

  PhysicalClock physical_clock_;
  Duration max_offset_;
  HlcTimestamp last_;
  WallTime last_physical_ = WallTime::Min();
  uint64_t backward_jumps_ = 0;
  Duration last_backward_jump_ = Duration::Zero();
  uint64_t logical_overflows_ = 0;
  uint64_t rejected_updates_ = 0;
  BackwardJumpObserver observer_;
};

}  // namespace murphy
