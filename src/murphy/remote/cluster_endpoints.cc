#include "murphy/remote/cluster_endpoints.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "murphy/server/daemon_config.h"
#include "murphy/server/http_client.h"

namespace murphy::remote {
namespace {

constexpr size_t kMaxNodes = 64;

Status Validate(ClusterEndpoints& cluster) {
  if (cluster.nodes.empty()) return InvalidArgumentError("a cluster needs at least one node");
  if (cluster.nodes.size() > kMaxNodes) return InvalidArgumentError("more than 64 nodes");
  std::sort(cluster.nodes.begin(), cluster.nodes.end(),
            [](const NodeEndpoint& a, const NodeEndpoint& b) { return a.id < b.id; });
  std::set<std::string> addresses;
  for (size_t i = 0; i < cluster.nodes.size(); ++i) {
    const NodeEndpoint& node = cluster.nodes[i];
    if (node.id == NodeId()) return InvalidArgumentError("node id 0 is not allowed");
    if (i > 0 && cluster.nodes[i - 1].id == node.id)
      return InvalidArgumentError("node " + std::to_string(node.id.value()) + " is listed twice");
    const std::string address = node.client.host + ":" + std::to_string(node.client.port);
    if (!addresses.insert(address).second)
      return InvalidArgumentError("address " + address + " is listed twice");
  }
  return Status::Ok();
}

}  // namespace

Result<ClusterEndpoints> ParseClusterJson(std::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return InvalidArgumentError("cluster.json is not JSON");
  if (!json.contains("cluster_id") || !json["cluster_id"].is_number_unsigned())
    return InvalidArgumentError("cluster.json: cluster_id missing or not a number");
  if (!json.contains("nodes") || !json["nodes"].is_array())
    return InvalidArgumentError("cluster.json: nodes missing or not an array");
  ClusterEndpoints cluster;
  cluster.cluster_id = json["cluster_id"].get<uint64_t>();
  for (const nlohmann::json& node : json["nodes"]) {
    if (!node.is_object() || !node.contains("id") || !node["id"].is_number_unsigned() ||
        !node.contains("listen") || !node["listen"].is_string())
      return InvalidArgumentError("cluster.json: every node needs a numeric id and a listen address");
    const uint64_t id = node["id"].get<uint64_t>();
    if (id == 0 || id > UINT32_MAX) return InvalidArgumentError("cluster.json: node id out of range");
    Result<server::HostPort> listen = server::ParseHostPort(node["listen"].get<std::string>());
    if (!listen.ok()) return InvalidArgumentError("cluster.json: node " + std::to_string(id) + ": " +
                                                  std::string(listen.status().message()));
    NodeEndpoint endpoint{NodeId(static_cast<uint32_t>(id)), {listen->host, listen->port}, ""};
    if (node.contains("admin") && node["admin"].is_string()) endpoint.admin = node["admin"].get<std::string>();
    cluster.nodes.push_back(std::move(endpoint));
  }
  if (Status status = Validate(cluster); !status.ok()) return status;
  return cluster;
}

Result<ClusterEndpoints> ReadClusterDirectory(const std::string& directory) {
  const std::string path = directory + "/cluster.json";
  std::ifstream file(path);
  if (!file) {
    return NotFoundError("no cluster in " + directory + " (start one: murphy cluster up --dir " + directory +
                         ")");
  }
  std::stringstream text;
  text << file.rdbuf();
  Result<ClusterEndpoints> cluster = ParseClusterJson(text.str());
  if (!cluster.ok()) return InvalidArgumentError(path + ": " + std::string(cluster.status().message()));
  return cluster;
}

Result<ClusterEndpoints> ParseEndpointList(std::string_view list, uint64_t cluster_id) {
  Result<std::map<uint64_t, server::HostPort>> peers = server::ParsePeers(list);
  if (!peers.ok()) {
    std::string message(peers.status().message());
    if (message.starts_with("--peers: ")) message.erase(0, 9);
    return InvalidArgumentError("--endpoints: " + message);
  }
  ClusterEndpoints cluster;
  cluster.cluster_id = cluster_id;
  for (const auto& [id, address] : *peers) {
    if (id > UINT32_MAX) return InvalidArgumentError("--endpoints: node id out of range");
    cluster.nodes.push_back({NodeId(static_cast<uint32_t>(id)), {address.host, address.port}, ""});
  }
  if (Status status = Validate(cluster); !status.ok())
    return InvalidArgumentError("--endpoints: " + std::string(status.message()));
  return cluster;
}

}  // namespace murphy::remote
