#include "murphy/protocol/client_message.h"

#include <limits>
#include <string>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy::protocol {
namespace {

// Request kinds on the wire: the variant index + 1 (0 is never valid).
constexpr uint8_t kRequestKindCount = std::variant_size_v<RequestBody>;
constexpr uint8_t kFirstVersionRequestKindCount = 9;  // up to ReadRequest
constexpr uint8_t kResponseBodyCount = std::variant_size_v<ResponseBody>;
constexpr uint8_t kMaxPushKind = static_cast<uint8_t>(PushKind::kWaitEnded);
constexpr uint8_t kMaxEndReason = static_cast<uint8_t>(EndReason::kWaitTimedOut);
constexpr uint8_t kMaxAcquireMode = static_cast<uint8_t>(AcquireMode::kWaitWithTimeout);
constexpr uint8_t kMaxAcquireState = static_cast<uint8_t>(AcquireState::kWaiting);

// --- Writing ---------------------------------------------------------------------------

void PutDuration(ByteWriter* writer, Duration duration) { writer->PutSignedVarint(duration.nanoseconds()); }

void PutName(ByteWriter* writer, std::string_view name, size_t limit) {
  MURPHY_ASSERT_MSG(name.size() <= limit, "client message: string over its limit");
  writer->PutString(name);
}

void PutHeader(ByteWriter* writer, const RequestHeader& header) {
  MURPHY_ASSERT(header.send_number >= 1);
  writer->PutVarint(header.request_id);
  writer->PutVarint(header.send_number);
  writer->PutVarint(header.client.value());
  writer->PutVarint(header.sequence);
  MURPHY_ASSERT(header.budget >= Duration::Zero());
  PutDuration(writer, header.budget);
}

struct RequestBodyWriter {
  ByteWriter* writer;
  void operator()(const GrantLeaseRequest& body) const {
    MURPHY_ASSERT(body.ttl >= Duration::Zero());
    PutDuration(writer, body.ttl);
  }
  void operator()(const KeepAliveRequest& body) const { writer->PutVarint(body.lease.value()); }
  void operator()(const RevokeLeaseRequest& body) const { writer->PutVarint(body.lease.value()); }
  void operator()(const AcquireRequest& body) const {
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutVarint(body.lease.value());
    writer->PutU8(static_cast<uint8_t>(body.mode));
    MURPHY_ASSERT(body.wait_timeout >= Duration::Zero());
    PutDuration(writer, body.wait_timeout);
  }
  void operator()(const ReleaseRequest& body) const {
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutVarint(body.lease.value());
  }
  void operator()(const WriteRequest& body) const {
    PutName(writer, body.resource, kMaxNameBytes);
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutVarint(body.token.value());
    PutName(writer, body.value, kMaxValueBytes);
    writer->PutBool(body.expected_version.has_value());
    if (body.expected_version.has_value()) writer->PutVarint(*body.expected_version);
    PutName(writer, body.idempotency_key, kMaxKeyBytes);
    if (body.expected_value.has_value()) PutName(writer, *body.expected_value, kMaxValueBytes);
  }
  void operator()(const GetLockRequest& body) const { PutName(writer, body.lock, kMaxNameBytes); }
  void operator()(const GetLeaseRequest& body) const { writer->PutVarint(body.lease.value()); }
  void operator()(const ReadRequest& body) const { PutName(writer, body.resource, kMaxNameBytes); }
  void operator()(const CancelAcquireRequest& body) const {
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutVarint(body.lease.value());
  }
};

struct ResponseBodyWriter {
  ByteWriter* writer;
  void operator()(const NoBody&) const {}
  void operator()(const LeaseBody& body) const {
    writer->PutVarint(body.lease.value());
    MURPHY_ASSERT(body.ttl >= Duration::Zero());
    PutDuration(writer, body.ttl);
  }
  void operator()(const AcquireBody& body) const {
    writer->PutU8(static_cast<uint8_t>(body.state));
    writer->PutVarint(body.token.value());
    writer->PutVarint(body.position);
    writer->PutVarint(body.ticket);
  }
  void operator()(const LockInfoBody& body) const {
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutBool(body.holder.has_value());
    if (body.holder.has_value()) writer->PutVarint(body.holder->value());
    writer->PutVarint(body.token.value());
    MURPHY_ASSERT(body.waiters.size() <= kMaxWaitersInResponse);
    MURPHY_ASSERT(body.waiters.size() <= body.waiter_count);
    writer->PutVarint(body.waiter_count);
    writer->PutVarint(body.waiters.size());
    for (const WaiterView& waiter : body.waiters) {
      writer->PutVarint(waiter.lease.value());
      writer->PutVarint(waiter.ticket);
      MURPHY_ASSERT(waiter.timeout >= Duration::Zero());
      PutDuration(writer, waiter.timeout);
    }
  }
  void operator()(const LeaseInfoBody& body) const {
    writer->PutVarint(body.lease.value());
    writer->PutVarint(body.client.value());
    MURPHY_ASSERT(body.ttl >= Duration::Zero());
    PutDuration(writer, body.ttl);
    PutDuration(writer, body.remaining);
    writer->PutVarint(body.renewals);
    for (const auto* names : {&body.held, &body.waiting}) {
      MURPHY_ASSERT(names->size() <= kMaxLocksInResponse);
      writer->PutVarint(names->size());
      for (const std::string& name : *names) PutName(writer, name, kMaxNameBytes);
    }
  }
  void operator()(const WriteBody& body) const {
    writer->PutVarint(body.max_token.value());
    writer->PutVarint(body.version);
  }
  void operator()(const ReadBody& body) const {
    PutName(writer, body.lock, kMaxNameBytes);
    writer->PutVarint(body.max_token.value());
    writer->PutVarint(body.version);
    PutName(writer, body.value, kMaxValueBytes);
  }
};

Bytes Finish(ByteWriter* writer) {
  MURPHY_ASSERT_MSG(writer->size() <= kMaxClientMessageBytes, "client message over kMaxClientMessageBytes");
  return writer->Take();
}

// --- Reading ---------------------------------------------------------------------------

// A ByteReader with the checks every field needs; the first failure sticks.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> input) : reader_(input) {}

