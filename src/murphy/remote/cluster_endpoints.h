// murphy/remote/cluster_endpoints.h — where a murphy cluster is: its cluster id and,
// per node, the client address (murphyd --listen) and the admin HTTP address.
//
// Contract: two sources, both validated (INVALID_ARGUMENT with one message that names
// the problem; NOT_FOUND when a cluster directory holds no cluster):
//   - a directory written by `murphy cluster up` (DIR/cluster.json:
//     {"cluster_id":N,"nodes":[{"id":1,"listen":"H:P","admin":"H:P"},...]});
//   - an endpoint list "1=127.0.0.1:7001,2=127.0.0.1:7002" (murphyd's --peers syntax)
//     with the cluster id given separately (murphyd --cluster-id; the handshake
//     rejects a client of another cluster). Admin addresses are then unknown (empty).
// At least one node, at most 64, distinct ids and addresses. Host names pass here;
// RemoteClient::Connect then refuses them (PosixEnv takes numeric addresses only).
// Thread safety: pure functions (ReadClusterDirectory reads one file).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/posix/posix_env.h"

namespace murphy::remote {

struct NodeEndpoint {
  NodeId id;
  posix::PeerAddress client;  // the binary client protocol (murphyd --listen)
  std::string admin;          // HOST:PORT of the admin HTTP server; empty: unknown
};

struct ClusterEndpoints {
  uint64_t cluster_id = 0;
  std::vector<NodeEndpoint> nodes;  // sorted by id
};

Result<ClusterEndpoints> ParseClusterJson(std::string_view text);
Result<ClusterEndpoints> ReadClusterDirectory(const std::string& directory);
Result<ClusterEndpoints> ParseEndpointList(std::string_view list, uint64_t cluster_id);

}  // namespace murphy::remote
