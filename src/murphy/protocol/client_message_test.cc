#include "murphy/protocol/client_message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy::protocol {
namespace {

RequestHeader Header(uint64_t sequence) {
  RequestHeader header;
  header.request_id = 77;
  header.send_number = 3;
  header.client = NodeId(9);
  header.sequence = sequence;
  header.budget = Milliseconds(1500);
  return header;
}

// One request of every kind, with every optional field both ways.
std::vector<Request> SampleRequests() {
  std::vector<Request> requests;
  requests.push_back({Header(1), GrantLeaseRequest{Seconds(10)}});
  requests.push_back({Header(2), KeepAliveRequest{LeaseId(5)}});
  requests.push_back({Header(3), RevokeLeaseRequest{LeaseId(5)}});
  requests.push_back(
      {Header(4), AcquireRequest{"orders", LeaseId(5), AcquireMode::kWaitWithTimeout, Seconds(3)}});
  requests.push_back({Header(5), AcquireRequest{"", LeaseId(0), AcquireMode::kTry, Duration::Zero()}});
  requests.push_back({Header(6), ReleaseRequest{"orders", LeaseId(5)}});
  requests.push_back(
      {Header(7), WriteRequest{"orders/17", "orders", FencingToken(34), "payload", 12, "key-1", std::nullopt}});
  requests.push_back(
      {Header(8), WriteRequest{"r", "l", FencingToken(1), std::string(1000, 'x'), std::nullopt, "", std::nullopt}});
  requests.push_back(
      {Header(9), WriteRequest{"r", "l", FencingToken(2), "new", std::nullopt, "k", std::string("old\0", 4)}});
  requests.push_back({Header(10), WriteRequest{"r", "l", FencingToken(2), "new", 3, "", std::string()}});
  requests.push_back({Header(11), CancelAcquireRequest{"orders", LeaseId(5)}});
  requests.push_back({Header(0), GetLockRequest{"orders"}});
  requests.push_back({Header(0), GetLeaseRequest{LeaseId(5)}});
  requests.push_back({Header(0), ReadRequest{"orders/17"}});
  Request infinite{Header(0), ReadRequest{"x"}};
  infinite.header.budget = Duration::Infinite();
  infinite.header.client = NodeId(UINT32_MAX);
  infinite.header.request_id = UINT64_MAX;
  requests.push_back(infinite);
  return requests;
}

std::vector<Response> SampleResponses() {
  RequestHeader header = Header(1);
  std::vector<Response> responses;
  responses.push_back(MakeResponse(header, Status::Ok()));
  responses.push_back(MakeResponse(header, Status::Ok(), LeaseBody{LeaseId(5), Seconds(10)}));
  responses.push_back(
      MakeResponse(header, Status::Ok(), AcquireBody{AcquireState::kGranted, FencingToken(34), 0, 0}));
  responses.push_back(
      MakeResponse(header, Status::Ok(), AcquireBody{AcquireState::kWaiting, FencingToken(), 2, 9}));
  LockInfoBody info{
      "orders", LeaseId(5), FencingToken(34), 3, {{LeaseId(6), 1, Seconds(1)}, {LeaseId(7), 2, {}}}};
  responses.push_back(MakeResponse(header, Status::Ok(), info));
  info.holder.reset();
  info.waiters.clear();
  info.waiter_count = 0;
  responses.push_back(MakeResponse(header, Status::Ok(), info));
  responses.push_back(
      MakeResponse(header, Status::Ok(),
                   LeaseInfoBody{LeaseId(5), NodeId(9), Seconds(10), Seconds(4), 7, {"a", "b"}, {"c"}}));
  responses.push_back(MakeResponse(header, AbortedError("stale token"), WriteBody{FencingToken(35), 4}));
  responses.push_back(MakeResponse(header, Status::Ok(), ReadBody{"orders", FencingToken(34), 4, "value"}));
  responses.push_back(MakeResponse(header, NotFoundError("no such lease")));
  responses.push_back(MakeNotLeaderResponse(header, NodeId(2)));
  responses.push_back(MakeNotLeaderResponse(header, NodeId(0)));
  return responses;
}

std::vector<Push> SamplePushes() {
  return {
      Push{PushKind::kGranted, LeaseId(5), "orders", FencingToken(34), 9, EndReason::kNone},
      Push{PushKind::kLost, LeaseId(5), "orders", FencingToken(34), 0, EndReason::kLeaseExpired},
      Push{PushKind::kWaitEnded, LeaseId(6), "orders", FencingToken(), 10, EndReason::kWaitTimedOut},
  };
}

// Every valid encoding of every sample, as frames.
std::vector<Bytes> SampleFrames() {
  std::vector<Bytes> frames;
  for (const Request& request : SampleRequests()) frames.push_back(EncodeRequestFrame(request));
  for (const Response& response : SampleResponses()) frames.push_back(EncodeResponseFrame(response));
  for (const Push& push : SamplePushes()) frames.push_back(EncodePushFrame(push));
  return frames;
}

// Whatever a decoder accepted must survive a re-encode/decode unchanged.
void ExpectStable(std::span<const uint8_t> payload, uint8_t type) {
  switch (type) {
    case kLockRequestFrame:
      if (Result<Request> value = DecodeRequest(payload); value.ok()) {
        EXPECT_EQ(DecodeRequest(EncodeRequest(*value)).value(), *value);
      }
      return;
    case kLockResponseFrame:
      if (Result<Response> value = DecodeResponse(payload); value.ok()) {
        EXPECT_EQ(DecodeResponse(EncodeResponse(*value)).value(), *value);
      }
      return;
    default:
      if (Result<Push> value = DecodePush(payload); value.ok()) {
        EXPECT_EQ(DecodePush(EncodePush(*value)).value(), *value);
      }
  }
}

TEST(ClientMessageTest, RequestsRoundTrip) {
  for (const Request& request : SampleRequests()) {
    const Result<Request> decoded = DecodeRequest(EncodeRequest(request));
    ASSERT_TRUE(decoded.ok()) << RequestKindName(request.body) << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, request) << RequestKindName(request.body);
    ClientMessage message;
    ASSERT_TRUE(DecodeClientMessage(EncodeRequestFrame(request), &message).ok());
    EXPECT_EQ(std::get<Request>(message), request);
  }
}