  bool ok() const { return ok_ && reader_.ok(); }

  void Varint(uint64_t* value) {
    if (ok() && !reader_.GetVarint(value)) Fail();
  }
  void U32(uint32_t* value) {
    uint64_t wide = 0;
    Varint(&wide);
    if (wide > std::numeric_limits<uint32_t>::max()) Fail();
    if (ok()) *value = static_cast<uint32_t>(wide);
  }
  template <typename Id>
  void Id64(Id* id) {
    uint64_t value = 0;
    Varint(&value);
    if (ok()) *id = Id(value);
  }
  void Node(NodeId* node) {
    uint32_t value = 0;
    U32(&value);
    if (ok()) *node = NodeId(value);
  }
  void U8(uint8_t* value, uint8_t max) {
    if (ok() && (!reader_.GetU8(value) || *value > max)) Fail();
  }
  void Bool(bool* value) {
    if (ok() && !reader_.GetBool(value)) Fail();
  }
  // Any signed duration.
  void SignedDuration(Duration* duration) {
    int64_t nanoseconds = 0;
    if (ok() && !reader_.GetSignedVarint(&nanoseconds)) Fail();
    if (ok()) *duration = Nanoseconds(nanoseconds);
  }
  // A duration >= 0.
  void NonNegativeDuration(Duration* duration) {
    SignedDuration(duration);
    if (ok() && *duration < Duration::Zero()) Fail();
  }
  void String(std::string* text, size_t limit) {
    if (ok() && !reader_.GetString(limit, text)) Fail();
  }
  // A count of list items, at most `limit`.
  void Count(size_t* count, size_t limit) {
    uint64_t value = 0;
    Varint(&value);
    if (ok() && value > limit) Fail();
    if (ok()) *count = static_cast<size_t>(value);
  }
  // Fails unless every byte was used.
  void End() {
    if (ok() && !reader_.at_end()) Fail();
  }
  void Fail() { ok_ = false; }

 private:
  ByteReader reader_;
  bool ok_ = true;
};

Status CheckVersion(std::span<const uint8_t> payload) {
  if (payload.empty()) return InvalidArgumentError("client message: empty");
  if (payload[0] < kFirstClientMessageVersion || payload[0] > kClientMessageVersion) {
    return UnimplementedError("client message: unsupported version " + std::to_string(payload[0]));
  }
  return Status::Ok();
}

// The lowest version that can express `request`.
uint8_t VersionOf(const Request& request) {
  const auto* write = std::get_if<WriteRequest>(&request.body);
  if (write != nullptr && write->expected_value.has_value()) return 2;
  if (request.body.index() + 1 > kFirstVersionRequestKindCount) return 2;
  return kFirstClientMessageVersion;
}

