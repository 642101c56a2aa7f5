// murphy/node/client_protocol.h — the frames between clients and a node shell, and
// the log-entry form of a client command.
//
// Contract: every datagram a node shell sends or receives is one protocol/ frame
// (checksummed, so the simulator's corruption faults are caught and dropped); the
// frame type says what is inside:
//   kRaftFrame            an encoded raft::Message (raft/message_codec.h);
//   kClientRequestFrame   a ClientRequest;
//   kClientResponseFrame  a ClientResponse.
// A request names its client and the client's sequence number for the operation
// (one operation may be sent many times: retries keep the number); a command is
// proposed to the log as a ClientCommand carrying both, so the state machine can
// apply a retried command once (ARCHITECTURE.md "Idempotency"). The payload is the
// state machine's business (kv_state_machine.h defines the KV one).
// Response statuses and what they tell the client about the operation's fate:
//   kOk           applied (commands) or read (queries); payload = the result;
//   kNotLeader    not proposed here: this node is not the leader; `leader_hint` is
//                 the leader it knows (NodeId 0: none) — definitely not applied;
//   kUnavailable  not proposed here: the leader cannot take it now (too many
//                 pending requests, no entry of its term committed yet) — retry;
//                 definitely not applied by this attempt.
// Decoders never crash and never allocate beyond kMaxClientPayloadBytes: any input
// yields a value or InvalidArgument. Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy::node {

inline constexpr uint8_t kRaftFrame = 1;
inline constexpr uint8_t kClientRequestFrame = 2;
inline constexpr uint8_t kClientResponseFrame = 3;

inline constexpr size_t kMaxClientPayloadBytes = 64 << 10;

enum class RequestKind : uint8_t { kCommand = 1, kQuery = 2 };
enum class ResponseStatus : uint8_t { kOk = 1, kNotLeader = 2, kUnavailable = 3 };

struct ClientRequest {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  RequestKind kind = RequestKind::kCommand;
  std::string payload;
  friend bool operator==(const ClientRequest&, const ClientRequest&) = default;
};

struct ClientResponse {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  ResponseStatus status = ResponseStatus::kOk;
  NodeId leader_hint;
  std::string payload;
  friend bool operator==(const ClientResponse&, const ClientResponse&) = default;
};

// A command as it is stored in the log.
struct ClientCommand {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
  std::string payload;
  friend bool operator==(const ClientCommand&, const ClientCommand&) = default;
};

// Whole frames (EncodeFrame around the encoded body).
Bytes EncodeRequestFrame(const ClientRequest& request);
Bytes EncodeResponseFrame(const ClientResponse& response);
// Bodies (the payload of a frame of the matching type).
Result<ClientRequest> DecodeRequest(std::span<const uint8_t> body);
Result<ClientResponse> DecodeResponse(std::span<const uint8_t> body);

std::string EncodeCommand(const ClientCommand& command);
Result<ClientCommand> DecodeCommand(std::string_view data);

}  // namespace murphy::node
