// bench/system/http_connection.h — one keep-alive HTTP/1.1 connection to a JSON API
// (etcd's gRPC JSON gateway), driven asynchronously on an asio loop.
//
// Contract: Post(path, body, timeout, done) sends one POST with a JSON body and calls
// `done` exactly once, on the loop, never inline: with the status code and body of the
// response, or UNAVAILABLE (cannot connect, connection lost, malformed or oversized
// response) or DEADLINE_EXCEEDED (no complete response within `timeout`). One request
// at a time (REQUIRES: no Post while one is in flight). The connection opens on the
// first Post and is kept open between requests (Content-Length and chunked responses
// are both understood; a response with `Connection: close` closes it afterwards); any
// error closes it and the next Post opens a new one — possibly to another address
// (SetAddress). Responses are limited to `kMaxResponseBytes`.
// Ownership: create with Create (shared_ptr); pending handlers keep the connection
// alive; Close() cancels what is in flight (its `done` runs with CANCELLED).
// Thread safety: none; the loop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace asio {
class io_context;
}

namespace murphy::bench {

struct HttpReply {
  int status = 0;
  std::string body;
};

class HttpConnection {
 public:
  using Callback = std::function<void(Result<HttpReply>)>;
  static constexpr size_t kMaxResponseBytes = size_t{4} << 20;

  static std::shared_ptr<HttpConnection> Create(asio::io_context& loop, std::string host, uint16_t port);
  virtual ~HttpConnection() = default;

  virtual void Post(std::string path, std::string body, Duration timeout, Callback done) = 0;
  // Takes effect on the next connect.
  virtual void SetAddress(std::string host, uint16_t port) = 0;
  virtual void Close() = 0;
  virtual uint16_t port() const = 0;
};

// RFC 4648 base64 (with padding), as the JSON gateway wants keys and values.
std::string Base64Encode(std::string_view bytes);

}  // namespace murphy::bench
