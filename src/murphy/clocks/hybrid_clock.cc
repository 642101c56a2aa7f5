#include "murphy/clocks/hybrid_clock.h"

#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

uint64_t HlcTimestamp::Pack() const {
  MURPHY_ASSERT_MSG(IsValid(), "HlcTimestamp::Pack of an unquantised or negative wall");
  // The low 16 bits of wall are zero, so OR-ing logical in is the 48/16 split.
  return static_cast<uint64_t>(wall.nanoseconds()) | logical;
}

Result<HlcTimestamp> HlcTimestamp::Unpack(uint64_t packed) {
  if (packed >> 63 != 0) return OutOfRangeError("packed HLC timestamp beyond the WallTime range");
  const uint64_t logical_mask = kHlcMaxLogical;
  HlcTimestamp timestamp;
  timestamp.wall = WallTime::FromNanoseconds(static_cast<int64_t>(packed & ~logical_mask));
  timestamp.logical = static_cast<uint16_t>(packed & logical_mask);
  MURPHY_ASSERT(timestamp.IsValid());
  MURPHY_ASSERT(timestamp.Pack() == packed);
  return timestamp;
}

std::string HlcTimestamp::ToString() const { return FormatWallTime(wall) + "+" + std::to_string(logical); }

HybridClock::HybridClock(PhysicalClock physical_clock, Duration max_offset)
    : physical_clock_(std::move(physical_clock)), max_offset_(max_offset) {
  MURPHY_ASSERT(physical_clock_ != nullptr);
  MURPHY_ASSERT(max_offset_ > Duration::Zero());
}

WallTime HybridClock::ReadPhysical() {
  const WallTime physical = physical_clock_();
  if (physical < last_physical_) [[unlikely]] {
    RecordBackwardJump(last_physical_ - physical);
  }
  last_physical_ = physical;
  return physical;
}

void HybridClock::RecordBackwardJump(Duration jump) {
  ++backward_jumps_;
  last_backward_jump_ = jump;
  if (observer_) observer_(jump);
}

void HybridClock::AdvanceLogical() {
  if (last_.logical < kHlcMaxLogical) [[likely]] {
    ++last_.logical;
    return;
  }
  // Overflow: borrow one wall tick from the future (see the header).
  MURPHY_ASSERT_MSG(last_.wall < WallTime::Max() - kHlcWallGranularity, "HLC wall beyond year 2262");
  last_.wall += kHlcWallGranularity;
  last_.logical = 0;
  ++logical_overflows_;
}

HlcTimestamp HybridClock::Now() {
  const WallTime wall = QuantizeHlcWall(ReadPhysical());
  if (wall > last_.wall) {
    last_.wall = wall;
    last_.logical = 0;
  } else {
    AdvanceLogical();
  }
  return last_;
}

Status HybridClock::Update(HlcTimestamp remote) {
  if (!remote.IsValid()) {
    return InvalidArgumentError("remote HLC timestamp has a negative or unquantised wall: " +
                                std::to_string(remote.wall.nanoseconds()) + "ns");
  }
  const WallTime physical = ReadPhysical();
  const Duration ahead = remote.wall - physical;
  if (ahead > max_offset_) {
    ++rejected_updates_;
    return FailedPreconditionError("remote HLC timestamp " + remote.ToString() + " is " +
                                   FormatDuration(ahead) + " ahead of the local physical clock, beyond " +
                                   "the max offset of " + FormatDuration(max_offset_) +
                                   "; a clock is out of sync");
  }
  if (remote > last_) last_ = remote;
  return Status::Ok();
}

}  // namespace murphy
