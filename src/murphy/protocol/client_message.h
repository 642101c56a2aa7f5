// murphy/protocol/client_message.h — the messages between lock-service clients and
// nodes: requests, responses, and pushes from a node to a client.
//
// Contract: each message travels as one protocol/ frame (frame.h: versioned,
// length-prefixed, CRC32C-checked), in the simulator and in the real daemon alike. The
// frame type says which message is inside:
//   kLockRequestFrame   0x10  client → node   Request
//   kLockResponseFrame  0x11  node → client   Response (answers one Request)
//   kLockPushFrame      0x12  node → client   Push (unsolicited: granted, lost, ...)
// (0x01–0x03 are the node shell's raft and KV frames, 0x44/0x48 the posix transport's.)
//
// The messages are plain values with no dependency on the lock machine or the store:
// protocol/ is layer 1 and may not link them (ARCHITECTURE.md, layers). The layer above
// converts (service/lock_service.h on the node, client/ on the client).
//
// Every request carries a header:
//   request_id    the client's number for one logical request; a response echoes it;
//   send_number   which transmission of that request this is (1, 2, ...: retries and
//                 redirects); echoed, so the client can tell a late answer to an old
//                 transmission from the answer to the current one;
//   client        the client's id (must equal the sender's NodeId on the node side);
//   sequence      the client's sequence number: >= 1 for a mutation (lease grant,
//                 keepalive, revoke, acquire, release, cancel-acquire, store write) and
//                 the same on every
//                 retry of it — (client, sequence) is the idempotency key; 0 for a read;
//   budget        the deadline budget the client has left (Duration::Infinite(): none),
//                 so a node can drop work whose client has given up (resilience/
//                 deadline.h: budgets, not instants, cross process boundaries).
// A response carries a status code and message, `not_leader` with a `leader_hint`
// (NodeId 0: unknown; a not-leader response always has code UNAVAILABLE and means "not
// applied by this node, try the hint"), and a body with the result fields. The body is
// independent of the code: a store write rejected with ABORTED still carries max_token.
//
// Encoding (payload of the frame): a version byte (see kClientMessageVersion), then the
// fields in order as varints, zig-zag varints (durations, in nanoseconds), bytes and
// length-prefixed strings (core/codec.h). Decoders never crash and never allocate more
// than the limits below, whatever the input:
//   Unimplemented      a message version this build does not speak;
//   InvalidArgument    anything else malformed: truncated, trailing bytes, a string or
//                      list over its limit, an unknown kind, mode, state, reason or
//                      status code, an id out of range, a negative duration, a mutation
//                      with sequence 0 or a read with a sequence, send number 0, an OK
//                      status with a message, not_leader without UNAVAILABLE.
// Round trip: Decode(Encode(m)) == m for every valid m within the limits, and every
// encoded message fits kMaxClientMessageBytes (asserted on encode).
// Thread safety: values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/protocol/frame.h"

