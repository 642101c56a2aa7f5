// The admin server on a real loopback socket, with the blocking client (and raw
// sockets for malformed input) on the test thread and the loop on another.
#include "murphy/server/admin_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio.hpp>
#include <thread>

#include "murphy/server/http_client.h"

namespace murphy::server {
namespace {

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AdminServerOptions options;
    options.max_connections = 4;
    auto server = AdminServer::Create(loop_, options, [](const HttpRequest& request) {
      if (request.path() == "/hello") return HttpResponse{200, "text/plain", "hi\n"};
      return HttpResponse{404, "text/plain", "not found\n"};
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    work_.reset();
    asio::post(loop_, [this] { server_.reset(); });
    thread_.join();
  }

  // Sends raw bytes, returns everything the server answers before closing.
  std::string Raw(const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server_->port());
    ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    std::string answer;
    char chunk[1024];
    for (;;) {
      const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
      if (got <= 0) break;
      answer.append(chunk, static_cast<size_t>(got));
    }
    ::close(fd);
    return answer;
  }

  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(loop_);
  std::unique_ptr<AdminServer> server_;
  std::thread thread_;
};

TEST_F(AdminServerTest, ServesGetAnd404) {
  Result<HttpResponse> response = HttpGet("127.0.0.1", server_->port(), "/hello", Seconds(10));
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hi\n");
  response = HttpGet("127.0.0.1", server_->port(), "/other", Seconds(10));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 404);
}

TEST_F(AdminServerTest, RejectsBadRequestsAndStaysUp) {
  EXPECT_EQ(Raw("POST /hello HTTP/1.1\r\n\r\n").substr(0, 12), "HTTP/1.1 405");
  EXPECT_EQ(Raw("garbage(\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(Raw("GET / HTTP/1.1\r\nX: " + std::string(10000, 'a')).substr(0, 12), "HTTP/1.1 431");
  Result<HttpResponse> response = HttpGet("127.0.0.1", server_->port(), "/hello", Seconds(10));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
}

// Connects and returns the socket (or -1).
int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string answer;
  char chunk[1024];
  for (;;) {
    const ssize_t got = ::recv(fd, chunk, sizeof(chunk), 0);
    if (got <= 0) break;
    answer.append(chunk, static_cast<size_t>(got));
  }
  return answer;
}

// A silent client gets 408 after the read timeout; connections beyond the limit are
// closed at once while the others wait.
TEST(AdminServerLimitsTest, ReadTimeoutAndConnectionLimit) {
  asio::io_context loop;
  auto work = asio::make_work_guard(loop);
  AdminServerOptions options;
  options.max_connections = 2;
  options.read_timeout = Milliseconds(300);
  auto created = AdminServer::Create(loop, options, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(created.ok());
  std::unique_ptr<AdminServer> server = std::move(*created);
  std::thread thread([&] { loop.run(); });
  const int first = Connect(server->port());
  const int second = Connect(server->port());
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  // Once both are accepted, a third is refused: the server closes it without a reply.
  // (Accepting is asynchronous, so retry until the server has seen the first two.)
  std::string third_answer = "not closed";
  for (int attempt = 0; attempt < 100 && !third_answer.empty(); ++attempt) {
    const int third = Connect(server->port());
    ASSERT_GE(third, 0);
    third_answer = ReadAll(third);
    ::close(third);
  }
  EXPECT_EQ(third_answer, "");
  EXPECT_EQ(ReadAll(first).substr(0, 12), "HTTP/1.1 408");
  EXPECT_EQ(ReadAll(second).substr(0, 12), "HTTP/1.1 408");
  ::close(first);
  ::close(second);
  work.reset();
  asio::post(loop, [&] {
    EXPECT_GE(server->metrics().connections_refused, 1u);
    EXPECT_EQ(server->metrics().bad_requests, 2u);
    server.reset();
  });
  thread.join();
}

// The asynchronous handler: a POST body reaches it, its answer may come later, and a
// handler that never answers yields 504 "outcome unknown" after the response timeout.
TEST(AdminServerAsyncTest, PostBodiesLateAnswersAndResponseTimeout) {
  asio::io_context loop;
  auto work = asio::make_work_guard(loop);
  AdminServerOptions options;
  options.methods = {"GET", "POST"};
  options.response_timeout = Milliseconds(300);
  options.limits.max_body_bytes = 16;
  asio::steady_timer later(loop);
  auto created = AdminServer::Create(
      loop, options, [&](const HttpRequest& request, AdminServer::Respond respond) {
        if (request.path() == "/never") return;  // keeps `respond` nowhere: never answers
        later.expires_after(std::chrono::milliseconds(20));
        later.async_wait([body = request.body, respond = std::move(respond)](const asio::error_code&) {
          respond(HttpResponse{200, "text/plain", "got " + body, {{"X-Test", "1"}}});
          respond(HttpResponse{500, "text/plain", "second answer ignored", {}});
        });
      });
  ASSERT_TRUE(created.ok());
  std::unique_ptr<AdminServer> server = std::move(*created);
  std::thread thread([&] { loop.run(); });
  auto exchange = [&](const std::string& bytes) {
    const int fd = Connect(server->port());
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    std::string answer = ReadAll(fd);
    ::close(fd);
    return answer;
  };
  const std::string echoed = exchange("POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello");
  EXPECT_EQ(echoed.substr(0, 12), "HTTP/1.1 200");
  EXPECT_NE(echoed.find("X-Test: 1\r\n"), std::string::npos);
  EXPECT_EQ(echoed.substr(echoed.size() - 9), "got hello");
  EXPECT_EQ(exchange("POST /echo HTTP/1.1\r\nContent-Length: 17\r\n\r\n").substr(0, 12), "HTTP/1.1 413");
  EXPECT_EQ(exchange("POST /echo HTTP/1.1\r\n\r\n").substr(0, 12), "HTTP/1.1 411");
  EXPECT_EQ(exchange("PUT /echo HTTP/1.1\r\nContent-Length: 0\r\n\r\n").substr(0, 12), "HTTP/1.1 405");
  const std::string timed_out = exchange("GET /never HTTP/1.1\r\n\r\n");
  EXPECT_EQ(timed_out.substr(0, 12), "HTTP/1.1 504");
  EXPECT_NE(timed_out.find("outcome unknown"), std::string::npos);
  work.reset();
  asio::post(loop, [&] {
    EXPECT_EQ(server->metrics().response_timeouts, 1u);
    server.reset();
  });
  thread.join();
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // Bind a port, then close it, so nothing listens there.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  ::inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  const Result<HttpResponse> response = HttpGet("127.0.0.1", ntohs(address.sin_port), "/", Seconds(5));
  EXPECT_FALSE(response.ok());
  EXPECT_FALSE(HttpGet("not-an-ip", 80, "/", Seconds(1)).ok());
}

}  // namespace
}  // namespace murphy::server
