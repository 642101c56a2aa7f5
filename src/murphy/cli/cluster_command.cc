// murphy cluster up|start|status|down — a local cluster of murphyd processes on
// loopback, for trying murphy out and for the integration tests.
//
// DIR (default ./.murphy) holds cluster.json (ids and addresses), nodeN.toml (the
// murphyd config, read with --config), nodeN/ (its data directory), nodeN.log (its
// stdout and stderr) and nodeN.pid. `up` on a DIR whose cluster is down starts the
// same cluster again (same ports, same data); on a fresh DIR it picks free loopback
// ports. Processes are checked by pid file plus /proc/PID/comm == "murphyd" (a
// reused pid is not ours) and not a zombie.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "murphy/cli/commands.h"
#include "murphy/server/http_client.h"

namespace murphy::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kMaxNodes = 9;
constexpr auto kPollInterval = std::chrono::milliseconds(50);

struct NodeEntry {
  uint64_t id = 0;
  std::string listen;
  std::string admin;
};

struct ClusterFlags {
  int nodes = 3;
  std::string dir = ".murphy";
  int timeout_seconds = 30;
  int tick_ms = 10;
  int election_ticks = 10;
  bool json = false;
  int grace_seconds = 10;
  uint64_t node = 0;
};

fs::path ConfigPath(const fs::path& dir, uint64_t id) {
  return dir / ("node" + std::to_string(id) + ".toml");
}
fs::path PidPath(const fs::path& dir, uint64_t id) { return dir / ("node" + std::to_string(id) + ".pid"); }
fs::path LogPath(const fs::path& dir, uint64_t id) { return dir / ("node" + std::to_string(id) + ".log"); }

std::string Slurp(const fs::path& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

bool WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream file(path, std::ios::trunc);
  file << text;
  return static_cast<bool>(file);
}

// Our murphyd, alive: the pid's command is murphyd and it is not a zombie.
bool Alive(pid_t pid) {
  if (pid <= 0) return false;
  const std::string stat = Slurp("/proc/" + std::to_string(pid) + "/stat");
  const size_t open = stat.find('(');
  const size_t close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return false;
  if (stat.substr(open + 1, close - open - 1) != "murphyd") return false;
  return stat[close + 2] != 'Z' && stat[close + 2] != 'X';
}

pid_t ReadPid(const fs::path& dir, uint64_t id) {
  const std::string text = Slurp(PidPath(dir, id));
  try {
    return text.empty() ? 0 : static_cast<pid_t>(std::stol(text));
  } catch (const std::exception&) {
    return 0;
  }
}

Result<std::vector<NodeEntry>> ReadCluster(const fs::path& dir) {
  const std::string text = Slurp(dir / "cluster.json");
  if (text.empty())
    return NotFoundError("no cluster in " + dir.string() + " (run: murphy cluster up --dir " + dir.string() +
                         ")");
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.contains("nodes") || !json["nodes"].is_array()) {
    return InvalidArgumentError(dir.string() + "/cluster.json is malformed");
  }
  std::vector<NodeEntry> nodes;
  for (const nlohmann::json& node : json["nodes"]) {
    if (!node.contains("id") || !node["id"].is_number_unsigned() || !node.contains("admin") ||
        !node["admin"].is_string() || !node.contains("listen") || !node["listen"].is_string()) {
      return InvalidArgumentError(dir.string() + "/cluster.json is malformed");
    }
    nodes.push_back(
        {node["id"].get<uint64_t>(), node["listen"].get<std::string>(), node["admin"].get<std::string>()});
  }
  return nodes;
}

// The kernel's ephemeral port range (source ports of outgoing connections).
std::pair<int, int> EphemeralPortRange() {
  std::istringstream range(Slurp("/proc/sys/net/ipv4/ip_local_port_range"));
  int low = 0;
  int high = 0;
  if (!(range >> low >> high) || low < 1 || high > 65535 || low > high) return {32768, 60999};
  return {low, high};
}

