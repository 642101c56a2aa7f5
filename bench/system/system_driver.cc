#include "bench/system/system_driver.h"

#include <asio.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "bench/system/http_connection.h"
#include "murphy/remote/remote_client.h"

namespace murphy::bench {
namespace {

constexpr Duration kSetupTimeout = Seconds(60);
constexpr Duration kRequestTimeout = Seconds(5);
// etcd requests get the same per-attempt timeout as murphy's channel, and are then
// sent again to the next member, as murphy's channel does. Without it a put that a
// follower forwarded to a leader that just died hangs until the client gives up
// (etcd answers "request timed out" only after 5 s + 2 election timeouts), and the
// failover figure would measure our client's patience, not etcd.
const Duration kEtcdAttemptTimeout = client::ChannelOptions{}.attempt_timeout;
constexpr int kMurphyLeasesPerClient = 16;  // lock::LockMachineOptions::max_leases_per_client

std::string Name(std::string_view prefix, int index) { return std::string(prefix) + std::to_string(index); }

class MurphyDriver final : public SystemDriver {
 public:
  MurphyDriver(asio::io_context& loop, BenchCluster& cluster) : loop_(loop), cluster_(cluster) {}
  ~MurphyDriver() override {
    // Handles first (they release through their clients), then the clients.
    handles_.clear();
    writers_.clear();
    owners_.clear();
    cycle_client_.reset();
  }

  void SetPreferredMember(int) override {}

  Status PrepareWriters(int count) override {
    const int existing = static_cast<int>(writers_.size());
    if (count <= existing) return Status::Ok();
    for (int i = existing; i < count; ++i) {
      Result<std::unique_ptr<remote::RemoteClient>> client = NewClient();
      if (!client.ok()) return client.status();
      writers_.push_back(std::move(*client));
      handles_.emplace_back();
    }
    const uint64_t failed = RunBounded(
        loop_, count - existing, 16, kSetupTimeout, [this, existing](int index, int, DoneCallback done) {
          const int writer = existing + index;
          writers_[static_cast<size_t>(writer)]->lock_client().Acquire(
              Name("bench-write-", writer), Seconds(30), protocol::AcquireMode::kTry,
              [this, writer, done](Result<std::unique_ptr<client::LockHandle>> handle) {
                if (handle.ok()) {
                  (*handle)->OnLoss([this, writer](Status reason) {
                    const double at = std::chrono::duration<double>(BenchClock::now() - created_).count();
                    lost_ += "writer " + std::to_string(writer) + " lost its lock " + std::to_string(at) +
                             " s after the driver started: " + reason.ToString() + "; ";
                  });
                  handles_[static_cast<size_t>(writer)] = std::move(*handle);
                }
                done(handle.ok());
              });
        });
    if (failed > 0) return UnavailableError(std::to_string(failed) + " writer lock(s) not acquired");
    return Status::Ok();
  }

  void Write(int writer, DoneCallback done) override {
    const client::LockHandle& handle = *handles_[static_cast<size_t>(writer)];
    client::WriteOptions options;
    options.timeout = kRequestTimeout;
    writers_[static_cast<size_t>(writer)]->lock_client().Write(
        handle, Name("bench-resource-", writer), value_,
        [this, done = std::move(done)](client::WriteReply reply) {
          if (!reply.status.ok())
            last_error_ = "write: " + reply.status.ToString() + " " + lost_.substr(0, 300);
          done(reply.status.ok());
        },
        options);
  }

  Status PrepareLockCycle() override {
    if (cycle_client_) return Status::Ok();
    Result<std::unique_ptr<remote::RemoteClient>> client = NewClient();
    if (!client.ok()) return client.status();
    cycle_client_ = std::move(*client);
    const client::CallResult granted =
        cycle_client_->Call(protocol::GrantLeaseRequest{Seconds(60)}, Seconds(10));
    if (!granted.status.ok()) return granted.status;
    const auto* lease = std::get_if<protocol::LeaseBody>(&granted.response->body);
    if (lease == nullptr) return InternalError("grant answered without a lease");
    cycle_lease_ = lease->lease;
    return Status::Ok();
  }