namespace murphy::protocol {

inline constexpr uint8_t kLockRequestFrame = 0x10;
inline constexpr uint8_t kLockResponseFrame = 0x11;
inline constexpr uint8_t kLockPushFrame = 0x12;
// The newest message version this build speaks; it decodes every version from
// kFirstClientMessageVersion on. Version 2 adds a write's expected value and the
// cancel-acquire request. An encoder
// writes the lowest version that can express the message, so a peer of version 1
// understands everything that does not use what came later.
inline constexpr uint8_t kFirstClientMessageVersion = 1;
inline constexpr uint8_t kClientMessageVersion = 2;

// Limits (decoders refuse more; encoders assert).
inline constexpr size_t kMaxNameBytes = 1024;        // lock and resource names
inline constexpr size_t kMaxValueBytes = 256 << 10;  // a store value
inline constexpr size_t kMaxKeyBytes = 128;          // an idempotency key
inline constexpr size_t kMaxStatusMessageBytes = 1024;
inline constexpr size_t kMaxWaitersInResponse = 1024;  // LockInfo waiters listed
inline constexpr size_t kMaxLocksInResponse = 256;     // LeaseInfo held / waiting listed
inline constexpr size_t kMaxClientMessageBytes = kDefaultMaxFramePayload;

// --- Requests --------------------------------------------------------------------------

struct RequestHeader {
  uint64_t request_id = 0;
  uint32_t send_number = 1;
  NodeId client;
  uint64_t sequence = 0;
  Duration budget = Duration::Infinite();
  bool operator==(const RequestHeader&) const = default;
};

// Mutations.
struct GrantLeaseRequest {
  Duration ttl;
  bool operator==(const GrantLeaseRequest&) const = default;
};
struct KeepAliveRequest {
  LeaseId lease;
  bool operator==(const KeepAliveRequest&) const = default;
};
struct RevokeLeaseRequest {
  LeaseId lease;
  bool operator==(const RevokeLeaseRequest&) const = default;
};

// The same values as lock::AcquireMode; converted explicitly by the layer above.
enum class AcquireMode : uint8_t { kWait = 0, kTry = 1, kWaitWithTimeout = 2 };

struct AcquireRequest {
  std::string lock;
  LeaseId lease;
  AcquireMode mode = AcquireMode::kWait;
  Duration wait_timeout;  // kWaitWithTimeout only
  bool operator==(const AcquireRequest&) const = default;
};
struct ReleaseRequest {
  std::string lock;
  LeaseId lease;
  bool operator==(const ReleaseRequest&) const = default;
};
// Withdraws the lease's wait for `lock` (version 2). Answered with an AcquireBody:
// kNone when no wait is left (withdrawn now, or ended before: idempotent), kGranted
// with the token when the grant came first — the lease holds the lock, release it.
struct CancelAcquireRequest {
  std::string lock;
  LeaseId lease;
  bool operator==(const CancelAcquireRequest&) const = default;
};
struct WriteRequest {
  std::string resource;
  std::string lock;  // the lock `token` was granted for
  FencingToken token;
  std::string value;
  std::optional<uint64_t> expected_version;  // compare-and-set; nullopt: unconditional
  std::string idempotency_key;               // empty: none
  // Compare-and-set on the value (version 2); nullopt: unconditional.
  std::optional<std::string> expected_value = std::nullopt;
  bool operator==(const WriteRequest&) const = default;
};

// Reads.
struct GetLockRequest {
  std::string lock;
  bool operator==(const GetLockRequest&) const = default;
};
struct GetLeaseRequest {
  LeaseId lease;
  bool operator==(const GetLeaseRequest&) const = default;
};
struct ReadRequest {
  std::string resource;
  bool operator==(const ReadRequest&) const = default;
};

using RequestBody =
    std::variant<GrantLeaseRequest, KeepAliveRequest, RevokeLeaseRequest, AcquireRequest, ReleaseRequest,
                 WriteRequest, GetLockRequest, GetLeaseRequest, ReadRequest, CancelAcquireRequest>;

// True for the kinds that change state (and so need a sequence number).
bool IsMutation(const RequestBody& body);
// "grant-lease", "acquire", ... for traces.
std::string_view RequestKindName(const RequestBody& body);

struct Request {
  RequestHeader header;
  RequestBody body;
  bool operator==(const Request&) const = default;
};

// --- Responses -------------------------------------------------------------------------

struct NoBody {
  bool operator==(const NoBody&) const = default;
};
// GrantLease, KeepAlive.
struct LeaseBody {
  LeaseId lease;
  Duration ttl;
  bool operator==(const LeaseBody&) const = default;
};
enum class AcquireState : uint8_t { kNone = 0, kGranted = 1, kWaiting = 2 };
struct AcquireBody {
  AcquireState state = AcquireState::kNone;
  FencingToken token;     // kGranted
  uint64_t position = 0;  // kWaiting: 0 = next in line
  uint64_t ticket = 0;    // kWaiting
  bool operator==(const AcquireBody&) const = default;
};
struct WaiterView {
  LeaseId lease;
  uint64_t ticket = 0;
  Duration timeout;  // zero: none
  bool operator==(const WaiterView&) const = default;
};
// GetLock.
struct LockInfoBody {
  std::string lock;
  std::optional<LeaseId> holder;
  FencingToken token;               // the holder's; when free, the last granted
  uint64_t waiter_count = 0;        // all waiters
  std::vector<WaiterView> waiters;  // the first kMaxWaitersInResponse, FIFO order
  bool operator==(const LockInfoBody&) const = default;
};
// GetLease.
struct LeaseInfoBody {
  LeaseId lease;
  NodeId client;
  Duration ttl;
  Duration remaining;  // as of the last checkpoint or renewal, not "now"
  uint64_t renewals = 0;
  std::vector<std::string> held;     // at most kMaxLocksInResponse
  std::vector<std::string> waiting;  // at most kMaxLocksInResponse
  bool operator==(const LeaseInfoBody&) const = default;
};
// Store write (also on rejection: ABORTED with max_token > the write's token).
struct WriteBody {
  FencingToken max_token;
  uint64_t version = 0;
  bool operator==(const WriteBody&) const = default;
};
// Store read.
struct ReadBody {
  std::string lock;
  FencingToken max_token;
  uint64_t version = 0;
  std::string value;
  bool operator==(const ReadBody&) const = default;
};

using ResponseBody =
    std::variant<NoBody, LeaseBody, AcquireBody, LockInfoBody, LeaseInfoBody, WriteBody, ReadBody>;

struct Response {
  uint64_t request_id = 0;
  uint32_t send_number = 0;
  StatusCode code = StatusCode::kOk;
  std::string message;  // empty when code is kOk
  bool not_leader = false;
  NodeId leader_hint;  // NodeId(0): unknown
  ResponseBody body;
  bool operator==(const Response&) const = default;

