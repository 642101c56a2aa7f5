#include "murphy/core/time.h"

#include <cmath>
#include <cstdio>

namespace murphy {
namespace {

Duration FromDoubleNanoseconds(double nanoseconds) {
  if (std::isnan(nanoseconds)) return Duration::Zero();
  // 9.2e18 is just below 2^63; beyond it the conversion would be undefined.
  if (nanoseconds >= 9.2e18) return Duration::Infinite();
  if (nanoseconds <= -9.2e18) return -Duration::Infinite();
  return Nanoseconds(static_cast<int64_t>(std::llround(nanoseconds)));
}

// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned month_index = (5 * day_of_year + 2) / 153;
  *day = day_of_year - (153 * month_index + 2) / 5 + 1;
  *month = month_index < 10 ? month_index + 3 : month_index - 9;
  *year = static_cast<int64_t>(year_of_era) + era * 400 + (*month <= 2 ? 1 : 0);
}

}  // namespace

Duration operator*(Duration a, double factor) {
  if (a.is_infinite()) return factor < 0 ? -a : (factor == 0 ? Duration::Zero() : a);
  return FromDoubleNanoseconds(static_cast<double>(a.nanoseconds()) * factor);
}

Duration SecondsDouble(double seconds) { return FromDoubleNanoseconds(seconds * 1e9); }

double ToSecondsDouble(Duration d) {
  if (d == Duration::Infinite()) return HUGE_VAL;
  if (d == -Duration::Infinite()) return -HUGE_VAL;
  return static_cast<double>(d.nanoseconds()) / 1e9;
}

double ToMillisecondsDouble(Duration d) { return ToSecondsDouble(d) * 1e3; }

std::string FormatDuration(Duration d) {
  if (d == Duration::Infinite()) return "inf";
  if (d == -Duration::Infinite()) return "-inf";
  const int64_t n = d.nanoseconds();
  const int64_t magnitude = n < 0 ? -n : n;
  std::string out = n < 0 ? "-" : "";
  auto format = [&](int64_t unit, const char* suffix) {
    out += std::to_string(magnitude / unit);
    const int64_t fraction = magnitude % unit;
    if (fraction != 0) {
      // Up to three decimals, trailing zeros removed: 1.5s, 1.25ms.
      std::string decimals = std::to_string(fraction * 1000 / unit + 1000).substr(1);
      while (decimals.size() > 1 && decimals.back() == '0') decimals.pop_back();
      out += '.';
      out += decimals;
    }
    out += suffix;
  };
  if (magnitude >= 1'000'000'000) {
    format(1'000'000'000, "s");
  } else if (magnitude >= 1'000'000) {
    format(1'000'000, "ms");
  } else if (magnitude >= 1'000) {
    format(1'000, "us");
  } else {
    format(1, "ns");
  }
  return out;
}

std::string FormatInstant(Instant t) {
  const int64_t n = t.nanoseconds();
  const int64_t magnitude = n < 0 ? -n : n;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s%lld.%09llds", n < 0 ? "-" : "+",
                static_cast<long long>(magnitude / 1'000'000'000),
                static_cast<long long>(magnitude % 1'000'000'000));
  return buffer;
}

std::string FormatWallTime(WallTime t) {
  const int64_t n = t.nanoseconds();
  int64_t seconds = n / 1'000'000'000;
  int64_t nanos = n % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    seconds -= 1;
  }
  int64_t days = seconds / 86400;
  int64_t second_of_day = seconds % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    days -= 1;
  }
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, &year, &month, &day);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                static_cast<long long>(year), month, day,
                static_cast<long long>(second_of_day / 3600),
                static_cast<long long>(second_of_day / 60 % 60),
                static_cast<long long>(second_of_day % 60), static_cast<long long>(nanos));
  return buffer;
}

}  // namespace murphy
