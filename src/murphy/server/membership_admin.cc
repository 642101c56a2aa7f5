#include "murphy/server/membership_admin.h"

#include <utility>

#include "murphy/core/assert.h"
#include "murphy/raft/membership.h"

namespace murphy::server {

MembershipAdmin::MembershipAdmin(node::NodeShell& shell, Env& env, MembershipAdminOptions options)
    : shell_(shell), env_(env), options_(options) {}

MembershipAdmin::~MembershipAdmin() { env_.CancelTimer(timer_); }

Status MembershipAdmin::AddMember(NodeId node, std::string address, std::function<void(Status)> done) {
  if (node == raft::kNoNode) return InvalidArgumentError("add member: node 0");
  Result<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) return InvalidArgumentError("add member: " + std::string(parsed.status().message()));
  if (address.size() > raft::kMaxConfigChangeContextBytes)
    return InvalidArgumentError("add member: address too long");
  return Start({node, std::move(address), Step::kProposeAdd, LogIndex(), Instant(), std::move(done)});
}

Status MembershipAdmin::RemoveMember(NodeId node, std::function<void(Status)> done) {
  if (node == raft::kNoNode) return InvalidArgumentError("remove member: node 0");
  return Start({node, {}, Step::kProposeRemove, LogIndex(), Instant(), std::move(done)});
}

Status MembershipAdmin::Start(Operation operation) {
  if (operation_.has_value()) return FailedPreconditionError("a membership operation is already running");
  MURPHY_ASSERT(operation.done != nullptr);
  operation.deadline = env_.MonotonicNow() + options_.timeout;
  operation_ = std::move(operation);
  // The first step runs on the loop, never inside the caller: `done` is always
  // called from the loop, after AddMember/RemoveMember returned.
  timer_ = env_.SetTimer(Duration(), [this] { Poll(); });
  return Status::Ok();
}

void MembershipAdmin::Poll() {
  MURPHY_ASSERT(operation_.has_value());
  std::optional<Status> finished = Advance(*operation_);
  if (!finished.has_value() && env_.MonotonicNow() >= operation_->deadline) {
    finished = DeadlineExceededError("membership change: timed out (the outcome is unknown)");
  }
  if (!finished.has_value()) {
    timer_ = env_.SetTimer(options_.poll_interval, [this] { Poll(); });
    return;
  }
  std::function<void(Status)> done = std::move(operation_->done);
  operation_.reset();
  done(*finished);
}

std::optional<Status> MembershipAdmin::Advance(Operation& operation) {
  if (shell_.stopped()) return UnavailableError("membership change: the node stopped");
  switch (operation.step) {
    case Step::kProposeAdd:
      return Propose(operation, {raft::ConfigChangeType::kAddLearner, operation.node, operation.address},
                     Step::kWaitAdd);
    case Step::kWaitAdd:
      return WaitCommitted(operation, Step::kPromote);
    case Step::kPromote: {
      if (!shell_.is_leader()) return UnavailableError("membership change: lost leadership");
      if (!shell_.membership().IsLearner(operation.node)) {
        return AbortedError("membership change: the node is no longer a learner");
      }
      // Raft promotes only a learner that has caught up (thesis §4.2.1); wait here
      // rather than read its refusal, which shares a code with real errors.
      const raft::Progress& progress = shell_.raw_node().raft().progress(operation.node);
      if (progress.match() < shell_.commit_index()) return std::nullopt;
      return Propose(operation, {raft::ConfigChangeType::kPromote, operation.node}, Step::kWaitPromote);
    }
    case Step::kWaitPromote:
      return WaitCommitted(operation, Step::kWaitPromote);
    case Step::kProposeRemove:
      return Propose(operation, {raft::ConfigChangeType::kRemove, operation.node}, Step::kWaitRemove);
    case Step::kWaitRemove:
      return WaitCommitted(operation, Step::kWaitRemove);
  }
  MURPHY_UNREACHABLE();
}

std::optional<Status> MembershipAdmin::Propose(Operation& operation, const raft::ConfigChange& change,
                                               Step next) {
  if (!shell_.is_leader()) return UnavailableError("membership change: not the leader");
  Result<LogIndex> index = shell_.ProposeMembershipChange(change);
  if (index.ok()) {
    operation.index = *index;
    operation.step = next;
    return std::nullopt;
  }
  // Not the leader any more: the caller must go to the new one. A refusal while
  // leading (previous change pending, nothing committed in this term yet, a
  // transfer) passes: retry until the deadline.
  if (index.status().code() == StatusCode::kUnavailable && shell_.is_leader()) return std::nullopt;
  return index.status();
}

std::optional<Status> MembershipAdmin::WaitCommitted(Operation& operation, Step next) {
  const bool waiting_for_last = next == operation.step;
  if (shell_.commit_index() >= operation.index) {
    // Committed at our index: is it still our entry? A new leader may have
    // overwritten it before it committed; then the configuration says so.
    const raft::Membership& membership = shell_.membership();
    bool applied = false;
    switch (operation.step) {
      case Step::kWaitAdd:
        applied = membership.Contains(operation.node);
        break;
      case Step::kWaitPromote:
        applied = membership.IsVoter(operation.node);
        break;
      case Step::kWaitRemove:
        applied = !membership.Contains(operation.node);
        break;
      default:
        MURPHY_UNREACHABLE();
    }
    if (!applied) return AbortedError("membership change: overwritten by another leader");
    if (waiting_for_last) return Status::Ok();
    operation.step = next;
    return Advance(operation);
  }
  if (!shell_.is_leader()) return UnavailableError("membership change: lost leadership before it committed");
  return std::nullopt;
}

Status ApplyMemberAddresses(const raft::Membership& membership, NodeId self,
                            const std::function<Status(NodeId, const HostPort&)>& add_peer) {
  Status first_error;
  for (const auto& [member, context] : membership.contexts) {
    if (member == self) continue;
    Result<HostPort> address = ParseHostPort(context);
    Status status = address.ok() ? add_peer(member, *address)
                                 : InvalidArgumentError("member " + ToString(member) + ": context '" +
                                                        context + "' is not HOST:PORT");
    if (!status.ok() && first_error.ok()) first_error = std::move(status);
  }
  return first_error;
}

}  // namespace murphy::server
