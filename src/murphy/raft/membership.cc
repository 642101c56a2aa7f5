#include "murphy/raft/membership.h"

#include <algorithm>
#include <iterator>
#include <span>

#include "murphy/core/assert.h"
#include "murphy/core/codec.h"

namespace murphy::raft {

std::string DescribeConfigChange(const ConfigChange& change) {
  std::string_view name = "?";
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      name = "add-learner";
      break;
    case ConfigChangeType::kPromote:
      name = "promote";
      break;
    case ConfigChangeType::kRemove:
      name = "remove";
      break;
  }
  std::string text = std::string(name) + " " + ToString(change.node);
  if (!change.context.empty()) text += " context=" + change.context;
  return text;
}

std::string EncodeConfigChange(const ConfigChange& change) {
  MURPHY_ASSERT(change.context.size() <= kMaxConfigChangeContextBytes);
  ByteWriter writer;
  if (!change.context.empty()) writer.PutU8(kConfigChangeVersion2);
  writer.PutU8(static_cast<uint8_t>(change.type));
  writer.PutVarint(change.node.value());
  if (!change.context.empty()) writer.PutString(change.context);
  Bytes bytes = writer.Take();
  return std::string(AsText(bytes));
}

Result<ConfigChange> DecodeConfigChange(std::string_view data) {
  ByteReader reader(AsBytes(data));
  uint8_t type = 0;
  uint64_t node = 0;
  if (!reader.GetU8(&type)) return InvalidArgumentError("config change: malformed");
  const bool has_context = type == kConfigChangeVersion2;
  if (has_context && !reader.GetU8(&type)) return InvalidArgumentError("config change: malformed");
  if (!reader.GetVarint(&node)) return InvalidArgumentError("config change: malformed");
  std::span<const uint8_t> context;
  if (has_context) {
    if (!reader.GetLengthPrefixed(kMaxConfigChangeContextBytes, &context)) {
      return InvalidArgumentError("config change: malformed or oversized context");
    }
    if (context.empty()) return InvalidArgumentError("config change: empty context in version 2");
  }
  if (!reader.at_end()) return InvalidArgumentError("config change: malformed");
  if (type < 1 || type > static_cast<uint8_t>(ConfigChangeType::kRemove)) {
    return InvalidArgumentError("config change: unknown type");
  }
  if (node == 0 || node > UINT32_MAX) return InvalidArgumentError("config change: bad node id");
  return ConfigChange{static_cast<ConfigChangeType>(type), NodeId(static_cast<uint32_t>(node)),
                      std::string(AsText(context))};
}

namespace {

void Insert(std::vector<NodeId>* ids, NodeId id) { ids->insert(std::lower_bound(ids->begin(), ids->end(), id), id); }
void Erase(std::vector<NodeId>* ids, NodeId id) { ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end()); }

}  // namespace

Result<Membership> ApplyConfigChange(const Membership& membership, const ConfigChange& change) {
  if (change.node == kNoNode) return InvalidArgumentError("config change: node 0");
  if (change.context.size() > kMaxConfigChangeContextBytes) {
    return InvalidArgumentError("config change: context too long");
  }
  Membership next = membership;
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      if (membership.Contains(change.node)) return FailedPreconditionError("config change: already a member");
      Insert(&next.learners, change.node);
      if (!change.context.empty()) next.contexts[change.node] = change.context;
      return next;
    case ConfigChangeType::kPromote:
      if (!membership.IsLearner(change.node)) return FailedPreconditionError("config change: not a learner");
      Erase(&next.learners, change.node);
      Insert(&next.voters, change.node);
      if (!change.context.empty()) next.contexts[change.node] = change.context;
      return next;
    case ConfigChangeType::kRemove:
      if (!membership.Contains(change.node)) return FailedPreconditionError("config change: not a member");
      if (membership.IsVoter(change.node) && membership.voters.size() == 1) {
        return FailedPreconditionError("config change: cannot remove the last voter");
      }
      Erase(&next.voters, change.node);
      Erase(&next.learners, change.node);
      next.contexts.erase(change.node);
      return next;
  }
  return InvalidArgumentError("config change: unknown type");
}

size_t VoterDistance(const Membership& a, const Membership& b) {
  std::vector<NodeId> difference;
  std::set_symmetric_difference(a.voters.begin(), a.voters.end(), b.voters.begin(), b.voters.end(),
                                std::back_inserter(difference));
  return difference.size();
}

}  // namespace murphy::raft
