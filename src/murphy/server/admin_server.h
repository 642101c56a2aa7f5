// murphy/server/admin_server.h — the per-node admin HTTP server (/livez, /readyz,
// /health, /metrics, /status), on the node's single-threaded asio loop.
//
// Contract: an AdminServer listens on one TCP address and, for each connection,
// reads one request (head and Content-Length body: http.h's ParseHttpRequestWithBody
// and its limits), calls the handler for a method in `methods` (default GET only),
// writes the response and closes the connection (`Connection: close`: one request
// per connection keeps the server trivially bounded). Other methods get 405, a
// malformed request 400 (431/413 beyond the size limits, 411 without a length, 501
// for chunked bodies), a request not complete within `read_timeout` 408; each then
// closes. At most `max_connections` are open at once: beyond that a new connection
// is closed at once (counted). The handler runs on the loop and must not block; it
// decides 404 for unknown paths. An AsyncHandler answers later through its Respond
// callback (on the loop; the first call wins, later ones and calls after the
// connection closed do nothing); if it has not answered within `response_timeout`
// the client gets 504 with a JSON body saying the outcome is unknown, and the
// connection closes.
// Ownership: the server owns its acceptor and connections; the io_context must
// outlive it. Destroying the server closes everything; handlers still queued in the
// loop then do nothing. Thread safety: the loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

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
  // From the complete request to the handler's answer (AsyncHandler).
  Duration response_timeout = Seconds(10);
  std::vector<std::string> methods = {"GET"};
  HttpLimits limits;
};

struct AdminServerMetrics {
  uint64_t requests = 0;
  uint64_t bad_requests = 0;         // 400/405/408/411/413/431/501
  uint64_t connections_refused = 0;  // beyond max_connections
  uint64_t response_timeouts = 0;    // 504: the handler did not answer in time
};

class AdminServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& request)>;
  using Respond = std::function<void(HttpResponse response)>;
  using AsyncHandler = std::function<void(const HttpRequest& request, Respond respond)>;

  // Fails (INVALID_ARGUMENT / UNAVAILABLE) if the address is malformed or cannot be
  // bound.
  static Result<std::unique_ptr<AdminServer>> Create(asio::io_context& loop, AdminServerOptions options,
                                                     Handler handler);
  static Result<std::unique_ptr<AdminServer>> Create(asio::io_context& loop, AdminServerOptions options,
                                                     AsyncHandler handler);
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
