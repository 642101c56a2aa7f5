// libFuzzer target: any byte string through the client-message decoders, as a whole
// datagram (frame + message) and as a bare payload of each message type. Properties
// checked: no crash, no over-read (ASan), and every accepted message re-encodes to
// bytes that decode to the same message.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/protocol/client_message.h"

namespace {

template <typename Message, typename Decode, typename Encode>
void CheckStable(std::span<const uint8_t> payload, Decode decode, Encode encode) {
  murphy::Result<Message> message = decode(payload);
  if (!message.ok()) return;
  const murphy::Bytes again = encode(*message);
  MURPHY_ASSERT(again.size() <= murphy::protocol::kMaxClientMessageBytes);
  murphy::Result<Message> decoded = decode(again);
  MURPHY_ASSERT(decoded.ok());
  MURPHY_ASSERT(*decoded == *message);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace murphy::protocol;
  const std::span<const uint8_t> input(data, size);
  ClientMessage message;
  if (DecodeClientMessage(input, &message).ok()) {
    // A whole frame was accepted: it must be exactly the canonical frame of a message
    // whose payload re-decodes to itself.
    MURPHY_ASSERT(IsClientFrameType(input.size() > 3 ? input[3] : 0));
  }
  CheckStable<Request>(input, DecodeRequest, EncodeRequest);
  CheckStable<Response>(input, DecodeResponse, EncodeResponse);
  CheckStable<Push>(input, DecodePush, EncodePush);
  return 0;
}

// Valid frames and payloads of every message kind, for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  using namespace murphy;
  using namespace murphy::protocol;
  std::vector<std::vector<uint8_t>> seeds;
  RequestHeader header;
  header.request_id = 12;
  header.send_number = 2;
  header.client = NodeId(3);
  header.budget = Milliseconds(900);
  RequestHeader mutation = header;
  mutation.sequence = 41;
  const std::vector<Request> requests = {
      {mutation, GrantLeaseRequest{Seconds(10)}},
      {mutation, KeepAliveRequest{LeaseId(4)}},
      {mutation, RevokeLeaseRequest{LeaseId(4)}},
      {mutation, AcquireRequest{"orders", LeaseId(4), AcquireMode::kWaitWithTimeout, Seconds(2)}},
      {mutation, ReleaseRequest{"orders", LeaseId(4)}},
      {mutation, WriteRequest{"orders/1", "orders", FencingToken(34), "v", 3, "k", std::nullopt}},
      {mutation, WriteRequest{"orders/1", "orders", FencingToken(34), "v", std::nullopt, "", "old"}},
      {mutation, CancelAcquireRequest{"orders", LeaseId(4)}},
      {header, GetLockRequest{"orders"}},
      {header, GetLeaseRequest{LeaseId(4)}},
      {header, ReadRequest{"orders/1"}},
  };
  for (const Request& request : requests) {
    seeds.push_back(EncodeRequestFrame(request));
    seeds.push_back(EncodeRequest(request));
  }
  const std::vector<Response> responses = {
      MakeResponse(header, Status::Ok(), LeaseBody{LeaseId(4), Seconds(10)}),
      MakeResponse(header, Status::Ok(), AcquireBody{AcquireState::kWaiting, FencingToken(), 1, 7}),
      MakeResponse(header, Status::Ok(),
                   LockInfoBody{"orders", LeaseId(4), FencingToken(34), 1, {{LeaseId(5), 7, {}}}}),
      MakeResponse(header, Status::Ok(),
                   LeaseInfoBody{LeaseId(4), NodeId(3), Seconds(10), Seconds(3), 2, {"a"}, {"b"}}),
      MakeResponse(header, AbortedError("stale token"), WriteBody{FencingToken(35), 9}),
      MakeResponse(header, Status::Ok(), ReadBody{"orders", FencingToken(35), 9, "value"}),
      MakeNotLeaderResponse(header, NodeId(2)),
  };
  for (const Response& response : responses) {
    seeds.push_back(EncodeResponseFrame(response));
    seeds.push_back(EncodeResponse(response));
  }
  const Push push{PushKind::kLost, LeaseId(4), "orders", FencingToken(34), 0, EndReason::kLeaseExpired};
  seeds.push_back(EncodePushFrame(push));
  seeds.push_back(EncodePush(push));
  return seeds;
}
