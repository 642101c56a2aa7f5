#include "murphy/posix/posix_env.h"

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <chrono>
#include <deque>
#include <set>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "murphy/env/trace_line.h"
#include "murphy/posix/handshake.h"

namespace murphy::posix {
namespace {

using SteadyClock = std::chrono::steady_clock;
using Tcp = asio::ip::tcp;

constexpr size_t kReadBufferSize = 64 * 1024;
// One write gathers at most this many frames / bytes from a queue.
constexpr size_t kMaxFramesPerWrite = 64;
constexpr size_t kMaxBytesPerWrite = size_t{1} << 20;
constexpr Duration kAcceptRetryDelay = Milliseconds(100);

int64_t SteadyNowNanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch()).count();
}

SteadyClock::duration ToChrono(Duration duration) {
  return std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::nanoseconds(Max(duration, Duration::Zero()).nanoseconds()));
}

uint64_t Wide(NodeId node) { return node.value(); }

std::string Describe(const PeerAddress& address) { return address.host + ":" + std::to_string(address.port); }

Result<Tcp::endpoint> ParseEndpoint(const PeerAddress& address) {
  asio::error_code error;
  const asio::ip::address ip = asio::ip::make_address(address.host, error);
  if (error) return InvalidArgumentError("not a numeric IP address: " + Describe(address));
  return Tcp::endpoint(ip, address.port);
}

// --- Trace lines (the schema of sim/trace.h) -----------------------------------------

// The disk of a process without a data directory (a client).
class NoDisk final : public Disk {
 public:
  explicit NoDisk(std::function<void(std::function<void()>)> post) : post_(std::move(post)) {}
  Status Append(std::string_view, std::span<const uint8_t>) override { return Error(); }
  Status Sync(std::string_view) override { return Error(); }
  void SyncAsync(std::string_view, std::function<void(Status)> done) override {
    post_([done = std::move(done)] { done(Error()); });
  }
  Result<Bytes> Read(std::string_view) override { return Error(); }
  Status Truncate(std::string_view, uint64_t) override { return Error(); }
  Status Rename(std::string_view, std::string_view) override { return Error(); }
  Status Remove(std::string_view) override { return Error(); }
  Status SyncDirectory() override { return Error(); }
  Result<std::vector<std::string>> List() override { return Error(); }

 private:
  static Status Error() { return FailedPreconditionError("disk: this process has no data directory"); }
  std::function<void(std::function<void()>)> post_;
};

struct Outbox {
  std::deque<Bytes> frames;
  size_t bytes = 0;
};

}  // namespace

// ---------------------------------------------------------------------------------
// Impl: everything that needs asio. Lives on the loop thread.
// Lifetime: asio handlers capture `alive_` (a shared flag) and check it first, so a
// handler that runs after the env is gone (a given io_context that keeps running)
// touches nothing. Connections are shared with their pending handlers.
// ---------------------------------------------------------------------------------
class PosixEnv::Impl {
 public:
  struct Peer;

  struct Connection {
    Connection(Tcp::socket socket_in, asio::io_context& loop, size_t max_payload)
        : socket(std::move(socket_in)), deadline(loop), decoder(max_payload),
          read_buffer(std::make_unique<uint8_t[]>(kReadBufferSize)) {}

    Tcp::socket socket;
    asio::steady_timer deadline;  // connect + hello (outbound) or hello (inbound)
    FrameDecoder decoder;
    std::unique_ptr<uint8_t[]> read_buffer;
    bool outbound = false;
    Peer* peer = nullptr;  // outbound only; peers live as long as the Impl
    NodeId remote;         // outbound: the dialled node; inbound: after the hello
    bool established = false;
    bool hello_received = false;
    bool closed = false;
    Outbox own_outbox;         // inbound connections: replies
    Outbox* outbox = nullptr;  // own_outbox, or the peer's (outbound)
    std::optional<Bytes> hello_out;
    std::vector<Bytes> writing;
    std::vector<asio::const_buffer> buffers;
    size_t writing_data_frames = 0;
    bool write_in_progress = false;
  };