void ReadRequestBody(Reader* in, uint8_t version, uint8_t kind, RequestBody* body) {
  switch (kind) {
    case 1: {
      GrantLeaseRequest request;
      in->NonNegativeDuration(&request.ttl);
      *body = request;
      return;
    }
    case 2: {
      KeepAliveRequest request;
      in->Id64(&request.lease);
      *body = request;
      return;
    }
    case 3: {
      RevokeLeaseRequest request;
      in->Id64(&request.lease);
      *body = request;
      return;
    }
    case 4: {
      AcquireRequest request;
      uint8_t mode = 0;
      in->String(&request.lock, kMaxNameBytes);
      in->Id64(&request.lease);
      in->U8(&mode, kMaxAcquireMode);
      in->NonNegativeDuration(&request.wait_timeout);
      request.mode = static_cast<AcquireMode>(mode);
      *body = std::move(request);
      return;
    }
    case 5: {
      ReleaseRequest request;
      in->String(&request.lock, kMaxNameBytes);
      in->Id64(&request.lease);
      *body = std::move(request);
      return;
    }
    case 6: {
      WriteRequest request;
      bool has_expected = false;
      in->String(&request.resource, kMaxNameBytes);
      in->String(&request.lock, kMaxNameBytes);
      in->Id64(&request.token);
      in->String(&request.value, kMaxValueBytes);
      in->Bool(&has_expected);
      if (has_expected) {
        uint64_t expected = 0;
        in->Varint(&expected);
        request.expected_version = expected;
      }
      in->String(&request.idempotency_key, kMaxKeyBytes);
      if (version >= 2) {
        std::string expected;
        in->String(&expected, kMaxValueBytes);
        request.expected_value = std::move(expected);
      }
      *body = std::move(request);
      return;
    }
    case 7: {
      GetLockRequest request;
      in->String(&request.lock, kMaxNameBytes);
      *body = std::move(request);
      return;
    }
    case 8: {
      GetLeaseRequest request;
      in->Id64(&request.lease);
      *body = request;
      return;
    }
    case 9: {
      ReadRequest request;
      in->String(&request.resource, kMaxNameBytes);
      *body = std::move(request);
      return;
    }
    case 10: {
      if (version < 2) {  // version 1 has no cancel
        in->Fail();
        return;
      }
      CancelAcquireRequest request;
      in->String(&request.lock, kMaxNameBytes);
      in->Id64(&request.lease);
      *body = std::move(request);
      return;
    }
    default:
      in->Fail();
  }
}

void ReadResponseBody(Reader* in, uint8_t kind, ResponseBody* body) {
  switch (kind) {
    case 0:
      *body = NoBody{};
      return;
    case 1: {
      LeaseBody result;
      in->Id64(&result.lease);
      in->NonNegativeDuration(&result.ttl);
      *body = result;
      return;
    }
    case 2: {
      AcquireBody result;
      uint8_t state = 0;
      in->U8(&state, kMaxAcquireState);
      in->Id64(&result.token);
      in->Varint(&result.position);
      in->Varint(&result.ticket);
      result.state = static_cast<AcquireState>(state);
      *body = result;
      return;
    }
    case 3: {
      LockInfoBody result;
      bool has_holder = false;
      size_t listed = 0;
      in->String(&result.lock, kMaxNameBytes);
      in->Bool(&has_holder);
      if (has_holder) {
        LeaseId holder;
        in->Id64(&holder);
        result.holder = holder;
      }
      in->Id64(&result.token);
      in->Varint(&result.waiter_count);
      in->Count(&listed, kMaxWaitersInResponse);
      if (in->ok() && listed > result.waiter_count) in->Fail();
      for (size_t i = 0; i < listed && in->ok(); ++i) {
        WaiterView waiter;
        in->Id64(&waiter.lease);
        in->Varint(&waiter.ticket);
        in->NonNegativeDuration(&waiter.timeout);
        result.waiters.push_back(waiter);
      }
      *body = std::move(result);
      return;
    }
    case 4: {
      LeaseInfoBody result;
      in->Id64(&result.lease);
      in->Node(&result.client);
      in->NonNegativeDuration(&result.ttl);
      in->SignedDuration(&result.remaining);
      in->Varint(&result.renewals);
      for (auto* names : {&result.held, &result.waiting}) {
        size_t count = 0;
        in->Count(&count, kMaxLocksInResponse);
        for (size_t i = 0; i < count && in->ok(); ++i) {
          std::string name;
          in->String(&name, kMaxNameBytes);
          names->push_back(std::move(name));
        }
      }
      *body = std::move(result);
      return;
    }
    case 5: {
      WriteBody result;
      in->Id64(&result.max_token);
      in->Varint(&result.version);
      *body = result;
      return;
    }
    case 6: {
      ReadBody result;
      in->String(&result.lock, kMaxNameBytes);
      in->Id64(&result.max_token);
      in->Varint(&result.version);
      in->String(&result.value, kMaxValueBytes);
      *body = std::move(result);
      return;
    }
    default:
      in->Fail();
  }
}

}  // namespace

