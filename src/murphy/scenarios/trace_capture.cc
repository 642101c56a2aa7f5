#include "murphy/scenarios/trace_capture.h"

#include <algorithm>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/scenarios/sim_support.h"

namespace murphy::scenarios {
namespace {

// Splits newline-terminated lines into `out`, leaving out the simulator's timer
// lines: every process timer firing is one, they are most of a busy run's trace, and
// the report draws none of them.
void SplitLines(const std::string& text, std::vector<std::string>* out) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (line.find(",\"event\":\"timer\",") == std::string_view::npos) out->emplace_back(line);
    start = end + 1;
  }
}

}  // namespace

TraceCapture::TraceCapture(const RunOptions& options, std::string title, WallTime wall_origin)
    : title_(std::move(title)), wall_origin_(wall_origin) {
  if (!options.capture_trace) return;
  sim::TraceOptions trace_options;
  trace_options.keep_in_memory = true;
  trace_options.max_bytes = options.max_trace_bytes;
  writer_ = std::make_unique<sim::TraceWriter>(trace_options);
}

void TraceCapture::NameLane(NodeId node, std::string_view name) {
  if (!enabled()) return;
  for (auto& [id, existing] : lanes_) {
    if (id == node.value()) {
      existing = std::string(name);
      return;
    }
  }
  lanes_.emplace_back(node.value(), std::string(name));
}

void TraceCapture::NameLanes(const sim::Simulator& simulator) {
  if (!enabled()) return;
  for (const NodeId node : simulator.nodes()) NameLane(node, simulator.name(node));
}

void TraceCapture::Write(Instant time, NodeId node, Instant monotonic, WallTime wall, std::string_view event,
                         std::initializer_list<TraceField> fields) {
  if (!enabled()) return;
  writer_->Write(time.nanoseconds(), node.value(), monotonic.nanoseconds(), wall.nanoseconds(), event, fields);
}

void TraceCapture::Finish(RunOutcome* outcome) {
  if (!enabled()) return;
  MURPHY_ASSERT_MSG(!finished_, "TraceCapture::Finish called twice");
  finished_ = true;
  RunTrace trace;
  trace.title = title_;
  // The header, in the same schema (node 0, time zero).
  sim::TraceOptions header_options;
  header_options.keep_in_memory = true;
  sim::TraceWriter header(header_options);
  header.Write(0, 0, 0, 0, "run_start", {{"wall_origin_ns", wall_origin_.nanoseconds()}});
  std::sort(lanes_.begin(), lanes_.end());
  for (const auto& [id, name] : lanes_) {
    header.Write(0, 0, 0, 0, "process", {{"id", uint64_t{id}}, {"name", std::string_view(name)}});
  }
  SplitLines(header.text(), &trace.lines);
  SplitLines(writer_->text(), &trace.lines);
  trace.total_lines = header.lines() + writer_->lines();
  trace.truncated = writer_->truncated();
  outcome->traces.push_back(std::move(trace));
}

sim::SimOptions SimOptionsFor(uint64_t seed, const TraceCapture& capture) {
  sim::SimOptions options = ScenarioSimOptions(seed);
  options.trace = capture.writer();
  return options;
}

}  // namespace murphy::scenarios