  struct Peer {
    Peer(NodeId id_in, asio::io_context& loop, const BackoffOptions& options)
        : id(id_in), retry_timer(loop), backoff(options) {}
    NodeId id;
    PeerAddress address;
    Tcp::endpoint endpoint;
    std::shared_ptr<Connection> connection;  // connecting or connected
    bool waiting = false;                    // retry_timer is armed
    bool attempted = false;                  // a connection was tried before
    Outbox outbox;
    asio::steady_timer retry_timer;
    Backoff backoff;
  };

  Impl(PosixEnvOptions options, asio::io_context* loop)
      : owned_loop_(loop == nullptr ? std::make_unique<asio::io_context>(1) : nullptr),
        loop_(loop == nullptr ? owned_loop_.get() : loop),
        alive_(std::make_shared<bool>(true)),
        options_(std::move(options)),
        clock_(options_.clock != nullptr ? options_.clock : RealClockSource::Default()),
        detector_(clock_, options_.suspension_threshold),
        rng_(options_.seed),
        transport_rng_(rng_.Fork()),
        wakeup_(*loop_),
        suspension_timer_(*loop_),
        accept_retry_timer_(*loop_) {
    if (owned_loop_ != nullptr) work_.emplace(asio::make_work_guard(*owned_loop_));
  }

  ~Impl() {
    *alive_ = false;
    asio::error_code ignored;
    if (acceptor_.has_value()) acceptor_->close(ignored);
    for (const auto& [raw, connection] : connections_) {
      connection->closed = true;
      connection->socket.close(ignored);
      connection->deadline.cancel();
    }
    connections_.clear();
    inbound_by_node_.clear();
    for (auto& [id, peer] : peers_) {
      peer->connection.reset();
      peer->retry_timer.cancel();
    }
    wakeup_.cancel();
    suspension_timer_.cancel();
    accept_retry_timer_.cancel();
    timers_.clear();
    disk_.reset();  // joins the fsync thread
    work_.reset();
    if (options_.trace != nullptr) std::fflush(options_.trace);
    // Members die in reverse order; the owned io_context (declared first) last, and
    // with it any handler still queued (they hold only connections and the flag).
  }

  Status Start() {
    if (options_.self == NodeId(0)) return InvalidArgumentError("posix env: self must not be node 0");
    MURPHY_ASSERT(options_.max_frame_payload > 0);
    MURPHY_ASSERT(options_.max_queue_messages > 0);
    MURPHY_ASSERT(options_.max_timers > 0);
    detector_.set_observer([this](Duration suspended) { OnSuspension(suspended); });
    // Called from the fsync thread too (asio::post is thread-safe; copying the flag's
    // shared_ptr is atomic). The flag is read on the loop only.
    auto post = [loop = loop_, alive = alive_](std::function<void()> action) {
      asio::post(*loop, [alive, action = std::move(action)] {
        if (*alive) action();
      });
    };
    if (options_.data_directory.empty()) {
      disk_ = std::make_unique<NoDisk>(post);
    } else {
      MURPHY_ASSIGN_OR_RETURN(std::unique_ptr<PosixDisk> disk, PosixDisk::Open(options_.data_directory, post));
      posix_disk_ = disk.get();
      disk_ = std::move(disk);
    }
    for (const auto& [node, address] : options_.peers) MURPHY_RETURN_IF_ERROR(AddPeer(node, address));
    if (options_.listen.has_value()) MURPHY_RETURN_IF_ERROR(Listen(*options_.listen));
    ArmSuspensionCheck();
    return Status::Ok();
  }

  // --- Clocks and suspension -------------------------------------------------------

  void OnSuspension(Duration suspended) {
    TraceEvent("suspend", {{"duration_ns", suspended.nanoseconds()}});
    if (options_.on_suspension) options_.on_suspension(suspended);
  }

  void ArmSuspensionCheck() {
    if (options_.suspension_check_interval <= Duration::Zero()) return;
    suspension_timer_.expires_after(ToChrono(options_.suspension_check_interval));
    suspension_timer_.async_wait([this, alive = alive_](const asio::error_code& error) {
      if (!*alive || error) return;
      detector_.Check();
      ArmSuspensionCheck();
    });
  }

