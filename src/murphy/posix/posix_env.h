// murphy/posix/posix_env.h — the real Env: asio event loop, TCP, files, real clocks.
//
// Contract: a `PosixEnv` implements env.h for one process (a node of the cluster or a
// client) on a single-threaded asio `io_context` — its own, or one it is given and
// shares with other single-threaded users (e.g. two envs in one test, or the daemon's
// admin HTTP server). All of env.h's rules hold: every callback (timer, receiver,
// sync completion, suspension observer) runs on the loop, never inside the call that
// scheduled it; methods are called on the loop thread only.
//
//   Clocks     from a ClockSource (default: the host's CLOCK_MONOTONIC, CLOCK_REALTIME
//              and CLOCK_BOOTTIME). A SuspensionDetector compares boot and monotonic
//              time every `suspension_check_interval` (and on CheckSuspension()) and
//              reports a suspended machine to the observer and the metrics.
//   Timers     one ordered set of deadlines on the host's steady clock behind a single
//              asio timer; timers due at the same moment run in the order they were
//              set; at most `max_timers` pending (more is a programmer error: assert).
//              They run on real time even when a fake ClockSource is injected.
//   Transport  TCP; see "Transport" below.
//   Disk       PosixDisk (posix_disk.h) in `data_directory` (created); without a data
//              directory every disk call fails with FAILED_PRECONDITION.
//   Rng        Rng(options.seed); the transport's reconnect jitter draws from a fork.
//   Trace      JSON lines in the simulator's schema (sim/trace.h) to an optional
//              FILE*; off (a null check) by default. time_ns is the host's monotonic
//              clock (the best estimate of true time a real run has). Besides the
//              events of Env::Trace, the env writes: drop (source, target, reason:
//              queue_full|too_large|no_route|no_receiver, bytes), connect (peer),
//              disconnect (peer, reason, outbound), bad_frame (peer, error),
//              handshake_rejected (peer, error), accept_error (error), suspend
//              (duration_ns). Lines go through the FILE's buffer; the env flushes it
//              when destroyed.
//
// Transport. Every NodeId in the address book (given in the options, extended with
// AddPeer) has one outbound connection, opened lazily on the first Send, with a
// bounded queue of frames (`max_queue_messages`, `max_queue_bytes`; when full the
// oldest or the newest message is dropped, per `overflow`, and counted). A failed or
// lost connection is retried after a full-jitter Backoff delay while messages wait;
// messages already handed to a dead socket are lost (counted). Payloads travel in
// protocol/ frames; each connection starts with a hello in each direction (see
// handshake.h), which names the sender and the cluster. The listener (if
// `listen` is set) accepts at most `max_inbound_connections`; an inbound connection
// must say hello within `handshake_timeout`. Inbound bytes go through a FrameDecoder
// bounded by `max_frame_payload`: a corrupt stream, an oversized length, a bad
// checksum, an unexpected frame type or a failed handshake closes that connection
// only and is counted (`bad_frames`, `handshakes_rejected`); the process stays up.
// Replies to a NodeId without an address-book entry (a client, which has no
// listener) go back over the inbound connection it said hello on, if one is open;
// otherwise they are dropped (counted as `dropped_no_route`). Send to self is
// delivered through the loop. Messages are fire-and-forget, as env.h allows: a
// message may be lost whenever a connection breaks.
// Host addresses must be numeric IPv4/IPv6 (no name resolution, which would block or
// need a thread).
//
// Ownership and lifetime: the env owns its sockets, timers, disk (and its fsync
// thread) and — if it created it — the io_context. A given io_context must outlive
// the env; handlers of a destroyed env that are still queued in it do nothing when
// they run. Destroying the env drops every pending callback without running it.
// Thread safety: everything on the loop thread, except Stop(), which may be called
// from any thread (e.g. a signal-handling thread).
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "murphy/env/env.h"
#include "murphy/posix/clock_source.h"
#include "murphy/posix/posix_disk.h"
#include "murphy/posix/suspension_detector.h"
#include "murphy/protocol/frame.h"
#include "murphy/resilience/backoff.h"

namespace asio {
class io_context;
}  // namespace asio

namespace murphy::posix {

// A TCP endpoint: a numeric IP address and a port (0 when listening: any free port).
struct PeerAddress {
  std::string host;
  uint16_t port = 0;
};

enum class Overflow : uint8_t { kDropOldest, kDropNewest };

struct PosixEnvOptions {
  NodeId self;
  // Processes of another cluster are rejected at the handshake.
  uint64_t cluster_id = 0;
  // Where to listen; nullopt for a client (it receives replies over the connections
  // it opened).
  std::optional<PeerAddress> listen;
  // NodeId → address of the nodes this process sends to. An entry for `self` is
  // ignored (Send to self is local).
  std::map<NodeId, PeerAddress> peers;
  // Empty: no disk.
  std::string data_directory;
  uint64_t seed = 1;

