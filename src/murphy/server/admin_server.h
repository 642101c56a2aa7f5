// murphy/server/admin_server.h — the per-node admin HTTP server (/livez, /readyz,
// /health, /metrics, /status), on the node's single-threaded asio loop.
//
// Contract: an AdminServer listens on one TCP address and, for each connection,
// reads one request head (http.h limits), calls the handler for a GET, writes the
// response and closes the connection (`Connection: close`: one request per
// connection keeps the server trivially bounded). Other methods get 405, a
// malformed head 400 (or 431 beyond the size limits), a head not complete within
// `read_timeout` 408; each then closes. At most `max_connections` are open at once:
// beyond that a new connection is closed at once (counted). The handler runs on the
// loop and must not block; it decides 404 for unknown paths.
// Ownership: the server owns its acceptor and connections; the io_context must
// outlive it. Destroying the server closes everything; handlers still queued in the
// loop then do nothing. Thread safety: the loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/server/http.h"

namespace asio {
class io_context;
}  // namespace asio

namespace murphy::server {

struct AdminServerOptions {
  std::string host = "127.0.0.1";  // numeric IPv4/IPv6
  uint16_t port = 0;               // 0: any free port
  size_t max_connections = 64;
  Duration read_timeout = Seconds(5);
  HttpLimits limits;
};

struct AdminServerMetrics {
  uint64_t requests = 0;
  uint64_t bad_requests = 0;         // 400/405/408/431
  uint64_t connections_refused = 0;  // beyond max_connections
};

class AdminServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& request)>;

  // Fails (INVALID_ARGUMENT / UNAVAILABLE) if the address is malformed or cannot be
  // bound.
  static Result<std::unique_ptr<AdminServer>> Create(asio::io_context& loop, AdminServerOptions options,
                                                     Handler handler);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const;
  AdminServerMetrics metrics() const;
  size_t open_connections() const;

 private:
  class Impl;
  explicit AdminServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace murphy::server
