#include "murphy/raft/cluster_for_test.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "murphy/raft/durability.h"

namespace murphy::raft::testing {

Cluster::Cluster(const ClusterOptions& options) : options_(options) {
  Membership membership;
  for (int i = 1; i <= options.voters; ++i) membership.voters.push_back(NodeId(i));
  for (int i = options.voters + 1; i <= options.voters + options.learners; ++i) {
    membership.learners.push_back(NodeId(i));
  }
  for (int i = 1; i <= options.voters + options.learners; ++i) {
    NodeId id(i);
    Node node{nullptr, MemoryStorage(membership), {}, {}, 0};
    node.raw = std::make_unique<RawNode>(ConfigFor(id, 0), node.storage.Restore());
    nodes_.emplace(id, std::move(node));
  }
}

Config Cluster::ConfigFor(NodeId id, int restarts) const {
  Config config = options_.base;
  config.id = id;
  config.seed = options_.seed * 1000003 + id.value() * 101 + static_cast<uint64_t>(restarts);
  return config;
}

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> result;
  for (const auto& [id, node] : nodes_) result.push_back(id);
  return result;
}

RawNode& Cluster::node(NodeId id) {
  Node& node = nodes_.at(id);
  MURPHY_ASSERT(node.raw != nullptr);
  return *node.raw;
}

const Raft& Cluster::raft(NodeId id) const {
  const Node& node = nodes_.at(id);
  MURPHY_ASSERT(node.raw != nullptr);
  return node.raw->raft();
}

void Cluster::Fail(const std::string& what) {
  ADD_FAILURE() << what << " (cluster seed " << options_.seed << ")";
}

void Cluster::Trace(std::string line) {
  if (tracing_) trace_.push_back(std::move(line));
}

std::string Cluster::Describe(NodeId id) const {
  const Node& node = nodes_.at(id);
  if (node.raw == nullptr) return ToString(id) + " down";
  const Raft& raft = node.raw->raft();
  return ToString(id) + " " + std::string(RoleName(raft.role())) + " term=" + ToString(raft.term()) +
         " vote=" + ToString(raft.vote()) + " leader=" + ToString(raft.leader()) +
         " last=" + ToString(raft.log().last_index()) + " commit=" + ToString(raft.log().committed()) +
         " applied=" + ToString(raft.log().applied());
}

void Cluster::Observe(NodeId id) {
  const Raft& raft = this->raft(id);
  if (raft.role() != Role::kLeader) return;
  auto [it, inserted] = leader_of_term_.emplace(raft.term(), id);
  if (!inserted && it->second != id) {
    Fail("election safety: " + ToString(it->second) + " and " + ToString(id) + " both lead term " +
         ToString(raft.term()));
    return;
  }
  if (!inserted) return;
  // First sight of this leader: it must hold every entry applied anywhere.
  for (const auto& [index, entry] : applied_anywhere_) {
    if (!raft.log().MatchTerm(index, entry.term)) {
      Fail("leader completeness: leader " + ToString(id) + " of term " + ToString(raft.term()) +
           " lacks applied entry " + DescribeEntry(entry));
      return;
    }
  }
}

void Cluster::Tick(NodeId id, int count) {
  for (int i = 0; i < count; ++i) {
    node(id).Tick();
    Observe(id);
  }
}

void Cluster::TickAll(int count) {
  for (int i = 0; i < count; ++i) {
    for (NodeId id : ids()) {
      if (alive(id)) Tick(id);
    }
  }
}

void Cluster::Campaign(NodeId id) {
  node(id).Campaign();
  Observe(id);
}

Result<LogIndex> Cluster::Propose(NodeId id, std::string data) { return node(id).Propose(std::move(data)); }
Status Cluster::ReadIndex(NodeId id, uint64_t request_id) { return node(id).ReadIndex(request_id); }
Status Cluster::TransferLeadership(NodeId id, NodeId target) { return node(id).TransferLeadership(target); }

void Cluster::PutOnWire(NodeId from, Message message) {
  Status allowed = CheckSendAllowed(message, nodes_.at(from).storage.durable());
  if (!allowed.ok()) Fail(allowed.ToString());
  Trace("  send " + DescribeMessage(message));
  network_.push_back(std::move(message));
}