TEST(ClientMessageTest, ResponsesRoundTrip) {
  for (const Response& response : SampleResponses()) {
    const Result<Response> decoded = DecodeResponse(EncodeResponse(response));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, response);
    ClientMessage message;
    ASSERT_TRUE(DecodeClientMessage(EncodeResponseFrame(response), &message).ok());
    EXPECT_EQ(std::get<Response>(message), response);
  }
  const Response not_leader = MakeNotLeaderResponse(Header(1), NodeId(2));
  EXPECT_EQ(not_leader.status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(not_leader.not_leader);
  EXPECT_EQ(not_leader.request_id, 77u);
  EXPECT_EQ(not_leader.send_number, 3u);
}

TEST(ClientMessageTest, PushesRoundTrip) {
  for (const Push& push : SamplePushes()) {
    const Result<Push> decoded = DecodePush(EncodePush(push));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, push) << PushKindName(push.kind);
    ClientMessage message;
    ASSERT_TRUE(DecodeClientMessage(EncodePushFrame(push), &message).ok());
    EXPECT_EQ(std::get<Push>(message), push);
  }
}

TEST(ClientMessageTest, LargestMessagesFitTheFrameLimit) {
  Request write{Header(1), WriteRequest{std::string(kMaxNameBytes, 'r'), std::string(kMaxNameBytes, 'l'),
                                        FencingToken(UINT64_MAX), std::string(kMaxValueBytes, 'v'),
                                        UINT64_MAX, std::string(kMaxKeyBytes, 'k')}};
  ClientMessage message;
  EXPECT_TRUE(DecodeClientMessage(EncodeRequestFrame(write), &message).ok());
  LeaseInfoBody info;
  for (size_t i = 0; i < kMaxLocksInResponse; ++i) {
    info.held.push_back(std::string(kMaxNameBytes, 'h'));
    info.waiting.push_back(std::string(kMaxNameBytes, 'w'));
  }
  const Response response = MakeResponse(Header(1), Status::Ok(), info);
  EXPECT_TRUE(DecodeClientMessage(EncodeResponseFrame(response), &message).ok());
}

