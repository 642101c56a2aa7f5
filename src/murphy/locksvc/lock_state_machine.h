// murphy/locksvc/lock_state_machine.h — the replicated state machine of the lock
// service: a LockMachine and a FencedStore behind one Raft log.
//
// Contract: `LockStateMachine` is a node::StateMachine. Every log entry is one tagged
// command:
//   kLockTag  + lock::EncodeCommand(c)       → result lock::EncodeResult(r)
//   kStoreTag + varint client + store::EncodeWrite(w)
//                                            → result store::EncodeWriteResult(r)
// Both halves live in one log so that a write and the grant that fences it are ordered
// (a write with token 34 is applied after the grant of 34 on every replica). Untagged
// or undecodable entries change nothing and yield an empty result, identically on
// every replica. Store writes are made exactly-once by the node glue, which gives a
// write without an idempotency key the key of its (client, sequence).
// Query takes an encoded protocol::Request (a lock or store read) and returns an
// encoded protocol::Response. Snapshot = both halves' own snapshots (each has its CRC),
// length-prefixed; Restore replaces both only if both decode.
// The events of the most recent Apply (grants, losses, ...) are kept for the node glue
// (`last_events`), and every Apply is reported to `on_applied` if set (for simulation
// checkers: it sees the same thing on every replica, including recovery replays).
// Thread safety: none; one owner (the node shell).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/lock/lock_machine.h"
#include "murphy/node/state_machine.h"
#include "murphy/store/fenced_store.h"

namespace murphy::locksvc {

inline constexpr uint8_t kLockTag = 1;
inline constexpr uint8_t kStoreTag = 2;

std::string TagLockCommand(const lock::Command& command);
// `client` is who sent the write (kept for observers: the store does not need it).
std::string TagStoreWrite(NodeId client, const store::FencedWrite& write);

// What one applied entry did (for checkers).
struct AppliedRecord {
  enum class Kind : uint8_t { kLock, kStore, kMalformed };
  Kind kind = Kind::kMalformed;
  lock::Command command;     // kLock
  lock::ApplyOutput output;  // kLock
  store::FencedWrite write;  // kStore
  NodeId writer;             // kStore
  // kStore: the write changed the resource (false for a rejection and for a retry
  // answered from the idempotency memory: same result, not applied again).
  bool store_changed = false;
  store::WriteResult write_result;  // kStore
};

struct LockStateMachineOptions {
  lock::LockMachineOptions machine;
  store::FencedStoreOptions store;
  // Optional; see the contract.
  std::function<void(LogIndex, const AppliedRecord&)> on_applied;
};

class LockStateMachine : public node::StateMachine {
 public:
  explicit LockStateMachine(LockStateMachineOptions options);

  std::string Apply(LogIndex index, std::string_view command) override;
  std::string Query(std::string_view request) const override;
  std::string Snapshot() const override;
  Status Restore(std::string_view data) override;

  const lock::LockMachine& machine() const { return machine_; }
  const store::FencedStore& store() const { return store_; }
  const std::vector<lock::Event>& last_events() const { return last_events_; }

 private:
  LockStateMachineOptions options_;
  lock::LockMachine machine_;
  store::FencedStore store_;
  std::vector<lock::Event> last_events_;
};

}  // namespace murphy::locksvc
