// murphy/core/time.h — unit-safe time: Duration, Instant (monotonic), WallTime.
//
// Contract:
// - `Duration` is a signed span of time with nanosecond resolution. Arithmetic
//   saturates: results beyond the representable range become `Duration::Infinite()`
//   or `-Duration::Infinite()` instead of wrapping, and infinity is sticky
//   (Infinite() - Seconds(1) is still Infinite()). Construct with
//   `Milliseconds(250)`, read out with `ToMilliseconds(d)` (truncates toward zero)
//   or `ToSecondsDouble(d)`, or by dividing by another Duration.
// - `Instant` is a point on a *monotonic* clock (nanoseconds since an arbitrary,
//   per-process origin). Only durations should be derived from it.
// - `WallTime` is a point on the *time-of-day* clock (nanoseconds since the Unix
//   epoch). It may jump; use it for display and for timestamps that leave the process,
//   never to measure durations. The chapter's rule — monotonic for durations, wall
//   clock only for display — is enforced by the compiler: Instant and WallTime cannot
//   be mixed, and neither converts to an integer implicitly.
// - Instant/WallTime ± Duration saturate the same way; Instant − Instant = Duration.
// All types are trivially copyable values; no function here reads a clock.
// Thread safety: values; safe to share.
#pragma once

#include <compare>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>

namespace murphy {

namespace internal {
inline constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

// Saturating helpers. kInt64Max and kInt64Min act as +/- infinity and are sticky.
constexpr int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (a == kInt64Max || a == kInt64Min) return a;
  if (b == kInt64Max || b == kInt64Min) return b;
  int64_t result = 0;
  if (__builtin_add_overflow(a, b, &result)) return b > 0 ? kInt64Max : kInt64Min;
  return result;
}
constexpr int64_t SaturatingNegate(int64_t a) {
  if (a == kInt64Max) return kInt64Min;
  if (a == kInt64Min) return kInt64Max;
  return -a;
}
constexpr int64_t SaturatingMultiply(int64_t a, int64_t b) {
  int64_t result = 0;
  if (__builtin_mul_overflow(a, b, &result)) return ((a < 0) != (b < 0)) ? kInt64Min : kInt64Max;
  if ((a == kInt64Max || a == kInt64Min) && b != 0) return ((a < 0) != (b < 0)) ? kInt64Min : kInt64Max;
  return result;
}
}  // namespace internal

class Duration {
 public:
  constexpr Duration() = default;

  static constexpr Duration Zero() { return Duration(0); }
  static constexpr Duration Infinite() { return Duration(internal::kInt64Max); }
  // The raw constructor; prefer Nanoseconds() and friends below.
  static constexpr Duration FromNanoseconds(int64_t nanoseconds) { return Duration(nanoseconds); }

  constexpr int64_t nanoseconds() const { return nanoseconds_; }
  constexpr bool is_infinite() const {
    return nanoseconds_ == internal::kInt64Max || nanoseconds_ == internal::kInt64Min;
  }

  constexpr auto operator<=>(const Duration&) const = default;

  constexpr Duration operator-() const { return Duration(internal::SaturatingNegate(nanoseconds_)); }
  constexpr Duration& operator+=(Duration other) {
    nanoseconds_ = internal::SaturatingAdd(nanoseconds_, other.nanoseconds_);
    return *this;
  }
  constexpr Duration& operator-=(Duration other) {
    nanoseconds_ =
        internal::SaturatingAdd(nanoseconds_, internal::SaturatingNegate(other.nanoseconds_));
    return *this;
  }
  constexpr Duration& operator*=(int64_t factor) {
    nanoseconds_ = internal::SaturatingMultiply(nanoseconds_, factor);
    return *this;
  }
  // Truncates toward zero. REQUIRES: divisor != 0.
  constexpr Duration& operator/=(int64_t divisor) {
    if (is_infinite()) {
      if (divisor < 0) nanoseconds_ = internal::SaturatingNegate(nanoseconds_);
      return *this;
    }
    if (divisor == -1) {
      nanoseconds_ = internal::SaturatingNegate(nanoseconds_);
      return *this;
    }
    nanoseconds_ /= divisor;
    return *this;
  }

 private:
  explicit constexpr Duration(int64_t nanoseconds) : nanoseconds_(nanoseconds) {}
  int64_t nanoseconds_ = 0;
};

constexpr Duration operator+(Duration a, Duration b) { return a += b; }
constexpr Duration operator-(Duration a, Duration b) { return a -= b; }
template <std::integral Integer>
constexpr Duration operator*(Duration a, Integer factor) {
  return a *= static_cast<int64_t>(factor);
}
template <std::integral Integer>
constexpr Duration operator*(Integer factor, Duration a) {
  return a *= static_cast<int64_t>(factor);
}
template <std::integral Integer>
constexpr Duration operator/(Duration a, Integer divisor) {
  return a /= static_cast<int64_t>(divisor);
}
// Scales by a real factor, rounding to the nearest nanosecond, saturating.
Duration operator*(Duration a, double factor);
inline Duration operator*(double factor, Duration a) { return a * factor; }
// How many whole `b` fit in `a` (truncates toward zero). REQUIRES: b != Zero().
constexpr int64_t operator/(Duration a, Duration b) { return a.nanoseconds() / b.nanoseconds(); }
// The remainder of a / b. REQUIRES: b != Zero().
constexpr Duration operator%(Duration a, Duration b) {
  return Duration::FromNanoseconds(a.nanoseconds() % b.nanoseconds());
}

