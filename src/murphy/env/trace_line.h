// murphy/env/trace_line.h — formats one line of the trace, the schema shared by
// simulated and real runs (documented in sim/trace.h).
//
// Contract: `AppendTraceLine` appends `{"time_ns":T,"node":N,"mono_ns":M,"wall_ns":W,
// "event":"E",...fields}\n` to `out`, with mono_ns and wall_ns left out when node is 0
// (the simulator itself). Keys keep their order; integers and doubles are written with
// std::to_chars (shortest round-trip form), NaN and infinities as the strings "nan",
// "inf", "-inf"; strings are JSON-escaped. The same inputs give the same bytes on
// every platform, which the simulator's determinism check relies on. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "murphy/env/env.h"

namespace murphy {

void AppendTraceLine(std::string* out, int64_t time_ns, uint32_t node, int64_t monotonic_ns, int64_t wall_ns,
                     std::string_view event, std::initializer_list<TraceField> fields);

// Appends `text` as a JSON string literal (quotes included).
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace murphy
