#include "murphy/env/trace_line.h"

#include <charconv>
#include <type_traits>
#include <variant>

namespace murphy {
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

void AppendField(std::string* out, const TraceField& field) {
  out->push_back(',');
  AppendJsonString(out, field.key);
  out->push_back(':');
  std::visit(
      [out](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, bool>) {
          out->append(value ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          AppendDouble(out, value);
        } else if constexpr (std::is_same_v<T, std::string_view>) {
          AppendJsonString(out, value);
        } else {
          AppendNumber(out, value);
        }
      },
      field.value);
}

}  // namespace

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

void AppendTraceLine(std::string* out, int64_t time_ns, uint32_t node, int64_t monotonic_ns, int64_t wall_ns,
                     std::string_view event, std::initializer_list<TraceField> fields) {
  out->append("{\"time_ns\":");
  AppendNumber(out, time_ns);
  out->append(",\"node\":");
  AppendNumber(out, node);
  if (node != 0) {
    out->append(",\"mono_ns\":");
    AppendNumber(out, monotonic_ns);
    out->append(",\"wall_ns\":");
    AppendNumber(out, wall_ns);
  }
  out->append(",\"event\":");
  AppendJsonString(out, event);
  for (const TraceField& field : fields) AppendField(out, field);
  out->append("}\n");
}

}  // namespace murphy
