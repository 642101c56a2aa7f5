#include "murphy/server/daemon_config.h"

#include <charconv>

namespace murphy::server {
namespace {
constexpr size_t kMaxMembers = 64;
}  // namespace

Result<std::map<uint64_t, HostPort>> ParsePeers(std::string_view text) {
  std::map<uint64_t, HostPort> peers;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    const size_t equals = item.find('=');
    if (equals == std::string_view::npos) {
      return InvalidArgumentError("--peers: '" + std::string(item) + "' is not ID=HOST:PORT");
    }
    const std::string_view id_text = item.substr(0, equals);
    uint64_t id = 0;
    const auto [end, error] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (id_text.empty() || error != std::errc() || end != id_text.data() + id_text.size() || id == 0 ||
        id > UINT32_MAX) {
      return InvalidArgumentError("--peers: '" + std::string(id_text) + "' is not a node id in 1..2^32-1");
    }
    Result<HostPort> address = ParseHostPort(item.substr(equals + 1));
    if (!address.ok()) return InvalidArgumentError("--peers: " + std::string(address.status().message()));
    if (!peers.emplace(id, *address).second) {
      return InvalidArgumentError("--peers: node " + std::to_string(id) + " listed twice");
    }
    if (peers.size() > kMaxMembers) return InvalidArgumentError("--peers: more than 64 nodes");
  }
  return peers;
}

Result<ValidatedDaemonConfig> ValidateDaemonConfig(const DaemonConfig& config) {
  ValidatedDaemonConfig result;
  if (config.id == 0 || config.id > UINT32_MAX) return InvalidArgumentError("--id must be in 1..2^32-1");
  result.id = config.id;
  Result<HostPort> listen = ParseHostPort(config.listen, /*allow_zero_port=*/true);
  if (!listen.ok()) return InvalidArgumentError("--listen: " + std::string(listen.status().message()));
  result.listen = *listen;
  if (!config.admin.empty()) {
    Result<HostPort> admin = ParseHostPort(config.admin, /*allow_zero_port=*/true);
    if (!admin.ok()) return InvalidArgumentError("--admin: " + std::string(admin.status().message()));
    result.has_admin = true;
    result.admin = *admin;
  }
  Result<std::map<uint64_t, HostPort>> peers = ParsePeers(config.peers);
  if (!peers.ok()) return peers.status();
  result.peers = *peers;
  result.peers.emplace(config.id, result.listen);  // a single-node cluster needs no --peers
  for (const auto& [id, address] : result.peers) result.members.push_back(id);
  if (config.data_directory.empty()) return InvalidArgumentError("--data-dir is required");
  if (config.tick_ms < 1 || config.tick_ms > 10'000)
    return InvalidArgumentError("--tick-ms must be in 1..10000");
  if (config.election_ticks < 3 || config.election_ticks > 1000) {
    return InvalidArgumentError("--election-ticks must be in 3..1000");
  }
  if (config.max_clock_offset_ms < 1 || config.max_clock_offset_ms > 3'600'000) {
    return InvalidArgumentError("--max-clock-offset-ms must be in 1..3600000");
  }
  return result;
}

}  // namespace murphy::server
