#include "murphy/posix/clock_source.h"

#include <time.h>

#include "murphy/core/assert.h"

namespace murphy::posix {
namespace {

int64_t ReadClock(clockid_t clock) {
  timespec now{};
  const int result = clock_gettime(clock, &now);
  MURPHY_ASSERT_MSG(result == 0, "clock_gettime failed");
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace

Instant RealClockSource::MonotonicNow() { return Instant::FromNanoseconds(ReadClock(CLOCK_MONOTONIC)); }
WallTime RealClockSource::WallNow() { return WallTime::FromNanoseconds(ReadClock(CLOCK_REALTIME)); }
Instant RealClockSource::BootNow() { return Instant::FromNanoseconds(ReadClock(CLOCK_BOOTTIME)); }

RealClockSource* RealClockSource::Default() {
  static RealClockSource instance;
  return &instance;
}

}  // namespace murphy::posix
