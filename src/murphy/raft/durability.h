// murphy/raft/durability.h — the persist-before-send rule, as a checkable predicate.
//
// Contract: `CheckSendAllowed(message, durable)` says whether a node whose storage
// durably holds `durable` may put `message` on the wire now. It is the monitor's
// half of RawNode's contract (raw_node.h): a simulator that tracks each node's
// fsynced state calls it on every send and flags "sent before synced". The rules:
//   - every message claims its term: term <= durable term (a pre-vote claims the
//     next term: term <= durable term + 1; a granted pre-vote echoes the asker's
//     future term and claims nothing);
//   - a vote request needs our self-vote durable (durable term == term and vote ==
//     us, or a durable term beyond it: then we can never vote in that term again);
//   - a granted vote likewise needs that vote durable, or a later durable term;
//   - an append acknowledgement for index i needs the log durable up to i — which
//     includes a snapshot covering i, so a follower acknowledges an installed
//     snapshot only once it is durable; a snapshot chunk's acknowledgement claims
//     only its term (the bytes are merely buffered).
// OK, or FailedPrecondition describing the violation. Pure; thread-safe.
#pragma once

#include "murphy/core/status.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

struct DurableState {
  HardState hard_state;
  // The last index of the durable log (after any truncation it has undergone), or
  // of the durable snapshot if no entry follows it.
  LogIndex last_index;
};

Status CheckSendAllowed(const Message& message, const DurableState& durable);

}  // namespace murphy::raft
