// murphy/scenarios/scenario.h — the chapter's stories as runnable, judged scenarios.
//
// Contract: a Scenario retells one story of the chapter and runs it twice from one
// seed: once without the remedy (a checker must find the failure the chapter
// describes) and once with it (the checker must pass). Runs are deterministic: the
// same seed gives the same outcome and figures. A scenario is *demonstrated* when
// its "without" run fails and its "with" run passes; one that does not is a bug in
// murphy, reported as such (a scenario whose failure never happens shows nothing).
// Scenarios are stateless objects; Run may be called from several threads at once
// on different seeds.
//
// For the HTML report a run can also capture what happened (RunOptions::capture_trace):
// its trace, as JSON lines in the schema of sim/trace.h, and named (x, y) series for
// plots. Capturing never changes a run's behaviour, verdict or figures; without it a
// run records nothing, so `murphy demo` stays fast. Simulator-based scenarios hand
// over the simulator's own trace; library-level scenarios write the same schema.
// Every captured trace starts with a `run_start` line (node 0, field wall_origin_ns:
// the wall-clock reading that true time zero corresponds to, so a reader can compute
// each node's clock offset as wall_ns - wall_origin_ns - time_ns) and one `process`
// line per lane (node 0, fields id, name), all at time zero.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace murphy {

// One named measurement of a run ("writes_lost", "detection_time_ms"). Units last.
struct Figure {
  std::string name;
  double value = 0;
};

// A named series of (x, y) points for a plot in the report. Series of the same `plot`
// (from both runs of a scenario) are drawn on one chart.
struct Series {
  enum class Style : uint8_t { kLine, kPoints };
  std::string plot;     // chart id, e.g. "load_over_time"
  std::string name;     // legend label, e.g. "no jitter"
  std::string x_label;  // axis labels with units: "true time (s)"
  std::string y_label;
  Style style = Style::kLine;
  std::vector<std::pair<double, double>> points;
};

struct RunOptions {
  // Record the run's trace and series (for the HTML report).
  bool capture_trace = false;
  // At most this many trace bytes are kept; the rest of the trace is counted only
  // (RunTrace::truncated). The report samples further.
  uint64_t max_trace_bytes = uint64_t{64} << 20;
};

// One captured trace. A run that simulates several systems (e.g. partition-cp-ap's
// "with" run: a CP store and an AP store with version vectors) captures one each.
struct RunTrace {
  std::string title;               // what this trace shows, e.g. "CP: quorum writes"
  std::vector<std::string> lines;  // JSON objects in sim/trace.h's schema, no newline
  uint64_t total_lines = 0;        // lines written, including those not kept
  bool truncated = false;          // some lines were not kept (max_trace_bytes)
};

struct RunOutcome {
  bool violated = false;      // the checker found the failure
  std::string violation;      // what the checker found, naming the operations involved
  std::string summary;        // one line for the table
  std::vector<Figure> figures;
  std::vector<RunTrace> traces;  // only with RunOptions::capture_trace
  std::vector<Series> series;    // only with RunOptions::capture_trace

  void Add(std::string name, double value) { figures.push_back({std::move(name), value}); }
  // REQUIRES: a figure of that name was added.
  double Get(std::string_view name) const;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::string_view name() const = 0;
  // The chapter section it retells.
  virtual std::string_view section() const = 0;
  // What the remedy is, in a few words.
  virtual std::string_view remedy() const = 0;
  // A run that captures nothing.
  RunOutcome Run(uint64_t seed, bool with_remedy) const { return Run(seed, with_remedy, RunOptions()); }
  virtual RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const = 0;
};

struct ScenarioResult {
  const Scenario* scenario = nullptr;
  uint64_t seed = 0;
  RunOutcome without;
  RunOutcome with;
  bool demonstrated() const { return without.violated && !with.violated; }
};

ScenarioResult RunScenario(const Scenario& scenario, uint64_t seed, const RunOptions& options = RunOptions());

// Every scenario built so far, in the chapter's order.
std::span<const Scenario* const> AllScenarios();
// nullptr if there is no scenario of that name.
const Scenario* FindScenario(std::string_view name);

}  // namespace murphy