TEST(ClientMessageTest, OnlyAnExpectedValueAndACancelNeedTheSecondVersion) {
  // A peer of version 1 keeps understanding every message that does not use what
  // version 2 added.
  for (const Request& request : SampleRequests()) {
    const auto* write = std::get_if<WriteRequest>(&request.body);
    const bool needs_second = (write != nullptr && write->expected_value.has_value()) ||
                              std::holds_alternative<CancelAcquireRequest>(request.body);
    EXPECT_EQ(EncodeRequest(request)[0], needs_second ? 2 : kFirstClientMessageVersion)
        << RequestKindName(request.body);
  }
  for (const Response& response : SampleResponses()) EXPECT_EQ(EncodeResponse(response)[0], 1);
  for (const Push& push : SamplePushes()) EXPECT_EQ(EncodePush(push)[0], 1);
  // Version 1 has no expected value: the same bytes labelled 1 have a trailing string.
  WriteRequest write{"r", "l", FencingToken(2), "new", std::nullopt, "", std::string("old")};
  Bytes payload = EncodeRequest({Header(1), write});
  payload[0] = 1;
  EXPECT_EQ(DecodeRequest(payload).status().code(), StatusCode::kInvalidArgument);
  // Version 1 has no cancel either.
  Bytes cancel = EncodeRequest({Header(1), CancelAcquireRequest{"orders", LeaseId(5)}});
  ASSERT_TRUE(DecodeRequest(cancel).ok());
  cancel[0] = 1;
  EXPECT_EQ(DecodeRequest(cancel).status().code(), StatusCode::kInvalidArgument);
  // An expected value is bounded like a value.
  Bytes over = EncodeRequest({Header(1), write});
  ASSERT_GE(over.size(), 4u);
  over.resize(over.size() - 4);  // drop "old" and its length
  ByteWriter writer;
  writer.PutString(std::string(kMaxValueBytes + 1, 'x'));
  over.insert(over.end(), writer.bytes().begin(), writer.bytes().end());
  EXPECT_EQ(DecodeRequest(over).status().code(), StatusCode::kInvalidArgument);
  over.resize(over.size() - writer.size());
  ByteWriter fits;
  fits.PutString(std::string(kMaxValueBytes, 'x'));
  over.insert(over.end(), fits.bytes().begin(), fits.bytes().end());
  EXPECT_TRUE(DecodeRequest(over).ok());
}

TEST(ClientMessageTest, RefusesWhatIsMalformed) {
  // A mutation without a sequence number, a read with one, send number 0.
  Bytes payload = EncodeRequest({Header(0), GetLockRequest{"a"}});
  Result<Request> good = DecodeRequest(payload);
  ASSERT_TRUE(good.ok());
  {
    ByteWriter writer;
    writer.PutU8(kClientMessageVersion);
    writer.PutVarint(1);  // request id
    writer.PutVarint(1);  // send number
    writer.PutVarint(9);  // client
    writer.PutVarint(0);  // sequence 0 ...
    writer.PutSignedVarint(0);
    writer.PutU8(2);  // ... on a keepalive
    writer.PutVarint(5);
    EXPECT_EQ(DecodeRequest(writer.bytes()).status().code(), StatusCode::kInvalidArgument);
  }
  {
    ByteWriter writer;
    writer.PutU8(kClientMessageVersion);
    writer.PutVarint(1);
    writer.PutVarint(0);  // send number 0
    writer.PutVarint(9);
    writer.PutVarint(0);
    writer.PutSignedVarint(0);
    writer.PutU8(7);
    writer.PutString("a");
    EXPECT_EQ(DecodeRequest(writer.bytes()).status().code(), StatusCode::kInvalidArgument);
  }
  {
    ByteWriter writer;  // a negative budget
    writer.PutU8(kClientMessageVersion);
    writer.PutVarint(1);
    writer.PutVarint(1);
    writer.PutVarint(9);
    writer.PutVarint(0);
    writer.PutSignedVarint(-5);
    writer.PutU8(7);
    writer.PutString("a");
    EXPECT_EQ(DecodeRequest(writer.bytes()).status().code(), StatusCode::kInvalidArgument);
  }
  {
    ByteWriter writer;  // a name over the limit
    writer.PutU8(kClientMessageVersion);
    writer.PutVarint(1);
    writer.PutVarint(1);
    writer.PutVarint(9);
    writer.PutVarint(0);
    writer.PutSignedVarint(0);
    writer.PutU8(7);
    writer.PutString(std::string(kMaxNameBytes + 1, 'a'));
    EXPECT_EQ(DecodeRequest(writer.bytes()).status().code(), StatusCode::kInvalidArgument);
  }
  Bytes future = payload;
  future[0] = kClientMessageVersion + 1;
  EXPECT_EQ(DecodeRequest(future).status().code(), StatusCode::kUnimplemented);
  Bytes trailing = payload;
  trailing.push_back(0);
  EXPECT_EQ(DecodeRequest(trailing).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeRequest({}).status().code(), StatusCode::kInvalidArgument);

  // A response that says OK with a message, or not-leader with another code.
  Bytes ok_with_message = EncodeResponse(MakeResponse(Header(1), AbortedError("x")));
  ok_with_message[3] = static_cast<uint8_t>(StatusCode::kOk);  // version, id, send number, code
  EXPECT_EQ(DecodeResponse(ok_with_message).status().code(), StatusCode::kInvalidArgument);
  Bytes not_leader = EncodeResponse(MakeNotLeaderResponse(Header(1), NodeId(2)));
  not_leader[3] = static_cast<uint8_t>(StatusCode::kAborted);
  EXPECT_EQ(DecodeResponse(not_leader).status().code(), StatusCode::kInvalidArgument);
  Bytes bad_code = EncodeResponse(MakeResponse(Header(1), AbortedError("x")));
  bad_code[3] = kStatusCodeCount;
  EXPECT_EQ(DecodeResponse(bad_code).status().code(), StatusCode::kInvalidArgument);

  // Frames of other types are not client messages.
  ClientMessage message;
  EXPECT_EQ(DecodeClientMessage(EncodeFrame(0x01, payload), &message).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsClientFrameType(0x01));
  EXPECT_TRUE(IsClientFrameType(kLockPushFrame));
}

