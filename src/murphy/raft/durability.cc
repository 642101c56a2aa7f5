#include "murphy/raft/durability.h"

#include <string>

namespace murphy::raft {

namespace {

Status Violation(const Message& message, std::string_view why) {
  return FailedPreconditionError("sent before synced: " + DescribeMessage(message) + ": " + std::string(why));
}

}  // namespace

Status CheckSendAllowed(const Message& message, const DurableState& durable) {
  const Term durable_term = durable.hard_state.term;
  switch (message.type) {
    case MessageType::kPreVote:
      if (message.term > durable_term.next()) return Violation(message, "pre-vote beyond durable term + 1");
      return Status::Ok();
    case MessageType::kPreVoteResponse:
      if (!message.reject) return Status::Ok();
      break;
    case MessageType::kVote:
      // A node that has durably moved past the term can never vote in it again, so
      // a stale request (or grant) from that term is harmless.
      if (durable_term < message.term) return Violation(message, "candidate term not durable");
      if (durable_term == message.term && durable.hard_state.vote != message.from) {
        return Violation(message, "self-vote not durable");
      }
      return Status::Ok();
    case MessageType::kVoteResponse:
      if (message.reject) break;
      if (durable_term < message.term) return Violation(message, "granted vote's term not durable");
      if (durable_term == message.term && durable.hard_state.vote != message.to) {
        return Violation(message, "granted vote not durable");
      }
      return Status::Ok();
    case MessageType::kAppendResponse:
      if (message.reject) break;
      if (durable.last_index < message.index) return Violation(message, "acknowledged entries not durable");
      break;
    default:
      break;
  }
  if (message.term > durable_term) return Violation(message, "message term not durable");
  return Status::Ok();
}

}  // namespace murphy::raft
