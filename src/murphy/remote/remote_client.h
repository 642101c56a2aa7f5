// murphy/remote/remote_client.h — the lock-service client on real sockets: a PosixEnv
// for a client process (no listener) plus a client::LockClient, and a way to wait for
// results from code that is not itself event-driven (the CLI, benchmarks, tests).
//
// Contract:
// - Identity. The client id (the Env's self, which Channel uses to number mutations
//   exactly once) is `options.client_id`, or else a random id in [2^31, 2^32) drawn
//   from the OS, away from the small ids `murphy cluster up` gives nodes. Two clients
//   with the same id would share a dedup window on the nodes; 2^31 random ids make that
//   a birthday problem (about 1 in 4 million for 64 concurrent clients).
// - Everything runs on one asio loop, on the calling thread, only while the caller
//   runs it: RunUntil(done, timeout) runs the loop until done() is true (checked after
//   every handler) or `timeout` of real time passes. Several RemoteClients may share
//   one loop (`Connect(..., loop)`): running any of them runs all.
// - Call(body, timeout) is a blocking Channel::Call (timeout = the call's deadline,
//   plus a small grace for the loop): the CallResult, with DEADLINE_EXCEEDED meaning
//   outcome unknown, exactly as channel.h says.
// Ownership: owns its Env (and with it the sockets) and its LockClient; the LockClient
// is destroyed first. A shared loop must outlive the client.
// Thread safety: none; the thread that runs the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "murphy/client/lock_client.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/posix/posix_env.h"
#include "murphy/remote/cluster_endpoints.h"

namespace murphy::remote {

struct RemoteClientOptions {
  // 0: random (see the contract).
  uint32_t client_id = 0;
  // The lock client's options; `channel.nodes` is filled from the endpoints.
  client::LockClientOptions lock_client;
  // Transport connect timeout to one node.
  Duration connect_timeout = Seconds(2);
};

// A random client id in [2^31, 2^32), from the OS.
uint32_t RandomClientId();

class RemoteClient {
 public:
  // INVALID_ARGUMENT for bad endpoints; UNAVAILABLE if the env cannot be created.
  // Nothing is connected yet: connections open on the first request.
  static Result<std::unique_ptr<RemoteClient>> Connect(const ClusterEndpoints& cluster,
                                                       RemoteClientOptions options = {},
                                                       asio::io_context* shared_loop = nullptr);
  ~RemoteClient();
  RemoteClient(const RemoteClient&) = delete;
  RemoteClient& operator=(const RemoteClient&) = delete;

  posix::PosixEnv& env() { return *env_; }
  client::LockClient& lock_client() { return *client_; }
  client::Channel& channel() { return client_->channel(); }
  NodeId client_id() const { return env_->self(); }

  // Runs the loop until done() (true) or `timeout` passes (false).
  bool RunUntil(const std::function<bool()>& done, Duration timeout);
  // Runs the loop for `duration` (e.g. to let keepalives and releases go out).
  void RunFor(Duration duration);

  // A blocking call through the channel (see the contract).
  client::CallResult Call(protocol::RequestBody body, Duration timeout);

 private:
  RemoteClient() = default;
  std::unique_ptr<posix::PosixEnv> env_;
  std::unique_ptr<client::LockClient> client_;
};

}  // namespace murphy::remote