  void LockCycle(DoneCallback done) override {
    client::Channel& channel = cycle_client_->channel();
    channel.Call(
        protocol::AcquireRequest{"bench-cycle", cycle_lease_, protocol::AcquireMode::kTry, Duration::Zero()},
        Deadline::After(cycle_client_->env().MonotonicNow(), kRequestTimeout),
        [this, done = std::move(done)](client::CallResult acquired) {
          const auto* body =
              acquired.response ? std::get_if<protocol::AcquireBody>(&acquired.response->body) : nullptr;
          if (!acquired.status.ok() || body == nullptr || body->state != protocol::AcquireState::kGranted) {
            done(false);
            return;
          }
          client::Channel& channel = cycle_client_->channel();
          channel.Call(protocol::ReleaseRequest{"bench-cycle", cycle_lease_},
                       Deadline::After(cycle_client_->env().MonotonicNow(), kRequestTimeout),
                       [done](client::CallResult released) { done(released.status.ok()); });
        });
  }

  Status PrepareLeases(int count, int workers) override {
    lease_workers_ = workers;
    leases_.assign(static_cast<size_t>(count), LeaseId());
    const int owners = (count + kMurphyLeasesPerClient - 1) / kMurphyLeasesPerClient;
    while (static_cast<int>(owners_.size()) < owners) {
      Result<std::unique_ptr<remote::RemoteClient>> client = NewClient();
      if (!client.ok()) return client.status();
      owners_.push_back(std::move(*client));
    }
    const uint64_t failed =
        RunBounded(loop_, count, 256, kSetupTimeout, [this](int index, int, DoneCallback done) {
          remote::RemoteClient& owner = *owners_[static_cast<size_t>(index / kMurphyLeasesPerClient)];
          owner.channel().Call(
              protocol::GrantLeaseRequest{Seconds(300)},
              Deadline::After(owner.env().MonotonicNow(), Seconds(20)),
              [this, index, done = std::move(done)](client::CallResult result) {
                const auto* lease =
                    result.response ? std::get_if<protocol::LeaseBody>(&result.response->body) : nullptr;
                if (result.status.ok() && lease != nullptr)
                  leases_[static_cast<size_t>(index)] = lease->lease;
                done(result.status.ok() && lease != nullptr);
              });
        });
    if (failed > 0) return UnavailableError(std::to_string(failed) + " lease grant(s) failed");
    next_lease_.resize(static_cast<size_t>(workers));
    for (int w = 0; w < workers; ++w) next_lease_[static_cast<size_t>(w)] = w;
    return Status::Ok();
  }

  void KeepAlive(int worker, DoneCallback done) override {
    int& next = next_lease_[static_cast<size_t>(worker)];
    const int index = next;
    next = (next + lease_workers_) % static_cast<int>(leases_.size());
    remote::RemoteClient& owner = *owners_[static_cast<size_t>(index / kMurphyLeasesPerClient)];
    owner.channel().Call(protocol::KeepAliveRequest{leases_[static_cast<size_t>(index)]},
                         Deadline::After(owner.env().MonotonicNow(), kRequestTimeout),
                         [done = std::move(done)](client::CallResult result) { done(result.status.ok()); });
  }

  int connections() const override {
    return static_cast<int>(writers_.size() + owners_.size()) + (cycle_client_ ? 1 : 0);
  }
  std::string last_error() const override { return last_error_; }

 private:
  Result<std::unique_ptr<remote::RemoteClient>> NewClient() {
    return remote::RemoteClient::Connect(cluster_.murphy_endpoints(), remote::RemoteClientOptions{}, &loop_);
  }

  asio::io_context& loop_;
  BenchCluster& cluster_;
  const std::string value_ = BenchValue();
  std::vector<std::unique_ptr<remote::RemoteClient>> writers_;
  std::vector<std::unique_ptr<client::LockHandle>> handles_;
  std::unique_ptr<remote::RemoteClient> cycle_client_;
  LeaseId cycle_lease_;
  std::vector<std::unique_ptr<remote::RemoteClient>> owners_;
  std::vector<LeaseId> leases_;
  std::vector<int> next_lease_;
  int lease_workers_ = 1;
  std::string last_error_;
  std::string lost_;  // why writers lost their locks
  const BenchClock::time_point created_ = BenchClock::now();
};

// One etcd client: a keep-alive connection that moves to the next member after a
// connection error or timeout.
class EtcdClient {
 public:
  EtcdClient(asio::io_context& loop, const std::vector<uint16_t>& ports, int member)
      : ports_(ports),
        member_(member),
        connection_(HttpConnection::Create(loop, "127.0.0.1", ports[static_cast<size_t>(member)])) {}
  ~EtcdClient() { connection_->Close(); }

