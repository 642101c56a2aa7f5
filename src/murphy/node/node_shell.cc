#include "murphy/node/node_shell.h"

#include <algorithm>

#include "murphy/core/assert.h"
#include "murphy/protocol/frame.h"
#include "murphy/raft/message_codec.h"

namespace murphy::node {
namespace {

constexpr size_t kMaxMembers = 1024;
// Starts the contexts section of a version-2 membership encoding.
constexpr uint8_t kMembershipContextsTag = 0x02;

// WAL entries carry Raft's entry type in their first byte (the WAL is generic:
// index, term, bytes).
Bytes EncodeWalData(const raft::Entry& entry) {
  Bytes bytes;
  bytes.reserve(entry.data.size() + 1);
  bytes.push_back(static_cast<uint8_t>(entry.type));
  bytes.insert(bytes.end(), entry.data.begin(), entry.data.end());
  return bytes;
}

Result<raft::Entry> DecodeWalEntry(const WalEntry& stored) {
  if (stored.data.empty()) return DataLossError("wal entry without a type byte");
  const uint8_t type = stored.data[0];
  if (type != static_cast<uint8_t>(raft::EntryType::kNormal) &&
      type != static_cast<uint8_t>(raft::EntryType::kConfigChange)) {
    return DataLossError("wal entry of unknown type");
  }
  raft::Entry entry;
  entry.index = stored.index;
  entry.term = stored.term;
  entry.type = static_cast<raft::EntryType>(type);
  entry.data.assign(stored.data.begin() + 1, stored.data.end());
  return entry;
}

// A WAL write-path error is fatal either way; DataLoss is what a failed fsync
// reports (env.h), the rest are other disk errors.
std::string_view FatalEvent(const Status& status) {
  return status.code() == StatusCode::kDataLoss ? "fatal_fsync" : "fatal_wal";
}

}  // namespace

std::string EncodeMembership(const raft::Membership& membership) {
  ByteWriter writer;
  writer.PutVarint(membership.voters.size());
  for (const NodeId voter : membership.voters) writer.PutVarint(voter.value());
  writer.PutVarint(membership.learners.size());
  for (const NodeId learner : membership.learners) writer.PutVarint(learner.value());
  // Version 2: the contexts follow as a tagged section. Without contexts the bytes
  // are exactly version 1's, which older builds wrote (and still read).
  if (!membership.contexts.empty()) {
    writer.PutU8(kMembershipContextsTag);
    writer.PutVarint(membership.contexts.size());
    for (const auto& [id, context] : membership.contexts) {
      writer.PutVarint(id.value());
      writer.PutString(context);
    }
  }
  const Bytes bytes = writer.Take();
  return std::string(bytes.begin(), bytes.end());
}

Result<raft::Membership> DecodeMembership(std::span<const uint8_t> bytes) {
  ByteReader reader(bytes);
  raft::Membership membership;
  for (std::vector<NodeId>* list : {&membership.voters, &membership.learners}) {
    uint64_t count = 0;
    if (!reader.GetVarint(&count) || count > kMaxMembers) return DataLossError("membership: bad count");
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t id = 0;
      if (!reader.GetVarint(&id) || id == 0 || id > UINT32_MAX) return DataLossError("membership: bad id");
      const NodeId node(static_cast<uint32_t>(id));
      // Raft asserts these; a damaged WAL must be an error, not a crash.
      if (!list->empty() && list->back() >= node) return DataLossError("membership: ids not sorted");
      list->push_back(node);
    }
  }
  for (const NodeId learner : membership.learners) {
    if (membership.IsVoter(learner)) return DataLossError("membership: a member both voter and learner");
  }
  if (membership.voters.empty() && !membership.learners.empty()) {
    return DataLossError("membership: learners without a voter");
  }
  if (!reader.at_end()) {
    uint8_t tag = 0;
    uint64_t count = 0;
    if (!reader.GetU8(&tag) || tag != kMembershipContextsTag) return DataLossError("membership: trailing bytes");
    if (!reader.GetVarint(&count) || count > membership.voters.size() + membership.learners.size()) {
      return DataLossError("membership: bad context count");
    }
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t id = 0;
      std::span<const uint8_t> context;
      if (!reader.GetVarint(&id) || id == 0 || id > UINT32_MAX) return DataLossError("membership: bad context id");
      const NodeId node(static_cast<uint32_t>(id));
      if (!membership.Contains(node)) return DataLossError("membership: a context for a non-member");
      if (!reader.GetLengthPrefixed(raft::kMaxConfigChangeContextBytes, &context) || context.empty()) {
        return DataLossError("membership: bad context");
      }
      if (!membership.contexts.emplace(node, std::string(AsText(context))).second) {
        return DataLossError("membership: a context twice");
      }
    }
    if (!reader.at_end()) return DataLossError("membership: trailing bytes");
  }
  return membership;
}

