#include "murphy/node/client_protocol.h"

#include "murphy/protocol/frame.h"

namespace murphy::node {
namespace {

constexpr uint8_t kEncodingVersion = 1;

}  // namespace

Bytes EncodeRequestFrame(const ClientRequest& request) {
  ByteWriter writer;
  writer.PutU8(kEncodingVersion);
  writer.PutVarint(request.client_id);
  writer.PutVarint(request.sequence);
  writer.PutU8(static_cast<uint8_t>(request.kind));
  writer.PutString(request.payload);
  const Bytes body = writer.Take();
  return EncodeFrame(kClientRequestFrame, body);
}

Bytes EncodeResponseFrame(const ClientResponse& response) {
  ByteWriter writer;
  writer.PutU8(kEncodingVersion);
  writer.PutVarint(response.client_id);
  writer.PutVarint(response.sequence);
  writer.PutU8(static_cast<uint8_t>(response.status));
  writer.PutU32(response.leader_hint.value());
  writer.PutString(response.payload);
  const Bytes body = writer.Take();
  return EncodeFrame(kClientResponseFrame, body);
}

Result<ClientRequest> DecodeRequest(std::span<const uint8_t> body) {
  ByteReader reader(body);
  ClientRequest request;
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!reader.GetU8(&version) || version != kEncodingVersion)
    return InvalidArgumentError("request: bad version");
  if (!reader.GetVarint(&request.client_id) || !reader.GetVarint(&request.sequence) || !reader.GetU8(&kind) ||
      !reader.GetString(kMaxClientPayloadBytes, &request.payload) || !reader.at_end()) {
    return InvalidArgumentError("request: malformed");
  }
  if (kind != static_cast<uint8_t>(RequestKind::kCommand) &&
      kind != static_cast<uint8_t>(RequestKind::kQuery)) {
    return InvalidArgumentError("request: unknown kind");
  }
  request.kind = static_cast<RequestKind>(kind);
  return request;
}

Result<ClientResponse> DecodeResponse(std::span<const uint8_t> body) {
  ByteReader reader(body);
  ClientResponse response;
  uint8_t version = 0;
  uint8_t status = 0;
  uint32_t hint = 0;
  if (!reader.GetU8(&version) || version != kEncodingVersion)
    return InvalidArgumentError("response: bad version");
  if (!reader.GetVarint(&response.client_id) || !reader.GetVarint(&response.sequence) ||
      !reader.GetU8(&status) || !reader.GetU32(&hint) ||
      !reader.GetString(kMaxClientPayloadBytes, &response.payload) || !reader.at_end()) {
    return InvalidArgumentError("response: malformed");
  }
  if (status < static_cast<uint8_t>(ResponseStatus::kOk) ||
      status > static_cast<uint8_t>(ResponseStatus::kUnavailable)) {
    return InvalidArgumentError("response: unknown status");
  }
  response.status = static_cast<ResponseStatus>(status);
  response.leader_hint = NodeId(hint);
  return response;
}

std::string EncodeCommand(const ClientCommand& command) {
  ByteWriter writer;
  writer.PutU8(kEncodingVersion);
  writer.PutVarint(command.client_id);
  writer.PutVarint(command.sequence);
  writer.PutString(command.payload);
  const Bytes bytes = writer.Take();
  return std::string(bytes.begin(), bytes.end());
}

Result<ClientCommand> DecodeCommand(std::string_view data) {
  ByteReader reader(AsBytes(data));
  ClientCommand command;
  uint8_t version = 0;
  if (!reader.GetU8(&version) || version != kEncodingVersion)
    return InvalidArgumentError("command: bad version");
  if (!reader.GetVarint(&command.client_id) || !reader.GetVarint(&command.sequence) ||
      !reader.GetString(kMaxClientPayloadBytes, &command.payload) || !reader.at_end()) {
    return InvalidArgumentError("command: malformed");
  }
  return command;
}

}  // namespace murphy::node