  // `done(reply)` with the parsed JSON body of a 200 answer, or nullopt on failure.
  void Post(const std::string& path, const std::string& body,
            std::function<void(std::optional<nlohmann::json>)> done) {
    connection_->Post(
        path, body, kEtcdAttemptTimeout, [this, path, done = std::move(done)](Result<HttpReply> reply) {
          if (!reply.ok()) {
            if (reply.status().code() != StatusCode::kCancelled) MoveOn();
            last_error_ = path + ": " + reply.status().ToString();
            done(std::nullopt);
            return;
          }
          if (reply->status != 200) {
            last_error_ = path + ": HTTP " + std::to_string(reply->status) + " " + reply->body.substr(0, 200);
            done(std::nullopt);
            return;
          }
          nlohmann::json json = nlohmann::json::parse(reply->body, nullptr, false);
          if (json.is_discarded()) {
            done(std::nullopt);
            return;
          }
          done(std::move(json));
        });
  }
  const std::string& last_error() const { return last_error_; }
  void SetMember(int member) {
    member_ = member;
    connection_->Close();
    connection_->SetAddress("127.0.0.1", ports_[static_cast<size_t>(member_)]);
  }

 private:
  void MoveOn() {
    member_ = (member_ + 1) % static_cast<int>(ports_.size());
    connection_->SetAddress("127.0.0.1", ports_[static_cast<size_t>(member_)]);
  }
  std::vector<uint16_t> ports_;
  int member_;
  std::shared_ptr<HttpConnection> connection_;
  std::string last_error_;
};

uint64_t JsonId(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) return static_cast<uint64_t>(value.get<int64_t>());
  if (value.is_string()) {
    try {
      return static_cast<uint64_t>(std::stoll(value.get<std::string>()));
    } catch (const std::exception&) {
    }
  }
  return 0;
}

class EtcdDriver final : public SystemDriver {
 public:
  EtcdDriver(asio::io_context& loop, BenchCluster& cluster) : loop_(loop), cluster_(cluster) {}

  void SetPreferredMember(int index) override {
    preferred_ = index;
    for (auto& client : writers_) client->SetMember(index);
    for (auto& client : lease_clients_) client->SetMember(index);
    if (cycle_client_) cycle_client_->SetMember(index);
  }

  Status PrepareWriters(int count) override {
    while (static_cast<int>(writers_.size()) < count) writers_.push_back(NewClient());
    return Status::Ok();
  }

  void Write(int writer, DoneCallback done) override {
    const nlohmann::json body = {{"key", Base64Encode(Name("bench-resource-", writer))},
                                 {"value", encoded_value_}};
    writers_[static_cast<size_t>(writer)]->Post(
        "/v3/kv/put", body.dump(),
        [done = std::move(done)](std::optional<nlohmann::json> reply) { done(reply.has_value()); });
  }

  Status PrepareLockCycle() override {
    if (cycle_client_) return Status::Ok();
    cycle_client_ = NewClient();
    std::optional<uint64_t> lease;
    bool finished = false;
    cycle_client_->Post("/v3/lease/grant", R"({"TTL":60})", [&](std::optional<nlohmann::json> reply) {
      finished = true;
      if (reply && reply->contains("ID")) lease = JsonId((*reply)["ID"]);
    });
    RunLoopUntil(
        loop_, [&] { return finished; }, Seconds(10));
    if (!lease || *lease == 0) return UnavailableError("etcd lease grant failed");
    cycle_lease_ = *lease;
    return Status::Ok();
  }