  // --- Timers ----------------------------------------------------------------------

  TimerId SetTimer(Duration delay, std::function<void()> callback) {
    MURPHY_ASSERT(callback != nullptr);
    MURPHY_ASSERT_MSG(timers_.size() < options_.max_timers, "too many pending timers");
    const uint64_t id = next_timer_id_++;
    const int64_t deadline =
        (Instant::FromNanoseconds(SteadyNowNanoseconds()) + Max(delay, Duration::Zero())).nanoseconds();
    timers_.emplace(id, TimerEntry{deadline, std::move(callback)});
    deadlines_.emplace(deadline, id);
    ArmWakeup();
    return TimerId(id);
  }

  bool CancelTimer(TimerId id) {
    const auto it = timers_.find(id.value());
    if (it == timers_.end()) return false;
    deadlines_.erase({it->second.deadline, id.value()});
    timers_.erase(it);
    // The wakeup may now be early; it finds nothing due and re-arms.
    return true;
  }

  void ArmWakeup() {
    if (deadlines_.empty()) return;
    const int64_t earliest = deadlines_.begin()->first;
    if (wakeup_armed_ && wakeup_deadline_ <= earliest) return;
    // Re-arming cancels a pending wait; its handler then sees operation_aborted.
    wakeup_.expires_at(SteadyClock::time_point(
        std::chrono::duration_cast<SteadyClock::duration>(std::chrono::nanoseconds(earliest))));
    wakeup_armed_ = true;
    wakeup_deadline_ = earliest;
    wakeup_.async_wait([this, alive = alive_](const asio::error_code& error) {
      if (!*alive || error) return;
      OnWakeup();
    });
  }

  void OnWakeup() {
    wakeup_armed_ = false;
    const int64_t now = SteadyNowNanoseconds();
    // Timers set by the callbacks below wait for the next turn of the loop, so a
    // callback that re-arms itself with zero delay cannot starve I/O.
    const uint64_t newest = next_timer_id_;
    while (!deadlines_.empty()) {
      const auto [deadline, id] = *deadlines_.begin();
      if (deadline > now || id >= newest) break;
      deadlines_.erase(deadlines_.begin());
      const auto it = timers_.find(id);
      MURPHY_ASSERT(it != timers_.end());
      std::function<void()> callback = std::move(it->second.callback);
      timers_.erase(it);
      ++metrics_.timers_fired;
      callback();
    }
    ArmWakeup();
  }

  // --- Transport: sending ------------------------------------------------------------

  void Send(NodeId target, Bytes payload) {
    if (payload.size() > options_.max_frame_payload) {
      ++metrics_.dropped_too_large;
      TraceDrop(target, "too_large", payload.size());
      return;
    }
    if (target == options_.self) {
      ++metrics_.messages_sent;
      asio::post(*loop_, [this, alive = alive_, payload = std::move(payload)] {
        if (*alive) Deliver(options_.self, payload);
      });
      return;
    }
    const auto peer_it = peers_.find(target);
    if (peer_it != peers_.end()) {
      Peer& peer = *peer_it->second;
      if (!Enqueue(&peer.outbox, EncodeFrame(kDataFrameType, payload), target)) return;
      if (peer.connection != nullptr) {
        StartWrite(peer.connection);
      } else if (!peer.waiting) {
        Connect(&peer);
      }
      return;
    }
    const auto inbound_it = inbound_by_node_.find(target);
    if (inbound_it != inbound_by_node_.end()) {
      const std::shared_ptr<Connection> connection = inbound_it->second;
      if (!Enqueue(connection->outbox, EncodeFrame(kDataFrameType, payload), target)) return;
      StartWrite(connection);
      return;
    }
    ++metrics_.dropped_no_route;
    TraceDrop(target, "no_route", payload.size());
  }

