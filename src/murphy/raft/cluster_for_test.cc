#include "murphy/raft/cluster_for_test.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "murphy/core/codec.h"
#include "murphy/raft/durability.h"

namespace murphy::raft::testing {

std::string EncodeAppliedEntries(const std::vector<Entry>& entries) {
  ByteWriter writer;
  writer.PutVarint(entries.size());
  for (const Entry& entry : entries) {
    writer.PutVarint(entry.term.value());
    writer.PutVarint(entry.index.value());
    writer.PutU8(static_cast<uint8_t>(entry.type));
    writer.PutString(entry.data);
  }
  Bytes bytes = writer.Take();
  return std::string(AsText(bytes));
}

Result<std::vector<Entry>> DecodeAppliedEntries(const std::string& data) {
  ByteReader reader(AsBytes(data));
  uint64_t count = 0;
  if (!reader.GetVarint(&count) || count > data.size()) return InvalidArgumentError("state machine: bad count");
  std::vector<Entry> entries;
  for (uint64_t i = 0; i < count; ++i) {
    Entry entry;
    uint64_t term = 0;
    uint64_t index = 0;
    uint8_t type = 0;
    std::span<const uint8_t> payload;
    if (!reader.GetVarint(&term) || !reader.GetVarint(&index) || !reader.GetU8(&type) ||
        !reader.GetLengthPrefixed(data.size(), &payload)) {
      return InvalidArgumentError("state machine: bad entry");
    }
    entries.push_back({Term(term), LogIndex(index), static_cast<EntryType>(type), std::string(AsText(payload))});
  }
  if (!reader.at_end()) return InvalidArgumentError("state machine: trailing bytes");
  return entries;
}

Cluster::Cluster(const ClusterOptions& options) : options_(options) {
  for (int i = 1; i <= options.voters; ++i) bootstrap_.voters.push_back(NodeId(i));
  for (int i = options.voters + 1; i <= options.voters + options.learners; ++i) {
    bootstrap_.learners.push_back(NodeId(i));
  }
  for (int i = 1; i <= options.voters + options.learners; ++i) AddNode(NodeId(i));
}

void Cluster::AddNode(NodeId id) {
  MURPHY_ASSERT(!nodes_.contains(id));
  Node node{nullptr, MemoryStorage(bootstrap_), {}, {}, 0, bootstrap_};
  node.raw = std::make_unique<RawNode>(ConfigFor(id, 0), node.storage.Restore());
  nodes_.emplace(id, std::move(node));
}

void Cluster::RestoreStateMachine(NodeId id, const Snapshot& snapshot) {
  Node& node = nodes_.at(id);
  Result<std::vector<Entry>> entries = DecodeAppliedEntries(snapshot.data);
  if (!entries.ok() || entries->size() != snapshot.metadata.index.value()) {
    Fail("node " + ToString(id) + " got a malformed snapshot at " + ToString(snapshot.metadata.index));
    return;
  }
  for (const Entry& entry : *entries) {
    auto [it, inserted] = applied_anywhere_.emplace(entry.index, entry);
    if (!inserted && it->second != entry) {
      Fail("state machine safety: index " + ToString(entry.index) + " applied as " + DescribeEntry(it->second) +
           " and restored from a snapshot as " + DescribeEntry(entry));
    }
  }
  node.applied = std::move(*entries);
}

Status Cluster::Compact(NodeId id, std::optional<LogIndex> index) {
  Node& node = nodes_.at(id);
  MURPHY_ASSERT(node.raw != nullptr);
  const Raft& raft = node.raw->raft();
  const LogIndex at = index.value_or(raft.log().applied());
  // The shell's side first: the snapshot is durable before Raft drops entries.
  if (at <= raft.log().offset() || at > raft.log().applied()) {
    return node.raw->Compact(at, {});  // let Raft say why.
  }
  std::vector<Entry> prefix(node.applied.begin(), node.applied.begin() + static_cast<ptrdiff_t>(at.value()));
  Snapshot snapshot{{at, raft.log().TermAtOrDie(at), raft.MembershipAt(at)}, EncodeAppliedEntries(prefix)};
  node.storage.Compact(snapshot);
  Status status = node.raw->Compact(at, snapshot.data);
  MURPHY_ASSERT_MSG(status.ok(), "compaction refused after the checks passed");
  Trace("  compact " + ToString(id) + " to " + ToString(at));
  return status;
}

Result<LogIndex> Cluster::ProposeMembershipChange(NodeId id, const ConfigChange& change) {
  Result<LogIndex> index = node(id).ProposeMembershipChange(change);
  Observe(id);
  return index;
}

Membership Cluster::DurableMembership(NodeId id) const {
  const MemoryStorage& storage = nodes_.at(id).storage;
  Membership membership = storage.snapshot().has_value() ? storage.snapshot()->metadata.membership : bootstrap_;
  for (const Entry& entry : storage.entries()) {
    if (entry.type != EntryType::kConfigChange) continue;
    Result<ConfigChange> change = DecodeConfigChange(entry.data);
    MURPHY_ASSERT(change.ok());
    Result<Membership> next = ApplyConfigChange(membership, *change);
    MURPHY_ASSERT(next.ok());
    membership = *next;
  }
  return membership;
}

void Cluster::CheckLeaderConfiguration(NodeId id) {
  // A new leader may inherit changes it does not yet know are committed; what it
  // must never do is append one of its own while another is uncommitted or before
  // it has committed an entry of its term.
  const Raft& raft = this->raft(id);
  const RaftLog& log = raft.log();
  int uncommitted_changes = 0;
  bool own_change = false;
  for (LogIndex index = log.committed().next(); index <= log.last_index(); index = index.next()) {
    const Entry& entry = log.EntryAt(index);
    if (entry.type != EntryType::kConfigChange) continue;
    ++uncommitted_changes;
    if (entry.term == raft.term()) own_change = true;
  }
  if (!own_change) return;
  if (uncommitted_changes > 1) {
    Fail("membership: leader " + ToString(id) + " has " + std::to_string(uncommitted_changes) +
         " uncommitted configuration changes");
  }
  if (log.TermAtOrDie(log.committed()) != raft.term()) {
    Fail("membership: leader " + ToString(id) + " appended a change before committing in its term " +
         ToString(raft.term()));
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
  std::string text = ToString(id) + " " + std::string(RoleName(raft.role())) + " term=" + ToString(raft.term()) +
                     " vote=" + ToString(raft.vote()) + " leader=" + ToString(raft.leader()) +
                     " last=" + ToString(raft.log().last_index()) + " commit=" + ToString(raft.log().committed()) +
                     " applied=" + ToString(raft.log().applied());
  // Only when they differ from the start, so the older golden files stay as they are.
  if (raft.log().offset().value() > 0) text += " snap=" + ToString(raft.log().offset());
  if (raft.membership() != bootstrap_) text += " " + DescribeMembership(raft.membership());
  return text;
}

void Cluster::Observe(NodeId id) {
  const Raft& raft = this->raft(id);
  if (raft.role() != Role::kLeader) return;
  CheckLeaderConfiguration(id);
  auto [it, inserted] = leader_of_term_.emplace(raft.term(), id);
  if (!inserted && it->second != id) {
    Fail("election safety: " + ToString(it->second) + " and " + ToString(id) + " both lead term " +
         ToString(raft.term()));
    return;
  }
  if (!inserted) return;
  // First sight of this leader: it must hold every entry applied anywhere.
  for (const auto& [index, entry] : applied_anywhere_) {
    // Below the leader's snapshot its log is summarized; the snapshot's contents
    // were checked when it was taken or restored.
    if (index < raft.log().offset()) continue;
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
    std::string line =
        "  " + std::string(RoleName(ready.soft_state->role)) + " leader=" + ToString(ready.soft_state->leader);
    if (ready.soft_state->membership != node.reported_membership) {
      line += " " + DescribeMembership(ready.soft_state->membership);
      node.reported_membership = ready.soft_state->membership;
    }
    Trace(line);
  }
  for (Message& message : ready.messages) PutOnWire(id, std::move(message));
  if (ready.snapshot.has_value()) {
    Trace("  persist snapshot index=" + ToString(ready.snapshot->metadata.index) +
          " term=" + ToString(ready.snapshot->metadata.term) + " " +
          DescribeMembership(ready.snapshot->metadata.membership) +
          " bytes=" + std::to_string(ready.snapshot->data.size()));
  }
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
  if (ready.snapshot.has_value()) {
    Trace("  restore snapshot index=" + ToString(ready.snapshot->metadata.index));
    RestoreStateMachine(id, *ready.snapshot);
  }
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
  if (node.storage.snapshot().has_value()) RestoreStateMachine(id, *node.storage.snapshot());
  node.reported_membership = node.raw->raft().membership();
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
      // Compare where both still hold entries (snapshots are checked on restore).
      const LogIndex start = std::max(first.offset(), second.offset()).next();
      LogIndex shorter = std::min(first.last_index(), second.last_index());
      LogIndex highest_match;
      for (LogIndex index = start; index <= shorter; index = index.next()) {
        if (first.TermAtOrDie(index) == second.TermAtOrDie(index)) highest_match = index;
      }
      for (LogIndex index = start; index <= highest_match; index = index.next()) {
        if (first.EntryAt(index) != second.EntryAt(index)) {
          Fail("log matching: nodes " + ToString(live[a]) + " and " + ToString(live[b]) + " agree at " +
               ToString(highest_match) + " but differ at " + ToString(index));
          return;
        }
      }
    }
  }
  CheckSingleServerChanges();
}

void Cluster::CheckSingleServerChanges() {
  for (NodeId id : ids()) {
    if (!alive(id)) continue;
    const Raft& raft = this->raft(id);
    const RaftLog& log = raft.log();
    Membership previous = raft.MembershipAt(log.offset());
    for (LogIndex index = log.first_index(); index <= log.last_index(); index = index.next()) {
      if (log.EntryAt(index).type != EntryType::kConfigChange) continue;
      const Membership& next = raft.MembershipAt(index);
      if (VoterDistance(previous, next) > 1) {
        Fail("membership: node " + ToString(id) + " log changes more than one voter at " + ToString(index));
      }
      previous = next;
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
