#include "murphy/sim/trace.h"

#include <charconv>
#include <type_traits>

namespace murphy::sim {
namespace {

template <typename Number>
void AppendNumber(std::string* out, Number value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, result.ptr);
}

void AppendDouble(std::string* out, double value) {
  // JSON has no NaN or infinity; write them as strings so the line stays valid.
  if (value != value) {
    out->append("\"nan\"");
  } else if (value > 1.7976931348623157e308) {
    out->append("\"inf\"");
  } else if (value < -1.7976931348623157e308) {
    out->append("\"-inf\"");
  } else {
    AppendNumber(out, value);
  }
}

}  // namespace

uint64_t Fnv1a64(uint64_t hash, std::string_view bytes) {
  for (const char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

void AppendJsonString(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (const char c : text) {
    const auto byte = static_cast<uint8_t>(c);
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (byte < 0x20) {
      out->append("\\u00");
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xf]);
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

TraceWriter::TraceWriter(TraceOptions options) : options_(options) { line_.reserve(256); }

TraceWriter::~TraceWriter() { Flush(); }

void TraceWriter::AppendField(const TraceField& field) {
  line_.push_back(',');
  AppendJsonString(&line_, field.key);
  line_.push_back(':');
  std::visit(
      [this](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>) {
          line_.append(value ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          AppendDouble(&line_, value);
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          AppendJsonString(&line_, value);
        } else {
          AppendNumber(&line_, value);
        }
      },
      field.value);
}

void TraceWriter::Write(int64_t time_ns, uint32_t node, int64_t monotonic_ns, int64_t wall_ns,
                        std::string_view event, std::initializer_list<TraceField> fields) {
  line_.clear();
  line_.append("{\"time_ns\":");
  AppendNumber(&line_, time_ns);
  line_.append(",\"node\":");
  AppendNumber(&line_, node);
  if (node != 0) {
    line_.append(",\"mono_ns\":");
    AppendNumber(&line_, monotonic_ns);
    line_.append(",\"wall_ns\":");
    AppendNumber(&line_, wall_ns);
  }
  line_.append(",\"event\":");
  AppendJsonString(&line_, event);
  for (const TraceField& field : fields) AppendField(field);
  line_.append("}\n");

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