  // Queues a frame within the limits. False if the new frame itself was dropped.
  bool Enqueue(Outbox* outbox, Bytes frame, NodeId target) {
    const auto fits = [&] {
      return outbox->frames.size() < options_.max_queue_messages &&
             outbox->bytes + frame.size() <= options_.max_queue_bytes;
    };
    if (!fits()) {
      if (options_.overflow == Overflow::kDropNewest || frame.size() > options_.max_queue_bytes) {
        ++metrics_.dropped_queue_full;
        TraceDrop(target, "queue_full", frame.size());
        return false;
      }
      while (!fits()) {
        MURPHY_ASSERT(!outbox->frames.empty());
        outbox->bytes -= outbox->frames.front().size();
        TraceDrop(target, "queue_full", outbox->frames.front().size());
        outbox->frames.pop_front();
        ++metrics_.dropped_queue_full;
      }
    }
    outbox->bytes += frame.size();
    outbox->frames.push_back(std::move(frame));
    return true;
  }

  void StartWrite(const std::shared_ptr<Connection>& connection) {
    Connection& c = *connection;
    if (c.closed || !c.established || c.write_in_progress) return;
    MURPHY_ASSERT(c.writing.empty());
    size_t bytes = 0;
    if (c.hello_out.has_value()) {
      bytes += c.hello_out->size();
      c.writing.push_back(std::move(*c.hello_out));
      c.hello_out.reset();
    }
    // Data goes out only after our hello, and on an inbound connection only after the
    // peer's (it is registered for replies then).
    c.writing_data_frames = 0;
    if (c.outbound || c.hello_received) {
      Outbox& outbox = *c.outbox;
      while (!outbox.frames.empty() && c.writing.size() < kMaxFramesPerWrite && bytes < kMaxBytesPerWrite) {
        bytes += outbox.frames.front().size();
        outbox.bytes -= outbox.frames.front().size();
        c.writing.push_back(std::move(outbox.frames.front()));
        outbox.frames.pop_front();
        ++c.writing_data_frames;
      }
    }
    if (c.writing.empty()) return;
    c.buffers.clear();
    for (const Bytes& frame : c.writing) c.buffers.emplace_back(frame.data(), frame.size());
    c.write_in_progress = true;
    asio::async_write(c.socket, c.buffers,
                      [this, alive = alive_, connection](const asio::error_code& error, size_t written) {
                        if (!*alive || connection->closed) return;
                        OnWritten(connection, error, written);
                      });
  }

  void OnWritten(const std::shared_ptr<Connection>& connection, const asio::error_code& error, size_t written) {
    Connection& c = *connection;
    c.write_in_progress = false;
    if (error) {
      Close(connection, "write_error");
      return;
    }
    metrics_.bytes_sent += written;
    metrics_.messages_sent += c.writing_data_frames;
    c.writing_data_frames = 0;
    c.writing.clear();
    StartWrite(connection);
  }

  // --- Transport: connecting ---------------------------------------------------------

  Status AddPeer(NodeId node, PeerAddress address) {
    if (node == NodeId(0)) return InvalidArgumentError("posix env: peer must not be node 0");
    MURPHY_ASSIGN_OR_RETURN(Tcp::endpoint endpoint, ParseEndpoint(address));
    if (node == options_.self) return Status::Ok();  // Send to self is local
    auto it = peers_.find(node);
    if (it == peers_.end()) {
      if (peers_.size() >= options_.max_peers) return ResourceExhaustedError("posix env: too many peers");
      it = peers_.emplace(node, std::make_unique<Peer>(node, *loop_, options_.reconnect)).first;
    } else if (it->second->endpoint == endpoint) {
      return Status::Ok();
    }
    Peer& peer = *it->second;
    peer.address = std::move(address);
    peer.endpoint = endpoint;
    if (peer.connection != nullptr) Close(peer.connection, "address_changed");
    return Status::Ok();
  }

