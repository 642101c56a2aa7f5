#include "murphy/raft/membership.h"

#include <algorithm>
#include <iterator>

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
  return std::string(name) + " " + ToString(change.node);
}

std::string EncodeConfigChange(const ConfigChange& change) {
  ByteWriter writer;
  writer.PutU8(static_cast<uint8_t>(change.type));
  writer.PutVarint(change.node.value());
  Bytes bytes = writer.Take();
  return std::string(AsText(bytes));
}

Result<ConfigChange> DecodeConfigChange(std::string_view data) {
  ByteReader reader(AsBytes(data));
  uint8_t type = 0;
  uint64_t node = 0;
  if (!reader.GetU8(&type) || !reader.GetVarint(&node) || !reader.at_end()) {
    return InvalidArgumentError("config change: malformed");
  }
  if (type < 1 || type > static_cast<uint8_t>(ConfigChangeType::kRemove)) {
    return InvalidArgumentError("config change: unknown type");
  }
  if (node == 0 || node > UINT32_MAX) return InvalidArgumentError("config change: bad node id");
  return ConfigChange{static_cast<ConfigChangeType>(type), NodeId(static_cast<uint32_t>(node))};
}

namespace {

void Insert(std::vector<NodeId>* ids, NodeId id) { ids->insert(std::lower_bound(ids->begin(), ids->end(), id), id); }
void Erase(std::vector<NodeId>* ids, NodeId id) { ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end()); }

}  // namespace

Result<Membership> ApplyConfigChange(const Membership& membership, const ConfigChange& change) {
  if (change.node == kNoNode) return InvalidArgumentError("config change: node 0");
  Membership next = membership;
  switch (change.type) {
    case ConfigChangeType::kAddLearner:
      if (membership.Contains(change.node)) return FailedPreconditionError("config change: already a member");
      Insert(&next.learners, change.node);
      return next;
    case ConfigChangeType::kPromote:
      if (!membership.IsLearner(change.node)) return FailedPreconditionError("config change: not a learner");
      Erase(&next.learners, change.node);
      Insert(&next.voters, change.node);
      return next;
    case ConfigChangeType::kRemove:
      if (!membership.Contains(change.node)) return FailedPreconditionError("config change: not a member");
      if (membership.IsVoter(change.node) && membership.voters.size() == 1) {
        return FailedPreconditionError("config change: cannot remove the last voter");
      }
      Erase(&next.voters, change.node);
      Erase(&next.learners, change.node);
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