NodeShell::NodeShell(Env& env, NodeOptions options, std::unique_ptr<StateMachine> state_machine)
    : env_(env), options_(std::move(options)), state_machine_(std::move(state_machine)) {
  MURPHY_ASSERT(state_machine_ != nullptr);
  if (options_.join) {
    MURPHY_ASSERT_MSG(options_.members.empty(), "a joining node has no bootstrap members");
  } else {
    MURPHY_ASSERT_MSG(
        std::find(options_.members.begin(), options_.members.end(), env_.self()) != options_.members.end(),
        "a node must be one of its bootstrap members");
  }
  env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnReceive(source, payload); });
  if (options_.service != nullptr) options_.service->Attach(this);
  Recover();
  if (stopped_) return;
  ReportMembership();
  tick_timer_ = env_.SetTimer(options_.tick_interval, [this] { Tick(); });
  Drive();
}

NodeShell::~NodeShell() {
  env_.CancelTimer(tick_timer_);
  env_.SetReceiver([](NodeId, std::span<const uint8_t>) {});
}

bool NodeShell::is_leader() const {
  return !stopped_ && raw_ != nullptr && raw_->raft().role() == raft::Role::kLeader;
}
NodeId NodeShell::leader() const {
  return stopped_ || raw_ == nullptr ? raft::kNoNode : raw_->raft().leader();
}
Term NodeShell::term() const { return raw_ == nullptr ? Term() : raw_->raft().term(); }
LogIndex NodeShell::commit_index() const {
  return raw_ == nullptr ? LogIndex() : raw_->raft().log().committed();
}

raft::DurableState NodeShell::durable_state() const {
  return {durable_hard_state_, wal_ == nullptr ? LogIndex() : wal_->durable_index()};
}

void NodeShell::Campaign() {
  if (stopped_) return;
  raw_->Campaign();
  Drive();
}

const raft::Membership& NodeShell::membership() const {
  static const raft::Membership kNone;
  return raw_ == nullptr ? kNone : raw_->raft().membership();
}

Result<LogIndex> NodeShell::ProposeMembershipChange(const raft::ConfigChange& change) {
  if (!is_leader()) return UnavailableError("not the leader");
  if (change.node == raft::kNoNode) return InvalidArgumentError("membership change: node 0");
  if (change.context.size() > raft::kMaxConfigChangeContextBytes) {
    return InvalidArgumentError("membership change: context too long");
  }
  Result<LogIndex> index = raw_->ProposeMembershipChange(change);
  if (!index.ok()) return index.status();
  env_.Trace("membership_proposed", {{"change", raft::DescribeConfigChange(change)}, {"index", index->value()}});
  // The proposal goes out on the next Drive; run it now unless we are inside one.
  if (!driving_) Drive();
  return index;
}

void NodeShell::ReportMembership() {
  if (stopped_ || raw_ == nullptr) return;
  const raft::Membership& current = raw_->raft().membership();
  if (reported_membership_.has_value() && *reported_membership_ == current) return;
  reported_membership_ = current;
  env_.Trace("membership", {{"configuration", raft::DescribeMembership(current)}});
  if (options_.on_membership) options_.on_membership(current);
}

bool NodeShell::HasMembersAddedAtRuntime() const {
  const raft::Membership& current = raw_->raft().membership();
  for (const std::vector<NodeId>* list : {&current.voters, &current.learners}) {
    for (const NodeId member : *list) {
      if (std::find(options_.members.begin(), options_.members.end(), member) == options_.members.end()) return true;
    }
  }
  return false;
}