  void Connect(Peer* peer) {
    MURPHY_ASSERT(peer->connection == nullptr);
    MURPHY_ASSERT(!peer->waiting);
    if (peer->attempted) ++metrics_.reconnects;
    peer->attempted = true;
    auto connection = std::make_shared<Connection>(Tcp::socket(*loop_), *loop_, options_.max_frame_payload);
    connection->outbound = true;
    connection->peer = peer;
    connection->remote = peer->id;
    connection->outbox = &peer->outbox;
    connection->hello_out = EncodeHelloFrame(Hello{options_.cluster_id, options_.self, peer->id});
    peer->connection = connection;
    connections_.emplace(connection.get(), connection);
    ArmDeadline(connection, options_.connect_timeout, "connect_timeout");
    connection->socket.async_connect(peer->endpoint, [this, alive = alive_, connection](const asio::error_code& error) {
      if (!*alive || connection->closed) return;
      if (error) {
        ++metrics_.connect_failures;
        Close(connection, "connect_failed");
        return;
      }
      // Dialling a local port nobody listens on can connect the socket to itself
      // (TCP simultaneous open, when the kernel picks that very port as the source
      // port). Writing into it would lose the queued messages: treat it as refused.
      asio::error_code local_error;
      asio::error_code remote_error;
      const Tcp::endpoint local = connection->socket.local_endpoint(local_error);
      const Tcp::endpoint remote = connection->socket.remote_endpoint(remote_error);
      if (local_error || remote_error || local == remote) {
        ++metrics_.connect_failures;
        Close(connection, "self_connect");
        return;
      }
      connection->established = true;
      asio::error_code ignored;
      connection->socket.set_option(Tcp::no_delay(true), ignored);
      ++metrics_.connects;
      TraceEvent("connect", {{"peer", Wide(connection->remote)}});
      StartRead(connection);
      StartWrite(connection);
    });
  }

  // Closes the connection if the peer's hello has not arrived within `timeout`.
  void ArmDeadline(const std::shared_ptr<Connection>& connection, Duration timeout, std::string_view reason) {
    connection->deadline.expires_after(ToChrono(timeout));
    connection->deadline.async_wait([this, alive = alive_, connection, reason](const asio::error_code& error) {
      if (!*alive || error || connection->closed || connection->hello_received) return;
      if (connection->outbound && !connection->established) ++metrics_.connect_failures;
      if (!connection->outbound) ++metrics_.handshakes_rejected;
      Close(connection, reason);
    });
  }

  void ScheduleReconnect(Peer* peer) {
    MURPHY_ASSERT(peer->connection == nullptr);
    std::optional<Duration> delay = peer->backoff.NextDelay(transport_rng_);
    if (!delay.has_value()) {
      // Retries ran out, but messages still wait: start over at the cap's scale.
      peer->backoff.Reset();
      delay = peer->backoff.options().cap;
    }
    peer->waiting = true;
    peer->retry_timer.expires_after(ToChrono(*delay));
    peer->retry_timer.async_wait([this, alive = alive_, peer](const asio::error_code& error) {
      if (!*alive || error) return;
      peer->waiting = false;
      if (!peer->outbox.frames.empty() && peer->connection == nullptr) Connect(peer);
    });
  }

  void Close(const std::shared_ptr<Connection>& connection, std::string_view reason) {
    Connection& c = *connection;
    if (c.closed) return;
    c.closed = true;
    asio::error_code ignored;
    c.socket.close(ignored);
    c.deadline.cancel();
    // Frames handed to the socket may or may not have arrived: counted as lost.
    metrics_.dropped_connection_lost += c.writing_data_frames;
    c.writing.clear();
    c.writing_data_frames = 0;
    if (c.hello_received) ++metrics_.disconnects;
    TraceEvent("disconnect", {{"peer", Wide(c.remote)},
                              {"reason", reason},
                              {"outbound", c.outbound}});
    if (c.outbound) {
      Peer* peer = c.peer;
      if (peer->connection == connection) {
        peer->connection.reset();
        ScheduleReconnect(peer);
      }
    } else {
      metrics_.dropped_connection_lost += c.own_outbox.frames.size();
      c.own_outbox.frames.clear();
      c.own_outbox.bytes = 0;
      MURPHY_ASSERT(inbound_count_ > 0);
      --inbound_count_;
      const auto it = inbound_by_node_.find(c.remote);
      if (it != inbound_by_node_.end() && it->second == connection) inbound_by_node_.erase(it);
    }
    connections_.erase(connection.get());
  }

  // --- Transport: accepting and reading -----------------------------------------------

