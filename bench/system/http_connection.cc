#include "bench/system/http_connection.h"

#include <asio.hpp>
#include <charconv>
#include <optional>

#include "murphy/core/assert.h"

namespace murphy::bench {
namespace {

bool StartsWithCaseless(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// What is known about the response in the buffer so far.
struct ParsedHead {
  int status = 0;
  size_t body_start = 0;
  std::optional<size_t> content_length;
  bool chunked = false;
  bool close = false;
};

class AsioHttpConnection : public HttpConnection, public std::enable_shared_from_this<AsioHttpConnection> {
 public:
  AsioHttpConnection(asio::io_context& loop, std::string host, uint16_t port)
      : loop_(loop), socket_(loop), timer_(loop), host_(std::move(host)), port_(port) {}

  void Post(std::string path, std::string body, Duration timeout, Callback done) override {
    MURPHY_ASSERT(!done_);
    done_ = std::move(done);
    ++generation_;
    request_ = "POST " + path + " HTTP/1.1\r\nHost: " + host_ + ":" + std::to_string(port_) +
               "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
    buffer_.clear();
    head_.reset();
    timer_.expires_after(std::chrono::nanoseconds(timeout.nanoseconds()));
    timer_.async_wait([self = shared_from_this(), generation = generation_](const asio::error_code& error) {
      if (!error && generation == self->generation_ && self->done_) {
        self->Finish(DeadlineExceededError("no HTTP response within the timeout"));
      }
    });
    if (connected_) {
      Write();
      return;
    }
    asio::error_code error;
    const asio::ip::address address = asio::ip::make_address(host_, error);
    if (error) {
      Finish(InvalidArgumentError("bad address " + host_));
      return;
    }
    socket_.async_connect(
        asio::ip::tcp::endpoint(address, port_),
        [self = shared_from_this(), generation = generation_](const asio::error_code& error) {
          if (generation != self->generation_ || !self->done_) return;
          if (error) {
            self->Finish(UnavailableError("connect: " + error.message()));
            return;
          }
          asio::error_code ignored;
          self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
          self->connected_ = true;
          self->Write();
        });
  }

  void SetAddress(std::string host, uint16_t port) override {
    host_ = std::move(host);
    port_ = port;
  }
  void Close() override {
    if (done_) Finish(CancelledError("closed"));
    CloseSocket();
  }
  uint16_t port() const override { return port_; }

 private:
  void Write() {
    asio::async_write(
        socket_, asio::buffer(request_),
        [self = shared_from_this(), generation = generation_](const asio::error_code& error, size_t) {
          if (generation != self->generation_ || !self->done_) return;
          if (error) {
            self->Finish(UnavailableError("write: " + error.message()));
            return;
          }
          self->Read();
        });
  }

  void Read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this(), generation = generation_](
                                                      const asio::error_code& error, size_t bytes) {
      if (generation != self->generation_ || !self->done_) return;
      if (error) {
        self->Finish(UnavailableError("read: " + error.message()));
        return;
      }
      self->buffer_.append(self->chunk_.data(), bytes);
      if (self->buffer_.size() > kMaxResponseBytes) {
        self->Finish(UnavailableError("response too large"));
        return;
      }
      self->Parse();
    });
  }

  // Tries to complete the response from the buffer; reads more if it is incomplete.
  void Parse() {
    if (!head_) {
      const size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) {
        Read();
        return;
      }
      ParsedHead head;
      head.body_start = end + 4;
      std::string_view text(buffer_.data(), end);
      const size_t line_end = text.find("\r\n");
      const std::string_view status_line = text.substr(0, line_end);
      if (!StartsWithCaseless(status_line, "HTTP/1.") || status_line.size() < 12 ||
          std::from_chars(status_line.data() + 9, status_line.data() + 12, head.status).ec != std::errc()) {
        Finish(UnavailableError("malformed HTTP status line"));
        return;
      }
      size_t position = line_end == std::string_view::npos ? text.size() : line_end + 2;
      while (position < text.size()) {
        size_t next = text.find("\r\n", position);
        if (next == std::string_view::npos) next = text.size();
        const std::string_view line = text.substr(position, next - position);
        position = next + 2;
        const size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = Trim(line.substr(colon + 1));
        if (name.size() == 14 && StartsWithCaseless(name, "content-length")) {
          size_t length = 0;
          if (std::from_chars(value.data(), value.data() + value.size(), length).ec != std::errc()) {
            Finish(UnavailableError("malformed Content-Length"));
            return;
          }
          head.content_length = length;
        } else if (StartsWithCaseless(name, "transfer-encoding") && StartsWithCaseless(value, "chunked")) {
          head.chunked = true;
        } else if (StartsWithCaseless(name, "connection") && StartsWithCaseless(value, "close")) {
          head.close = true;
        }
      }
      head_ = head;
    }
    if (head_->chunked) {
      ParseChunked();
      return;
    }
    if (!head_->content_length) {
      // Neither length nor chunks: the body ends when the server closes; the gateway
      // does not do that for our requests, so treat it as malformed.
      Finish(UnavailableError("response without Content-Length or chunked encoding"));
      return;
    }
    if (buffer_.size() < head_->body_start + *head_->content_length) {
      Read();
      return;
    }
    HttpReply reply{head_->status, buffer_.substr(head_->body_start, *head_->content_length)};
    const bool close = head_->close;
    Finish(std::move(reply));
    if (close) CloseSocket();
  }

  void ParseChunked() {
    std::string body;
    size_t position = head_->body_start;
    for (;;) {
      const size_t line_end = buffer_.find("\r\n", position);
      if (line_end == std::string::npos) break;
      size_t size = 0;
      const auto parsed = std::from_chars(buffer_.data() + position, buffer_.data() + line_end, size, 16);
      if (parsed.ec != std::errc()) {
        Finish(UnavailableError("malformed chunk size"));
        return;
      }
      const size_t data = line_end + 2;
      if (buffer_.size() < data + size + 2) break;
      if (size == 0) {
        HttpReply reply{head_->status, std::move(body)};
        const bool close = head_->close;
        Finish(std::move(reply));
        if (close) CloseSocket();
        return;
      }
      body.append(buffer_, data, size);
      position = data + size + 2;
    }
    Read();
  }

  void Finish(Result<HttpReply> result) {
    ++generation_;
    timer_.cancel();
    if (!result.ok()) CloseSocket();
    Callback done = std::move(done_);
    done_ = nullptr;
    // Never inline from Post: always through the loop.
    asio::post(loop_,
               [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
  }

  void CloseSocket() {
    asio::error_code ignored;
    socket_.close(ignored);
    connected_ = false;
  }

  asio::io_context& loop_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::string host_;
  uint16_t port_;
  bool connected_ = false;
  uint64_t generation_ = 0;
  Callback done_;
  std::string request_;
  std::string buffer_;
  std::array<char, 16384> chunk_{};
  std::optional<ParsedHead> head_;
};

}  // namespace

std::shared_ptr<HttpConnection> HttpConnection::Create(asio::io_context& loop, std::string host,
                                                       uint16_t port) {
  return std::make_shared<AsioHttpConnection>(loop, std::move(host), port);
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace murphy::bench
