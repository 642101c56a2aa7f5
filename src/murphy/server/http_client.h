// murphy/server/http_client.h — a blocking HTTP GET/POST for the CLI (murphy cluster ...).
//
// Contract: HttpGet (HttpPost: with a JSON body and its Content-Length) connects to a
// numeric IPv4 address, sends one request with `Connection: close`, reads the response until the server closes (at most
// `max_response_bytes`) and parses it. The whole exchange — connect, write, read —
// is bounded by `timeout`. Errors: UNAVAILABLE (cannot connect, reset),
// DEADLINE_EXCEEDED (timeout), RESOURCE_EXHAUSTED (response too large),
// INVALID_ARGUMENT (bad address, malformed response). Blocks the calling thread:
// for command-line tools only, never on a node's loop.
// Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/server/http.h"

namespace murphy::server {

Result<HttpResponse> HttpGet(std::string_view host, uint16_t port, std::string_view path, Duration timeout,
                             size_t max_response_bytes = size_t{1} << 20);
Result<HttpResponse> HttpPost(std::string_view host, uint16_t port, std::string_view path, std::string_view body,
                              Duration timeout, size_t max_response_bytes = size_t{1} << 20);
// Either: `body` nullopt sends no body.
Result<HttpResponse> HttpExchange(std::string_view host, uint16_t port, std::string_view method,
                                  std::string_view path, std::optional<std::string_view> body, Duration timeout,
                                  size_t max_response_bytes);

// Splits "HOST:PORT" (IPv6 as "[::1]:PORT"). INVALID_ARGUMENT if malformed or the
// port is not in 1..65535 (0 too when `allow_zero_port`).
struct HostPort {
  std::string host;
  uint16_t port = 0;
};
Result<HostPort> ParseHostPort(std::string_view text, bool allow_zero_port = false);

}  // namespace murphy::server