  Status Listen(const PeerAddress& address) {
    MURPHY_ASSIGN_OR_RETURN(Tcp::endpoint endpoint, ParseEndpoint(address));
    Tcp::acceptor acceptor(*loop_);
    asio::error_code error;
    acceptor.open(endpoint.protocol(), error);
    if (!error) acceptor.set_option(Tcp::acceptor::reuse_address(true), error);
    if (!error) acceptor.bind(endpoint, error);
    if (!error) acceptor.listen(asio::socket_base::max_listen_connections, error);
    if (error) return UnavailableError("listen on " + Describe(address) + ": " + error.message());
    acceptor_.emplace(std::move(acceptor));
    StartAccept();
    return Status::Ok();
  }

  void StartAccept() {
    acceptor_->async_accept([this, alive = alive_](const asio::error_code& error, Tcp::socket socket) {
      if (!*alive) return;
      if (error) {
        if (error == asio::error::operation_aborted) return;
        // E.g. out of fds: wait a little instead of spinning.
        TraceEvent("accept_error", {{"error", std::string_view(error.message())}});
        accept_retry_timer_.expires_after(ToChrono(kAcceptRetryDelay));
        accept_retry_timer_.async_wait([this, alive = alive_](const asio::error_code& wait_error) {
          if (*alive && !wait_error) StartAccept();
        });
        return;
      }
      OnAccepted(std::move(socket));
      StartAccept();
    });
  }

  void OnAccepted(Tcp::socket socket) {
    asio::error_code ignored;
    if (inbound_count_ >= options_.max_inbound_connections) {
      ++metrics_.connections_refused;
      socket.close(ignored);
      return;
    }
    socket.set_option(Tcp::no_delay(true), ignored);
    auto connection = std::make_shared<Connection>(std::move(socket), *loop_, options_.max_frame_payload);
    connection->established = true;
    connection->outbox = &connection->own_outbox;
    ++inbound_count_;
    ++metrics_.connections_accepted;
    connections_.emplace(connection.get(), connection);
    ArmDeadline(connection, options_.handshake_timeout, "handshake_timeout");
    StartRead(connection);
  }

  void StartRead(const std::shared_ptr<Connection>& connection) {
    connection->socket.async_read_some(
        asio::buffer(connection->read_buffer.get(), kReadBufferSize),
        [this, alive = alive_, connection](const asio::error_code& error, size_t received) {
          if (!*alive || connection->closed) return;
          OnRead(connection, error, received);
        });
  }

  void OnRead(const std::shared_ptr<Connection>& connection, const asio::error_code& error, size_t received) {
    if (error) {
      Close(connection, error == asio::error::eof ? "eof" : "read_error");
      return;
    }
    metrics_.bytes_received += received;
    connection->decoder.Feed(std::span<const uint8_t>(connection->read_buffer.get(), received));
    for (;;) {
      Result<std::optional<Frame>> next = connection->decoder.Next();
      if (!next.ok()) {
        BadFrame(connection, next.status().ToString());
        return;
      }
      if (!next->has_value()) break;
      HandleFrame(connection, std::move(**next));
      if (connection->closed) return;
    }
    StartRead(connection);
  }

  void BadFrame(const std::shared_ptr<Connection>& connection, std::string_view why) {
    ++metrics_.bad_frames;
    TraceEvent("bad_frame", {{"peer", Wide(connection->remote)}, {"error", why}});
    Close(connection, "bad_frame");
  }

  void RejectHandshake(const std::shared_ptr<Connection>& connection, std::string_view why) {
    ++metrics_.handshakes_rejected;
    TraceEvent("handshake_rejected", {{"peer", Wide(connection->remote)}, {"error", why}});
    Close(connection, "handshake_rejected");
  }