Result<LogIndex> NodeShell::ProposeCommand(std::string command) {
  if (!is_leader()) return UnavailableError("not the leader");
  if (pending_commands_.size() >= options_.max_pending_commands) return UnavailableError("too many pending");
  Result<LogIndex> index = raw_->Propose(std::move(command));
  if (!index.ok()) return UnavailableError(index.status().message());
  return index;
}

Status NodeShell::ReadBarrier(std::function<void(Status)> done) {
  if (!is_leader()) return UnavailableError("not the leader");
  if (pending_reads_.size() >= options_.max_pending_reads) return UnavailableError("too many pending reads");
  const uint64_t read_id = next_read_id_++;
  if (!raw_->ReadIndex(read_id).ok()) return UnavailableError("read index refused");
  pending_reads_[read_id] = {NodeId(), 0, 0, {}, LogIndex(), std::move(done)};
  return Status::Ok();
}

void NodeShell::Recover() {
  Result<Wal::Opened> opened = Wal::Open(env_.disk(), options_.wal);
  if (!opened.ok()) {
    Stop("wal_open_failed", opened.status());
    return;
  }
  wal_ = std::move(opened->wal);
  RecoveredState& state = opened->state;

  raft::RestoreState restore;
  // A joining node starts with no configuration (raft.h): it waits for the leader's
  // snapshot. Either way a recovered snapshot's membership replaces this one.
  if (!options_.join) restore.membership.voters = options_.members;
  std::sort(restore.membership.voters.begin(), restore.membership.voters.end());
  if (state.hard_state.has_value()) {
    restore.hard_state = {state.hard_state->term, state.hard_state->vote, state.hard_state->commit};
  }
  durable_hard_state_ = restore.hard_state;
  if (state.snapshot.has_value()) {
    Result<raft::Membership> membership = DecodeMembership(state.snapshot->membership);
    if (!membership.ok()) {
      Stop("wal_open_failed", membership.status());
      return;
    }
    raft::Snapshot snapshot;
    snapshot.metadata = {state.snapshot->index, state.snapshot->term, std::move(*membership)};
    snapshot.data.assign(state.snapshot->data.begin(), state.snapshot->data.end());
    const Status restored = state_machine_->Restore(snapshot.data);
    if (!restored.ok()) {
      Stop("wal_open_failed", restored);
      return;
    }
    applied_ = snapshot_index_ = snapshot.metadata.index;
    last_snapshot_bytes_ = snapshot.data.size();
    applied_term_ = snapshot.metadata.term;
    restore.snapshot = std::move(snapshot);
  }
  for (const WalEntry& stored : state.entries) {
    Result<raft::Entry> entry = DecodeWalEntry(stored);
    if (!entry.ok()) {
      Stop("wal_open_failed", entry.status());
      return;
    }
    restore.entries.push_back(std::move(*entry));
  }
  // The commit index was saved with the last term/vote change, possibly ahead of
  // entries that a crash then lost (they were not acknowledged: nothing is lost
  // that a quorum relies on), and never behind the snapshot, which holds only
  // committed entries.
  const LogIndex last(snapshot_index_.value() + restore.entries.size());
  restore.hard_state.commit = std::min(std::max(restore.hard_state.commit, snapshot_index_), last);
  restore.applied = snapshot_index_;

  raft::Config config;
  config.id = env_.self();
  config.election_ticks = options_.election_ticks;
  config.heartbeat_ticks = options_.heartbeat_ticks;
  config.seed = env_.rng().NextU64();
  // Keep every message inside one frame (protocol/frame.h's payload limit).
  config.max_bytes_per_message = 256 << 10;
  config.max_entry_bytes = 128 << 10;
  config.snapshot_chunk_bytes = 128 << 10;
  config.max_snapshot_bytes = options_.wal.max_snapshot_bytes / 2;
  const Status valid = config.Validate();
  MURPHY_ASSERT_MSG(valid.ok(), valid.ToString().c_str());
  const std::vector<raft::Entry> recovered_entries = restore.entries;
  raw_ = std::make_unique<raft::RawNode>(config, std::move(restore));
  soft_state_ = raw_->raft().soft_state();
  reported_commit_ = raw_->raft().log().committed();

  if (options_.observer != nullptr) {
    options_.observer->OnLogReset(env_.self(), snapshot_index_, recovered_entries);
    if (reported_commit_ > LogIndex()) options_.observer->OnCommitted(env_.self(), term(), reported_commit_);
  }
  env_.Trace("recovered", {{"term", term().value()},
                           {"snapshot_index", snapshot_index_.value()},
                           {"last_index", last.value()},
                           {"commit", reported_commit_.value()},
                           {"truncated_tail_bytes", state.truncated_tail_bytes}});
}

