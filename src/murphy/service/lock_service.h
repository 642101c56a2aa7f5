// murphy/service/lock_service.h — the node side of the client protocol: from a decoded
// protocol::Request to lock-machine and fenced-store commands, and from their results
// and events back to protocol::Responses and Pushes.
//
// Contract: protocol/ (layer 1) defines the wire messages with plain fields and may not
// link lock/ or store/ (layer 2); this library (between layers 2 and 3: it links
// protocol, lock and store, and nothing links it below the node shell) is the one place
// that maps between them, so the node shell and test servers share one mapping.
// Everything here is pure and deterministic: no clock (time arrives as `now`), no I/O.
//
// How the node shell uses it (replicated):
//   on a request     CheckRequest(request, source) → error response if not OK;
//                    not leader → protocol::MakeNotLeaderResponse(header, hint);
//                    switch (RouteOf(request.body)):
//                      kLockCommand  propose lock::EncodeCommand(ToLockCommand(request));
//                      kStoreWrite   propose store::EncodeWrite(ToFencedWrite(...));
//                      kLockRead     after ReadIndex: LockReadResponse(request, machine);
//                      kStoreRead    after ReadIndex: StoreReadResponse(request, store);
//   on commit/apply  LockCommandResponse(request, output.result) or
//                    StoreWriteResponse(header, result) to the waiting client — only
//                    after the entry is committed by a quorum and applied;
//                    for each event: if (auto push = PushFor(event)) send it to push->client
//                    (every replica applies, only the leader sends).
// `LocalLockService` does all of this on one node without replication (time through
// `now`, lease expiry from lock::LeaseTimers): the fake server of client tests and a
// reference for the node shell. It is not fault tolerant: its state dies with it.
//
// Deadline budgets: a request whose budget is zero on arrival is answered
// DEADLINE_EXCEEDED without being applied (the client has given up and will treat the
// outcome as unknown anyway; doing the work would only add load).
// Thread safety: functions are pure; a LocalLockService has one owner (one event loop).
#pragma once

#include <optional>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/lock/lease_timers.h"
#include "murphy/lock/lock_command.h"
#include "murphy/lock/lock_machine.h"
#include "murphy/protocol/client_message.h"
#include "murphy/store/fenced_store.h"

namespace murphy::service {

enum class Route : uint8_t { kLockCommand, kStoreWrite, kLockRead, kStoreRead };
Route RouteOf(const protocol::RequestBody& body);

// What a node checks before acting on a request received from `source`:
// PermissionDenied if the request claims another client id than its sender (a client
// must not renew or release another client's lease); DeadlineExceeded if its budget is
// already spent. OK otherwise.
Status CheckRequest(const protocol::Request& request, NodeId source);

// The lock command of a request. REQUIRES: RouteOf(request.body) == kLockCommand.
lock::Command ToLockCommand(const protocol::Request& request);
// The store write of a request. REQUIRES: RouteOf(request.body) == kStoreWrite.
store::FencedWrite ToFencedWrite(const protocol::Request& request);

// The response to a lock command once applied: status, and a LeaseBody (grant,
// keepalive) or AcquireBody (acquire, cancel-acquire → lock::CancelWait) when OK.
// REQUIRES: route kLockCommand.
protocol::Response LockCommandResponse(const protocol::Request& request, const lock::CommandResult& result);
// The response to a store write once applied: status and a WriteBody (also on
// rejection, so the client learns the store's max_token).
protocol::Response StoreWriteResponse(const protocol::RequestHeader& header,
                                      const store::WriteResult& result);
// Reads answered from the (applied) state. NotFound for an unknown lock, lease or
// resource. Lists longer than the protocol's limits are cut (waiter_count stays whole).
// REQUIRES: route kLockRead / kStoreRead respectively.
protocol::Response LockReadResponse(const protocol::Request& request, const lock::LockMachine& machine);
protocol::Response StoreReadResponse(const protocol::Request& request, const store::FencedStore& store);

// A push and the client it goes to.
struct Delivery {
  NodeId client;
  protocol::Push push;
  bool operator==(const Delivery&) const = default;
};
// The push for a lock-machine event: kGranted, kLost and kWaitEnded go to the lease's
// client; other events are node-local (nullopt).
std::optional<Delivery> PushFor(const lock::Event& event);

struct LocalLockServiceOptions {
  lock::LockMachineOptions machine;
  store::FencedStoreOptions store;
  lock::LeaseTimersOptions timers;
};

// A single-node lock service: applies each request at once, expires leases on the
// node's monotonic clock. See the contract above.
class LocalLockService {
 public:
  LocalLockService(const LocalLockServiceOptions& options, Instant now);

  struct Output {
    protocol::Response response;
    std::vector<Delivery> pushes;
  };
  // Checks, applies (or reads) and answers one request received from `source` at
  // `now`. Never fails as a whole: errors are in the response.
  Output Handle(NodeId source, const protocol::Request& request, Instant now);
  // Applies what the lease timers decided by `now` (expiries, wait timeouts,
  // checkpoints); returns the pushes they caused.
  std::vector<Delivery> Tick(Instant now);
  // Ends `lease` now, as if the leader's timer had fired (an operator's revoke, or a
  // test standing in for a leader whose clock ran fast); returns the pushes (the
  // holder's `lost`, a waiter's `granted`). Nothing happens for an unknown lease.
  std::vector<Delivery> ExpireLeaseNow(LeaseId lease, Instant now);
  // When the lease timers will expire `lease` (the node's monotonic clock); nullopt if
  // unknown.
  std::optional<Instant> lease_deadline(LeaseId lease) const { return timers_.deadline(lease); }
  // When Tick has something to do next; nullopt if nothing is armed.
  std::optional<Instant> NextWakeup() const { return timers_.NextWakeup(); }

  const lock::LockMachine& machine() const { return machine_; }
  const store::FencedStore& store() const { return store_; }

 private:
  void Apply(const lock::Command& command, Instant now, lock::CommandResult* result,
             std::vector<Delivery>* pushes);

  lock::LockMachine machine_;
  store::FencedStore store_;
  lock::LeaseTimers timers_;  // built from machine_: declared after it
};

}  // namespace murphy::service
