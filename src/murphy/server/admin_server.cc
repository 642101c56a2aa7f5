#include "murphy/server/admin_server.h"

#include <algorithm>
#include <asio.hpp>
#include <set>

namespace murphy::server {

// Connections hold a weak pointer to the Impl: once the server is gone, their
// pending handlers see it expired and only close their socket.
class AdminServer::Impl : public std::enable_shared_from_this<AdminServer::Impl> {
 public:
  struct Connection {
    explicit Connection(asio::io_context& loop) : socket(loop), timer(loop) {}
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    std::string buffer;
    std::string response;
    std::array<char, 4096> chunk{};
    bool dispatched = false;  // the handler has the request
    bool reading = false;     // a read is outstanding
    bool lingering = false;   // answered; draining what the client still sends
    bool closed = false;
  };

  Impl(asio::io_context& loop, AdminServerOptions options, AsyncHandler handler)
      : loop_(loop), options_(std::move(options)), handler_(std::move(handler)), acceptor_(loop) {}

  Status Open() {
    asio::error_code error;
    const asio::ip::address address = asio::ip::make_address(options_.host, error);
    if (error)
      return InvalidArgumentError("admin address '" + options_.host + "' is not a numeric IP address");
    const asio::ip::tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), error);
    if (!error) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor_.bind(endpoint, error);
    if (!error) acceptor_.listen(asio::socket_base::max_listen_connections, error);
    if (error) {
      return UnavailableError("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                              ": " + error.message());
    }
    port_ = acceptor_.local_endpoint(error).port();
    return Status::Ok();
  }

  void Accept() {
    auto connection = std::make_shared<Connection>(loop_);
    acceptor_.async_accept(connection->socket,
                           [weak = weak_from_this(), connection](const asio::error_code& error) {
                             auto self = weak.lock();
                             if (!self) return;
                             if (error == asio::error::operation_aborted) return;
                             if (!error) self->Start(connection);
                             self->Accept();
                           });
  }

  void Start(const std::shared_ptr<Connection>& connection) {
    if (connections_.size() >= options_.max_connections) {
      ++metrics_.connections_refused;
      asio::error_code ignored;
      connection->socket.close(ignored);
      return;
    }
    connections_.insert(connection);
    connection->timer.expires_after(std::chrono::nanoseconds(options_.read_timeout.nanoseconds()));
    connection->timer.async_wait([weak = weak_from_this(), connection](const asio::error_code& error) {
      auto self = weak.lock();
      if (!self || error || connection->closed) return;
      // Slow or silent client: answer 408 if nothing was sent yet, else just close.
      // Once dispatched, the response timer (armed in OnBytes) bounds the connection.
      if (connection->dispatched) return;
      if (connection->response.empty()) {
        ++self->metrics_.bad_requests;
        self->Reply(connection,
                    HttpResponse{408, "text/plain; charset=utf-8", "request head not received in time\n"});
      } else {
        self->Close(connection);
      }
    });
    Read(connection);
  }

  void Read(const std::shared_ptr<Connection>& connection) {
    connection->reading = true;
    connection->socket.async_read_some(
        asio::buffer(connection->chunk),
        [weak = weak_from_this(), connection](const asio::error_code& error, size_t bytes) {
          auto self = weak.lock();
          if (!self || connection->closed) return;
          connection->reading = false;
          if (error) {
            self->Close(connection);
            return;
          }
          // Once answering, what arrives is discarded (see Linger).
          if (connection->lingering || !connection->response.empty()) {
            self->Read(connection);
            return;
          }
          connection->buffer.append(connection->chunk.data(), bytes);
          self->OnBytes(connection);
        });
  }

