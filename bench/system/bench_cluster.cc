#include "bench/system/bench_cluster.h"

#include <asio.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "bench/system/http_connection.h"
#include "murphy/server/http_client.h"

namespace murphy::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr auto kPoll = std::chrono::milliseconds(20);
const std::string kLoopback = "127.0.0.1";

Clock::time_point DeadlineAfter(Duration timeout) {
  return Clock::now() + std::chrono::nanoseconds(timeout.nanoseconds());
}

// A number that the JSON gateway may encode as a string (64-bit integers are).
uint64_t JsonUnsigned(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) return static_cast<uint64_t>(value.get<int64_t>());
  if (value.is_string()) {
    try {
      return std::stoull(value.get<std::string>());
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

// One blocking POST on a private loop (for status polling, not for measured work).
Result<HttpReply> BlockingPost(uint16_t port, const std::string& path, const std::string& body,
                               Duration timeout) {
  asio::io_context loop;
  std::shared_ptr<HttpConnection> connection = HttpConnection::Create(loop, kLoopback, port);
  std::optional<Result<HttpReply>> result;
  connection->Post(path, body, timeout, [&](Result<HttpReply> reply) { result = std::move(reply); });
  while (!result) loop.run_one();
  connection->Close();
  return std::move(*result);
}

class ClusterBase : public BenchCluster {
 public:
  explicit ClusterBase(ClusterSetup setup) : setup_(std::move(setup)) {}
  ~ClusterBase() override {
    StopAll();
    if (!setup_.keep_work_directory && !setup_.work_directory.empty()) {
      std::error_code ignored;
      fs::remove_all(setup_.work_directory, ignored);
    }
  }

  void StopAll() override {
    for (std::unique_ptr<ChildProcess>& member : members_) {
      if (member) member->Kill();
    }
  }

  Status Restart(int index, Duration timeout) override {
    members_[static_cast<size_t>(index)].reset();  // kills (if still running) and reaps
    Status started = Spawn(index);
    if (!started.ok()) return started;
    return WaitHealthy(timeout);
  }

 protected:
  Status Spawn(int index) {
    Result<std::unique_ptr<ChildProcess>> process = ChildProcess::Spawn(CommandLine(index), LogPath(index));
    if (!process.ok()) return process.status();
    members_[static_cast<size_t>(index)] = std::move(*process);
    return Status::Ok();
  }
  std::string LogPath(int index) const {
    return setup_.work_directory + "/member" + std::to_string(index + 1) + ".log";
  }
  std::string DataPath(int index) const {
    return setup_.work_directory + "/member" + std::to_string(index + 1);
  }
  Status PrepareDirectory() {
    std::error_code error;
    fs::remove_all(setup_.work_directory, error);
    fs::create_directories(setup_.work_directory, error);
    if (error) return UnavailableError("cannot create " + setup_.work_directory + ": " + error.message());
    members_.resize(static_cast<size_t>(size()));
    member_ids_.assign(static_cast<size_t>(size()), 0);
    return Status::Ok();
  }
  // Fails when a member process has exited.
  Status CheckAlive() {
    for (int i = 0; i < size(); ++i) {
      ChildProcess* member = Member(i);
      if (member == nullptr || !member->Running()) {
        return UnavailableError(system() + " member " + std::to_string(i + 1) + " is not running (see " +
                                LogPath(i) + ")");
      }
    }
    return Status::Ok();
  }

  ClusterSetup setup_;
};

class MurphyCluster final : public ClusterBase {
 public:
  using ClusterBase::ClusterBase;
  std::string system() const override { return "murphy"; }

  Status Start(Duration timeout) override {
    Status prepared = PrepareDirectory();
    if (!prepared.ok()) return prepared;
    Result<std::vector<uint16_t>> ports = PickFreeLoopbackPorts(2 * size());
    if (!ports.ok()) return ports.status();
    std::random_device random;
    cluster_id_ = (uint64_t{random()} << 32) | random();
    murphy_endpoints_ = {};
    murphy_endpoints_.cluster_id = cluster_id_;
    listen_.clear();
    admin_.clear();
    peers_.clear();
    for (int i = 0; i < size(); ++i) {
      const uint16_t listen = (*ports)[static_cast<size_t>(2 * i)];
      const uint16_t admin = (*ports)[static_cast<size_t>(2 * i + 1)];
      listen_.push_back(listen);
      admin_.push_back(admin);
      peers_ += (i == 0 ? "" : ",") + std::to_string(i + 1) + "=" + kLoopback + ":" + std::to_string(listen);
      murphy_endpoints_.nodes.push_back({NodeId(static_cast<uint32_t>(i + 1)),
                                         posix::PeerAddress{kLoopback, listen},
                                         kLoopback + ":" + std::to_string(admin)});
      member_ids_[static_cast<size_t>(i)] = static_cast<uint64_t>(i + 1);
    }
    for (int i = 0; i < size(); ++i) {
      Status spawned = Spawn(i);
      if (!spawned.ok()) return spawned;
    }
    return WaitHealthy(timeout);
  }

  std::vector<std::string> CommandLine(int index) const override {
    std::vector<std::string> argv = {setup_.murphyd_path,
                                     "--id",
                                     std::to_string(index + 1),
                                     "--listen",
                                     kLoopback + ":" + std::to_string(listen_[static_cast<size_t>(index)]),
                                     "--admin",
                                     kLoopback + ":" + std::to_string(admin_[static_cast<size_t>(index)]),
                                     "--peers",
                                     peers_,
                                     "--data-dir",
                                     DataPath(index),
                                     "--cluster-id",
                                     std::to_string(cluster_id_)};
    if (setup_.timing.murphy_tick_ms) {
      argv.push_back("--tick-ms");
      argv.push_back(std::to_string(*setup_.timing.murphy_tick_ms));
    }
    if (setup_.timing.murphy_election_ticks) {
      argv.push_back("--election-ticks");
      argv.push_back(std::to_string(*setup_.timing.murphy_election_ticks));
    }
    return argv;
  }

  Status WaitHealthy(Duration timeout) override {
    const Clock::time_point deadline = DeadlineAfter(timeout);
    std::string reason;
    for (;;) {
      Status alive = CheckAlive();
      if (!alive.ok()) return alive;
      bool ready = true;
      for (int i = 0; i < size() && ready; ++i) {
        Result<server::HttpResponse> response =
            server::HttpGet(kLoopback, admin_[static_cast<size_t>(i)], "/readyz", Milliseconds(500));
        ready = response.ok() && response->status == 200;
        if (!ready) reason = response.ok() ? response->body : response.status().ToString();
      }
      if (ready) return Status::Ok();
      if (Clock::now() >= deadline) return DeadlineExceededError("murphy cluster not ready: " + reason);
      std::this_thread::sleep_for(kPoll);
    }
  }

  Result<MemberState> State(int index) override {
    Result<server::HttpResponse> response =
        server::HttpGet(kLoopback, admin_[static_cast<size_t>(index)], "/status", Milliseconds(300));
    if (!response.ok()) return response.status();
    const nlohmann::json status = nlohmann::json::parse(response->body, nullptr, false);
    if (!status.is_object()) return UnavailableError("malformed /status");
    MemberState state;
    state.id = JsonUnsigned(status.value("id", nlohmann::json()));
    state.term = JsonUnsigned(status.value("term", nlohmann::json()));
    state.leader_id = JsonUnsigned(status.value("leader", nlohmann::json()));
    state.commit_index = JsonUnsigned(status.value("commit", nlohmann::json()));
    state.applied_index = JsonUnsigned(status.value("applied", nlohmann::json()));
    return state;
  }

 private:
  uint64_t cluster_id_ = 0;
  std::vector<uint16_t> listen_;
  std::vector<uint16_t> admin_;
  std::string peers_;
};

class EtcdCluster final : public ClusterBase {
 public:
  using ClusterBase::ClusterBase;
  std::string system() const override { return "etcd"; }

  Status Start(Duration timeout) override {
    Status prepared = PrepareDirectory();
    if (!prepared.ok()) return prepared;
    Result<std::vector<uint16_t>> ports = PickFreeLoopbackPorts(2 * size());
    if (!ports.ok()) return ports.status();
    etcd_client_ports_.clear();
    peer_ports_.clear();
    initial_cluster_.clear();
    for (int i = 0; i < size(); ++i) {
      etcd_client_ports_.push_back((*ports)[static_cast<size_t>(2 * i)]);
      peer_ports_.push_back((*ports)[static_cast<size_t>(2 * i + 1)]);
      initial_cluster_ += (i == 0 ? "" : ",") + Name(i) + "=" + PeerUrl(i);
    }
    std::random_device random;
    token_ = "murphy-bench-" + std::to_string(random());
    for (int i = 0; i < size(); ++i) {
      Status spawned = Spawn(i);
      if (!spawned.ok()) return spawned;
    }
    Status healthy = WaitHealthy(timeout);
    if (!healthy.ok()) return healthy;
    for (int i = 0; i < size(); ++i) {
      Result<MemberState> state = State(i);
      if (!state.ok()) return state.status();
    }
    return Status::Ok();
  }

  std::vector<std::string> CommandLine(int index) const override {
    const std::string client_url =
        "http://" + kLoopback + ":" + std::to_string(etcd_client_ports_[static_cast<size_t>(index)]);
    std::vector<std::string> argv = {setup_.etcd_path,
                                     "--name",
                                     Name(index),
                                     "--data-dir",
                                     DataPath(index),
                                     "--listen-client-urls",
                                     client_url,
                                     "--advertise-client-urls",
                                     client_url,
                                     "--listen-peer-urls",
                                     PeerUrl(index),
                                     "--initial-advertise-peer-urls",
                                     PeerUrl(index),
                                     "--initial-cluster",
                                     initial_cluster_,
                                     "--initial-cluster-token",
                                     token_,
                                     "--initial-cluster-state",
                                     "new"};
    if (setup_.timing.etcd_heartbeat_ms) {
      argv.push_back("--heartbeat-interval");
      argv.push_back(std::to_string(*setup_.timing.etcd_heartbeat_ms));
    }
    if (setup_.timing.etcd_election_ms) {
      argv.push_back("--election-timeout");
      argv.push_back(std::to_string(*setup_.timing.etcd_election_ms));
    }
    return argv;
  }

  Status WaitHealthy(Duration timeout) override {
    const Clock::time_point deadline = DeadlineAfter(timeout);
    std::string reason;
    for (;;) {
      Status alive = CheckAlive();
      if (!alive.ok()) return alive;
      bool ready = true;
      for (int i = 0; i < size() && ready; ++i) {
        Result<server::HttpResponse> response = server::HttpGet(
            kLoopback, etcd_client_ports_[static_cast<size_t>(i)], "/health", Milliseconds(1000));
        ready = response.ok() && response->status == 200 &&
                response->body.find("\"health\":\"true\"") != std::string::npos;
        if (!ready) reason = response.ok() ? response->body : response.status().ToString();
      }
      if (ready) return Status::Ok();
      if (Clock::now() >= deadline) return DeadlineExceededError("etcd cluster not healthy: " + reason);
      std::this_thread::sleep_for(kPoll);
    }
  }

  Result<MemberState> State(int index) override {
    Result<HttpReply> reply = BlockingPost(etcd_client_ports_[static_cast<size_t>(index)],
                                           "/v3/maintenance/status", "{}", Milliseconds(500));
    if (!reply.ok()) return reply.status();
    if (reply->status != 200)
      return UnavailableError("maintenance/status: HTTP " + std::to_string(reply->status));
    const nlohmann::json status = nlohmann::json::parse(reply->body, nullptr, false);
    if (!status.is_object() || !status.contains("header")) return UnavailableError("malformed status");
    MemberState state;
    state.id = JsonUnsigned(status["header"].value("member_id", nlohmann::json()));
    state.term =
        JsonUnsigned(status.value("raftTerm", status["header"].value("raft_term", nlohmann::json())));
    state.leader_id = JsonUnsigned(status.value("leader", nlohmann::json()));
    state.commit_index = JsonUnsigned(status.value("raftIndex", nlohmann::json()));
    state.applied_index = JsonUnsigned(status.value("raftAppliedIndex", nlohmann::json()));
    member_ids_[static_cast<size_t>(index)] = state.id;
    return state;
  }

 private:
  static std::string Name(int index) { return "m" + std::to_string(index + 1); }
  std::string PeerUrl(int index) const {
    return "http://" + kLoopback + ":" + std::to_string(peer_ports_[static_cast<size_t>(index)]);
  }

  std::vector<uint16_t> peer_ports_;
  std::string initial_cluster_;
  std::string token_;
};

}  // namespace

std::unique_ptr<BenchCluster> BenchCluster::CreateMurphy(ClusterSetup setup) {
  return std::make_unique<MurphyCluster>(std::move(setup));
}
std::unique_ptr<BenchCluster> BenchCluster::CreateEtcd(ClusterSetup setup) {
  return std::make_unique<EtcdCluster>(std::move(setup));
}

Result<int> BenchCluster::LeaderIndex() {
  std::optional<uint64_t> agreed;
  int live = 0;
  for (int i = 0; i < size(); ++i) {
    ChildProcess* member = Member(i);
    if (member == nullptr || !member->Running()) continue;
    Result<MemberState> state = State(i);
    if (!state.ok())
      return NotFoundError("member " + std::to_string(i + 1) + ": " + state.status().ToString());
    ++live;
    if (state->leader_id == 0) return NotFoundError("member " + std::to_string(i + 1) + " knows no leader");
    if (agreed && *agreed != state->leader_id) return NotFoundError("members disagree on the leader");
    agreed = state->leader_id;
  }
  if (!agreed || live == 0) return NotFoundError("no live member");
  for (int i = 0; i < size(); ++i) {
    if (member_ids_[static_cast<size_t>(i)] == *agreed && Member(i) != nullptr && Member(i)->Running())
      return i;
  }
  return NotFoundError("the agreed leader is not a live member");
}

Result<int> BenchCluster::WaitLeader(Duration timeout) {
  const Clock::time_point deadline = DeadlineAfter(timeout);
  for (;;) {
    Result<int> leader = LeaderIndex();
    if (leader.ok() || Clock::now() >= deadline) return leader;
    std::this_thread::sleep_for(kPoll);
  }
}

Result<uint64_t> BenchCluster::MaxTerm() {
  uint64_t term = 0;
  bool any = false;
  for (int i = 0; i < size(); ++i) {
    ChildProcess* member = Member(i);
    if (member == nullptr || !member->Running()) continue;
    Result<MemberState> state = State(i);
    if (!state.ok()) continue;
    any = true;
    term = std::max(term, state->term);
  }
  if (!any) return UnavailableError("no member answered");
  return term;
}

Result<Duration> BenchCluster::WaitCaughtUp(Duration timeout) {
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = DeadlineAfter(timeout);
  uint64_t target = 0;
  for (int i = 0; i < size(); ++i) {
    if (Member(i) == nullptr || !Member(i)->Running()) continue;
    Result<MemberState> state = State(i);
    if (state.ok()) target = std::max(target, state->commit_index);
  }
  for (;;) {
    bool caught_up = true;
    std::string applied;
    for (int i = 0; i < size(); ++i) {
      if (Member(i) == nullptr || !Member(i)->Running()) continue;
      Result<MemberState> state = State(i);
      caught_up = caught_up && state.ok() && state->applied_index >= target;
      applied += " member " + std::to_string(i + 1) + ": " +
                 (state.ok() ? std::to_string(state->applied_index) : state.status().ToString());
    }
    const Clock::time_point now = Clock::now();
    if (caught_up)
      return Duration::FromNanoseconds(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - start).count());
    if (now >= deadline) {
      return DeadlineExceededError(system() + " members did not catch up to commit index " +
                                   std::to_string(target) + " within the timeout; applied:" + applied);
    }
    std::this_thread::sleep_for(kPoll);
  }
}

}  // namespace murphy::bench