  void LockCycle(DoneCallback done) override {
    const nlohmann::json body = {{"name", Base64Encode("bench-cycle")},
                                 {"lease", std::to_string(cycle_lease_)}};
    cycle_client_->Post(
        "/v3/lock/lock", body.dump(), [this, done = std::move(done)](std::optional<nlohmann::json> reply) {
          if (!reply || !reply->contains("key") || !(*reply)["key"].is_string()) {
            done(false);
            return;
          }
          const nlohmann::json unlock = {{"key", (*reply)["key"]}};
          cycle_client_->Post("/v3/lock/unlock", unlock.dump(),
                              [done](std::optional<nlohmann::json> released) { done(released.has_value()); });
        });
  }

  Status PrepareLeases(int count, int workers) override {
    lease_workers_ = workers;
    while (static_cast<int>(lease_clients_.size()) < workers) lease_clients_.push_back(NewClient());
    leases_.assign(static_cast<size_t>(count), 0);
    const uint64_t failed =
        RunBounded(loop_, count, workers, kSetupTimeout, [this](int index, int slot, DoneCallback done) {
          lease_clients_[static_cast<size_t>(slot)]->Post(
              "/v3/lease/grant", R"({"TTL":300})",
              [this, index, done = std::move(done)](std::optional<nlohmann::json> reply) {
                const uint64_t id = reply && reply->contains("ID") ? JsonId((*reply)["ID"]) : 0;
                leases_[static_cast<size_t>(index)] = id;
                done(id != 0);
              });
        });
    if (failed > 0) return UnavailableError(std::to_string(failed) + " lease grant(s) failed");
    next_lease_.resize(static_cast<size_t>(workers));
    for (int w = 0; w < workers; ++w) next_lease_[static_cast<size_t>(w)] = w;
    return Status::Ok();
  }

  void KeepAlive(int worker, DoneCallback done) override {
    int& next = next_lease_[static_cast<size_t>(worker)];
    const int index = next;
    next = (next + lease_workers_) % static_cast<int>(leases_.size());
    const nlohmann::json body = {{"ID", std::to_string(leases_[static_cast<size_t>(index)])}};
    lease_clients_[static_cast<size_t>(worker)]->Post(
        "/v3/lease/keepalive", body.dump(), [done = std::move(done)](std::optional<nlohmann::json> reply) {
          // The gateway streams {"result":{...,"TTL":"300"}}; an unknown lease has no TTL.
          bool ok = reply && reply->contains("result") && (*reply)["result"].contains("TTL") &&
                    JsonId((*reply)["result"]["TTL"]) > 0;
          done(ok);
        });
  }

  int connections() const override {
    return static_cast<int>(writers_.size() + lease_clients_.size()) + (cycle_client_ ? 1 : 0);
  }
  std::string last_error() const override {
    for (const auto& client : writers_) {
      if (!client->last_error().empty()) return client->last_error();
    }
    for (const auto& client : lease_clients_) {
      if (!client->last_error().empty()) return client->last_error();
    }
    return cycle_client_ ? cycle_client_->last_error() : std::string();
  }

 private:
  std::unique_ptr<EtcdClient> NewClient() {
    return std::make_unique<EtcdClient>(loop_, cluster_.etcd_client_ports(), preferred_);
  }

  asio::io_context& loop_;
  BenchCluster& cluster_;
  int preferred_ = 0;
  const std::string encoded_value_ = Base64Encode(BenchValue());
  std::vector<std::unique_ptr<EtcdClient>> writers_;
  std::unique_ptr<EtcdClient> cycle_client_;
  uint64_t cycle_lease_ = 0;
  std::vector<std::unique_ptr<EtcdClient>> lease_clients_;
  std::vector<uint64_t> leases_;
  std::vector<int> next_lease_;
  int lease_workers_ = 1;
};

}  // namespace

std::unique_ptr<SystemDriver> SystemDriver::CreateMurphy(asio::io_context& loop, BenchCluster& cluster) {
  return std::make_unique<MurphyDriver>(loop, cluster);
}
std::unique_ptr<SystemDriver> SystemDriver::CreateEtcd(asio::io_context& loop, BenchCluster& cluster) {
  return std::make_unique<EtcdDriver>(loop, cluster);
}

std::string BenchValue() { return std::string(64, 'v'); }

}  // namespace murphy::bench
