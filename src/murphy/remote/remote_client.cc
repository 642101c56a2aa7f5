#include "murphy/remote/remote_client.h"

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <random>

#include "murphy/resilience/deadline.h"

namespace murphy::remote {

uint32_t RandomClientId() {
  std::random_device device;
  return 0x8000'0000u | static_cast<uint32_t>(device());
}

Result<std::unique_ptr<RemoteClient>> RemoteClient::Connect(const ClusterEndpoints& cluster,
                                                            RemoteClientOptions options,
                                                            asio::io_context* shared_loop) {
  if (cluster.nodes.empty()) return InvalidArgumentError("no nodes to connect to");
  const uint32_t id = options.client_id != 0 ? options.client_id : RandomClientId();
  posix::PosixEnvOptions env_options;
  env_options.self = NodeId(id);
  env_options.cluster_id = cluster.cluster_id;
  env_options.seed = (uint64_t{id} << 32) ^
                     static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  env_options.connect_timeout = options.connect_timeout;
  options.lock_client.channel.nodes.clear();
  for (const NodeEndpoint& node : cluster.nodes) {
    if (node.id == NodeId(id)) return InvalidArgumentError("client id collides with a node id");
    env_options.peers[node.id] = node.client;
    options.lock_client.channel.nodes.push_back(node.id);
  }
  Result<std::unique_ptr<posix::PosixEnv>> env = posix::PosixEnv::Create(std::move(env_options), shared_loop);
  if (!env.ok()) return env.status();
  std::unique_ptr<RemoteClient> remote(new RemoteClient());
  remote->env_ = std::move(*env);
  remote->client_ = std::make_unique<client::LockClient>(*remote->env_, std::move(options.lock_client));
  return remote;
}

RemoteClient::~RemoteClient() {
  client_.reset();
  env_.reset();
}

bool RemoteClient::RunUntil(const std::function<bool()>& done, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(timeout.nanoseconds());
  asio::io_context& loop = env_->loop();
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // run_one_for returns after one handler (or the wait), so done() is checked often.
    if (loop.stopped()) loop.restart();
    loop.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::milliseconds(50)));
  }
  return true;
}

void RemoteClient::RunFor(Duration duration) {
  RunUntil([] { return false; }, duration);
}

client::CallResult RemoteClient::Call(protocol::RequestBody body, Duration timeout) {
  // A shared slot: should the answer come after we gave up, it lands there, not in
  // this finished stack frame.
  auto result = std::make_shared<std::optional<client::CallResult>>();
  channel().Call(std::move(body), Deadline::After(env_->MonotonicNow(), timeout),
                 [result](client::CallResult r) { *result = std::move(r); });
  RunUntil([&] { return result->has_value(); }, timeout + Seconds(1));
  if (!result->has_value()) {
    client::CallResult unknown;
    unknown.status = DeadlineExceededError("outcome unknown: no answer within the deadline");
    return unknown;
  }
  return std::move(**result);
}

}  // namespace murphy::remote