void NodeShell::Tick() {
  if (stopped_) return;
  raw_->Tick();
  if (options_.service != nullptr) options_.service->OnTick();
  if (stopped_) return;
  Drive();
  if (!stopped_) tick_timer_ = env_.SetTimer(options_.tick_interval, [this] { Tick(); });
}

void NodeShell::OnReceive(NodeId source, std::span<const uint8_t> payload) {
  if (stopped_) return;
  Result<Frame> frame = DecodeFrame(payload);
  if (!frame.ok()) {
    env_.Trace("bad_frame", {{"source", uint64_t{source.value()}}});
    return;
  }
  if (frame->type == kRaftFrame) {
    Result<raft::Message> message = raft::DecodeMessage(frame->payload);
    if (!message.ok()) {
      const std::string error = message.status().ToString();
      env_.Trace("bad_raft_message",
                 {{"source", uint64_t{source.value()}}, {"error", std::string_view(error)}});
      return;
    }
    if (message->to != env_.self() || message->from != source) return;
    raw_->Step(*message).IgnoreError();  // a message that is not for us is dropped
  } else if (frame->type == kClientRequestFrame) {
    Result<ClientRequest> request = DecodeRequest(frame->payload);
    if (!request.ok()) return;
    OnClientRequest(source, *request);
  } else if (options_.service != nullptr) {
    options_.service->OnFrame(source, frame->type, frame->payload);
    if (stopped_) return;
  } else {
    return;
  }
  Drive();
}

void NodeShell::OnClientRequest(NodeId source, const ClientRequest& request) {
  if (!is_leader()) {
    Respond(source, request.client_id, request.sequence, ResponseStatus::kNotLeader, {});
    return;
  }
  if (request.kind == RequestKind::kCommand) {
    if (pending_commands_.size() >= options_.max_pending_commands) {
      Respond(source, request.client_id, request.sequence, ResponseStatus::kUnavailable, {});
      return;
    }
    Result<LogIndex> index =
        raw_->Propose(EncodeCommand({request.client_id, request.sequence, request.payload}));
    if (!index.ok()) {
      Respond(source, request.client_id, request.sequence, ResponseStatus::kUnavailable, {});
      return;
    }
    pending_commands_[*index] = {source, request.client_id, request.sequence, term()};
    return;
  }
  if (pending_reads_.size() >= options_.max_pending_reads) {
    Respond(source, request.client_id, request.sequence, ResponseStatus::kUnavailable, {});
    return;
  }
  const uint64_t read_id = next_read_id_++;
  if (!raw_->ReadIndex(read_id).ok()) {
    Respond(source, request.client_id, request.sequence, ResponseStatus::kUnavailable, {});
    return;
  }
  pending_reads_[read_id] = {source, request.client_id, request.sequence, request.payload, LogIndex(), nullptr};
}

void NodeShell::Respond(NodeId target, uint64_t client_id, uint64_t sequence, ResponseStatus status,
                        std::string payload) {
  ClientResponse response;
  response.client_id = client_id;
  response.sequence = sequence;
  response.status = status;
  response.leader_hint = status == ResponseStatus::kNotLeader ? leader() : env_.self();
  response.payload = std::move(payload);
  env_.Send(target, EncodeResponseFrame(response));
}

void NodeShell::SendRaft(const raft::Message& message) {
  if (options_.observer != nullptr) options_.observer->OnSend(env_.self(), message, durable_state());
  const Bytes body = raft::EncodeMessage(message);
  env_.Send(message.to, EncodeFrame(kRaftFrame, body));
}

