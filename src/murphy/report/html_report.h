// murphy/report/html_report.h — the `murphy demo --html` report: one self-contained
// HTML file (inline CSS, inline SVG built by an inline script; no network, no fonts).
//
// Contract: RenderHtmlReport turns scenario results, captured with
// RunOptions::capture_trace, into the page's bytes. For each scenario: its section of
// the chapter, the remedy, and the two runs one above the other — verdict, the
// checker's violation, the summary and figures as text in the HTML, and each captured
// trace as a space-time diagram (timeline.h) that the script draws at load, aligned on
// one true-time axis per scenario with zoom and scrub; series of the same plot id are
// drawn on one chart. Every text coming from a scenario is escaped (HTML text, or
// JSON inside <script> with <, >, & and U+2028/9 escaped), so a name or a violation
// may contain anything. The same inputs give the same bytes (no dates, no
// randomness, ordered maps).
// Markers for tests and tools (stable): <section data-scenario=NAME
// data-demonstrated=true|false>, <div class="run" data-run=without|with
// data-verdict=fail|pass>, <p class="violation">; drawn by the script: <svg
// data-timeline=NAME/RUN/INDEX>, message groups data-kind=d|x|2|c (x crossed out),
// marks data-event=NAME (data-rejected-token=T on *_rejected marks with a token,
// data-token=T otherwise), <svg data-plot=PLOT data-series=N>, and
// <body data-report-ready="true"> once everything is drawn.
// Thread safety: a pure function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/report/timeline.h"
#include "murphy/scenarios/scenario.h"

namespace murphy::report {

struct ReportInput {
  uint64_t seed = 1;
  // Results of RunScenario(..., RunOptions{.capture_trace = true}), in page order.
  std::vector<ScenarioResult> results;
  // Scenarios of SCENARIOS.md not built yet, named so the page says so.
  std::vector<std::string> not_built;
  TimelineLimits limits;
};

std::string RenderHtmlReport(const ReportInput& input);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string EscapeHtml(std::string_view text);

// JSON text safe inside <script>: no "</script>", no "<!--", no U+2028/U+2029.
// Invalid UTF-8 is replaced, never thrown on.
std::string JsonForScript(const nlohmann::json& value);

}  // namespace murphy::report