bool IsMutation(const RequestBody& body) {
  return std::holds_alternative<GrantLeaseRequest>(body) || std::holds_alternative<KeepAliveRequest>(body) ||
         std::holds_alternative<RevokeLeaseRequest>(body) || std::holds_alternative<AcquireRequest>(body) ||
         std::holds_alternative<ReleaseRequest>(body) || std::holds_alternative<WriteRequest>(body) ||
         std::holds_alternative<CancelAcquireRequest>(body);
}

std::string_view RequestKindName(const RequestBody& body) {
  static constexpr std::string_view kNames[] = {"grant-lease", "keepalive", "revoke-lease",
                                                "acquire",     "release",   "write",
                                                "get-lock",    "get-lease", "read",
                                                "cancel-acquire"};
  static_assert(std::size(kNames) == kRequestKindCount);
  return kNames[body.index()];
}

Response MakeResponse(const RequestHeader& header, const Status& status, ResponseBody body) {
  Response response;
  response.request_id = header.request_id;
  response.send_number = header.send_number;
  response.code = status.code();
  response.message = std::string(status.message().substr(0, kMaxStatusMessageBytes));
  response.body = std::move(body);
  return response;
}

Response MakeNotLeaderResponse(const RequestHeader& header, NodeId leader_hint) {
  Response response = MakeResponse(header, UnavailableError("not leader"));
  response.not_leader = true;
  response.leader_hint = leader_hint;
  return response;
}

std::string_view PushKindName(PushKind kind) {
  switch (kind) {
    case PushKind::kGranted:
      return "granted";
    case PushKind::kLost:
      return "lost";
    case PushKind::kWaitEnded:
      return "wait-ended";
  }
  MURPHY_UNREACHABLE();
}

std::string_view EndReasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kNone:
      return "none";
    case EndReason::kReleased:
      return "released";
    case EndReason::kLeaseExpired:
      return "lease-expired";
    case EndReason::kLeaseRevoked:
      return "lease-revoked";
    case EndReason::kWaitTimedOut:
      return "wait-timed-out";
  }
  MURPHY_UNREACHABLE();
}

Bytes EncodeRequest(const Request& request) {
  // A mutation without a sequence number could not be deduplicated; a read with one
  // would burn a slot of the server's result window. Both are caller bugs.
  MURPHY_ASSERT_MSG(IsMutation(request.body) == (request.header.sequence != 0),
                    "mutations carry a sequence number, reads do not");
  ByteWriter writer;
  writer.PutU8(VersionOf(request));
  PutHeader(&writer, request.header);
  writer.PutU8(static_cast<uint8_t>(request.body.index() + 1));
  std::visit(RequestBodyWriter{&writer}, request.body);
  return Finish(&writer);
}

Result<Request> DecodeRequest(std::span<const uint8_t> payload) {
  MURPHY_RETURN_IF_ERROR(CheckVersion(payload));
  Reader in(payload.subspan(1));
  Request request;
  uint8_t kind = 0;
  in.Varint(&request.header.request_id);
  in.U32(&request.header.send_number);
  in.Node(&request.header.client);
  in.Varint(&request.header.sequence);
  in.NonNegativeDuration(&request.header.budget);
  in.U8(&kind, kRequestKindCount);
  if (in.ok() && kind == 0) in.Fail();
  if (in.ok()) ReadRequestBody(&in, payload[0], kind, &request.body);
  in.End();
  if (!in.ok()) return InvalidArgumentError("client message: malformed request");
  if (request.header.send_number == 0) return InvalidArgumentError("client message: send number 0");
  if (IsMutation(request.body) != (request.header.sequence != 0)) {
    return InvalidArgumentError("client message: a mutation needs a sequence number, a read has none");
  }
  return request;
}

Bytes EncodeResponse(const Response& response) {
  MURPHY_ASSERT_MSG(response.code != StatusCode::kOk || response.message.empty(),
                    "an OK response has no message");
  MURPHY_ASSERT_MSG(!response.not_leader || response.code == StatusCode::kUnavailable,
                    "not leader is UNAVAILABLE");
  ByteWriter writer;
  writer.PutU8(kFirstClientMessageVersion);  // nothing of a later version in responses
  writer.PutVarint(response.request_id);
  writer.PutVarint(response.send_number);
  writer.PutU8(static_cast<uint8_t>(response.code));
  PutName(&writer, response.message, kMaxStatusMessageBytes);
  writer.PutBool(response.not_leader);
  writer.PutVarint(response.leader_hint.value());
  writer.PutU8(static_cast<uint8_t>(response.body.index()));
  std::visit(ResponseBodyWriter{&writer}, response.body);
  return Finish(&writer);
}

