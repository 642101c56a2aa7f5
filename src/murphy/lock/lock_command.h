// murphy/lock/lock_command.h — the commands of the lock/lease state machine, their
// results, the events they emit, and their encoding to bytes.
//
// Contract: a `Command` is one replicated log entry for `LockMachine` (lock_machine.h).
// Two families:
//   client commands  GrantLease, KeepAlive, RevokeLease, Acquire, Release, CancelWait.
//                    Each carries
//                    a `RequestId` (client id + sequence number) so that a retry of the
//                    same request is answered from the machine's memory and applied
//                    once (ARCHITECTURE.md, "Idempotency").
//   leader commands  ExpireLease, ExpireWait, CheckpointLeases. Proposed by the leader
//                    from its own monotonic timers (lease_timers.h); they carry no
//                    RequestId because each is idempotent by construction: it names the
//                    exact lease generation (`renewals`) or wait (`ticket`) it is about,
//                    and is ignored once that generation or wait no longer exists.
// Time enters the machine only as Durations inside commands (a TTL, a remaining TTL,
// a wait timeout); the machine never reads a clock and never compares Instants of
// different leaders.
//
// Encoding: `EncodeCommand` writes a version byte, a type byte, then varints and
// length-prefixed strings (core/codec.h). `DecodeCommand` never crashes and never
// allocates beyond `kMaxEncodedNameBytes` per string or `kMaxCheckpointsPerCommand`
// checkpoints, whatever the input:
//   Unimplemented    an encoding version this build does not speak;
//   InvalidArgument  anything else malformed (truncated, trailing bytes, unknown type
//                    or mode, an id out of range, a string or list over its limit).
// Round trip: DecodeCommand(EncodeCommand(c)) == c for every c within the limits. The
// same holds for `CommandResult` (EncodeResult/DecodeResult), which is what the node
// shell returns to the client. Events are node-local and not encoded.
// Thread safety: values and pure functions.
#pragma once

#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy::lock {

inline constexpr uint8_t kCommandEncodingVersion = 1;
// Hard decoder limits; the machine's own (configurable, smaller) limits apply after.
inline constexpr size_t kMaxEncodedNameBytes = 4096;
inline constexpr size_t kMaxEncodedMessageBytes = 4096;
inline constexpr size_t kMaxCheckpointsPerCommand = 4096;

// Who sent a client command, and which of that client's requests it is. Sequence
// numbers start at 1 and increase per client; a retry reuses the number.
struct RequestId {
  NodeId client;
  uint64_t sequence = 0;
  auto operator<=>(const RequestId&) const = default;
};

// Creates a lease for `client` lasting `ttl` unless kept alive.
struct GrantLease {
  RequestId request;
  Duration ttl;
  bool operator==(const GrantLease&) const = default;
};

// Renews `lease` to its full TTL.
struct KeepAlive {
  RequestId request;
  LeaseId lease;
  bool operator==(const KeepAlive&) const = default;
};

// Ends `lease` now; its locks are released and its waits cancelled.
struct RevokeLease {
  RequestId request;
  LeaseId lease;
  bool operator==(const RevokeLease&) const = default;
};

enum class AcquireMode : uint8_t {
  kWait = 0,            // queue (FIFO) until granted or the lease ends
  kTry = 1,             // grant now or fail with FailedPrecondition
  kWaitWithTimeout = 2  // queue, but give up after `wait_timeout` (leader's clock)
};
inline constexpr uint8_t kMaxAcquireMode = 2;

// Asks for `lock` on behalf of `lease`.
struct Acquire {
  RequestId request;
  std::string lock;
  LeaseId lease;
  AcquireMode mode = AcquireMode::kWait;
  Duration wait_timeout;  // only for kWaitWithTimeout
  bool operator==(const Acquire&) const = default;
};

// Gives up `lock` (held or waited for) on behalf of `lease`.
struct Release {
  RequestId request;
  std::string lock;
  LeaseId lease;
  bool operator==(const Release&) const = default;
};