// Picks `count` distinct free loopback ports: all bound at once (so they differ),
// then released. Another process may take one before murphyd binds it; murphyd then
// fails to start and `up` reports it. The ports lie BELOW the kernel's ephemeral
// range: a port in that range can be handed out as the source port of any outgoing
// connection while its node is down (a peer reconnecting to it even connects to
// itself), and the node's restart on the same port then fails with "address in use".
// Only if the space below the range is too small (an unusual sysctl) does it fall back
// to ports the kernel picks.
Result<std::vector<uint16_t>> PickPorts(int count) {
  std::vector<int> sockets;
  std::vector<uint16_t> ports;
  const auto close_all = [&] {
    for (const int open : sockets) ::close(open);
  };
  const auto try_bind = [&](uint16_t port) -> bool {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    socklen_t length = sizeof(address);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(fd);
      return false;
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
    return true;
  };
  constexpr int kLowest = 10000;
  const int below = EphemeralPortRange().first;
  if (below - kLowest >= 1000) {
    // A pseudo-random start (pid and time), then consecutive candidates.
    const uint64_t mix = static_cast<uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ULL ^
                         static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    const int span = below - kLowest;
    const int start = static_cast<int>(mix % static_cast<uint64_t>(span));
    for (int step = 0; step < span && static_cast<int>(ports.size()) < count; ++step) {
      try_bind(static_cast<uint16_t>(kLowest + (start + step) % span));
    }
  }
  while (static_cast<int>(ports.size()) < count) {
    if (!try_bind(0)) {
      close_all();
      return UnavailableError("cannot pick a free loopback port");
    }
  }
  close_all();
  return ports;
}

fs::path MurphydPath() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path("murphyd") : self.parent_path() / "murphyd";
}

// Starts murphyd for node `id` in the background: own session, output to its log.
Result<pid_t> StartNode(const fs::path& dir, uint64_t id) {
  const fs::path murphyd = MurphydPath();
  if (::access(murphyd.c_str(), X_OK) != 0) return NotFoundError("murphyd not found at " + murphyd.string());
  const std::string config = ConfigPath(dir, id).string();
  const std::string log = LogPath(dir, id).string();
  // A close-on-exec pipe tells the parent when the exec happened (EOF) or failed
  // (the child writes a byte): until then /proc/PID/comm still says "murphy".
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    return UnavailableError("fork failed");
  }
  if (pid == 0) {
    ::close(exec_pipe[0]);
    // Only async-signal-safe calls between fork and exec.
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDONLY);
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd < 0 || log_fd < 0) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const char* argv[] = {"murphyd", "--config", config.c_str(), nullptr};
    ::execv(murphyd.c_str(), const_cast<char* const*>(argv));
    const char failed = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(exec_pipe[1], &failed, 1);
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  char byte = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_pipe[0], &byte, 1);
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (got != 0) {
    ::waitpid(pid, nullptr, 0);
    return UnavailableError("cannot start " + murphyd.string());
  }
  if (!WriteFile(PidPath(dir, id), std::to_string(pid) + "\n")) {
    ::kill(pid, SIGKILL);
    return UnavailableError("cannot write " + PidPath(dir, id).string());
  }
  return pid;
}

// Sends SIGTERM to every live node, waits up to `grace`, then SIGKILL. Returns the
// number of nodes that had to be killed.
int StopNodes(const fs::path& dir, const std::vector<NodeEntry>& nodes, std::chrono::seconds grace,
              int* stopped) {
  std::map<uint64_t, pid_t> running;
  for (const NodeEntry& node : nodes) {
    const pid_t pid = ReadPid(dir, node.id);
    if (Alive(pid)) {
      ::kill(pid, SIGTERM);
      running[node.id] = pid;
    }
  }
  *stopped = static_cast<int>(running.size());
  const auto reap = [&] {
    for (auto it = running.begin(); it != running.end();) {
      ::waitpid(it->second, nullptr, WNOHANG);  // our own children (a failed `up`)
      it = Alive(it->second) ? std::next(it) : running.erase(it);
    }
  };
  const Clock::time_point deadline = Clock::now() + grace;
  for (reap(); !running.empty() && Clock::now() < deadline; reap())
    std::this_thread::sleep_for(kPollInterval / 5);
  const int killed = static_cast<int>(running.size());
  for (const auto& [id, pid] : running) ::kill(pid, SIGKILL);
  const Clock::time_point kill_deadline = Clock::now() + std::chrono::seconds(5);
  for (reap(); !running.empty() && Clock::now() < kill_deadline; reap())
    std::this_thread::sleep_for(kPollInterval / 5);
  for (const NodeEntry& node : nodes) {
    std::error_code ignored;
    if (!Alive(ReadPid(dir, node.id))) fs::remove(PidPath(dir, node.id), ignored);
  }
  return killed;
}