  void HandleFrame(const std::shared_ptr<Connection>& connection, Frame frame) {
    Connection& c = *connection;
    if (!c.hello_received) {
      if (frame.type != kHelloFrameType) {
        BadFrame(connection, "first frame is not a hello");
        return;
      }
      Result<Hello> hello = DecodeHelloPayload(frame.payload);
      if (!hello.ok()) {
        RejectHandshake(connection, hello.status().ToString());
        return;
      }
      if (hello->cluster_id != options_.cluster_id) {
        RejectHandshake(connection, "another cluster");
        return;
      }
      if (hello->target != options_.self && hello->target != NodeId(0)) {
        RejectHandshake(connection, "meant for another node");
        return;
      }
      if (c.outbound) {
        if (hello->sender != c.remote) {
          RejectHandshake(connection, "the dialled address is another node");
          return;
        }
        c.peer->backoff.Reset();  // the right node answered: the link works
      } else {
        if (hello->sender == NodeId(0) || hello->sender == options_.self) {
          RejectHandshake(connection, "bad sender");
          return;
        }
        c.remote = hello->sender;
        // A newer connection from the same process (e.g. it restarted) replaces the old.
        const auto it = inbound_by_node_.find(c.remote);
        if (it != inbound_by_node_.end() && it->second != connection) {
          const std::shared_ptr<Connection> old = it->second;
          Close(old, "replaced");
        }
        inbound_by_node_[c.remote] = connection;
        c.hello_out = EncodeHelloFrame(Hello{options_.cluster_id, options_.self, c.remote});
      }
      c.hello_received = true;
      c.deadline.cancel();
      StartWrite(connection);
      return;
    }
    if (frame.type != kDataFrameType) {
      BadFrame(connection, "unexpected frame type");
      return;
    }
    Deliver(c.remote, frame.payload);
  }

  // --- Delivery --------------------------------------------------------------------

  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) {
    if (in_receiver_) {
      // Replacing the handler that is running would destroy it mid-call.
      next_receiver_ = std::move(receiver);
      receiver_replaced_ = true;
    } else {
      receiver_ = std::move(receiver);
    }
  }

  void Deliver(NodeId source, std::span<const uint8_t> payload) {
    if (!receiver_) {
      ++metrics_.dropped_no_receiver;
      TraceDrop(source, "no_receiver", payload.size());
      return;
    }
    ++metrics_.messages_received;
    MURPHY_ASSERT(!in_receiver_);
    in_receiver_ = true;
    receiver_(source, payload);
    in_receiver_ = false;
    if (receiver_replaced_) {
      receiver_ = std::move(next_receiver_);
      next_receiver_ = nullptr;
      receiver_replaced_ = false;
    }
  }

  // --- Trace -----------------------------------------------------------------------

  void TraceEvent(std::string_view event, std::initializer_list<TraceField> fields) {
    if (options_.trace == nullptr) return;
    line_.clear();
    AppendTraceLine(&line_, RealClockSource::Default()->MonotonicNow().nanoseconds(), options_.self.value(),
                    clock_->MonotonicNow().nanoseconds(), clock_->WallNow().nanoseconds(), event, fields);
    std::fwrite(line_.data(), 1, line_.size(), options_.trace);
  }

  void TraceDrop(NodeId target, std::string_view reason, size_t bytes) {
    if (options_.trace == nullptr) return;
    TraceEvent("drop", {{"source", Wide(options_.self)},
                        {"target", Wide(target)},
                        {"reason", reason},
                        {"bytes", uint64_t{bytes}}});
  }

  PosixMetrics Metrics() const {
    PosixMetrics metrics = metrics_;
    if (posix_disk_ != nullptr) {
      metrics.fsyncs = posix_disk_->metrics().fsyncs;
      metrics.fsync_errors = posix_disk_->metrics().fsync_errors;
    }
    metrics.suspensions = detector_.suspensions();
    return metrics;
  }

  struct TimerEntry {
    int64_t deadline;
    std::function<void()> callback;
  };

  // Declared first: destroyed last, after every asio object below.
  std::unique_ptr<asio::io_context> owned_loop_;
  asio::io_context* loop_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::shared_ptr<bool> alive_;
  PosixEnvOptions options_;
  ClockSource* clock_;
  SuspensionDetector detector_;
  Rng rng_;
  Rng transport_rng_;
  std::unique_ptr<Disk> disk_;
  PosixDisk* posix_disk_ = nullptr;
  PosixMetrics metrics_;
  std::string line_;  // trace line being formatted

  std::function<void(NodeId, std::span<const uint8_t>)> receiver_;
  std::function<void(NodeId, std::span<const uint8_t>)> next_receiver_;
  bool in_receiver_ = false;
  bool receiver_replaced_ = false;

  std::map<uint64_t, TimerEntry> timers_;
  std::set<std::pair<int64_t, uint64_t>> deadlines_;  // (deadline, id): ties in order set
  uint64_t next_timer_id_ = 1;
  asio::steady_timer wakeup_;
  bool wakeup_armed_ = false;
  int64_t wakeup_deadline_ = 0;
  asio::steady_timer suspension_timer_;

  std::optional<Tcp::acceptor> acceptor_;
  asio::steady_timer accept_retry_timer_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  std::map<NodeId, std::shared_ptr<Connection>> inbound_by_node_;
  size_t inbound_count_ = 0;
};