// Withdraws the wait of `lease` for `lock` — the cancel of a waiting acquire. Unlike
// Release it never gives up a grant: if the grant raced ahead of the cancel, the
// result says so (kGranted with the token) and the client decides (it releases).
// Idempotent: cancelling a wait that has already ended (or never began) is OK with
// state kNone.
struct CancelWait {
  RequestId request;
  std::string lock;
  LeaseId lease;
  bool operator==(const CancelWait&) const = default;
};

// Leader: `lease` ended on the leader's monotonic clock. Applied only if the lease has
// not been renewed since the leader decided (`renewals` still matches): a KeepAlive
// committed between the decision and this entry wins.
struct ExpireLease {
  LeaseId lease;
  uint64_t renewals = 0;
  bool operator==(const ExpireLease&) const = default;
};

// Leader: the wait `ticket` of `lease` on `lock` timed out.
struct ExpireWait {
  std::string lock;
  LeaseId lease;
  uint64_t ticket = 0;
  bool operator==(const ExpireWait&) const = default;
};

struct LeaseCheckpoint {
  LeaseId lease;
  uint64_t renewals = 0;  // the generation the remaining TTL was measured for
  Duration remaining;
  bool operator==(const LeaseCheckpoint&) const = default;
};

// Leader: how much TTL each lease had left on the leader's clock, so that a new leader
// resumes from here instead of granting every lease a fresh full TTL (etcd's
// long-standing complaint). A checkpoint of an older generation is ignored.
struct CheckpointLeases {
  std::vector<LeaseCheckpoint> checkpoints;
  bool operator==(const CheckpointLeases&) const = default;
};

using Command = std::variant<GrantLease, KeepAlive, RevokeLease, Acquire, Release, ExpireLease, ExpireWait,
                             CheckpointLeases, CancelWait>;

// What Acquire achieved.
enum class AcquireState : uint8_t { kNone = 0, kGranted = 1, kWaiting = 2 };

// The answer to one command; OK or an error in `status`, plus fields per command:
//   GrantLease  lease, ttl          KeepAlive  lease, ttl
//   Acquire     state kGranted + token, or kWaiting + position (0 = next) + ticket
//   CancelWait  state kNone (no wait left: withdrawn now, or ended before), or
//               kGranted + token (the lease holds the lock: the grant came first)
//   others      status only
struct CommandResult {
  Status status;
  LeaseId lease;
  Duration ttl;
  AcquireState state = AcquireState::kNone;
  FencingToken token;
  uint64_t position = 0;
  uint64_t ticket = 0;
  bool operator==(const CommandResult&) const = default;
};

enum class EventKind : uint8_t {
  kGranted,       // lock, lease, token, ticket (0 if granted without waiting)
  kLost,          // lock, lease, token, reason: the holder lost the lock involuntarily
  kWaitStarted,   // lock, lease, ticket, ttl = wait timeout (zero: none)
  kWaitEnded,     // lock, lease, ticket, reason: a wait ended without a grant
  kLeaseRenewed,  // lease, ttl, renewals: granted (renewals 0) or kept alive
  kLeaseEnded,    // lease, reason
};

enum class EndReason : uint8_t { kNone, kReleased, kLeaseExpired, kLeaseRevoked, kWaitTimedOut };

// Emitted by Apply in a deterministic order. `client` owns `lease`: the node shell
// pushes kGranted / kLost / kWaitEnded to it; lease_timers.h consumes the rest.
struct Event {
  EventKind kind = EventKind::kGranted;
  NodeId client{};
  LeaseId lease{};
  std::string lock{};
  FencingToken token{};
  EndReason reason = EndReason::kNone;
  Duration ttl{};
  uint64_t renewals = 0;
  uint64_t ticket = 0;
  bool operator==(const Event&) const = default;
};

Bytes EncodeCommand(const Command& command);
Result<Command> DecodeCommand(std::span<const uint8_t> bytes);

Bytes EncodeResult(const CommandResult& result);
Result<CommandResult> DecodeResult(std::span<const uint8_t> bytes);

// Shared with the snapshot codec (lock_machine.cc).
void PutResult(ByteWriter* writer, const CommandResult& result);
bool GetResult(ByteReader* reader, CommandResult* result);

// "granted", "lease-expired", ... for traces and test output.
std::string_view EventKindName(EventKind kind);
std::string_view EndReasonName(EndReason reason);

}  // namespace murphy::lock