  // The status as a value (message truncated to the limit by the builder).
  Status status() const { return code == StatusCode::kOk ? Status::Ok() : Status(code, message); }
};

// A response to `header` with `status` (message truncated to kMaxStatusMessageBytes).
Response MakeResponse(const RequestHeader& header, const Status& status, ResponseBody body = NoBody{});
// UNAVAILABLE, not_leader, with the hint (NodeId(0): unknown).
Response MakeNotLeaderResponse(const RequestHeader& header, NodeId leader_hint);

// --- Pushes ----------------------------------------------------------------------------

enum class PushKind : uint8_t {
  kGranted = 1,    // a waiter was granted `lock` with `token`
  kLost = 2,       // the holder lost `lock` (token) involuntarily; `reason` says why
  kWaitEnded = 3,  // a wait for `lock` ended without a grant; `reason` says why
};
// The same values as lock::EndReason.
enum class EndReason : uint8_t {
  kNone = 0,
  kReleased = 1,
  kLeaseExpired = 2,
  kLeaseRevoked = 3,
  kWaitTimedOut = 4
};

struct Push {
  PushKind kind = PushKind::kGranted;
  LeaseId lease;
  std::string lock;
  FencingToken token;
  uint64_t ticket = 0;
  EndReason reason = EndReason::kNone;
  bool operator==(const Push&) const = default;
};

std::string_view PushKindName(PushKind kind);
std::string_view EndReasonName(EndReason reason);

// --- Codec -----------------------------------------------------------------------------

// Frame payloads (the body of a frame of the matching type).
Bytes EncodeRequest(const Request& request);
Bytes EncodeResponse(const Response& response);
Bytes EncodePush(const Push& push);
Result<Request> DecodeRequest(std::span<const uint8_t> payload);
Result<Response> DecodeResponse(std::span<const uint8_t> payload);
Result<Push> DecodePush(std::span<const uint8_t> payload);

// Whole frames, ready for Env::Send.
Bytes EncodeRequestFrame(const Request& request);
Bytes EncodeResponseFrame(const Response& response);
Bytes EncodePushFrame(const Push& push);

// True for the three frame types above.
bool IsClientFrameType(uint8_t type);

using ClientMessage = std::variant<Request, Response, Push>;
// Decodes one datagram: the frame (frame.h errors), then the message its type names
// (errors above; InvalidArgument for a frame type that is not one of the three). On
// success `*message` holds it; on failure `*message` is unchanged. (An out-parameter
// rather than Result<variant>: g++ 12 -O2 raises a false maybe-uninitialized on moving
// such a variant into a Result.)
Status DecodeClientMessage(std::span<const uint8_t> datagram, ClientMessage* message);

}  // namespace murphy::protocol
