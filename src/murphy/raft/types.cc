#include "murphy/raft/types.h"

#include <algorithm>

#include "murphy/core/assert.h"
#include "murphy/raft/membership.h"

namespace murphy::raft {

bool Membership::IsVoter(NodeId id) const { return std::binary_search(voters.begin(), voters.end(), id); }

bool Membership::IsLearner(NodeId id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  MURPHY_UNREACHABLE();
}

std::string_view MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kSnapshot:
      return "Snapshot";
    case MessageType::kSnapshotResponse:
      return "SnapshotResponse";
  }
  MURPHY_UNREACHABLE();
}

std::string_view Membership::ContextOf(NodeId id) const {
  auto it = contexts.find(id);
  return it == contexts.end() ? std::string_view() : std::string_view(it->second);
}

std::string DescribeMembership(const Membership& membership) {
  std::string text = "voters=(";
  for (size_t i = 0; i < membership.voters.size(); ++i) {
    if (i > 0) text += " ";
    text += ToString(membership.voters[i]);
  }
  text += ")";
  if (!membership.learners.empty()) {
    text += " learners=(";
    for (size_t i = 0; i < membership.learners.size(); ++i) {
      if (i > 0) text += " ";
      text += ToString(membership.learners[i]);
    }
    text += ")";
  }
  if (!membership.contexts.empty()) {
    text += " contexts=(";
    bool first = true;
    for (const auto& [id, context] : membership.contexts) {
      if (!first) text += " ";
      first = false;
      text += ToString(id) + "=" + context;
    }
    text += ")";
  }
  return text;
}

std::string DescribeEntry(const Entry& entry) {
  std::string text = ToString(entry.term) + "/" + ToString(entry.index);
  if (entry.type == EntryType::kConfigChange) {
    Result<ConfigChange> change = DecodeConfigChange(entry.data);
    return text + " config(" + (change.ok() ? DescribeConfigChange(*change) : "malformed") + ")";
  }
  if (!entry.data.empty()) {
    text += " \"";
    for (char c : entry.data) {
      // Keep the line printable whatever the payload.
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
        text += c;
      } else {
        text += '?';
      }
    }
    text += "\"";
  }
  return text;
}

std::string DescribeMessage(const Message& message) {
  std::string text = ToString(message.from) + "->" + ToString(message.to) + " " +
                     std::string(MessageTypeName(message.type)) + " term=" + ToString(message.term);
  switch (message.type) {
    case MessageType::kPreVote:
    case MessageType::kVote:
      text += " last_index=" + ToString(message.index) + " last_term=" + ToString(message.log_term);
      if (message.leader_transfer) text += " transfer";
      break;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse:
      text += message.reject ? " rejected" : " granted";
      break;
    case MessageType::kAppend: {
      text += " index=" + ToString(message.index) + " log_term=" + ToString(message.log_term) +
              " commit=" + ToString(message.commit) + " entries=[";
      for (size_t i = 0; i < message.entries.size(); ++i) {
        if (i > 0) text += ", ";
        text += DescribeEntry(message.entries[i]);
      }
      text += "]";
      break;
    }
    case MessageType::kAppendResponse:
      if (message.reject) {
        text += " rejected index=" + ToString(message.index) + " hint=" + ToString(message.log_term) + "/" +
                ToString(message.reject_hint);
      } else {
        text += " index=" + ToString(message.index);
      }
      break;
    case MessageType::kHeartbeat:
      text += " commit=" + ToString(message.commit);
      if (message.read_round > 0) text += " read_round=" + std::to_string(message.read_round);
      break;
    case MessageType::kHeartbeatResponse:
      if (message.read_round > 0) text += " read_round=" + std::to_string(message.read_round);
      break;
    case MessageType::kTimeoutNow:
      break;
    case MessageType::kSnapshot:
      text += " index=" + ToString(message.index) + " log_term=" + ToString(message.log_term) +
              " bytes=" + std::to_string(message.chunk_offset) + "+" + std::to_string(message.data.size()) + "/" +
              std::to_string(message.snapshot_size) + " " + DescribeMembership(message.snapshot_membership);
      break;
    case MessageType::kSnapshotResponse:
      text += " index=" + ToString(message.index) + " log_term=" + ToString(message.log_term);
      text += message.reject ? " rejected" : " next_byte=" + std::to_string(message.chunk_offset);
      break;
  }
  return text;
}

}  // namespace murphy::raft
