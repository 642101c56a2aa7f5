// murphy/scenarios/trace_capture.h — records one trace of a scenario run for the
// HTML report, when the run was asked to (RunOptions::capture_trace). Internal to
// scenarios/.
//
// Contract: a TraceCapture built from RunOptions without capture_trace is inert: it
// hands out no TraceWriter, Write does nothing and Finish adds nothing, so a run
// that is not captured costs nothing more than before. With capture it keeps the
// lines in memory (up to RunOptions::max_trace_bytes; the rest is counted only) and
// Finish appends a RunTrace to the outcome, prefixed with the header lines that
// scenario.h describes (`run_start` with the wall origin, one `process` line per lane)
// and without the simulator's `timer` lines (counted in total_lines, never drawn).
// Simulator-based runs pass writer() to the simulator (SimOptionsFor does it) and
// name their lanes from the simulator at Finish; library-level runs call Write with
// their own true time, clock readings and events, and name their lanes themselves.
// Capturing must never change what a run does: the writer only observes.
// Thread safety: none; one capture per run.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/sim/simulator.h"
#include "murphy/sim/trace.h"

namespace murphy::scenarios {

class TraceCapture {
 public:
  // `wall_origin`: the wall-clock reading at true time zero.
  TraceCapture(const RunOptions& options, std::string title, WallTime wall_origin);
  TraceCapture(const TraceCapture&) = delete;
  TraceCapture& operator=(const TraceCapture&) = delete;

  bool enabled() const { return writer_ != nullptr; }
  // Null when not enabled.
  sim::TraceWriter* writer() const { return writer_.get(); }

  // Names lane `node` (a process or client). Later names for the same node win.
  void NameLane(NodeId node, std::string_view name);
  // Names every process of `simulator` as the simulator knows it.
  void NameLanes(const sim::Simulator& simulator);

  // One event at true time `time`, from `node` whose clocks read `monotonic` and
  // `wall`; node 0 (the world) has no clocks. No-op when not enabled.
  void Write(Instant time, NodeId node, Instant monotonic, WallTime wall, std::string_view event,
             std::initializer_list<TraceField> fields);

  // Appends the captured trace to outcome->traces. No-op when not enabled.
  // REQUIRES: called once.
  void Finish(RunOutcome* outcome);

 private:
  std::string title_;
  WallTime wall_origin_;
  std::unique_ptr<sim::TraceWriter> writer_;
  std::vector<std::pair<uint32_t, std::string>> lanes_;
  bool finished_ = false;
};

// The scenario simulator options (sim_support.h) with `capture`'s writer, if any.
sim::SimOptions SimOptionsFor(uint64_t seed, const TraceCapture& capture);

}  // namespace murphy::scenarios
