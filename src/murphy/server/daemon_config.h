// murphy/server/daemon_config.h — murphyd's configuration, validated.
//
// Contract: DaemonConfig holds what the flags (or the --config file, same keys) say;
// ValidateDaemonConfig turns it into the options of PosixEnv and NodeShell or says
// exactly what is wrong (INVALID_ARGUMENT, one message naming the flag). The
// initial members are bootstrapped statically: the ids in --peers plus --id, the
// same list on every node. Pure; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/server/http_client.h"

namespace murphy::server {

struct DaemonConfig {
  uint64_t id = 0;
  std::string listen;  // HOST:PORT for raft and clients
  std::string admin;   // HOST:PORT for HTTP; empty: no admin server
  std::string peers;   // "1=127.0.0.1:7001,2=127.0.0.1:7002"
  std::string data_directory;
  uint64_t cluster_id = 1;
  int64_t tick_ms = 10;
  int election_ticks = 10;
  std::string trace;  // file for JSON-lines trace; empty: off
  // Readiness bound on this node's wall-clock offset to a majority of the cluster
  // (server/node_admin.h); measured by clock pings between peers.
  int64_t max_clock_offset_ms = 500;
};

struct ValidatedDaemonConfig {
  uint64_t id = 0;
  HostPort listen;
  bool has_admin = false;
  HostPort admin;
  std::map<uint64_t, HostPort> peers;  // every member, self included
  std::vector<uint64_t> members;       // sorted
};

// "1=127.0.0.1:7001,2=127.0.0.1:7002" → id → address. At most 64 entries.
Result<std::map<uint64_t, HostPort>> ParsePeers(std::string_view text);
Result<ValidatedDaemonConfig> ValidateDaemonConfig(const DaemonConfig& config);

}  // namespace murphy::server