// --- PosixEnv: forwards to Impl ----------------------------------------------------------

Result<std::unique_ptr<PosixEnv>> PosixEnv::Create(PosixEnvOptions options) { return Create(std::move(options), nullptr); }

Result<std::unique_ptr<PosixEnv>> PosixEnv::Create(PosixEnvOptions options, asio::io_context* loop) {
  // Only the construction of an io_context (epoll_create, eventfd) can throw here —
  // e.g. out of file descriptors. No exception leaves the module. The calls made
  // later are error_code overloads, except steady_timer::expires_* and cancel,
  // which have no such overload and cannot fail on a valid timer.
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(std::move(options), loop);
  } catch (const std::system_error& error) {
    return ResourceExhaustedError(std::string("posix env: cannot create the event loop: ") + error.what());
  }
  MURPHY_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<PosixEnv>(new PosixEnv(std::move(impl)));
}

PosixEnv::PosixEnv(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PosixEnv::~PosixEnv() = default;

NodeId PosixEnv::self() const { return impl_->options_.self; }
Instant PosixEnv::MonotonicNow() { return impl_->clock_->MonotonicNow(); }
WallTime PosixEnv::WallNow() { return impl_->clock_->WallNow(); }
Instant PosixEnv::BootNow() { return impl_->clock_->BootNow(); }
TimerId PosixEnv::SetTimer(Duration delay, std::function<void()> callback) {
  return impl_->SetTimer(delay, std::move(callback));
}
bool PosixEnv::CancelTimer(TimerId id) { return impl_->CancelTimer(id); }
void PosixEnv::Send(NodeId target, Bytes payload) { impl_->Send(target, std::move(payload)); }
void PosixEnv::SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) {
  impl_->SetReceiver(std::move(receiver));
}
Disk& PosixEnv::disk() { return *impl_->disk_; }
Rng& PosixEnv::rng() { return impl_->rng_; }
void PosixEnv::Trace(std::string_view event, std::initializer_list<TraceField> fields) {
  impl_->TraceEvent(event, fields);
}

asio::io_context& PosixEnv::loop() { return *impl_->loop_; }

void PosixEnv::Run() {
  if (impl_->loop_->stopped()) impl_->loop_->restart();
  impl_->loop_->run();
}

void PosixEnv::RunFor(Duration duration) {
  if (impl_->loop_->stopped()) impl_->loop_->restart();
  impl_->loop_->run_for(ToChrono(duration));
}

void PosixEnv::Poll() {
  if (impl_->loop_->stopped()) impl_->loop_->restart();
  impl_->loop_->poll();
}

void PosixEnv::Stop() { impl_->loop_->stop(); }

Status PosixEnv::AddPeer(NodeId node, PeerAddress address) { return impl_->AddPeer(node, std::move(address)); }

uint16_t PosixEnv::listen_port() const {
  if (!impl_->acceptor_.has_value()) return 0;
  asio::error_code error;
  const Tcp::endpoint endpoint = impl_->acceptor_->local_endpoint(error);
  return error ? 0 : endpoint.port();
}

PosixMetrics PosixEnv::metrics() const { return impl_->Metrics(); }
std::optional<Duration> PosixEnv::CheckSuspension() { return impl_->detector_.Check(); }
const SuspensionDetector& PosixEnv::suspension_detector() const { return impl_->detector_; }
size_t PosixEnv::pending_timers() const { return impl_->timers_.size(); }
size_t PosixEnv::open_connections() const { return impl_->connections_.size(); }

}  // namespace murphy::posix