Result<Response> DecodeResponse(std::span<const uint8_t> payload) {
  MURPHY_RETURN_IF_ERROR(CheckVersion(payload));
  Reader in(payload.subspan(1));
  Response response;
  uint8_t code = 0;
  uint8_t body = 0;
  in.Varint(&response.request_id);
  in.U32(&response.send_number);
  in.U8(&code, kStatusCodeCount - 1);
  in.String(&response.message, kMaxStatusMessageBytes);
  in.Bool(&response.not_leader);
  in.Node(&response.leader_hint);
  in.U8(&body, kResponseBodyCount - 1);
  if (in.ok()) ReadResponseBody(&in, body, &response.body);
  in.End();
  if (!in.ok()) return InvalidArgumentError("client message: malformed response");
  response.code = static_cast<StatusCode>(code);
  if (response.code == StatusCode::kOk && !response.message.empty()) {
    return InvalidArgumentError("client message: an OK response with a message");
  }
  if (response.not_leader && response.code != StatusCode::kUnavailable) {
    return InvalidArgumentError("client message: not leader without UNAVAILABLE");
  }
  return response;
}

Bytes EncodePush(const Push& push) {
  ByteWriter writer;
  writer.PutU8(kFirstClientMessageVersion);  // nothing of a later version in pushes
  writer.PutU8(static_cast<uint8_t>(push.kind));
  writer.PutVarint(push.lease.value());
  PutName(&writer, push.lock, kMaxNameBytes);
  writer.PutVarint(push.token.value());
  writer.PutVarint(push.ticket);
  writer.PutU8(static_cast<uint8_t>(push.reason));
  return Finish(&writer);
}

Result<Push> DecodePush(std::span<const uint8_t> payload) {
  MURPHY_RETURN_IF_ERROR(CheckVersion(payload));
  Reader in(payload.subspan(1));
  Push push;
  uint8_t kind = 0;
  uint8_t reason = 0;
  in.U8(&kind, kMaxPushKind);
  if (in.ok() && kind == 0) in.Fail();
  in.Id64(&push.lease);
  in.String(&push.lock, kMaxNameBytes);
  in.Id64(&push.token);
  in.Varint(&push.ticket);
  in.U8(&reason, kMaxEndReason);
  in.End();
  if (!in.ok()) return InvalidArgumentError("client message: malformed push");
  push.kind = static_cast<PushKind>(kind);
  push.reason = static_cast<EndReason>(reason);
  return push;
}

Bytes EncodeRequestFrame(const Request& request) {
  return EncodeFrame(kLockRequestFrame, EncodeRequest(request));
}
Bytes EncodeResponseFrame(const Response& response) {
  return EncodeFrame(kLockResponseFrame, EncodeResponse(response));
}
Bytes EncodePushFrame(const Push& push) { return EncodeFrame(kLockPushFrame, EncodePush(push)); }

bool IsClientFrameType(uint8_t type) {
  return type == kLockRequestFrame || type == kLockResponseFrame || type == kLockPushFrame;
}

Status DecodeClientMessage(std::span<const uint8_t> datagram, ClientMessage* message) {
  MURPHY_ASSIGN_OR_RETURN(Frame frame, DecodeFrame(datagram, kMaxClientMessageBytes));
  switch (frame.type) {
    case kLockRequestFrame: {
      Result<Request> request = DecodeRequest(frame.payload);
      if (!request.ok()) return request.status();
      message->emplace<Request>(std::move(request).value());
      return Status::Ok();
    }
    case kLockResponseFrame: {
      Result<Response> response = DecodeResponse(frame.payload);
      if (!response.ok()) return response.status();
      message->emplace<Response>(std::move(response).value());
      return Status::Ok();
    }
    case kLockPushFrame: {
      Result<Push> push = DecodePush(frame.payload);
      if (!push.ok()) return push.status();
      message->emplace<Push>(std::move(push).value());
      return Status::Ok();
    }
    default:
      return InvalidArgumentError("client message: frame type " + std::to_string(frame.type) +
                                  " is not a client message");
  }
}

}  // namespace murphy::protocol