// Every prefix of every valid message is refused (the encoding has no optional tail),
// at the frame level and at the payload level.
TEST(ClientMessageTest, EveryTruncationIsRefused) {
  for (const Bytes& frame : SampleFrames()) {
    for (size_t size = 0; size < frame.size(); ++size) {
      ClientMessage message;
      EXPECT_FALSE(DecodeClientMessage(std::span(frame).first(size), &message).ok())
          << "frame prefix " << size;
    }
    const Result<Frame> whole = DecodeFrame(frame);
    ASSERT_TRUE(whole.ok());
    const Bytes& payload = whole->payload;
    for (size_t size = 0; size < payload.size(); ++size) {
      const auto prefix = std::span(payload).first(size);
      switch (whole->type) {
        case kLockRequestFrame:
          EXPECT_FALSE(DecodeRequest(prefix).ok()) << "request prefix " << size;
          break;
        case kLockResponseFrame:
          EXPECT_FALSE(DecodeResponse(prefix).ok()) << "response prefix " << size;
          break;
        default:
          EXPECT_FALSE(DecodePush(prefix).ok()) << "push prefix " << size;
      }
    }
  }
}

// Every single-bit flip of a frame is caught by the CRC; every flip of a bare payload
// either fails cleanly or yields a message that encodes and decodes to itself.
TEST(ClientMessageTest, EveryBitFlipIsCaughtOrHarmless) {
  for (const Bytes& frame : SampleFrames()) {
    if (frame.size() > 4096) continue;  // the long value samples: covered by the others
    for (size_t bit = 0; bit < frame.size() * 8; ++bit) {
      Bytes corrupt = frame;
      corrupt[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
      ClientMessage message;
      EXPECT_FALSE(DecodeClientMessage(corrupt, &message).ok()) << "frame bit " << bit;
    }
    const Frame whole = DecodeFrame(frame).value();
    for (size_t bit = 0; bit < whole.payload.size() * 8; ++bit) {
      Bytes corrupt = whole.payload;
      corrupt[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
      ExpectStable(corrupt, whole.type);
    }
  }
}

TEST(ClientMessageTest, RandomBytesNeverCrash) {
  Rng rng(4242);
  for (int round = 0; round < 20000; ++round) {
    Bytes input(rng.Uniform(64));
    for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng.NextU64());
    if (!input.empty()) input[0] = kClientMessageVersion;  // get past the version byte
    ExpectStable(input, kLockRequestFrame);
    ExpectStable(input, kLockResponseFrame);
    ExpectStable(input, kLockPushFrame);
  }
}

}  // namespace
}  // namespace murphy::protocol
