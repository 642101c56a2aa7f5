// Tests of the system benchmark's own parts that can be wrong without anyone
// noticing in the figures: the HTTP/1.1 client (keep-alive, Content-Length and
// chunked bodies split across reads, timeouts, malformed answers), base64 and the
// percentile. The server side is a scripted loopback server on a thread.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/system/http_connection.h"
#include "bench/system/workload_runner.h"

namespace murphy::bench {
namespace {

// Accepts one connection and, for each scripted reply, reads one request (head and
// Content-Length body) and writes the reply in the given pieces. Counts accepts.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<std::vector<std::string>> replies)
      : acceptor_(context_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        replies_(std::move(replies)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    asio::error_code ignored;
    acceptor_.close(ignored);
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int accepts() const { return accepts_; }
  const std::vector<std::string>& requests() const { return requests_; }

 private:
  void Serve() {
    asio::error_code error;
    asio::ip::tcp::socket socket(context_);
    acceptor_.accept(socket, error);
    if (error) return;
    ++accepts_;
    std::string buffer;
    for (const std::vector<std::string>& pieces : replies_) {
      size_t head_end = std::string::npos;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        char data[4096];
        const size_t got = socket.read_some(asio::buffer(data), error);
        if (error) return;
        buffer.append(data, got);
      }
      const size_t length_at = buffer.find("Content-Length: ");
      const size_t length = length_at < head_end ? std::stoul(buffer.substr(length_at + 16)) : 0;
      while (buffer.size() < head_end + 4 + length) {
        char data[4096];
        const size_t got = socket.read_some(asio::buffer(data), error);
        if (error) return;
        buffer.append(data, got);
      }
      requests_.push_back(buffer.substr(0, head_end + 4 + length));
      buffer.erase(0, head_end + 4 + length);
      for (const std::string& piece : pieces) {
        asio::write(socket, asio::buffer(piece), error);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));  // separate reads on the client
      }
    }
    // Keep the connection open, unanswered, until the client closes it (a timeout test).
    for (char data[256]; !error;) socket.read_some(asio::buffer(data), error);
  }

  asio::io_context context_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::vector<std::string>> replies_;
  std::thread thread_;
  int accepts_ = 0;
  std::vector<std::string> requests_;
};

Result<HttpReply> PostAndWait(asio::io_context& loop, HttpConnection& connection, const std::string& body,
                              Duration timeout = Seconds(5)) {
  std::optional<Result<HttpReply>> result;
  connection.Post("/v3/kv/put", body, timeout, [&](Result<HttpReply> reply) { result = std::move(reply); });
  EXPECT_FALSE(result.has_value()) << "the callback must not run inline";
  RunLoopUntil(
      loop, [&] { return result.has_value(); }, Seconds(10));
  if (!result) return InternalError("no callback");
  return std::move(*result);
}

TEST(HttpConnectionTest, KeepsTheConnectionAcrossContentLengthAndChunkedReplies) {
  ScriptedServer server({
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le", "ngth: 7\r\n\r\n{\"a\":", "1}"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"b\"", "\r\n3\r\n:2}\r\n", "0\r\n\r\n"},
  });
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", server.port());
  Result<HttpReply> first = PostAndWait(loop, *connection, "{\"x\":1}");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "{\"a\":1}");
  Result<HttpReply> second = PostAndWait(loop, *connection, "{}");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->body, "{\"b\":2}");
  connection->Close();
  ASSERT_EQ(server.requests().size(), 2u);
  EXPECT_NE(server.requests()[0].find("POST /v3/kv/put HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(server.requests()[0].find("\r\n\r\n{\"x\":1}"), std::string::npos);
  EXPECT_EQ(server.accepts(), 1);
}

TEST(HttpConnectionTest, PassesErrorStatusesThrough) {
  ScriptedServer server({{"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\nno"}});
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", server.port());
  Result<HttpReply> reply = PostAndWait(loop, *connection, "{}");
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 503);
  EXPECT_EQ(reply->body, "no");
  connection->Close();
}

TEST(HttpConnectionTest, TimesOutWhenNoReplyComes) {
  ScriptedServer server({});
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", server.port());
  Result<HttpReply> reply = PostAndWait(loop, *connection, "{}", Milliseconds(100));
  EXPECT_EQ(reply.status().code(), StatusCode::kDeadlineExceeded);
  connection->Close();
}

TEST(HttpConnectionTest, RefusesAMalformedReply) {
  ScriptedServer server({{"SMTP ready\r\n\r\n"}});
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", server.port());
  Result<HttpReply> reply = PostAndWait(loop, *connection, "{}");
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  connection->Close();
}

TEST(HttpConnectionTest, RefusesABadChunkSize) {
  ScriptedServer server({{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"}});
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", server.port());
  Result<HttpReply> reply = PostAndWait(loop, *connection, "{}");
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
  connection->Close();
}

TEST(HttpConnectionTest, ReportsARefusedConnection) {
  uint16_t port = 0;
  {
    asio::io_context context;
    asio::ip::tcp::acceptor acceptor(context,
                                     asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens there now
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, "127.0.0.1", port);
  Result<HttpReply> reply = PostAndWait(loop, *connection, "{}");
  EXPECT_EQ(reply.status().code(), StatusCode::kUnavailable);
}

TEST(Base64Test, EncodesWithPadding) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("bench-cycle"), "YmVuY2gtY3ljbGU=");
  EXPECT_EQ(Base64Encode(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(PercentileTest, UsesNearestRank) {
  std::vector<double> samples;
  for (int i = 100; i >= 1; --i) samples.push_back(i);
  EXPECT_EQ(Percentile(samples, 50), 50);
  EXPECT_EQ(Percentile(samples, 99), 99);
  EXPECT_EQ(Percentile(samples, 100), 100);
  EXPECT_EQ(Percentile(samples, 0), 1);
  EXPECT_EQ(Percentile({7}, 99), 7);
  EXPECT_EQ(Percentile({}, 50), 0);
}

TEST(RunClosedLoopTest, CountsOnlyCompletionsInsideTheWindow) {
  asio::io_context loop;
  ClosedLoopOptions options;
  options.clients = 2;
  options.warmup = Milliseconds(50);
  options.measure = Milliseconds(200);
  int calls = 0;
  const LoopStats stats = RunClosedLoop(loop, options, [&](int, DoneCallback done) {
    ++calls;
    auto timer = std::make_shared<asio::steady_timer>(loop, std::chrono::milliseconds(10));
    // Every third operation fails.
    timer->async_wait([timer, done, ok = calls % 3 != 0](const asio::error_code&) { done(ok); });
  });
  EXPECT_GT(stats.completed, 0u);
  EXPECT_GT(stats.errors, 0u);
  EXPECT_EQ(stats.abandoned, 0u);
  EXPECT_EQ(stats.latency_us.size(), stats.completed);
  // Warm-up completions do not count: fewer than all calls are in the window.
  EXPECT_LT(stats.completed + stats.errors, static_cast<uint64_t>(calls));
  for (const double latency : stats.latency_us) EXPECT_GE(latency, 9000.0);
}

}  // namespace
}  // namespace murphy::bench