constexpr Duration Nanoseconds(int64_t n) { return Duration::FromNanoseconds(n); }
constexpr Duration Microseconds(int64_t n) { return Nanoseconds(internal::SaturatingMultiply(n, 1'000)); }
constexpr Duration Milliseconds(int64_t n) {
  return Nanoseconds(internal::SaturatingMultiply(n, 1'000'000));
}
constexpr Duration Seconds(int64_t n) { return Nanoseconds(internal::SaturatingMultiply(n, 1'000'000'000)); }
constexpr Duration Minutes(int64_t n) { return Seconds(internal::SaturatingMultiply(n, 60)); }
constexpr Duration Hours(int64_t n) { return Seconds(internal::SaturatingMultiply(n, 3600)); }
// From a real number of seconds, rounded to the nearest nanosecond, saturating.
Duration SecondsDouble(double seconds);

constexpr int64_t ToNanoseconds(Duration d) { return d.nanoseconds(); }
constexpr int64_t ToMicroseconds(Duration d) { return d.is_infinite() ? d.nanoseconds() : d.nanoseconds() / 1'000; }
constexpr int64_t ToMilliseconds(Duration d) {
  return d.is_infinite() ? d.nanoseconds() : d.nanoseconds() / 1'000'000;
}
constexpr int64_t ToSeconds(Duration d) { return d.is_infinite() ? d.nanoseconds() : d.nanoseconds() / 1'000'000'000; }
double ToSecondsDouble(Duration d);
double ToMillisecondsDouble(Duration d);

constexpr Duration Abs(Duration d) { return d < Duration::Zero() ? -d : d; }
constexpr Duration Min(Duration a, Duration b) { return a < b ? a : b; }
constexpr Duration Max(Duration a, Duration b) { return a < b ? b : a; }

// "1.5s", "250ms", "12us", "7ns", "-3s", "inf".
std::string FormatDuration(Duration d);

namespace internal {
// Shared implementation of a point in time on one clock; `Tag` keeps clocks apart.
template <typename Tag>
class TimePoint {
 public:
  constexpr TimePoint() = default;
  static constexpr TimePoint FromNanoseconds(int64_t nanoseconds) { return TimePoint(nanoseconds); }
  static constexpr TimePoint Max() { return TimePoint(kInt64Max); }
  static constexpr TimePoint Min() { return TimePoint(kInt64Min); }

  // Nanoseconds since this clock's origin.
  constexpr int64_t nanoseconds() const { return nanoseconds_; }
  constexpr Duration since_origin() const { return Duration::FromNanoseconds(nanoseconds_); }

  constexpr auto operator<=>(const TimePoint&) const = default;

  constexpr TimePoint& operator+=(Duration d) {
    nanoseconds_ = SaturatingAdd(nanoseconds_, d.nanoseconds());
    return *this;
  }
  constexpr TimePoint& operator-=(Duration d) {
    nanoseconds_ = SaturatingAdd(nanoseconds_, SaturatingNegate(d.nanoseconds()));
    return *this;
  }
  friend constexpr TimePoint operator+(TimePoint t, Duration d) { return t += d; }
  friend constexpr TimePoint operator+(Duration d, TimePoint t) { return t += d; }
  friend constexpr TimePoint operator-(TimePoint t, Duration d) { return t -= d; }
  friend constexpr Duration operator-(TimePoint a, TimePoint b) {
    return Duration::FromNanoseconds(SaturatingAdd(a.nanoseconds_, SaturatingNegate(b.nanoseconds_)));
  }

 private:
  explicit constexpr TimePoint(int64_t nanoseconds) : nanoseconds_(nanoseconds) {}
  int64_t nanoseconds_ = 0;
};
struct MonotonicTag {};
struct WallTag {};
}  // namespace internal

// A reading of a monotonic clock: never goes backward on one process, but may
// drift against true time. Only differences between Instants mean anything.
using Instant = internal::TimePoint<internal::MonotonicTag>;
// A reading of the time-of-day clock: nanoseconds since 1970-01-01T00:00:00Z. May
// jump forward or backward (NTP steps, operator error); for display and timestamps.
using WallTime = internal::TimePoint<internal::WallTag>;

// "+12.000000345s" relative to the origin, for traces and tests.
std::string FormatInstant(Instant t);
// RFC 3339 in UTC with nanoseconds: "2026-11-26T12:00:00.000000001Z".
std::string FormatWallTime(WallTime t);

}  // namespace murphy