  void OnBytes(const std::shared_ptr<Connection>& connection) {
    // The method is judged on the head alone, before any body is awaited.
    const HttpParseResult head = ParseHttpRequest(connection->buffer, options_.limits);
    if (head.state == HttpParseState::kComplete && !MethodAllowed(head.request.method)) {
      ++metrics_.requests;
      ++metrics_.bad_requests;
      Reply(connection, HttpResponse{405, "text/plain; charset=utf-8", MethodNotAllowedText()});
      return;
    }
    HttpParseResult parsed = ParseHttpRequestWithBody(connection->buffer, options_.limits);
    switch (parsed.state) {
      case HttpParseState::kIncomplete:
        Read(connection);
        return;
      case HttpParseState::kError:
        ++metrics_.bad_requests;
        Reply(connection,
              HttpResponse{parsed.error_status, "text/plain; charset=utf-8", parsed.error + "\n"});
        return;
      case HttpParseState::kComplete:
        break;
    }
    ++metrics_.requests;
    connection->dispatched = true;
    connection->timer.cancel();
    connection->timer.expires_after(std::chrono::nanoseconds(options_.response_timeout.nanoseconds()));
    connection->timer.async_wait([weak = weak_from_this(), connection](const asio::error_code& error) {
      auto self = weak.lock();
      if (!self || error || connection->closed) return;
      if (!connection->response.empty()) {  // answered, but the client does not read
        self->Close(connection);
        return;
      }
      ++self->metrics_.response_timeouts;
      self->Reply(connection, HttpResponse{504, "application/json",
                                           "{\"error\":\"no answer in time: outcome unknown\","
                                           "\"code\":\"DEADLINE_EXCEEDED\"}\n"});
    });
    handler_(parsed.request, [weak = weak_from_this(), connection](HttpResponse response) {
      auto self = weak.lock();
      if (!self || connection->closed || !connection->response.empty()) return;
      self->Reply(connection, response);
    });
  }

  bool MethodAllowed(const std::string& method) const {
    return std::find(options_.methods.begin(), options_.methods.end(), method) != options_.methods.end();
  }

  std::string MethodNotAllowedText() const {
    std::string text = "only ";
    for (size_t i = 0; i < options_.methods.size(); ++i) {
      if (i > 0) text += i + 1 == options_.methods.size() ? " and " : ", ";
      text += options_.methods[i];
    }
    return text + (options_.methods.size() == 1 ? " is supported\n" : " are supported\n");
  }

  void Reply(const std::shared_ptr<Connection>& connection, const HttpResponse& response) {
    connection->response = FormatHttpResponse(response);
    asio::async_write(connection->socket, asio::buffer(connection->response),
                      [weak = weak_from_this(), connection](const asio::error_code& error, size_t) {
                        auto self = weak.lock();
                        if (!self) return;
                        if (error) {
                          self->Close(connection);
                        } else {
                          self->Linger(connection);
                        }
                      });
  }

  // After the answer: stop sending, and read (and discard) what the client still sends
  // for a short while before closing. Closing a socket with unread input makes the
  // kernel reset the connection, which can destroy the answer before the client read
  // it (e.g. a 413 while the client is still sending its oversized body).
  void Linger(const std::shared_ptr<Connection>& connection) {
    if (connection->closed) return;
    connection->lingering = true;
    asio::error_code ignored;
    connection->socket.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    connection->timer.expires_after(std::chrono::nanoseconds(kLinger.nanoseconds()));
    connection->timer.async_wait([weak = weak_from_this(), connection](const asio::error_code& error) {
      auto self = weak.lock();
      if (!self || error) return;
      self->Close(connection);
    });
    if (!connection->reading) Read(connection);
  }

  static constexpr Duration kLinger = Seconds(1);

  void Close(const std::shared_ptr<Connection>& connection) {
    if (connection->closed) return;
    connection->closed = true;
    asio::error_code ignored;
    connection->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    connection->socket.close(ignored);
    connection->timer.cancel();
    connections_.erase(connection);
  }

  void Shutdown() {
    asio::error_code ignored;
    acceptor_.close(ignored);
    for (const auto& connection : std::set<std::shared_ptr<Connection>>(connections_)) Close(connection);
  }

  asio::io_context& loop_;
  AdminServerOptions options_;
  AsyncHandler handler_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::set<std::shared_ptr<Connection>> connections_;
  AdminServerMetrics metrics_;
};

Result<std::unique_ptr<AdminServer>> AdminServer::Create(asio::io_context& loop, AdminServerOptions options,
                                                         Handler handler) {
  return Create(loop, std::move(options), [handler = std::move(handler)](const HttpRequest& request,
                                                                        Respond respond) {
    respond(handler(request));
  });
}

Result<std::unique_ptr<AdminServer>> AdminServer::Create(asio::io_context& loop, AdminServerOptions options,
                                                         AsyncHandler handler) {
  auto impl = std::make_shared<Impl>(loop, std::move(options), std::move(handler));
  MURPHY_RETURN_IF_ERROR(impl->Open());
  impl->Accept();
  return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

AdminServer::AdminServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() { impl_->Shutdown(); }

uint16_t AdminServer::port() const { return impl_->port_; }
AdminServerMetrics AdminServer::metrics() const { return impl_->metrics_; }
size_t AdminServer::open_connections() const { return impl_->connections_.size(); }

}  // namespace murphy::server
