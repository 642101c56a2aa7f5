// murphy/node/state_machine.h — the replicated state machine a NodeShell drives.
//
// Contract: a `StateMachine` is deterministic: the same sequence of Apply calls from
// the same Restore point yields the same results and the same Snapshot bytes on every
// node (no clocks, no randomness, no iteration over unordered containers). The node
// shell calls it from its one event loop:
//   Apply(index, command)  for every committed, non-empty normal entry, in log order,
//                          exactly once per incarnation (after a restart the shell
//                          restores the latest snapshot and re-applies the log after
//                          it, so effects on anything outside the state machine must
//                          be idempotent or derived from it);
//   Query(request)         a read served after a ReadIndex confirmation once the
//                          state machine has applied the read's index; must not
//                          change the state;
//   Snapshot / Restore     the whole state (including whatever it needs to
//                          deduplicate retried commands) as bytes, and back.
// Apply and Query never fail: a malformed command is deterministic input too, and
// its result says so. Restore returns DataLoss for bytes it cannot decode (the shell
// then stops: it cannot serve from an unknown state).
// Thread safety: none; one owner (the node shell). Ownership: the shell owns it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy::node {

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  // Applies the committed command at `index` and returns the reply for its client.
  virtual std::string Apply(LogIndex index, std::string_view command) = 0;
  // Answers a read-only request from the current state.
  virtual std::string Query(std::string_view request) const = 0;
  // The whole state, in a canonical encoding.
  virtual std::string Snapshot() const = 0;
  // Replaces the whole state with a snapshot's. DataLoss if `data` is malformed
  // (the state is then unspecified and the caller must stop).
  virtual Status Restore(std::string_view data) = 0;
};

}  // namespace murphy::node