  // --- Limits -------------------------------------------------------------------------
  size_t max_frame_payload = kDefaultMaxFramePayload;
  size_t max_queue_messages = 4096;                 // per peer connection
  size_t max_queue_bytes = size_t{16} << 20;        // per peer connection
  Overflow overflow = Overflow::kDropOldest;
  size_t max_inbound_connections = 1024;
  size_t max_peers = 1024;
  size_t max_timers = 1 << 20;
  Duration connect_timeout = Seconds(3);   // TCP connect plus the peer's hello
  Duration handshake_timeout = Seconds(3);  // for an inbound connection's hello
  // Reconnect delays (full jitter recommended); when its retries run out the backoff
  // starts over, so a peer is retried for as long as messages wait for it.
  BackoffOptions reconnect{.base = Milliseconds(50), .multiplier = 2.0, .cap = Seconds(5),
                           .jitter = Jitter::kFull, .max_retries = 30};

  // --- Clocks ---------------------------------------------------------------------
  // Not owned; null means RealClockSource::Default().
  ClockSource* clock = nullptr;
  Duration suspension_threshold = SuspensionDetector::kDefaultThreshold;
  // How often the loop checks for a suspension; zero or negative: only on
  // CheckSuspension().
  Duration suspension_check_interval = Seconds(1);
  // Called on the loop with the length of each detected suspension.
  std::function<void(Duration suspended)> on_suspension;

  // --- Trace ------------------------------------------------------------------------
  // Not owned, not closed; null: tracing off.
  std::FILE* trace = nullptr;
};

// Counters, for the daemon to export. Read on the loop thread.
struct PosixMetrics {
  // Transport.
  uint64_t messages_sent = 0;      // data frames written to a socket (or delivered to self)
  uint64_t messages_received = 0;  // data frames delivered to the receiver
  uint64_t bytes_sent = 0;         // socket bytes, frames and hellos included
  uint64_t bytes_received = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_too_large = 0;       // payload above max_frame_payload
  uint64_t dropped_no_route = 0;        // no address and no inbound connection
  uint64_t dropped_connection_lost = 0; // queued or in flight on a connection that closed
  uint64_t dropped_no_receiver = 0;     // arrived before SetReceiver
  uint64_t bad_frames = 0;              // connections closed for a corrupt stream
  uint64_t handshakes_rejected = 0;
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;     // beyond max_inbound_connections
  uint64_t connects = 0;                // outbound connections established
  uint64_t connect_failures = 0;
  uint64_t reconnects = 0;              // connection attempts after a failure or loss
  uint64_t disconnects = 0;             // established connections closed for any reason
  // Timers.
  uint64_t timers_fired = 0;
  // Disk (from PosixDisk).
  uint64_t fsyncs = 0;
  uint64_t fsync_errors = 0;
  // Clocks.
  uint64_t suspensions = 0;
};

class PosixEnv final : public Env {
 public:
  // Creates an env with its own io_context. Fails if the data directory cannot be
  // created, the listen address cannot be bound, or an address is malformed.
  static Result<std::unique_ptr<PosixEnv>> Create(PosixEnvOptions options);
  // Creates an env on `loop` (not owned; must outlive the env).
  static Result<std::unique_ptr<PosixEnv>> Create(PosixEnvOptions options, asio::io_context* loop);
  ~PosixEnv() override;
  PosixEnv(const PosixEnv&) = delete;
  PosixEnv& operator=(const PosixEnv&) = delete;

  // --- Env ------------------------------------------------------------------------
  NodeId self() const override;
  Instant MonotonicNow() override;
  WallTime WallNow() override;
  Instant BootNow() override;
  TimerId SetTimer(Duration delay, std::function<void()> callback) override;
  bool CancelTimer(TimerId id) override;
  void Send(NodeId target, Bytes payload) override;
  void SetReceiver(std::function<void(NodeId source, std::span<const uint8_t> payload)> receiver) override;
  Disk& disk() override;
  Rng& rng() override;
  void Trace(std::string_view event, std::initializer_list<TraceField> fields) override;

  // --- The loop -------------------------------------------------------------------
  asio::io_context& loop();
  // Runs the loop until Stop() (an owned loop never runs out of work).
  void Run();
  // Runs the loop for at most `duration`, or until it is stopped or out of work.
  void RunFor(Duration duration);
  // Runs the handlers that are ready, without waiting.
  void Poll();
  // Makes Run/RunFor return. Thread-safe.
  void Stop();

  // --- Membership, observability ------------------------------------------------------
  // Adds or changes the address of `node`. A changed address closes the current
  // connection (queued messages wait for the new one). INVALID_ARGUMENT for a
  // malformed address, RESOURCE_EXHAUSTED beyond max_peers.
  Status AddPeer(NodeId node, PeerAddress address);
  // The port the listener is bound to (the ephemeral one if 0 was asked), or 0.
  uint16_t listen_port() const;
  PosixMetrics metrics() const;
  // Reads the clocks now; returns the suspension if one is detected (see
  // SuspensionDetector), after calling the observer.
  std::optional<Duration> CheckSuspension();
  const SuspensionDetector& suspension_detector() const;
  // Pending timers; open connections (both directions).
  size_t pending_timers() const;
  size_t open_connections() const;

 private:
  class Impl;
  explicit PosixEnv(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace murphy::posix