std::string Tail(const fs::path& path, size_t lines) {
  const std::string text = Slurp(path);
  size_t position = text.size();
  for (size_t seen = 0; position > 0 && seen <= lines;) {
    --position;
    if (text[position] == '\n') ++seen;
  }
  return text.substr(position);
}

// Waits until every node answers /readyz 200; false (with what failed) at the
// deadline or when a process exits.
bool WaitReady(const fs::path& dir, const std::vector<NodeEntry>& nodes, std::chrono::seconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::map<uint64_t, std::string> last_reason;
  for (;;) {
    bool all_ready = true;
    for (const NodeEntry& node : nodes) {
      const pid_t pid = ReadPid(dir, node.id);
      ::waitpid(pid, nullptr, WNOHANG);
      if (!Alive(pid)) {
        std::fprintf(stderr, "murphy cluster: node %llu exited; last lines of %s:\n%s",
                     static_cast<unsigned long long>(node.id), LogPath(dir, node.id).c_str(),
                     Tail(LogPath(dir, node.id), 10).c_str());
        return false;
      }
      const Result<server::HostPort> admin = server::ParseHostPort(node.admin);
      Result<server::HttpResponse> response =
          admin.ok() ? server::HttpGet(admin->host, admin->port, "/readyz", Seconds(1)) : admin.status();
      if (response.ok() && response->status == 200) continue;
      all_ready = false;
      last_reason[node.id] = response.ok() ? response->body : std::string(response.status().message());
    }
    if (all_ready) return true;
    if (Clock::now() >= deadline) {
      for (const auto& [id, reason] : last_reason) {
        std::fprintf(stderr, "murphy cluster: node %llu not ready: %s\n", static_cast<unsigned long long>(id),
                     reason.c_str());
      }
      return false;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

int RunUp(const ClusterFlags& flags) {
  if (flags.nodes < 1 || flags.nodes > kMaxNodes) {
    std::fprintf(stderr, "murphy cluster up: --nodes must be in 1..%d\n", kMaxNodes);
    return 2;
  }
  const fs::path dir = fs::absolute(flags.dir);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    std::fprintf(stderr, "murphy cluster up: cannot create %s: %s\n", dir.c_str(), error.message().c_str());
    return 1;
  }
  std::vector<NodeEntry> nodes;
  if (fs::exists(dir / "cluster.json")) {
    Result<std::vector<NodeEntry>> existing = ReadCluster(dir);
    if (!existing.ok()) {
      std::fprintf(stderr, "murphy cluster up: %s\n", existing.status().ToString().c_str());
      return 1;
    }
    nodes = *existing;
    for (const NodeEntry& node : nodes) {
      if (Alive(ReadPid(dir, node.id))) {
        std::fprintf(stderr,
                     "murphy cluster up: a cluster is already running in %s (murphy cluster down --dir %s)\n",
                     dir.c_str(), dir.c_str());
        return 1;
      }
    }
    if (static_cast<int>(nodes.size()) != flags.nodes) {
      std::fprintf(stderr,
                   "murphy cluster up: %s holds a %zu-node cluster, not %d (remove it to start afresh)\n",
                   dir.c_str(), nodes.size(), flags.nodes);
      return 2;
    }
  } else {
    Result<std::vector<uint16_t>> ports = PickPorts(2 * flags.nodes);
    if (!ports.ok()) {
      std::fprintf(stderr, "murphy cluster up: %s\n", ports.status().ToString().c_str());
      return 1;
    }
    std::string peers;
    for (int i = 0; i < flags.nodes; ++i) {
      const NodeEntry node{static_cast<uint64_t>(i + 1), "127.0.0.1:" + std::to_string((*ports)[2 * i]),
                           "127.0.0.1:" + std::to_string((*ports)[2 * i + 1])};
      nodes.push_back(node);
      peers += (i == 0 ? "" : ",") + std::to_string(node.id) + "=" + node.listen;
    }
    // A cluster id per cluster, so nodes of two clusters never talk to each other.
    const uint64_t cluster_id = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
                                (static_cast<uint64_t>(::getpid()) << 32);
    nlohmann::json cluster = {{"cluster_id", cluster_id}, {"nodes", nlohmann::json::array()}};
    for (const NodeEntry& node : nodes) {
      cluster["nodes"].push_back({{"id", node.id}, {"listen", node.listen}, {"admin", node.admin}});
      const std::string config = "# murphyd --config " + ConfigPath(dir, node.id).string() + "\n" +
                                 "id = " + std::to_string(node.id) + "\n" + "listen = \"" + node.listen +
                                 "\"\n" + "admin = \"" + node.admin + "\"\n" + "peers = \"" + peers + "\"\n" +
                                 "data-dir = \"" + (dir / ("node" + std::to_string(node.id))).string() +
                                 "\"\n" + "cluster-id = " + std::to_string(cluster_id) + "\n" +
                                 "tick-ms = " + std::to_string(flags.tick_ms) + "\n" +
                                 "election-ticks = " + std::to_string(flags.election_ticks) + "\n";
      if (!WriteFile(ConfigPath(dir, node.id), config)) {
        std::fprintf(stderr, "murphy cluster up: cannot write %s\n", ConfigPath(dir, node.id).c_str());
        return 1;
      }
    }
    if (!WriteFile(dir / "cluster.json", cluster.dump(2) + "\n")) {
      std::fprintf(stderr, "murphy cluster up: cannot write %s/cluster.json\n", dir.c_str());
      return 1;
    }
  }
  for (const NodeEntry& node : nodes) {
    Result<pid_t> pid = StartNode(dir, node.id);
    if (!pid.ok()) {
      std::fprintf(stderr, "murphy cluster up: %s\n", pid.status().ToString().c_str());
      int stopped = 0;
      StopNodes(dir, nodes, std::chrono::seconds(2), &stopped);
      return 1;
    }
  }
  if (!WaitReady(dir, nodes, std::chrono::seconds(flags.timeout_seconds))) {
    std::fprintf(stderr, "murphy cluster up: the cluster did not become ready within %d s; stopping it\n",
                 flags.timeout_seconds);
    int stopped = 0;
    StopNodes(dir, nodes, std::chrono::seconds(2), &stopped);
    return 1;
  }
  std::printf("cluster of %zu nodes ready in %s\n", nodes.size(), dir.c_str());
  for (const NodeEntry& node : nodes) {
    std::printf("  node %llu  raft %s  admin http://%s  pid %d\n", static_cast<unsigned long long>(node.id),
                node.listen.c_str(), node.admin.c_str(), static_cast<int>(ReadPid(dir, node.id)));
  }
  return 0;
}

int RunStart(const ClusterFlags& flags) {
  const fs::path dir = fs::absolute(flags.dir);
  Result<std::vector<NodeEntry>> nodes = ReadCluster(dir);
  if (!nodes.ok()) {
    std::fprintf(stderr, "murphy cluster start: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  std::vector<NodeEntry> selected;
  for (const NodeEntry& node : *nodes) {
    if (node.id == flags.node) selected.push_back(node);
  }
  if (selected.empty()) {
    std::fprintf(stderr, "murphy cluster start: no node %llu in %s\n",
                 static_cast<unsigned long long>(flags.node), dir.c_str());
    return 2;
  }
  if (Alive(ReadPid(dir, flags.node))) {
    std::fprintf(stderr, "murphy cluster start: node %llu is already running\n",
                 static_cast<unsigned long long>(flags.node));
    return 1;
  }
  Result<pid_t> pid = StartNode(dir, flags.node);
  if (!pid.ok()) {
    std::fprintf(stderr, "murphy cluster start: %s\n", pid.status().ToString().c_str());
    return 1;
  }
  if (!WaitReady(dir, selected, std::chrono::seconds(flags.timeout_seconds))) {
    std::fprintf(stderr, "murphy cluster start: node %llu did not become ready within %d s\n",
                 static_cast<unsigned long long>(flags.node), flags.timeout_seconds);
    return 1;
  }
  std::printf("node %llu ready (pid %d)\n", static_cast<unsigned long long>(flags.node),
              static_cast<int>(*pid));
  return 0;
}

int RunStatus(const ClusterFlags& flags) {
  const fs::path dir = fs::absolute(flags.dir);
  Result<std::vector<NodeEntry>> nodes = ReadCluster(dir);
  if (!nodes.ok()) {
    std::fprintf(stderr, "murphy cluster status: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  nlohmann::json result = {{"nodes", nlohmann::json::array()}};
  for (const NodeEntry& node : *nodes) {
    nlohmann::json entry = {{"id", node.id},           {"admin", node.admin},       {"pid", nullptr},
                            {"role", "down"},          {"term", nullptr},           {"leader", nullptr},
                            {"commit", nullptr},       {"applied", nullptr},        {"ready", false},
                            {"reason", "unreachable"}, {"clock_offset_ms", nullptr}};
    entry["clock_offsets"] = nlohmann::json::array();
    const pid_t pid = ReadPid(dir, node.id);
    if (Alive(pid)) entry["pid"] = pid;
    const Result<server::HostPort> admin = server::ParseHostPort(node.admin);
    if (admin.ok()) {
      const Result<server::HttpResponse> response =
          server::HttpGet(admin->host, admin->port, "/status", Seconds(2));
      if (response.ok() && response->status == 200) {
        const nlohmann::json status = nlohmann::json::parse(response->body, nullptr, false);
        if (status.is_object()) {
          for (const char* key : {"role", "term", "leader", "commit", "applied", "ready", "reason",
                                  "clock_offset_ms", "clock_offsets"}) {
            if (status.contains(key)) entry[key] = status[key];
          }
        }
      } else if (!response.ok()) {
        entry["reason"] = std::string(response.status().message());
      }
    }
    result["nodes"].push_back(entry);
  }
  if (flags.json) {
    std::printf("%s\n", result.dump().c_str());
    return 0;
  }
  const auto show = [](const nlohmann::json& value) {
    if (value.is_null()) return std::string("-");
    if (value.is_string()) return value.get<std::string>();
    return value.dump();
  };
  // CLOCK_OFFSET: this node's wall clock minus the cluster's median clock, measured by
  // clock pings between the nodes (n/a until a node has heard from a peer).
  const auto show_offset = [](const nlohmann::json& value) {
    if (!value.is_number()) return std::string("n/a");
    char text[32];
    std::snprintf(text, sizeof(text), "%+.2fms", value.get<double>());
    return std::string(text);
  };
  std::printf("%-5s %-14s %-6s %-7s %-8s %-8s %-6s %-12s %s\n", "NODE", "ROLE", "TERM", "LEADER", "COMMIT",
              "APPLIED", "READY", "CLOCK_OFFSET", "PID");
  for (const nlohmann::json& entry : result["nodes"]) {
    std::printf("%-5s %-14s %-6s %-7s %-8s %-8s %-6s %-12s %s\n", show(entry["id"]).c_str(),
                show(entry["role"]).c_str(), show(entry["term"]).c_str(), show(entry["leader"]).c_str(),
                show(entry["commit"]).c_str(), show(entry["applied"]).c_str(),
                entry["ready"] == true ? "yes" : "no", show_offset(entry["clock_offset_ms"]).c_str(),
                show(entry["pid"]).c_str());
  }
  return 0;
}

int RunDown(const ClusterFlags& flags) {
  const fs::path dir = fs::absolute(flags.dir);
  Result<std::vector<NodeEntry>> nodes = ReadCluster(dir);
  if (!nodes.ok()) {
    std::fprintf(stderr, "murphy cluster down: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  int stopped = 0;
  const int killed = StopNodes(dir, *nodes, std::chrono::seconds(flags.grace_seconds), &stopped);
  std::printf("stopped %d node(s)%s\n", stopped,
              killed > 0 ? (" (" + std::to_string(killed) + " killed after the grace period)").c_str() : "");
  return 0;
}

}  // namespace

// The leader as the nodes see it: the first node whose /status says "leader".
std::optional<NodeEntry> FindLeader(const std::vector<NodeEntry>& nodes) {
  for (const NodeEntry& node : nodes) {
    const Result<server::HostPort> admin = server::ParseHostPort(node.admin);
    if (!admin.ok()) continue;
    const Result<server::HttpResponse> response = server::HttpGet(admin->host, admin->port, "/status", Seconds(2));
    if (!response.ok() || response->status != 200) continue;
    const nlohmann::json status = nlohmann::json::parse(response->body, nullptr, false);
    if (status.is_object() && status.value("role", "") == "leader") return node;
  }
  return std::nullopt;
}

// POSTs a membership change to the leader, following "not the leader" answers, until
// it is answered or the deadline passes. Returns the final HTTP answer.
Result<server::HttpResponse> PostToLeader(const std::vector<NodeEntry>& nodes, const std::string& path,
                                          const std::string& body, std::chrono::seconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  Status last = UnavailableError("no leader found");
  while (Clock::now() < deadline) {
    const std::optional<NodeEntry> leader = FindLeader(nodes);
    if (leader.has_value()) {
      const Result<server::HostPort> admin = server::ParseHostPort(leader->admin);
      const Duration remaining = Nanoseconds(
          std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()).count());
      Result<server::HttpResponse> response =
          admin.ok() ? server::HttpPost(admin->host, admin->port, path, body, remaining) : admin.status();
      if (response.ok() && response->status != 503) return response;
      last = response.ok() ? UnavailableError(response->body) : response.status();
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  return last;
}

bool WriteClusterJson(const fs::path& dir, uint64_t cluster_id, const std::vector<NodeEntry>& nodes) {
  nlohmann::json cluster = {{"cluster_id", cluster_id}, {"nodes", nlohmann::json::array()}};
  for (const NodeEntry& node : nodes) {
    cluster["nodes"].push_back({{"id", node.id}, {"listen", node.listen}, {"admin", node.admin}});
  }
  return WriteFile(dir / "cluster.json", cluster.dump(2) + "\n");
}

uint64_t ReadClusterId(const fs::path& dir) {
  const nlohmann::json json = nlohmann::json::parse(Slurp(dir / "cluster.json"), nullptr, false);
  return json.is_object() && json.contains("cluster_id") && json["cluster_id"].is_number_unsigned()
             ? json["cluster_id"].get<uint64_t>()
             : 0;
}

// The value of `key = ...` in a node's TOML file as written by `up` (one line).
std::string ConfigValue(const fs::path& dir, uint64_t id, const std::string& key) {
  std::istringstream lines(Slurp(ConfigPath(dir, id)));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(key + " = ", 0) == 0) return line.substr(key.size() + 3);
  }
  return "";
}

int RunAddNode(const ClusterFlags& flags) {
  const fs::path dir = fs::absolute(flags.dir);
  Result<std::vector<NodeEntry>> nodes = ReadCluster(dir);
  if (!nodes.ok()) {
    std::fprintf(stderr, "murphy cluster add-node: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  uint64_t id = 0;
  for (const NodeEntry& node : *nodes) id = std::max(id, node.id);
  ++id;
  if (static_cast<int>(nodes->size()) >= kMaxNodes) {
    std::fprintf(stderr, "murphy cluster add-node: a local cluster has at most %d nodes\n", kMaxNodes);
    return 2;
  }
  Result<std::vector<uint16_t>> ports = PickPorts(2);
  if (!ports.ok()) {
    std::fprintf(stderr, "murphy cluster add-node: %s\n", ports.status().ToString().c_str());
    return 1;
  }
  const NodeEntry added{id, "127.0.0.1:" + std::to_string((*ports)[0]), "127.0.0.1:" + std::to_string((*ports)[1])};
  std::string peers;
  for (const NodeEntry& node : *nodes) peers += std::to_string(node.id) + "=" + node.listen + ",";
  peers += std::to_string(id) + "=" + added.listen;
  const uint64_t first = nodes->front().id;
  const std::string config =
      "# murphyd --config " + ConfigPath(dir, id).string() + " (joined a running cluster)\n" +
      "id = " + std::to_string(id) + "\nlisten = \"" + added.listen + "\"\nadmin = \"" + added.admin +
      "\"\npeers = \"" + peers + "\"\ndata-dir = \"" + (dir / ("node" + std::to_string(id))).string() +
      "\"\ncluster-id = " + ConfigValue(dir, first, "cluster-id") + "\ntick-ms = " +
      ConfigValue(dir, first, "tick-ms") + "\nelection-ticks = " + ConfigValue(dir, first, "election-ticks") +
      "\njoin = true\n";
  if (!WriteFile(ConfigPath(dir, id), config)) {
    std::fprintf(stderr, "murphy cluster add-node: cannot write %s\n", ConfigPath(dir, id).c_str());
    return 1;
  }
  Result<pid_t> pid = StartNode(dir, id);
  if (!pid.ok()) {
    std::fprintf(stderr, "murphy cluster add-node: %s\n", pid.status().ToString().c_str());
    return 1;
  }
  const nlohmann::json request = {{"id", id}, {"address", added.listen}};
  Result<server::HttpResponse> answer =
      PostToLeader(*nodes, "/admin/members/add", request.dump(), std::chrono::seconds(flags.timeout_seconds));
  if (!answer.ok() || answer->status != 200) {
    std::fprintf(stderr, "murphy cluster add-node: the leader did not add node %llu: %s\n",
                 static_cast<unsigned long long>(id),
                 answer.ok() ? answer->body.c_str() : answer.status().ToString().c_str());
    int stopped = 0;
    StopNodes(dir, {added}, std::chrono::seconds(2), &stopped);
    return answer.ok() && answer->status == 504 ? 3 : 1;
  }
  std::vector<NodeEntry> all = *nodes;
  all.push_back(added);
  if (!WriteClusterJson(dir, ReadClusterId(dir), all)) {
    std::fprintf(stderr, "murphy cluster add-node: cannot update %s/cluster.json\n", dir.c_str());
    return 1;
  }
  if (!WaitReady(dir, {added}, std::chrono::seconds(flags.timeout_seconds))) {
    std::fprintf(stderr, "murphy cluster add-node: node %llu was added but is not ready\n",
                 static_cast<unsigned long long>(id));
    return 1;
  }
  std::printf("node %llu added (raft %s, admin http://%s, pid %d); the cluster has %zu voters\n",
              static_cast<unsigned long long>(id), added.listen.c_str(), added.admin.c_str(),
              static_cast<int>(*pid), all.size());
  return 0;
}

int RunRemoveNode(const ClusterFlags& flags) {
  const fs::path dir = fs::absolute(flags.dir);
  Result<std::vector<NodeEntry>> nodes = ReadCluster(dir);
  if (!nodes.ok()) {
    std::fprintf(stderr, "murphy cluster remove-node: %s\n", nodes.status().ToString().c_str());
    return 1;
  }
  std::vector<NodeEntry> kept;
  std::vector<NodeEntry> removed;
  for (const NodeEntry& node : *nodes) (node.id == flags.node ? removed : kept).push_back(node);
  if (removed.empty()) {
    std::fprintf(stderr, "murphy cluster remove-node: no node %llu in %s\n",
                 static_cast<unsigned long long>(flags.node), dir.c_str());
    return 2;
  }
  const nlohmann::json request = {{"id", flags.node}};
  Result<server::HttpResponse> answer =
      PostToLeader(*nodes, "/admin/members/remove", request.dump(), std::chrono::seconds(flags.timeout_seconds));
  if (!answer.ok() || answer->status != 200) {
    std::fprintf(stderr, "murphy cluster remove-node: the leader did not remove node %llu: %s\n",
                 static_cast<unsigned long long>(flags.node),
                 answer.ok() ? answer->body.c_str() : answer.status().ToString().c_str());
    return answer.ok() && answer->status == 504 ? 3 : 1;
  }
  int stopped = 0;
  StopNodes(dir, removed, std::chrono::seconds(flags.grace_seconds), &stopped);
  if (!WriteClusterJson(dir, ReadClusterId(dir), kept)) {
    std::fprintf(stderr, "murphy cluster remove-node: cannot update %s/cluster.json\n", dir.c_str());
    return 1;
  }
  std::printf("node %llu removed and stopped (its data stays in %s); the cluster has %zu voters\n",
              static_cast<unsigned long long>(flags.node), (dir / ("node" + std::to_string(flags.node))).c_str(),
              kept.size());
  return 0;
}

void AddClusterCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<ClusterFlags>();
  CLI::App* cluster = app.add_subcommand("cluster", "Run a local cluster of murphyd processes on loopback");
  cluster->require_subcommand(1);

  CLI::App* up = cluster->add_subcommand("up", "Start a cluster and wait until every node is ready");
  up->add_option("--nodes", flags->nodes, "Number of nodes (1..9)");
  up->add_option("--dir", flags->dir, "Cluster directory (configs, data, logs, pid files)");
  up->add_option("--timeout-s", flags->timeout_seconds, "Seconds to wait for readiness");
  up->add_option("--tick-ms", flags->tick_ms, "Raft tick interval of each node");
  up->add_option("--election-ticks", flags->election_ticks, "Election timeout in ticks");
  up->callback([flags, exit_code] { *exit_code = RunUp(*flags); });

  CLI::App* start =
      cluster->add_subcommand("start", "Start one stopped node of the cluster again (same data)");
  start->add_option("--dir", flags->dir, "Cluster directory");
  start->add_option("--node", flags->node, "Node id")->required();
  start->add_option("--timeout-s", flags->timeout_seconds, "Seconds to wait for readiness");
  start->callback([flags, exit_code] { *exit_code = RunStart(*flags); });

  CLI::App* status = cluster->add_subcommand("status", "Show each node's role, term, commit and readiness");
  status->add_option("--dir", flags->dir, "Cluster directory");
  status->add_flag("--json", flags->json, "Print JSON: {\"nodes\":[...]}");
  status->callback([flags, exit_code] { *exit_code = RunStatus(*flags); });

  CLI::App* down =
      cluster->add_subcommand("down", "Stop every node: SIGTERM, then SIGKILL after the grace period");
  down->add_option("--dir", flags->dir, "Cluster directory");
  down->add_option("--grace-s", flags->grace_seconds, "Seconds to wait after SIGTERM");
  down->callback([flags, exit_code] { *exit_code = RunDown(*flags); });

  CLI::App* add_node = cluster->add_subcommand(
      "add-node", "Start one more node and add it to the running cluster (learner, caught up, then voter)");
  add_node->add_option("--dir", flags->dir, "Cluster directory");
  add_node->add_option("--timeout-s", flags->timeout_seconds, "Seconds to wait for the change and readiness");
  add_node->callback([flags, exit_code] { *exit_code = RunAddNode(*flags); });

  CLI::App* remove_node =
      cluster->add_subcommand("remove-node", "Remove a node from the cluster's membership, then stop it");
  remove_node->add_option("--dir", flags->dir, "Cluster directory");
  remove_node->add_option("--node", flags->node, "Node id")->required();
  remove_node->add_option("--timeout-s", flags->timeout_seconds, "Seconds to wait for the change");
  remove_node->add_option("--grace-s", flags->grace_seconds, "Seconds to wait after SIGTERM");
  remove_node->callback([flags, exit_code] { *exit_code = RunRemoveNode(*flags); });
}

}  // namespace murphy::cli
