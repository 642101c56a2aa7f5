// murphy/server/membership_admin.h — adding and removing members of a running
// cluster, on top of NodeShell::ProposeMembershipChange, and the glue that turns
// the configuration's contexts into transport addresses.
//
// Contract: a `MembershipAdmin` runs one membership operation at a time on the
// leader, as an asynchronous state machine on the node's Env loop (polling the
// shell every `poll_interval`; no thread, no blocking):
//   AddMember(node, "HOST:PORT"): proposes add-learner with the address as the
//     change's context; waits until that commits; waits until the learner has
//     caught up (Raft refuses the promotion before: thesis §4.2.1) and proposes
//     the promotion; completes once the promotion commits. The new node must be
//     started with NodeOptions::join (murphyd --join) before or during this; it
//     catches up from the leader's snapshot.
//   RemoveMember(node): proposes the removal and completes once it commits (on a
//     leader that removes itself: once the removal commits, after which it steps
//     down — thesis §4.2.2).
// `done` is called exactly once, on the loop, with OK or the reason: Unavailable
// (this node is not, or stopped being, the leader — retry against the leader);
// FailedPrecondition (the change does not apply: already a member, not a member,
// the last voter); Aborted (the proposed change was overwritten by a new leader;
// the configuration may be unchanged — look at it and retry); DeadlineExceeded
// (`timeout` passed: outcome unknown, the change may still commit; AddMember may
// have left the node a learner, which a new AddMember will not undo — remove it or
// promote it by hand). A transient refusal (the previous change not committed
// yet, the leader not yet committed in its term) is retried until the deadline.
// Starting an operation while one runs is FailedPrecondition (nothing is called).
// Address glue: `ApplyMemberAddresses` calls `add_peer` for every member whose
// context is an address (all but `self`); murphyd calls it from
// NodeOptions::on_membership with PosixEnv::AddPeer. Removed members keep their
// address: Raft stops sending to a non-member on its own, and a removed node that
// never learned of its removal must still get answers that tell it a newer term
// (PreVote and CheckQuorum keep it from disrupting the cluster).
// Thread safety: none; everything on the shell's loop. Ownership: the shell and the
// Env must outlive the admin; destroying it cancels its timer and drops `done`.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"
#include "murphy/node/node_shell.h"
#include "murphy/server/http_client.h"

namespace murphy::server {

struct MembershipAdminOptions {
  Duration poll_interval = Milliseconds(20);
  Duration timeout = Seconds(30);
};

class MembershipAdmin {
 public:
  MembershipAdmin(node::NodeShell& shell, Env& env, MembershipAdminOptions options = {});
  ~MembershipAdmin();
  MembershipAdmin(const MembershipAdmin&) = delete;
  MembershipAdmin& operator=(const MembershipAdmin&) = delete;

  // See the contract. InvalidArgument (and no call to `done`) for node 0 or an
  // address that is not HOST:PORT; FailedPrecondition while another operation runs.
  Status AddMember(NodeId node, std::string address, std::function<void(Status)> done);
  Status RemoveMember(NodeId node, std::function<void(Status)> done);
  bool busy() const { return operation_.has_value(); }

 private:
  enum class Step { kProposeAdd, kWaitAdd, kPromote, kWaitPromote, kProposeRemove, kWaitRemove };
  struct Operation {
    NodeId node;
    std::string address;
    Step step;
    LogIndex index;  // of the change being waited for
    Instant deadline;
    std::function<void(Status)> done;
  };

  Status Start(Operation operation);
  void Poll();
  // One step; returns a status to finish with, or nullopt to keep polling.
  std::optional<Status> Advance(Operation& operation);
  std::optional<Status> Propose(Operation& operation, const raft::ConfigChange& change, Step next);
  std::optional<Status> WaitCommitted(Operation& operation, Step next);

  node::NodeShell& shell_;
  Env& env_;
  MembershipAdminOptions options_;
  std::optional<Operation> operation_;
  TimerId timer_;
};

// For every member of `membership` with a context (except `self`): parses it as
// HOST:PORT and calls add_peer. Returns the first error (a context that is not an
// address, an add_peer failure) after trying every member.
Status ApplyMemberAddresses(const raft::Membership& membership, NodeId self,
                            const std::function<Status(NodeId, const HostPort&)>& add_peer);

}  // namespace murphy::server
