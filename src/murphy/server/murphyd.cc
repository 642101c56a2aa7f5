// murphyd — one murphy node as a process: Raft + WAL + the replicated lock service
// (leases, locks with fencing tokens, the fenced store: locksvc/lock_node.h) over
// PosixEnv, plus the admin HTTP server, on one single-threaded asio loop. Clients speak
// the binary client protocol (protocol/client_message.h) on the --listen port, or
// HTTP/JSON (docs/http-api.md: /v1/... on the --admin port, served by
// server/client_gateway.h, which forwards to the leader). Peers also exchange clock
// pings (clocksync/clock_prober.h), which feed /readyz and /metrics.
//
// Exit codes: 0 after SIGTERM/SIGINT (loop stopped, node and WAL closed); 1 when the
// node stops on a fatal disk error or cannot start (address in use, data directory
// not writable); 2 for a bad configuration. Logs go to stderr, one line per event,
// key=value (logfmt).
#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "murphy/clocksync/clock_prober.h"
#include "murphy/locksvc/lock_node.h"
#include "murphy/node/node_shell.h"
#include "murphy/posix/posix_env.h"
#include "murphy/server/admin_server.h"
#include "murphy/server/client_gateway.h"
#include "murphy/server/daemon_config.h"
#include "murphy/server/node_admin.h"

