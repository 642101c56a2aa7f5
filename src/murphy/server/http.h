// murphy/server/http.h — the small HTTP/1.1 subset the admin endpoints need:
// parsing a request head, formatting a response, parsing a response (for the CLI's
// client).
//
// Contract: ParseHttpRequest looks at the bytes received so far on a connection and
// says whether a complete request head (request line + headers + empty line) is
// there, more bytes are needed, or the input is malformed. It never reads past the
// buffer and never allocates more than the limits allow: a head longer than
// `max_head_bytes` (default 8 KiB) is an error (431) as soon as that many bytes have
// arrived without an end; more than `max_headers` headers is an error (431). Only
// what the admin server needs is accepted: a token method, an origin-form target
// ("/path?query"), HTTP/1.0 or HTTP/1.1, CRLF line ends (a bare LF is tolerated, as
// RFC 9112 §2.2 allows), no obsolete line folding. ParseHttpRequest reads the head
// only; ParseHttpRequestWithBody (for the client API's POSTs) also waits for the body
// the head announces with Content-Length, at most `max_body_bytes` (beyond: 413 as
// soon as the head is there, before the body is read). A POST or PUT without
// Content-Length is 411; any Transfer-Encoding (chunked) is 501; a malformed or
// conflicting Content-Length is 400. Bytes after the body are ignored (one request
// per connection).
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "murphy/core/status.h"

namespace murphy::server {

struct HttpLimits {
  size_t max_head_bytes = 8192;
  size_t max_headers = 64;
  size_t max_target_bytes = 2048;
  size_t max_body_bytes = 64 << 10;  // ParseHttpRequestWithBody only
};

struct HttpRequest {
  std::string method;
  std::string target;                                        // as sent, e.g. "/metrics?x=1"
  std::string version;                                       // "HTTP/1.1"
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent
  std::string body;                                          // WithBody only

  // The target without its query.
  std::string_view path() const;
  // The first header named `name` (case-insensitive), or empty.
  std::string_view Header(std::string_view name) const;
};

enum class HttpParseState { kIncomplete, kComplete, kError };

struct HttpParseResult {
  HttpParseState state = HttpParseState::kIncomplete;
  HttpRequest request;    // kComplete
  size_t head_bytes = 0;  // kComplete: bytes of the head, the empty line included
  size_t body_bytes = 0;  // kComplete: bytes of the body (WithBody only)
  int error_status = 0;   // kError: 400 or 431 (WithBody also 411, 413, 501)
  std::string error;      // kError: why, for the response body and the log
};

HttpParseResult ParseHttpRequest(std::string_view buffer, const HttpLimits& limits = {});
// The head and then the body it announces (see the contract).
HttpParseResult ParseHttpRequestWithBody(std::string_view buffer, const HttpLimits& limits = {});

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers (e.g. Retry-After); Content-Type, Content-Length and Connection are
  // written by FormatHttpResponse.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

std::string_view HttpReasonPhrase(int status);
// A complete HTTP/1.1 response with Content-Length and `Connection: close`.
std::string FormatHttpResponse(const HttpResponse& response);

// Parses a whole response (status line, headers, body up to Content-Length or the
// end of `bytes`). INVALID_ARGUMENT if malformed.
Result<HttpResponse> ParseHttpResponse(std::string_view bytes);

}  // namespace murphy::server
