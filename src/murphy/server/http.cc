#include "murphy/server/http.h"

#include <charconv>

namespace murphy::server {
namespace {

bool IsTokenChar(char c) {
  if (c >= 'a' && c <= 'z') return true;
  if (c >= 'A' && c <= 'Z') return true;
  if (c >= '0' && c <= '9') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// Visible ASCII only: no spaces, no control bytes, nothing above 0x7e.
bool IsTargetChar(char c) { return c > 0x20 && c < 0x7f; }

// Header values: visible ASCII, spaces and tabs (obs-text bytes are refused: the
// admin API has no use for them).
bool IsValueChar(char c) { return c == '\t' || (c >= 0x20 && c < 0x7f); }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// Splits off the next line (without its CRLF or LF). False if no line end yet.
bool NextLine(std::string_view& rest, std::string_view& line) {
  const size_t end = rest.find('\n');
  if (end == std::string_view::npos) return false;
  line = rest.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  rest.remove_prefix(end + 1);
  return true;
}

HttpParseResult Error(int status, std::string why) {
  HttpParseResult result;
  result.state = HttpParseState::kError;
  result.error_status = status;
  result.error = std::move(why);
  return result;
}

}  // namespace

std::string_view HttpRequest::path() const {
  const std::string_view whole(target);
  return whole.substr(0, whole.find('?'));
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

HttpParseResult ParseHttpRequest(std::string_view buffer, const HttpLimits& limits) {
  // Find the end of the head first, looking no further than the limit allows.
  const std::string_view window = buffer.substr(0, limits.max_head_bytes);
  size_t head_end = std::string_view::npos;
  for (size_t i = 0; i < window.size(); ++i) {
    if (window[i] != '\n') continue;
    // An empty line: "\n\n" or "\n\r\n".
    if (i + 1 < window.size() && window[i + 1] == '\n') {
      head_end = i + 2;
      break;
    }
    if (i + 2 < window.size() && window[i + 1] == '\r' && window[i + 2] == '\n') {
      head_end = i + 3;
      break;
    }
  }
  if (head_end == std::string_view::npos) {
    if (buffer.size() >= limits.max_head_bytes) return Error(431, "request head larger than the limit");
    // Reject garbage early rather than waiting for a head that will never parse:
    // a request line must start with a token.
    for (const char c : buffer) {
      if (c == ' ') break;
      if (!IsTokenChar(c)) return Error(400, "malformed request line");
    }
    return {};
  }

  std::string_view rest = buffer.substr(0, head_end);
  std::string_view line;
  HttpParseResult result;
  HttpRequest& request = result.request;
  if (!NextLine(rest, line)) return Error(400, "malformed request line");
  const size_t first_space = line.find(' ');
  if (first_space == std::string_view::npos) return Error(400, "malformed request line");
  const size_t second_space = line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos) return Error(400, "malformed request line");
  const std::string_view method = line.substr(0, first_space);
  const std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  const std::string_view version = line.substr(second_space + 1);
  if (!IsToken(method)) return Error(400, "malformed method");
  if (target.empty() || target.front() != '/') return Error(400, "target is not an absolute path");
  if (target.size() > limits.max_target_bytes) return Error(431, "target longer than the limit");
  for (const char c : target) {
    if (!IsTargetChar(c)) return Error(400, "malformed target");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Error(400, "unsupported HTTP version");
  request.method = method;
  request.target = target;
  request.version = version;

  while (NextLine(rest, line)) {
    if (line.empty()) break;  // the end of the head
    if (line.front() == ' ' || line.front() == '\t') return Error(400, "obsolete line folding");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Error(400, "header without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) return Error(400, "malformed header name");
    const std::string_view value = Trim(line.substr(colon + 1));
    for (const char c : value) {
      if (!IsValueChar(c)) return Error(400, "malformed header value");
    }
    if (request.headers.size() >= limits.max_headers) return Error(431, "too many headers");
    request.headers.emplace_back(std::string(name), std::string(value));
  }
  result.state = HttpParseState::kComplete;
  result.head_bytes = head_end;
  return result;
}

HttpParseResult ParseHttpRequestWithBody(std::string_view buffer, const HttpLimits& limits) {
  HttpParseResult result = ParseHttpRequest(buffer, limits);
  if (result.state != HttpParseState::kComplete) return result;
  const HttpRequest& request = result.request;
  bool has_length = false;
  size_t length = 0;
  for (const auto& [name, value] : request.headers) {
    if (EqualsIgnoreCase(name, "transfer-encoding")) {
      return Error(501, "Transfer-Encoding (chunked) is not supported; send the body with Content-Length");
    }
    if (!EqualsIgnoreCase(name, "content-length")) continue;
    size_t parsed = 0;
    const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
    if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
      return Error(400, "malformed Content-Length");
    }
    if (has_length && parsed != length) return Error(400, "conflicting Content-Length headers");
    has_length = true;
    length = parsed;
  }
  if (!has_length && (request.method == "POST" || request.method == "PUT")) {
    return Error(411, "Content-Length required");
  }
  if (length > limits.max_body_bytes) {
    return Error(413, "request body larger than the limit of " + std::to_string(limits.max_body_bytes) +
                          " bytes");
  }
  if (buffer.size() - result.head_bytes < length) {
    HttpParseResult incomplete;
    return incomplete;
  }
  result.request.body = buffer.substr(result.head_bytes, length);
  result.body_bytes = length;
  return result;
}

std::string_view HttpReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

std::string FormatHttpResponse(const HttpResponse& response) {
  std::string out;
  out.reserve(128 + response.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(response.status);
  out += ' ';
  out += HttpReasonPhrase(response.status);
  out += "\r\nContent-Type: ";
  out += response.content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(response.body.size());
  for (const auto& [name, value] : response.headers) {
    out += "\r\n";
    out += name;
    out += ": ";
    out += value;
  }
  out += "\r\nConnection: close\r\n\r\n";
  out += response.body;
  return out;
}

Result<HttpResponse> ParseHttpResponse(std::string_view bytes) {
  size_t head_end = bytes.find("\r\n\r\n");
  size_t separator = 4;
  if (head_end == std::string_view::npos) {
    head_end = bytes.find("\n\n");
    separator = 2;
  }
  if (head_end == std::string_view::npos) return InvalidArgumentError("response head incomplete");
  std::string_view rest = bytes.substr(0, head_end + separator);
  std::string_view line;
  if (!NextLine(rest, line)) return InvalidArgumentError("no status line");
  if (line.substr(0, 5) != "HTTP/" || line.size() < 12 || line[8] != ' ') {
    return InvalidArgumentError("malformed status line");
  }
  HttpResponse response;
  const std::string_view code = line.substr(9, 3);
  const auto [end, error] = std::from_chars(code.data(), code.data() + code.size(), response.status);
  if (error != std::errc() || end != code.data() + code.size())
    return InvalidArgumentError("malformed status code");
  size_t content_length = std::string_view::npos;
  while (NextLine(rest, line) && !line.empty()) {
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return InvalidArgumentError("malformed header");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-type")) response.content_type = value;
    if (EqualsIgnoreCase(name, "content-length")) {
      size_t length = 0;
      const auto [length_end, length_error] =
          std::from_chars(value.data(), value.data() + value.size(), length);
      if (length_error != std::errc() || length_end != value.data() + value.size()) {
        return InvalidArgumentError("malformed content-length");
      }
      content_length = length;
    }
  }
  std::string_view body = bytes.substr(head_end + separator);
  if (content_length != std::string_view::npos) {
    if (body.size() < content_length) return InvalidArgumentError("response body truncated");
    body = body.substr(0, content_length);
  }
  response.body = body;
  return response;
}

}  // namespace murphy::server
