#include "murphy/sim/trace.h"

#include "murphy/env/trace_line.h"

namespace murphy::sim {

uint64_t Fnv1a64(uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

TraceWriter::TraceWriter(TraceOptions options) : options_(options) { line_.reserve(256); }

TraceWriter::~TraceWriter() { Flush(); }

void TraceWriter::Write(int64_t time_ns, uint32_t node, int64_t monotonic_ns, int64_t wall_ns,
                        std::string_view event, std::initializer_list<TraceField> fields) {
  line_.clear();
  AppendTraceLine(&line_, time_ns, node, monotonic_ns, wall_ns, event, fields);

  hash_ = Fnv1a64(hash_, line_);
  ++lines_;
  bytes_ += line_.size();
  if (options_.file == nullptr && !options_.keep_in_memory) return;
  if (stored_bytes_ + line_.size() > options_.max_bytes) {
    truncated_ = true;
    return;
  }
  stored_bytes_ += line_.size();
  if (options_.keep_in_memory) memory_.append(line_);
  if (options_.file != nullptr) {
    file_buffer_.append(line_);
    if (file_buffer_.size() >= (1u << 20)) Flush();
  }
}

void TraceWriter::Flush() {
  if (options_.file == nullptr || file_buffer_.empty()) return;
  std::fwrite(file_buffer_.data(), 1, file_buffer_.size(), options_.file);
  std::fflush(options_.file);
  file_buffer_.clear();
}

}  // namespace murphy::sim
