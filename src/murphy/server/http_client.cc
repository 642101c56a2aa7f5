#include "murphy/server/http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace murphy::server {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

using Clock = std::chrono::steady_clock;

// Waits for `events` on fd until the deadline. DEADLINE_EXCEEDED on timeout.
Status WaitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return DeadlineExceededError("HTTP request timed out");
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(left));
    if (ready > 0) return Status::Ok();
    if (ready < 0 && errno != EINTR) return UnavailableError(std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text, bool allow_zero_port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("'" + std::string(text) + "' is not HOST:PORT");
  }
  HostPort result;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  result.host = host;
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && !allow_zero_port)) {
    return InvalidArgumentError("'" + std::string(text) + "' has no valid port");
  }
  result.port = static_cast<uint16_t>(value);
  return result;
}

Result<HttpResponse> HttpGet(std::string_view host, uint16_t port, std::string_view path, Duration timeout,
                             size_t max_response_bytes) {
  return HttpExchange(host, port, "GET", path, std::nullopt, timeout, max_response_bytes);
}

Result<HttpResponse> HttpPost(std::string_view host, uint16_t port, std::string_view path, std::string_view body,
                              Duration timeout, size_t max_response_bytes) {
  return HttpExchange(host, port, "POST", path, body, timeout, max_response_bytes);
}

Result<HttpResponse> HttpExchange(std::string_view host, uint16_t port, std::string_view method,
                                  std::string_view path, std::optional<std::string_view> body, Duration timeout,
                                  size_t max_response_bytes) {
  const Clock::time_point deadline = Clock::now() + std::chrono::nanoseconds(timeout.nanoseconds());
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  const std::string host_string(host);
  if (::inet_pton(AF_INET, host_string.c_str(), &address.sin_addr) != 1) {
    return InvalidArgumentError("'" + host_string + "' is not a numeric IPv4 address");
  }
  FileDescriptor socket_fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (socket_fd.get() < 0) return UnavailableError(std::string("socket: ") + std::strerror(errno));
  if (::connect(socket_fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) return UnavailableError(std::string("connect: ") + std::strerror(errno));
    MURPHY_RETURN_IF_ERROR(WaitFor(socket_fd.get(), POLLOUT, deadline));
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(socket_fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) return UnavailableError(std::string("connect: ") + std::strerror(error));
  }
  std::string request = std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: " + host_string +
                        "\r\nConnection: close\r\n";
  if (body.has_value()) {
    request += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body->size()) + "\r\n\r\n";
    request += *body;
  } else {
    request += "\r\n";
  }
  size_t written = 0;
  while (written < request.size()) {
    MURPHY_RETURN_IF_ERROR(WaitFor(socket_fd.get(), POLLOUT, deadline));
    const ssize_t sent =
        ::send(socket_fd.get(), request.data() + written, request.size() - written, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return UnavailableError(std::string("send: ") + std::strerror(errno));
    }
    written += static_cast<size_t>(sent);
  }
  std::string response;
  char chunk[4096];
  for (;;) {
    MURPHY_RETURN_IF_ERROR(WaitFor(socket_fd.get(), POLLIN, deadline));
    const ssize_t received = ::recv(socket_fd.get(), chunk, sizeof(chunk), 0);
    if (received == 0) break;
    if (received < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return UnavailableError(std::string("recv: ") + std::strerror(errno));
    }
    response.append(chunk, static_cast<size_t>(received));
    if (response.size() > max_response_bytes) return ResourceExhaustedError("HTTP response too large");
  }
  return ParseHttpResponse(response);
}

}  // namespace murphy::server