Status NodeShell::SaveHardState(const raft::HardState& state) {
  MURPHY_RETURN_IF_ERROR(wal_->SaveHardState({state.term, state.vote, state.commit}));
  durable_hard_state_ = state;
  return Status::Ok();
}

Status NodeShell::PersistSnapshot(const raft::Snapshot& snapshot) {
  // Raft installs a snapshot only when the log lacks its last entry, so every
  // entry after it in the WAL conflicts with the leader: discard them durably
  // BEFORE the snapshot becomes durable, or a crash in between would recover the
  // snapshot followed by a stale suffix.
  MURPHY_RETURN_IF_ERROR(wal_->DiscardAfter(snapshot.metadata.index));
  MURPHY_RETURN_IF_ERROR(wal_->Sync());
  const std::string membership = EncodeMembership(snapshot.metadata.membership);
  WalSnapshot stored;
  stored.index = snapshot.metadata.index;
  stored.term = snapshot.metadata.term;
  stored.membership.assign(membership.begin(), membership.end());
  stored.data.assign(snapshot.data.begin(), snapshot.data.end());
  MURPHY_RETURN_IF_ERROR(wal_->SaveSnapshot(stored));
  return wal_->Compact();
}

void NodeShell::Drive() {
  if (driving_) return;
  driving_ = true;
  while (!stopped_ && !syncing_.has_value() && raw_->HasReady()) {
    raft::Ready ready = raw_->GetReady();
    env_.Trace("ready", {{"hs_term", ready.hard_state ? ready.hard_state->term.value() : 0},
                         {"first", ready.entries.empty() ? 0 : ready.entries.front().index.value()},
                         {"last", ready.entries.empty() ? 0 : ready.entries.back().index.value()},
                         {"last_term", ready.entries.empty() ? 0 : ready.entries.back().term.value()},
                         {"after_persist", uint64_t{ready.messages_after_persist.size()}},
                         {"wal_durable", wal_->durable_index().value()},
                         {"wal_last", wal_->last_index().value()}});
    for (const raft::Message& message : ready.messages) SendRaft(message);
    if (options_.unsafe_send_before_persist) {
      for (const raft::Message& message : ready.messages_after_persist) SendRaft(message);
      ready.messages_after_persist.clear();
    }
    // Step 2: persist. Hard state first, so that the durable term is never behind
    // the term of a durable entry or snapshot.
    if (ready.hard_state.has_value() && (ready.hard_state->term != durable_hard_state_.term ||
                                         ready.hard_state->vote != durable_hard_state_.vote)) {
      const Status saved = SaveHardState(*ready.hard_state);
      if (!saved.ok()) {
        Stop(FatalEvent(saved), saved);
        break;
      }
    }
    if (ready.snapshot.has_value()) {
      const Status saved = PersistSnapshot(*ready.snapshot);
      if (!saved.ok()) {
        Stop(FatalEvent(saved), saved);
        break;
      }
      if (options_.observer != nullptr)
        options_.observer->OnLogReset(env_.self(), ready.snapshot->metadata.index, {});
    }
    if (!ready.entries.empty()) {
      std::vector<WalEntry> stored;
      stored.reserve(ready.entries.size());
      for (const raft::Entry& entry : ready.entries)
        stored.push_back({entry.index, entry.term, EncodeWalData(entry)});
      const Status appended = wal_->Append(stored);
      if (!appended.ok()) {
        Stop(FatalEvent(appended), appended);
        break;
      }
      if (options_.observer != nullptr) {
        options_.observer->OnLog(env_.self(), ready.entries.front().index, ready.entries);
      }
    }
    // Leadership is reported after the log, so an observer sees the log the new
    // leader holds.
    if (ready.soft_state.has_value()) OnSoftState(*ready.soft_state);
    if (!ready.entries.empty()) {
      // Group commit: one sync for everything this Ready appended.
      syncing_ = std::move(ready);
      ++syncs_;
      const Status started = wal_->SyncAsync([this](Status status, LogIndex) {
        env_.Trace("synced", {{"wal_durable", wal_->durable_index().value()}, {"ok", status.ok()}});
        if (stopped_) return;
        if (!status.ok()) {
          Stop("fatal_fsync", status);
          return;
        }
        raft::Ready synced = std::move(*syncing_);
        syncing_.reset();
        FinishReady(std::move(synced));
        Drive();
      });
      if (!started.ok()) Stop(FatalEvent(started), started);
      break;
    }
    FinishReady(std::move(ready));
  }
  driving_ = false;
}

