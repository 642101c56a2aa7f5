// murphy/report/timeline.h — turns one captured trace (sim/trace.h's JSON lines) into
// the compact space-time diagram data that the HTML report's script draws.
//
// Contract: BuildTimeline reads every line of a RunTrace and returns a JSON object
//   {"title", "end_us", "lanes":[{"id","name"}],
//    "messages":[[send_us, source, target, end_us, kind, message_id, detail]],
//    "spans":[[lane, from_us, to_us, kind, label]],
//    "marks":[[lane, at_us, event, detail, tone, token]],
//    "shades":[[from_us, to_us, kind, label]],
//    "clocks":[[lane, [[at_us, offset_us], ...]]],
//    "counts":{"messages","messages_shown","marks","marks_shown","spans","spans_shown",
//              "lines","lines_kept","bad_lines"}}
// Times are integer microseconds of true time since the start of the run. It never
// fails: a line that is not a JSON object with time_ns/node/event is counted in
// bad_lines and skipped (traces may come from other writers).
//
// How events are drawn — the conventions a scenario follows to be drawn well, with no
// change here (gc-pause-lease and split-brain are meant to plug in this way):
// - send / deliver / drop / duplicate / corrupt (the simulator's): one arrow per
//   delivery or drop of a message id; kind "d" delivered, "x" dropped (crossed
//   out), "2" a duplicate copy, "c" corrupted in flight; detail: size or drop reason.
// - fault partition / partition_end / heal, clog / unclog, link_faults /
//   link_faults_end: shaded intervals across the whole diagram.
// - pause|suspend ... resume: a gap in the lane; crash ... restart: the lane is down.
// - lease_granted / lease_acquired (fields: token, ttl_ns, holder — the lane id of the
//   holder if the event is written by a server) open a lease bar, closed by
//   lease_expired / lease_released / lease_revoked / lease_lost on the same lane, or
//   after ttl_ns, or at the end of the run.
// - any other event with a duration_ns field: a bar of that length, kind = the name.
// - every other event: a mark on its node's lane (node 0, the world, gets a "world"
//   lane). Tone "bad" (red) for names ending in _rejected, _lost, _violated, _failed,
//   or crash; "good" for names ending in _accepted or _granted; "leader" for
//   became_leader; a `token` field is shown next to the mark (writes with fencing
//   tokens) and kept as the mark's token.
// - each lane's clock offset (wall_ns - wall_origin_ns - time_ns, from run_start's
//   wall_origin_ns) is sampled whenever it moves by more than 50 us.
// Limits (TimelineLimits): messages and marks beyond their caps are sampled evenly,
// after keeping the interesting ones first (dropped, duplicated and corrupted
// messages; bad, leader and token marks); counts say how many were not shown.
// Deterministic: the same trace gives the same JSON. Thread safety: a pure function.
#pragma once

#include <cstddef>

#include <nlohmann/json.hpp>

#include "murphy/scenarios/scenario.h"

namespace murphy::report {

struct TimelineLimits {
  size_t max_messages = 1500;
  size_t max_marks = 1500;
  size_t max_spans = 600;
  size_t max_clock_points_per_lane = 400;
};

nlohmann::json BuildTimeline(const RunTrace& trace, const TimelineLimits& limits = TimelineLimits());

}  // namespace murphy::report