namespace murphy::server {
namespace {

// logfmt: values with spaces, quotes or '=' are quoted.
void Log(std::string_view level, std::string_view event,
         std::initializer_list<std::pair<std::string_view, std::string>> fields = {}) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[96];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
  std::string line =
      "ts=" + std::string(stamp) + " level=" + std::string(level) + " event=" + std::string(event);
  for (const auto& [key, value] : fields) {
    line += ' ';
    line += key;
    line += '=';
    if (value.empty() || value.find_first_of(" \"=") != std::string::npos) {
      line += '"';
      for (const char c : value) {
        if (c == '"' || c == '\\') line += '\\';
        line += c;
      }
      line += '"';
    } else {
      line += value;
    }
  }
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

int Run(const DaemonConfig& config) {
  Result<ValidatedDaemonConfig> validated = ValidateDaemonConfig(config);
  if (!validated.ok()) {
    std::fprintf(stderr, "murphyd: %s\n", std::string(validated.status().message()).c_str());
    return 2;
  }
  std::FILE* trace = nullptr;
  if (!config.trace.empty()) {
    trace = std::fopen(config.trace.c_str(), "a");
    if (trace == nullptr) {
      std::fprintf(stderr, "murphyd: --trace: cannot open '%s'\n", config.trace.c_str());
      return 2;
    }
  }
  posix::PosixEnvOptions env_options;
  env_options.self = NodeId(static_cast<uint32_t>(validated->id));
  env_options.cluster_id = config.cluster_id;
  env_options.seed = validated->id * 0x9e3779b97f4a7c15ULL ^
                     static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  env_options.listen = posix::PeerAddress{validated->listen.host, validated->listen.port};
  for (const auto& [id, address] : validated->peers) {
    env_options.peers[NodeId(static_cast<uint32_t>(id))] = posix::PeerAddress{address.host, address.port};
  }
  env_options.data_directory = config.data_directory;
  env_options.trace = trace;
  env_options.on_suspension = [](Duration suspended) {
    Log("warn", "suspended", {{"duration_ms", std::to_string(ToMilliseconds(suspended))}});
  };
  Result<std::unique_ptr<posix::PosixEnv>> created = posix::PosixEnv::Create(std::move(env_options));
  if (!created.ok()) {
    Log("error", "start_failed", {{"error", created.status().ToString()}});
    if (trace != nullptr) std::fclose(trace);
    return 1;
  }
  std::unique_ptr<posix::PosixEnv> env = std::move(*created);
  // Clock pings to every other member; the node gets every other message (readiness:
  // clock offset within --max-clock-offset-ms of a majority).
  clocksync::ClockProberOptions clock_options;
  for (const uint64_t id : validated->members)
    clock_options.peers.push_back(NodeId(static_cast<uint32_t>(id)));
  clock_options.monitor.max_offset = Milliseconds(config.max_clock_offset_ms);
  auto clock_env = std::make_unique<clocksync::ClockProbeEnv>(env.get(), std::move(clock_options));

  locksvc::LockNodeOptions lock_options;
  node::NodeOptions& node_options = lock_options.node;
  for (const uint64_t id : validated->members)
    node_options.members.push_back(NodeId(static_cast<uint32_t>(id)));
  node_options.tick_interval = Milliseconds(config.tick_ms);
  node_options.election_ticks = config.election_ticks;
  // The HTTP API's channel shares the node's Env: responses and pushes go to it.
  auto gateway_env = std::make_unique<GatewayEnv>(clock_env.get());
  auto lock_node = std::make_unique<locksvc::LockNode>(*gateway_env, std::move(lock_options));
  node::NodeShell* node = &lock_node->shell();
  Log("info", "started",
      {{"id", std::to_string(validated->id)},
       {"listen", validated->listen.host + ":" + std::to_string(env->listen_port())},
       {"members", std::to_string(validated->members.size())},
       {"data_dir", config.data_directory},
       {"applied", std::to_string(node->applied_index().value())}});

  const auto started = std::chrono::steady_clock::now();
  uint64_t leader_changes = 0;
  std::unique_ptr<AdminServer> admin;
  std::unique_ptr<HttpApiGateway> api;
  auto view = [&] {
    NodeAdminView result = ViewNode(*node, config.election_ticks);
    result.leader_changes = leader_changes;
    result.env = env->metrics();
    if (admin) result.admin = admin->metrics();
    result.service = lock_node->metrics();
    result.leases = lock_node->state_machine().machine().lease_count();
    result.active_locks = lock_node->state_machine().machine().active_lock_count();
    result.resources = lock_node->state_machine().store().resource_count();
    if (api) result.api = api->metrics();
    result.clock = clock_env->prober().Report();
    result.clock_probes = clock_env->prober().metrics();
    result.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  };
  if (validated->has_admin) {
    AdminServerOptions admin_options;
    admin_options.host = validated->admin.host;
    admin_options.port = validated->admin.port;
    EnableApiOn(&admin_options);
    HttpApiGatewayOptions api_options;
    for (const uint64_t id : validated->members) api_options.nodes.push_back(NodeId(static_cast<uint32_t>(id)));
    api = std::make_unique<HttpApiGateway>(*gateway_env, std::move(api_options));
    Result<std::unique_ptr<AdminServer>> server = AdminServer::Create(
        env->loop(), admin_options,
        CombineApiAndAdmin(api.get(), [&](const HttpRequest& request) { return RouteAdminRequest(request, view()); }));
    if (!server.ok()) {
      Log("error", "start_failed", {{"error", server.status().ToString()}});
      api.reset();
      lock_node.reset();
      gateway_env.reset();
      clock_env.reset();
      env.reset();
      if (trace != nullptr) std::fclose(trace);
      return 1;
    }
    admin = std::move(*server);
    Log("info", "admin_listening",
        {{"address", validated->admin.host + ":" + std::to_string(admin->port())}});
  }

  int exit_code = 0;
  // Destroyed before the env, which owns the io_context the signal set uses.
  auto signals = std::make_unique<asio::signal_set>(env->loop(), SIGINT, SIGTERM);
  signals->async_wait([&](const asio::error_code& error, int signal_number) {
    if (error) return;
    Log("info", "signal", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
    env->Stop();
  });

  // Watches the node once per tick: leadership changes to the log and the metrics,
  // a fatal stop ends the process (crash-stop: recovery is a restart).
  NodeId last_leader;
  bool last_ready = false;
  std::function<void()> watch = [&] {
    if (node->stopped()) {
      Log("error", "node_stopped", {{"reason", node->stop_reason().ToString()}});
      exit_code = 1;
      env->Stop();
      return;
    }
    const NodeId leader = node->leader();
    if (leader != last_leader) {
      if (leader != NodeId()) ++leader_changes;
      Log("info", "leader_changed",
          {{"leader", std::to_string(leader.value())}, {"term", std::to_string(node->term().value())}});
      last_leader = leader;
    }
    const Readiness readiness = CheckReadiness(view());
    if (readiness.ready != last_ready) {
      Log("info", readiness.ready ? "ready" : "not_ready", {{"reason", readiness.reason}});
      last_ready = readiness.ready;
    }
    env->SetTimer(Milliseconds(config.tick_ms), watch);
  };
  env->SetTimer(Milliseconds(config.tick_ms), watch);

  env->Run();

  Log("info", "stopping", {{"applied", std::to_string(node->applied_index().value())}});
  signals.reset();
  admin.reset();
  api.reset();
  lock_node.reset();  // closes the WAL
  gateway_env.reset();
  clock_env.reset();
  env.reset();   // flushes the trace
  if (trace != nullptr) std::fclose(trace);
  Log("info", "stopped", {{"exit_code", std::to_string(exit_code)}});
  return exit_code;
}

}  // namespace
}  // namespace murphy::server

int main(int argc, char** argv) {
  CLI::App app{"murphyd: one node of a murphy cluster"};
  murphy::server::DaemonConfig config;
  app.set_config("--config", "", "Read flags from a TOML file (keys are the long flag names)");
  // An unknown key in the file is a mistake to report, not to ignore.
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.add_option("--id", config.id, "This node's id (1..2^32-1)")->required();
  app.add_option("--listen", config.listen, "HOST:PORT for Raft peers and clients")->required();
  app.add_option("--admin", config.admin, "HOST:PORT for the admin HTTP server (omit: none)");
  app.add_option("--peers", config.peers, "Initial members: ID=HOST:PORT,... (self may be listed)");
  app.add_option("--data-dir", config.data_directory, "Directory of the WAL and snapshots")->required();
  app.add_option("--cluster-id", config.cluster_id, "Cluster id; peers of another cluster are rejected");
  app.add_option("--tick-ms", config.tick_ms, "Raft tick interval in milliseconds");
  app.add_option("--election-ticks", config.election_ticks, "Election timeout in ticks");
  app.add_option("--max-clock-offset-ms", config.max_clock_offset_ms,
                 "Not ready while this node's wall clock is further than this from a majority");
  app.add_option("--trace", config.trace, "Append a JSON-lines trace (simulator schema) to FILE");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 reports usage errors by exception; they end here as exit code 2.
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return murphy::server::Run(config);
}