void NodeShell::FinishReady(raft::Ready ready) {
  if (stopped_) return;
  for (const raft::Message& message : ready.messages_after_persist) SendRaft(message);
  if (ready.snapshot.has_value()) {
    const Status restored = state_machine_->Restore(ready.snapshot->data);
    if (!restored.ok()) {
      Stop("fatal_snapshot", restored);
      return;
    }
    applied_ = snapshot_index_ = ready.snapshot->metadata.index;
    last_snapshot_bytes_ = ready.snapshot->data.size();
    applied_term_ = ready.snapshot->metadata.term;
    pending_commands_.erase(pending_commands_.begin(), pending_commands_.upper_bound(applied_));
    env_.Trace("snapshot_installed", {{"index", applied_.value()}, {"term", applied_term_.value()}});
  }
  if (ready.hard_state.has_value() && ready.hard_state->commit > reported_commit_) {
    reported_commit_ = ready.hard_state->commit;
    if (options_.observer != nullptr)
      options_.observer->OnCommitted(env_.self(), ready.hard_state->term, reported_commit_);
    env_.Trace("commit", {{"term", ready.hard_state->term.value()}, {"index", reported_commit_.value()}});
  }
  ApplyCommitted(ready.committed_entries);
  for (const raft::ReadState& read : ready.read_states) {
    auto found = pending_reads_.find(read.request_id);
    if (found != pending_reads_.end()) found->second.index = read.index;
  }
  ServeReads();
  raw_->Advance();
  MaybeSnapshot();
}

void NodeShell::ApplyCommitted(const std::vector<raft::Entry>& entries) {
  for (const raft::Entry& entry : entries) {
    MURPHY_ASSERT_MSG(entry.index == applied_.next(),
                      "committed entries must be applied in order, without gaps");
    std::string result;
    if (entry.type == raft::EntryType::kNormal && !entry.data.empty()) {
      result = state_machine_->Apply(entry.index, entry.data);
    }
    applied_ = entry.index;
    applied_term_ = entry.term;
    if (options_.observer != nullptr) options_.observer->OnApplied(env_.self(), entry);
    if (options_.service != nullptr && entry.type == raft::EntryType::kNormal && !entry.data.empty()) {
      options_.service->OnApplied(entry.index, entry.term, result);
    }
    env_.Trace("apply", {{"index", entry.index.value()}, {"term", entry.term.value()}});
    auto pending = pending_commands_.find(entry.index);
    if (pending == pending_commands_.end()) continue;
    // Same index and term: our proposal (log matching). Otherwise it was replaced
    // by another leader's entry; the client times out and retries.
    if (pending->second.term == entry.term) {
      Respond(pending->second.source, pending->second.client_id, pending->second.sequence,
              ResponseStatus::kOk, std::move(result));
    }
    pending_commands_.erase(pending);
  }
}

void NodeShell::ServeReads() {
  for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
    if (it->second.index == LogIndex() || it->second.index > applied_) {
      ++it;
      continue;
    }
    PendingRead read = std::move(it->second);
    it = pending_reads_.erase(it);
    if (read.done) {
      read.done(Status::Ok());
    } else {
      Respond(read.source, read.client_id, read.sequence, ResponseStatus::kOk,
              state_machine_->Query(read.payload));
    }
  }
}

