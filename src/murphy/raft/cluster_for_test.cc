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
  Node node{nullptr, MemoryStorage(bootstrap_), {}, {}, 0, bootstrap_, LogIndex(0), Term(0), LogIndex(0), Term(0)};
  node.raw = std::make_unique<RawNode>(ConfigFor(id, 0), node.storage.Restore());
  nodes_.emplace(id, std::move(node));
}

void Cluster::AddUnconfiguredNode(NodeId id) {
  MURPHY_ASSERT(!nodes_.contains(id));
  Node node{nullptr, MemoryStorage(Membership{}), {}, {}, 0, Membership{}, LogIndex(0), Term(0), LogIndex(0), Term(0)};
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
  // A leader's log may keep entries behind its latest snapshot while it still sends
  // an older one; what is already covered is up to the latest snapshot.
  const LogIndex covered =
      raft.snapshot().has_value() ? raft.snapshot()->metadata.index : raft.log().offset();
  if (at <= covered || at > raft.log().applied()) {
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
  violations_.push_back(what);
  if (!options_.collect_violations) ADD_FAILURE() << what << " (cluster seed " << options_.seed << ")";
}

void Cluster::RecordCommitted(NodeId id) {
  Node& node = nodes_.at(id);
  const Raft& raft = node.raw->raft();
  const RaftLog& log = raft.log();
  // Below the offset the log is a snapshot, checked when taken or restored.
  for (LogIndex index = std::max(node.observed_commit, log.offset()).next(); index <= log.committed();
       index = index.next()) {
    const Entry& entry = log.EntryAt(index);
    auto [it, inserted] = committed_anywhere_.emplace(index, CommittedEntry{entry, raft.term()});
    if (inserted) continue;
    if (it->second.entry != entry) {
      Fail("committed entries agree: index " + ToString(index) + " committed as " +
           DescribeEntry(it->second.entry) + " and on node " + ToString(id) + " as " + DescribeEntry(entry));
      return;
    }
    it->second.known_by_term = std::min(it->second.known_by_term, raft.term());
  }
  node.observed_commit = std::max(node.observed_commit, log.committed());
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

void Cluster::CheckAcknowledgements(NodeId id) {
  const Node& node = nodes_.at(id);
  const RaftLog& log = node.raw->raft().log();
  if (node.ack_index.value() == 0 || node.raw->raft().term() != node.ack_term) return;
  if (node.ack_index <= log.offset()) return;  // covered by a snapshot since.
  if (node.ack_index > log.last_index() || log.TermAtOrDie(node.ack_index) != node.ack_entry_term) {
    Fail("acknowledged entries kept: node " + ToString(id) + " acknowledged index " + ToString(node.ack_index) +
         " (an entry of term " + ToString(node.ack_entry_term) + ") in term " + ToString(node.ack_term) +
         " and lost it in that term");
  }
}

void Cluster::Observe(NodeId id) {
  const Raft& raft = this->raft(id);
  RecordCommitted(id);
  CheckAcknowledgements(id);
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
  for (const auto& [index, committed] : committed_anywhere_) {
    if (index <= raft.log().offset() || committed.known_by_term >= raft.term()) continue;
    if (!raft.log().MatchTerm(index, committed.entry.term)) {
      Fail("leader completeness: leader " + ToString(id) + " of term " + ToString(raft.term()) +
           " lacks entry " + DescribeEntry(committed.entry) + " committed by term " +
           ToString(committed.known_by_term));
      return;
    }
  }
}

void Cluster::Tick(NodeId id, int count) {
  for (int i = 0; i < count && !frozen(); ++i) {
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
  if (frozen()) return;
  node(id).Campaign();
  Observe(id);
}

Status Cluster::ReportLeaderFailure(NodeId id) {
  Status status = node(id).ReportLeaderFailure();
  Observe(id);
  return status;
}

Result<LogIndex> Cluster::Propose(NodeId id, std::string data) { return node(id).Propose(std::move(data)); }
Status Cluster::ReadIndex(NodeId id, uint64_t request_id) { return node(id).ReadIndex(request_id); }
Status Cluster::TransferLeadership(NodeId id, NodeId target) { return node(id).TransferLeadership(target); }

void Cluster::PutOnWire(NodeId from, Message message) {
  Node& node = nodes_.at(from);
  Status allowed = CheckSendAllowed(message, node.storage.durable());
  if (!allowed.ok()) Fail(allowed.ToString());
  if (message.type == MessageType::kAppendResponse && !message.reject) {
    const RaftLog& log = node.raw->raft().log();
    if (message.term > node.ack_term) {
      node.ack_term = message.term;
      node.ack_index = LogIndex(0);
    }
    if (message.term == node.ack_term && message.index > node.ack_index && message.index > log.offset() &&
        message.index <= log.last_index()) {
      node.ack_index = message.index;
      node.ack_entry_term = log.TermAtOrDie(message.index);
    }
  }
  Trace("  send " + DescribeMessage(message));
  network_.push_back(std::move(message));
}

bool Cluster::ProcessReady(NodeId id) {
  if (frozen()) return false;
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
  if (frozen()) return;
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
  for (size_t i = 0; i < count && !frozen(); ++i) DeliverAt(0);
  return count;
}

int Cluster::Stabilize(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    if (frozen()) return round;
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

namespace murphy::raft::testing {

RandomRunResult RunRandomCluster(uint64_t seed, const RandomRunOptions& run) {
  RandomRunResult result;
  ClusterOptions options;
  options.voters = run.voters;
  options.seed = seed;
  options.collect_violations = run.collect_violations || run.mutations.any();
  options.base.pre_vote = run.pre_vote;
  options.base.check_quorum = run.check_quorum;
  options.base.max_entries_per_message = 3;
  options.base.max_inflight_messages = 4;
  options.base.snapshot_chunk_bytes = 48;
  options.base.max_inflight_snapshot_chunks = 3;
  options.base.mutations = run.mutations;
  options.base.external_leader_failure_detection = run.external_leader_failure_detection;
  Cluster cluster(options);
  Rng rng(seed);
  if (run.membership_changes) {
    // Two spare nodes, started as joining nodes are; changes may bring them in.
    cluster.AddNode(NodeId(static_cast<uint32_t>(run.voters + 1)));
    cluster.AddNode(NodeId(static_cast<uint32_t>(run.voters + 2)));
  }
  // Stop at the first violation: the state after it is garbage, and a seeded bug
  // left to run on could trip one of Raft's own assertions and abort the process.
  const bool collect = options.collect_violations;
  auto stopped = [&] {
    if ((!collect && ::testing::Test::HasFailure()) || !cluster.violations().empty()) {
      result.violations = cluster.violations();
      return true;
    }
    return false;
  };
  std::vector<NodeId> ids = cluster.ids();
  auto any_node = [&] { return ids[rng.Uniform(ids.size())]; };
  int proposals = 0;
  for (int step = 0; step < run.steps; ++step) {
    uint64_t action = rng.Uniform(100);
    NodeId id = any_node();
    if (action < 15) {
      if (cluster.alive(id)) cluster.Tick(id);
    } else if (action < 30) {
      cluster.ProcessReady(id);
    } else if (action < 60) {
      if (cluster.in_flight() > 0) cluster.DeliverAt(rng.Uniform(cluster.in_flight()));
    } else if (action < 63) {
      if (cluster.in_flight() > 0) cluster.DropAt(rng.Uniform(cluster.in_flight()));
    } else if (action < 65) {
      if (cluster.in_flight() > 0) cluster.DeliverAt(rng.Uniform(cluster.in_flight()), /*duplicate=*/true);
    } else if (action < 80) {
      if (run.propose_to_stale_leaders && cluster.alive(id) && cluster.raft(id).role() == Role::kLeader) {
        // A client that still believes in a deposed (or cut off) leader.
        Result<LogIndex> index = cluster.Propose(id, "v" + std::to_string(proposals));
        if (index.ok()) ++proposals;
      } else if (std::optional<NodeId> leader = cluster.Leader()) {
        Result<LogIndex> index = cluster.Propose(*leader, "v" + std::to_string(proposals));
        if (index.ok()) ++proposals;
      }
    } else if (action < 82) {
      // Split the nodes into two random groups.
      std::vector<NodeId> first;
      std::vector<NodeId> second;
      for (NodeId node : ids) (rng.Bernoulli(0.5) ? first : second).push_back(node);
      cluster.Partition({first, second});
    } else if (action < 85) {
      cluster.Heal();
    } else if (action < 86) {
      if (run.crashes && cluster.alive(id)) cluster.Crash(id);
    } else if (action < 90) {
      if (!cluster.alive(id)) cluster.Restart(id);
    } else if (action < 92) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        cluster.ReadIndex(*leader, static_cast<uint64_t>(step)).IgnoreError();
      }
    } else if (action < 93) {
      if (std::optional<NodeId> leader = cluster.Leader()) {
        cluster.TransferLeadership(*leader, id).IgnoreError();
      }
    } else if (action < 95) {
      if (run.compaction && cluster.alive(id) && rng.Bernoulli(0.5)) cluster.Compact(id).IgnoreError();
    } else if (action < 97) {
      if (std::optional<NodeId> leader = cluster.Leader(); leader.has_value() && run.membership_changes) {
        const Membership& membership = cluster.raft(*leader).membership();
        ConfigChange change{ConfigChangeType::kAddLearner, id};
        if (membership.IsLearner(id)) change.type = ConfigChangeType::kPromote;
        // Removals are rarer, and keep at least 3 voters so the run stays live.
        if (membership.IsVoter(id)) {
          if (membership.voters.size() <= 3 || rng.Bernoulli(0.5)) continue;
          change.type = ConfigChangeType::kRemove;
        }
        if (cluster.ProposeMembershipChange(*leader, change).ok()) ++result.membership_changes;
      }
    } else if (run.external_leader_failure_detection && action < 99) {
      if (cluster.alive(id)) cluster.ReportLeaderFailure(id).IgnoreError();
    } else {
      if (cluster.alive(id)) cluster.Tick(id);
    }
    if (step % 500 == 0) cluster.CheckLogMatching();
    if (stopped()) return result;
  }
  cluster.CheckLogMatching();
  if (stopped()) return result;

  // Liveness: with the faults gone, a leader emerges and commits a new entry on
  // every member of its configuration within a bounded number of ticks. Nodes
  // outside it (removed) are shut down once it is known, as the node shell does.
  cluster.Heal();
  for (NodeId id : ids) {
    if (!cluster.alive(id)) cluster.Restart(id);
  }
  cluster.Stabilize();
  bool committed = false;
  LogIndex final_index;  // 0: not proposed (or lost) yet.
  for (int tick = 0; tick < 200 && !committed; ++tick) {
    if (stopped()) return result;
    cluster.TickAll();
    cluster.Stabilize();
    std::optional<NodeId> leader = cluster.Leader();
    if (!leader.has_value()) continue;
    // A leader change may have truncated it away; then propose it again.
    const RaftLog& log = cluster.raft(*leader).log();
    if (final_index > log.last_index() ||
        (final_index > log.offset() && log.EntryAt(final_index).data != "final")) {
      final_index = LogIndex(0);
    }
    if (final_index.value() == 0) {
      Result<LogIndex> index = cluster.Propose(*leader, "final");
      if (index.ok()) final_index = *index;
      cluster.Stabilize();
      continue;
    }
    const Membership members = cluster.raft(*leader).membership();
    std::vector<NodeId> member_ids;
    for (NodeId id : cluster.ids()) {
      if (members.Contains(id)) {
        member_ids.push_back(id);
      } else if (cluster.alive(id)) {
        cluster.Crash(id);
      }
    }
    ids = member_ids;
    committed = true;
    for (NodeId id : ids) {
      if (cluster.applied(id).size() < final_index.value()) committed = false;
    }
  }
  if (stopped()) return result;
  for (NodeId id : cluster.ids()) {
    if (cluster.alive(id)) result.snapshots_installed += cluster.raft(id).snapshots_installed();
  }
  result.live = committed;
  if (!committed) {
    for (NodeId id : cluster.ids()) result.liveness_detail += "\n" + cluster.Describe(id);
  }
  cluster.CheckLogMatching();
  // All state machines agree entirely up to the final entry (a leader change at
  // the very end may leave a new leader's no-op applied on some members only).
  auto prefix = [&](NodeId id) {
    const std::vector<Entry>& applied = cluster.applied(id);
    return std::vector<Entry>(applied.begin(),
                              applied.begin() + static_cast<ptrdiff_t>(std::min<uint64_t>(
                                                    applied.size(), final_index.value())));
  };
  for (NodeId id : ids) {
    if (prefix(id) != prefix(ids[0])) {
      cluster.Fail("state machine safety: node " + ToString(id) + " and node " + ToString(ids[0]) +
                   " applied different prefixes");
    }
  }
  result.violations = cluster.violations();
  // The run must have exercised something: entries beyond the final one committed.
  result.applied = cluster.applied(ids[0]).size();
  return result;
}

}  // namespace murphy::raft::testing