bool Cluster::ProcessReady(NodeId id) {
  Node& node = nodes_.at(id);
  if (node.raw == nullptr || !node.raw->HasReady()) return false;
  Ready ready = node.raw->GetReady();
  Trace("> " + ToString(id) + " ready");
  if (ready.soft_state.has_value()) {
    Trace("  " + std::string(RoleName(ready.soft_state->role)) + " leader=" + ToString(ready.soft_state->leader));
  }
  for (Message& message : ready.messages) PutOnWire(id, std::move(message));
  if (ready.hard_state.has_value()) {
    Trace("  persist term=" + ToString(ready.hard_state->term) + " vote=" + ToString(ready.hard_state->vote) +
          " commit=" + ToString(ready.hard_state->commit));
  }
  if (!ready.entries.empty()) {
    std::string line = "  persist entries";
    for (const Entry& entry : ready.entries) line += " " + DescribeEntry(entry);
    Trace(line);
  }
  node.storage.Persist(ready);
  for (Message& message : ready.messages_after_persist) PutOnWire(id, std::move(message));
  for (const Entry& entry : ready.committed_entries) {
    Trace("  apply " + DescribeEntry(entry));
    if (entry.index.value() != node.applied.size() + 1) {
      Fail("node " + ToString(id) + " applied out of order: " + DescribeEntry(entry));
    }
    auto [it, inserted] = applied_anywhere_.emplace(entry.index, entry);
    if (!inserted && it->second != entry) {
      Fail("state machine safety: index " + ToString(entry.index) + " applied as " + DescribeEntry(it->second) +
           " and as " + DescribeEntry(entry));
    }
    node.applied.push_back(entry);
  }
  for (const ReadState& read : ready.read_states) {
    Trace("  read request=" + std::to_string(read.request_id) + " index=" + ToString(read.index));
    node.reads.push_back(read);
  }
  node.raw->Advance();
  Observe(id);
  return true;
}

bool Cluster::Connected(NodeId from, NodeId to) const {
  if (group_of_.empty()) return true;
  auto source = group_of_.find(from);
  auto target = group_of_.find(to);
  if (source == group_of_.end() || target == group_of_.end()) return false;
  return source->second == target->second;
}

void Cluster::DeliverAt(size_t position, bool duplicate) {
  MURPHY_ASSERT(position < network_.size());
  Message message = network_[position];
  if (!duplicate) network_.erase(network_.begin() + static_cast<ptrdiff_t>(position));
  if (!alive(message.to) || !Connected(message.from, message.to)) {
    Trace("  dropped " + DescribeMessage(message));
    return;
  }
  Status status = node(message.to).Step(message);
  if (!status.ok()) Fail("step rejected " + DescribeMessage(message) + ": " + status.ToString());
  Observe(message.to);
}

void Cluster::DropAt(size_t position) {
  MURPHY_ASSERT(position < network_.size());
  network_.erase(network_.begin() + static_cast<ptrdiff_t>(position));
}

size_t Cluster::DeliverAll() {
  size_t count = network_.size();
  for (size_t i = 0; i < count; ++i) DeliverAt(0);
  return count;
}

int Cluster::Stabilize(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    bool moved = false;
    for (NodeId id : ids()) moved = ProcessReady(id) || moved;
    if (DeliverAll() > 0) moved = true;
    if (!moved) return round;
  }
  Fail("cluster did not stabilize");
  return max_rounds;
}

void Cluster::Partition(const std::vector<std::vector<NodeId>>& groups) {
  group_of_.clear();
  for (size_t i = 0; i < groups.size(); ++i) {
    for (NodeId id : groups[i]) group_of_[id] = static_cast<int>(i);
  }
  // Isolated nodes get a group of their own.
  int next = static_cast<int>(groups.size());
  for (NodeId id : ids()) {
    if (!group_of_.contains(id)) group_of_[id] = next++;
  }
}

void Cluster::Crash(NodeId id) {
  Node& node = nodes_.at(id);
  node.raw.reset();
  node.applied.clear();  // the state machine is volatile; it replays the log.
  node.reads.clear();
  Trace("  crash " + ToString(id));
}

void Cluster::Restart(NodeId id) {
  Node& node = nodes_.at(id);
  MURPHY_ASSERT(node.raw == nullptr);
  ++node.restarts;
  node.raw = std::make_unique<RawNode>(ConfigFor(id, node.restarts), node.storage.Restore());
  Trace("  restart " + ToString(id));
}

void Cluster::CheckLogMatching() {
  std::vector<NodeId> live;
  for (NodeId id : ids()) {
    if (alive(id)) live.push_back(id);
  }
  for (size_t a = 0; a < live.size(); ++a) {
    for (size_t b = a + 1; b < live.size(); ++b) {
      const RaftLog& first = raft(live[a]).log();
      const RaftLog& second = raft(live[b]).log();
      LogIndex shorter = std::min(first.last_index(), second.last_index());
      LogIndex highest_match;
      for (LogIndex index(1); index <= shorter; index = index.next()) {
        if (first.TermAtOrDie(index) == second.TermAtOrDie(index)) highest_match = index;
      }
      for (LogIndex index(1); index <= highest_match; index = index.next()) {
        if (first.EntryAt(index) != second.EntryAt(index)) {
          Fail("log matching: nodes " + ToString(live[a]) + " and " + ToString(live[b]) + " agree at " +
               ToString(highest_match) + " but differ at " + ToString(index));
          return;
        }
      }
    }
  }
}

std::optional<NodeId> Cluster::Leader() const {
  std::optional<NodeId> leader;
  Term best;
  for (const auto& [id, node] : nodes_) {
    if (node.raw == nullptr) continue;
    const Raft& raft = node.raw->raft();
    if (raft.role() == Role::kLeader && (!leader.has_value() || raft.term() > best)) {
      leader = id;
      best = raft.term();
    }
  }
  return leader;
}

}  // namespace murphy::raft::testing