void NodeShell::OnSoftState(const raft::SoftState& soft) {
  const bool was_leader = soft_state_.role == raft::Role::kLeader;
  const bool now_leader = soft.role == raft::Role::kLeader;
  soft_state_ = soft;
  ReportMembership();
  if (!was_leader && now_leader) {
    if (options_.observer != nullptr) options_.observer->OnBecameLeader(env_.self(), term());
    env_.Trace("became_leader", {{"term", term().value()}});
    if (options_.service != nullptr) options_.service->OnBecameLeader();
  }
  if (was_leader && !now_leader) {
    env_.Trace("stepped_down", {{"term", term().value()}, {"leader", uint64_t{soft.leader.value()}}});
    // Unconfirmed reads will never be confirmed: tell their clients now (a read
    // has no effect, so "not leader" is exact). Proposals may still commit under
    // the next leader: their outcome is unknown, so their clients time out and
    // retry (deduplicated by the state machine).
    for (auto it = pending_reads_.begin(); it != pending_reads_.end();) {
      if (it->second.index == LogIndex()) {
        PendingRead read = std::move(it->second);
        it = pending_reads_.erase(it);
        if (read.done) {
          read.done(UnavailableError("not the leader"));
        } else {
          Respond(read.source, read.client_id, read.sequence, ResponseStatus::kNotLeader, {});
        }
      } else {
        ++it;
      }
    }
    pending_commands_.clear();
    if (options_.service != nullptr) options_.service->OnLostLeadership();
  }
}

void NodeShell::MaybeSnapshot() {
  if (stopped_) return;
  // A node that has never compacted must do so once its configuration lists a
  // member added at runtime: that member joins with an empty configuration and
  // accepts the log only on top of a snapshot (raft.h), because the bootstrap
  // configuration is in no log entry. Hence the first snapshot, whatever
  // snapshot_every_entries says.
  const bool must_compact =
      raw_->raft().log().offset() == LogIndex() && applied_ > LogIndex() && HasMembersAddedAtRuntime();
  if (!must_compact) {
    if (options_.snapshot_every_entries == 0) return;
    const uint64_t since = applied_.value() - snapshot_index_.value();
    if (since < options_.snapshot_every_entries) return;
    if (options_.snapshot_bytes_per_entry > 0 &&
        since < last_snapshot_bytes_ / options_.snapshot_bytes_per_entry) {
      return;
    }
  }
  // Raft may already hold a newer snapshot from the leader that a later Ready will
  // hand over (it arrived while this Ready was syncing): that one supersedes ours.
  // (The leader's log offset may lag its snapshot while it sends an older one.)
  const std::optional<raft::Snapshot>& latest = raw_->raft().snapshot();
  const LogIndex covered = latest.has_value() ? latest->metadata.index : raw_->raft().log().offset();
  if (raw_->raft().HasUnstableSnapshot() || applied_ <= covered) return;
  const std::string data = state_machine_->Snapshot();
  const std::string membership = EncodeMembership(raw_->raft().MembershipAt(applied_));
  WalSnapshot stored;
  stored.index = applied_;
  stored.term = applied_term_;
  stored.membership.assign(membership.begin(), membership.end());
  stored.data.assign(data.begin(), data.end());
  const Status saved = wal_->SaveSnapshot(stored);
  if (!saved.ok()) {
    Stop(FatalEvent(saved), saved);
    return;
  }
  const Status compacted = raw_->Compact(applied_, data);
  MURPHY_ASSERT_MSG(compacted.ok(), compacted.ToString().c_str());
  snapshot_index_ = applied_;
  ++snapshots_taken_;
  last_snapshot_bytes_ = data.size();
  const Status removed = wal_->Compact();
  if (!removed.ok()) {
    Stop(FatalEvent(removed), removed);
    return;
  }
  env_.Trace("snapshot_taken", {{"index", applied_.value()}, {"bytes", uint64_t{data.size()}}});
}

void NodeShell::Stop(std::string_view event, Status reason) {
  if (stopped_) return;
  stopped_ = true;
  stop_reason_ = reason;
  env_.Trace(event, {{"reason", reason.message()}});
  env_.CancelTimer(tick_timer_);
  pending_commands_.clear();
  pending_reads_.clear();
  if (options_.service != nullptr && soft_state_.role == raft::Role::kLeader) options_.service->OnLostLeadership();
  if (options_.observer != nullptr) options_.observer->OnStopped(env_.self(), event);
}

}  // namespace murphy::node
