#include "murphy/raft/raft.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy::raft {

Status Config::Validate() const {
  if (id == kNoNode) return InvalidArgumentError("raft config: id must not be 0");
  if (election_ticks < 2) return InvalidArgumentError("raft config: election_ticks must be >= 2");
  if (heartbeat_ticks < 1) return InvalidArgumentError("raft config: heartbeat_ticks must be >= 1");
  if (heartbeat_ticks >= election_ticks) {
    return InvalidArgumentError("raft config: heartbeat_ticks must be < election_ticks");
  }
  if (max_entries_per_message < 1) return InvalidArgumentError("raft config: max_entries_per_message < 1");
  if (max_bytes_per_message < 1) return InvalidArgumentError("raft config: max_bytes_per_message < 1");
  if (max_inflight_messages < 1) return InvalidArgumentError("raft config: max_inflight_messages < 1");
  if (max_uncommitted_bytes < 1) return InvalidArgumentError("raft config: max_uncommitted_bytes < 1");
  if (max_entry_bytes < 1) return InvalidArgumentError("raft config: max_entry_bytes < 1");
  if (max_apply_bytes_per_ready < 1) return InvalidArgumentError("raft config: max_apply_bytes_per_ready < 1");
  if (max_pending_reads < 1) return InvalidArgumentError("raft config: max_pending_reads < 1");
  if (snapshot_chunk_bytes < 1) return InvalidArgumentError("raft config: snapshot_chunk_bytes < 1");
  if (max_inflight_snapshot_chunks < 1) return InvalidArgumentError("raft config: max_inflight_snapshot_chunks < 1");
  if (max_snapshot_bytes < 1) return InvalidArgumentError("raft config: max_snapshot_bytes < 1");
  if (leader_failure_floor_ticks < 0 || leader_failure_floor_ticks > election_ticks) {
    return InvalidArgumentError("raft config: leader_failure_floor_ticks must be in [0, election_ticks]");
  }
  if (leader_failure_jitter_ticks < 0) return InvalidArgumentError("raft config: leader_failure_jitter_ticks < 0");
  return Status::Ok();
}

namespace {

bool IsSortedUnique(const std::vector<NodeId>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<NodeId>()) == ids.end();
}

LogIndex SnapshotIndex(const RestoreState& restore) {
  return restore.snapshot.has_value() ? restore.snapshot->metadata.index : LogIndex(0);
}

Term SnapshotTerm(const RestoreState& restore) {
  return restore.snapshot.has_value() ? restore.snapshot->metadata.term : Term(0);
}

}  // namespace

Raft::Raft(const Config& config, RestoreState restore)
    : config_(config),
      id_(config.id),
      rng_(config.seed),
      base_membership_(restore.snapshot.has_value() ? restore.snapshot->metadata.membership : restore.membership),
      log_(SnapshotIndex(restore), SnapshotTerm(restore), std::move(restore.entries),
           std::max(restore.hard_state.commit, SnapshotIndex(restore))),
      snapshot_(std::move(restore.snapshot)),
      term_(restore.hard_state.term),
      vote_(restore.hard_state.vote) {
  MURPHY_ASSERT(config_.Validate().ok());
  MURPHY_ASSERT(IsSortedUnique(base_membership_.voters));
  MURPHY_ASSERT(IsSortedUnique(base_membership_.learners));
  for (NodeId learner : base_membership_.learners) MURPHY_ASSERT(!base_membership_.IsVoter(learner));
  for (const auto& [member, context] : base_membership_.contexts) {
    MURPHY_ASSERT(base_membership_.Contains(member));
    MURPHY_ASSERT(!context.empty());
  }
  // A configuration has a voter, except the empty one of a node that joins an
  // existing cluster and waits for the leader's snapshot (see HandleAppend).
  MURPHY_ASSERT(!base_membership_.voters.empty() || base_membership_.empty());
  // The configuration is a function of the log: replay the changes it holds.
  membership_ = base_membership_;
  RebuildConfigurationFrom(log_.first_index());
  if (restore.applied > log_.applied()) log_.AppliedTo(restore.applied);
  BecomeFollower(term_, kNoNode);
}

// --- Configuration -----------------------------------------------------------------

void Raft::RebuildConfigurationFrom(LogIndex from) {
  while (!config_entries_.empty() && config_entries_.back().index >= from) config_entries_.pop_back();
  membership_ = config_entries_.empty() ? base_membership_ : config_entries_.back().membership;
  for (LogIndex index = std::max(from, log_.first_index()); index <= log_.last_index(); index = index.next()) {
    const Entry& entry = log_.EntryAt(index);
    if (entry.type != EntryType::kConfigChange) continue;
    // The leader checked the change against the configuration at the previous
    // index, which is the same on every log holding this entry (Log Matching), and
    // the codec refuses a malformed payload: failing here means logs diverged.
    Result<ConfigChange> change = DecodeConfigChange(entry.data);
    MURPHY_ASSERT_MSG(change.ok(), "a malformed configuration change in the log");
    Result<Membership> next = ApplyConfigChange(membership_, *change);
    MURPHY_ASSERT_MSG(next.ok(), "a configuration change in the log does not apply");
    membership_ = std::move(*next);
    config_entries_.push_back({index, membership_});
  }
}

const Membership& Raft::MembershipAt(LogIndex index) const {
  MURPHY_ASSERT(index >= log_.offset());
  MURPHY_ASSERT(index <= log_.last_index());
  for (auto it = config_entries_.rbegin(); it != config_entries_.rend(); ++it) {
    if (it->index <= index) return it->membership;
  }
  return base_membership_;
}

bool Raft::ChangePending() const {
  return !config_entries_.empty() && config_entries_.back().index > log_.committed();
}

void Raft::SyncProgressWithMembership() {
  MURPHY_ASSERT(role_ == Role::kLeader);
  for (auto it = progress_.begin(); it != progress_.end();) {
    if (membership_.Contains(it->first)) {
      it->second.set_learner(membership_.IsLearner(it->first));
      ++it;
    } else {
      it = progress_.erase(it);
    }
  }
  auto add = [&](NodeId peer, bool learner) {
    if (peer == id_ || progress_.contains(peer)) return;
    Progress progress(log_.last_index().next(), config_.max_inflight_messages, learner);
    progress.set_last_contact_tick(ticks_);
    progress_.emplace(peer, std::move(progress));
  };
  for (NodeId voter : membership_.voters) add(voter, false);
  for (NodeId learner : membership_.learners) add(learner, true);
  if (transfer_target_ != kNoNode && !membership_.IsVoter(transfer_target_)) AbortTransfer();
}

Result<LogIndex> Raft::ProposeMembershipChange(const ConfigChange& change) {
  if (role_ != Role::kLeader) return UnavailableError("raft: not the leader");
  if (transfer_target_ != kNoNode) return UnavailableError("raft: leadership transfer in progress");
  // The 2015 fix to single-server changes: a leader elected in a configuration
  // that a previous leader had already replaced (with an uncommitted change) must
  // not add a change of its own on top of the stale one; committing an entry of
  // its term first settles which configuration is current.
  if (!CommittedInCurrentTerm()) return UnavailableError("raft: leader has not committed in its term yet");
  if (ChangePending()) return UnavailableError("raft: the previous membership change is not committed yet");
  Result<Membership> next = ApplyConfigChange(membership_, change);
  if (!next.ok()) return next.status();
  if (change.type == ConfigChangeType::kPromote && progress(change.node).match() < log_.committed()) {
    // Thesis §4.2.1: a voter that must first copy the log could stall commitment.
    return FailedPreconditionError("raft: the learner has not caught up yet");
  }
  Entry entry{term_, log_.last_index().next(), EntryType::kConfigChange, EncodeConfigChange(change)};
  const LogIndex index = entry.index;
  uncommitted_bytes_ += EntryCostBytes(entry);
  log_.Append({&entry, 1});
  // Thesis §4.1: the configuration takes effect as soon as it is in the log.
  membership_ = std::move(*next);
  config_entries_.push_back({index, membership_});
  SyncProgressWithMembership();
  for (auto& [peer, progress] : progress_) SendAppend(peer, false);
  // A smaller quorum (a voter removed) may commit what was waiting.
  CommitAndBroadcast();
  return index;
}

// --- Snapshots ------------------------------------------------------------------------

Status Raft::Compact(LogIndex index, std::string data) {
  if (index > log_.applied()) return FailedPreconditionError("raft: compacting beyond the applied index");
  if (index <= log_.offset() || (snapshot_.has_value() && index <= snapshot_->metadata.index)) {
    return FailedPreconditionError("raft: the log is already compacted to there");
  }
  if (data.size() > config_.max_snapshot_bytes) return InvalidArgumentError("raft: snapshot too large");
  Snapshot snapshot{{index, log_.TermAtOrDie(index), MembershipAt(index)}, std::move(data)};
  // Entries after a snapshot still being sent stay: the follower continues from
  // them once it has installed it.
  const LogIndex compact_to = std::min(index, ReleaseFinishedSnapshotTransfers());
  base_membership_ = snapshot.metadata.membership;
  std::erase_if(config_entries_, [&](const ConfigEntry& entry) { return entry.index <= index; });
  if (compact_to > log_.offset()) log_.CompactTo(compact_to);
  snapshot_ = std::move(snapshot);
  shared_latest_snapshot_.reset();
  return Status::Ok();
}

LogIndex Raft::ReleaseFinishedSnapshotTransfers() {
  LogIndex lowest(UINT64_MAX);
  for (auto it = snapshots_in_transfer_.begin(); it != snapshots_in_transfer_.end();) {
    auto progress = role_ == Role::kLeader ? progress_.find(it->first) : progress_.end();
    const bool streaming =
        progress != progress_.end() && progress->second.state() == ProgressState::kSnapshot &&
        progress->second.pending_snapshot() == it->second->metadata.index &&
        ticks_ - progress->second.last_contact_tick() <= static_cast<uint64_t>(config_.election_ticks);
    if (!streaming) {
      it = snapshots_in_transfer_.erase(it);
      continue;
    }
    lowest = std::min(lowest, it->second->metadata.index);
    ++it;
  }
  return lowest;
}

void Raft::InstallSnapshot(Snapshot snapshot) {
  log_.RestoreSnapshot(snapshot.metadata.index, snapshot.metadata.term);
  base_membership_ = snapshot.metadata.membership;
  config_entries_.clear();
  membership_ = base_membership_;
  snapshot_ = std::move(snapshot);
  shared_latest_snapshot_.reset();
  snapshots_in_transfer_.clear();
  snapshot_unstable_ = true;
  ++snapshots_installed_;
}

void Raft::OnSnapshotStable(LogIndex index) {
  if (snapshot_unstable_ && snapshot_.has_value() && snapshot_->metadata.index == index) snapshot_unstable_ = false;
}

uint64_t Raft::SnapshotChunkCount(const Snapshot& snapshot) const {
  const uint64_t size = snapshot.data.size();
  // An empty snapshot still takes one (empty) chunk.
  return std::max<uint64_t>(1, (size + config_.snapshot_chunk_bytes - 1) / config_.snapshot_chunk_bytes);
}

bool Raft::SendSnapshotChunks(NodeId to) {
  Progress& progress = MutableProgress(to);
  MURPHY_ASSERT_MSG(snapshot_.has_value(), "a compacted log without a snapshot");
  std::shared_ptr<const Snapshot>& pinned = snapshots_in_transfer_[to];
  if (progress.state() != ProgressState::kSnapshot || pinned == nullptr ||
      progress.pending_snapshot() != pinned->metadata.index) {
    // First time, or the previous transfer ended: start with the latest snapshot,
    // and keep sending that one (not a newer one) until this transfer ends.
    if (shared_latest_snapshot_ == nullptr)
      shared_latest_snapshot_ = std::make_shared<const Snapshot>(*snapshot_);
    pinned = shared_latest_snapshot_;
    progress.BecomeSnapshot(pinned->metadata.index);
  }
  const Snapshot& snapshot = *pinned;
  const uint64_t count = SnapshotChunkCount(snapshot);
  const uint64_t chunk_bytes = config_.snapshot_chunk_bytes;
  bool sent = false;
  while (progress.next_chunk() < count &&
         progress.next_chunk() - progress.acked_chunks() < config_.max_inflight_snapshot_chunks) {
    const uint64_t offset = progress.next_chunk() * chunk_bytes;
    Message message;
    message.type = MessageType::kSnapshot;
    message.to = to;
    message.term = term_;
    message.index = snapshot.metadata.index;
    message.log_term = snapshot.metadata.term;
    message.snapshot_membership = snapshot.metadata.membership;
    message.snapshot_size = snapshot.data.size();
    message.chunk_offset = offset;
    message.data = snapshot.data.substr(offset, chunk_bytes);
    progress.OnChunkSent();
    Send(std::move(message));
    sent = true;
  }
  return sent;
}

void Raft::HandleSnapshotChunk(const Message& message) {
  auto acknowledge_log = [&](LogIndex index) {
    Message response;
    response.type = MessageType::kAppendResponse;
    response.to = message.from;
    response.term = term_;
    response.index = index;
    Send(std::move(response));
  };
  auto acknowledge_bytes = [&](uint64_t next_byte, bool reject) {
    Message response;
    response.type = MessageType::kSnapshotResponse;
    response.to = message.from;
    response.term = term_;
    response.index = message.index;
    response.log_term = message.log_term;
    response.snapshot_size = message.snapshot_size;  // lets a leader before the codec fix decode it
    response.chunk_offset = next_byte;
    response.reject = reject;
    Send(std::move(response));
  };
  if (message.index <= log_.committed()) {
    // Already covered (a late or duplicate chunk): the leader only needs to learn
    // where we are.
    incoming_.reset();
    acknowledge_log(log_.committed());
    return;
  }
  if (log_.MatchTerm(message.index, message.log_term)) {
    // As etcd: our log holds the snapshot's last entry, hence (Log Matching) all
    // before it; those are committed, so commit them instead of installing.
    incoming_.reset();
    log_.CommitTo(message.index);
    acknowledge_log(message.index);
    return;
  }
  const bool same = incoming_.has_value() && incoming_->from == message.from && incoming_->term == term_ &&
                    incoming_->snapshot.metadata.index == message.index &&
                    incoming_->snapshot.metadata.term == message.log_term;
  if (!same) {
    if (message.chunk_offset != 0) {
      acknowledge_bytes(0, false);  // not the start of anything we hold: start over.
      return;
    }
    if (message.snapshot_size > config_.max_snapshot_bytes) {
      incoming_.reset();
      acknowledge_bytes(0, true);
      return;
    }
    // A new leader, term or snapshot: whatever we were reassembling is dropped.
    incoming_ = IncomingSnapshot{
        message.from, term_, Snapshot{{message.index, message.log_term, message.snapshot_membership}, {}},
        message.snapshot_size};
  }
  std::string& data = incoming_->snapshot.data;
  if (message.chunk_offset != data.size()) {
    acknowledge_bytes(data.size(), false);  // a duplicate or a gap: say where we are.
    return;
  }
  if (message.snapshot_size != incoming_->size || data.size() + message.data.size() > incoming_->size) {
    incoming_.reset();  // inconsistent with what we have: start over.
    acknowledge_bytes(0, false);
    return;
  }
  data += message.data;
  if (data.size() < incoming_->size) {
    acknowledge_bytes(data.size(), false);
    return;
  }
  Snapshot snapshot = std::move(incoming_->snapshot);
  incoming_.reset();
  InstallSnapshot(std::move(snapshot));
  // Acknowledged like entries up to its index; RawNode holds this back until the
  // snapshot is durable (messages_after_persist), as CheckSendAllowed demands.
  acknowledge_log(message.index);
}

void Raft::HandleSnapshotResponse(const Message& message) {
  Progress& progress = MutableProgress(message.from);
  progress.set_last_contact_tick(ticks_);
  if (progress.state() != ProgressState::kSnapshot) return;
  auto pinned = snapshots_in_transfer_.find(message.from);
  if (pinned == snapshots_in_transfer_.end()) return;
  const SnapshotMetadata& sending = pinned->second->metadata;
  if (message.index != progress.pending_snapshot() || message.index != sending.index ||
      message.log_term != sending.term) {
    return;  // about another snapshot.
  }
  if (message.reject) {
    // The follower refuses it (too large for it); try again from a probe later.
    progress.BecomeProbe();
    return;
  }
  progress.OnChunksAcked(message.chunk_offset / config_.snapshot_chunk_bytes);
  SendSnapshotChunks(message.from);
}

const Progress& Raft::progress(NodeId peer) const {
  MURPHY_ASSERT(role_ == Role::kLeader);
  auto it = progress_.find(peer);
  MURPHY_ASSERT_MSG(it != progress_.end(), "no progress for that peer");
  return it->second;
}

Progress& Raft::MutableProgress(NodeId peer) {
  MURPHY_ASSERT(role_ == Role::kLeader);
  auto it = progress_.find(peer);
  MURPHY_ASSERT_MSG(it != progress_.end(), "no progress for that peer");
  return it->second;
}

std::vector<Message> Raft::TakeMessages() { return std::exchange(messages_, {}); }
std::vector<ReadState> Raft::TakeReadStates() { return std::exchange(read_states_, {}); }

// --- Role transitions ----------------------------------------------------------

void Raft::ResetRandomizedTimeout() {
  uint64_t base = static_cast<uint64_t>(config_.election_ticks);
  randomized_election_timeout_ = static_cast<int>(base + rng_.Uniform(base));
}

void Raft::BecomeFollower(Term term, NodeId leader) {
  MURPHY_ASSERT_MSG(term >= term_, "a node never moves back in term");
  if (term > term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  role_ = Role::kFollower;
  leader_ = leader;
  election_elapsed_ = 0;
  detector_campaign_in_ = -1;
  heartbeat_elapsed_ = 0;
  ResetRandomizedTimeout();
  votes_.clear();
  progress_.clear();
  snapshots_in_transfer_.clear();
  pending_reads_.clear();
  transfer_target_ = kNoNode;
  uncommitted_bytes_ = 0;
  incoming_.reset();
}

void Raft::BecomePreCandidate() {
  MURPHY_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot pre-campaign");
  MURPHY_ASSERT(Promotable());
  // Thesis §9.6: a pre-candidate changes neither its term nor its vote; it only
  // asks whether it could win.
  role_ = Role::kPreCandidate;
  leader_ = kNoNode;
  detector_campaign_in_ = -1;
  votes_.clear();
  incoming_.reset();
  election_elapsed_ = 0;
  ResetRandomizedTimeout();
}

void Raft::BecomeCandidate() {
  MURPHY_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot campaign");
  MURPHY_ASSERT(Promotable());
  term_ = term_.next();
  vote_ = id_;
  role_ = Role::kCandidate;
  leader_ = kNoNode;
  detector_campaign_in_ = -1;
  votes_.clear();
  incoming_.reset();
  election_elapsed_ = 0;
  ResetRandomizedTimeout();
}

void Raft::BecomeLeader() {
  MURPHY_ASSERT_MSG(role_ == Role::kCandidate, "only a candidate becomes leader");
  MURPHY_ASSERT(vote_ == id_);
  role_ = Role::kLeader;
  leader_ = id_;
  detector_campaign_in_ = -1;
  leader_suspected_ = false;
  leader_silence_ticks_ = 0;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  votes_.clear();
  progress_.clear();
  LogIndex next = log_.last_index().next();
  auto add = [&](NodeId peer, bool learner) {
    if (peer == id_) return;
    Progress progress(next, config_.max_inflight_messages, learner);
    // Give every peer the benefit of the doubt for a first election timeout.
    progress.set_last_contact_tick(ticks_);
    progress_.emplace(peer, std::move(progress));
  };
  for (NodeId voter : membership_.voters) add(voter, false);
  for (NodeId learner : membership_.learners) add(learner, true);
  uncommitted_bytes_ = 0;
  read_round_ = 0;
  // The no-op of thesis §6.4 / §3.6.2: entries of earlier terms commit only once an
  // entry of this term does, and ReadIndex must wait for that too.
  Entry noop{term_, next, EntryType::kNormal, {}};
  log_.Append({&noop, 1});
  uncommitted_bytes_ += EntryCostBytes(noop);
  BroadcastAppend();
}

void Raft::Campaign() {
  if (role_ == Role::kLeader) return;
  if (!Promotable()) return;
  StartCampaign(config_.pre_vote ? CampaignKind::kPreVote : CampaignKind::kVote);
}

void Raft::StartCampaign(CampaignKind kind) {
  MessageType type = MessageType::kVote;
  Term request_term;
  if (kind == CampaignKind::kPreVote) {
    BecomePreCandidate();
    type = MessageType::kPreVote;
    request_term = term_.next();  // the term it would campaign in; ours is unchanged.
  } else {
    BecomeCandidate();
    request_term = term_;
  }
  if (RecordVote(id_, true) == Tally::kWon) {
    // A single voter wins at once.
    if (kind == CampaignKind::kPreVote) {
      StartCampaign(CampaignKind::kVote);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId voter : membership_.voters) {
    if (voter == id_) continue;
    Message message;
    message.type = type;
    message.to = voter;
    message.term = request_term;
    message.index = log_.last_index();
    message.log_term = log_.last_term();
    message.leader_transfer = kind == CampaignKind::kTransfer;
    Send(std::move(message));
  }
}

Raft::Tally Raft::RecordVote(NodeId from, bool granted) {
  votes_.emplace(from, granted);  // the first answer from a voter counts.
  size_t granted_count = 0;
  size_t rejected_count = 0;
  for (NodeId voter : membership_.voters) {
    auto it = votes_.find(voter);
    if (it == votes_.end()) continue;
    if (it->second) {
      ++granted_count;
    } else {
      ++rejected_count;
    }
  }
  if (granted_count >= Quorum()) return Tally::kWon;
  if (rejected_count > membership_.voters.size() - Quorum()) return Tally::kLost;
  return Tally::kPending;
}

// --- Time ------------------------------------------------------------------------

void Raft::Tick() {
  ++ticks_;
  if (role_ == Role::kLeader) {
    TickHeartbeat();
  } else {
    TickElection();
  }
}

void Raft::TickElection() {
  ++election_elapsed_;
  ++leader_silence_ticks_;
  if (!Promotable()) return;
  if (detector_campaign_in_ >= 0) {
    MURPHY_ASSERT(role_ == Role::kFollower);
    if (--detector_campaign_in_ <= 0) {
      detector_campaign_in_ = -1;
      election_elapsed_ = 0;
      Campaign();
      return;
    }
  }
  int timeout = randomized_election_timeout_;
  // External detection: the shell's detector decides while a leader is known; our
  // own timer is only a backstop.
  if (config_.external_leader_failure_detection && role_ == Role::kFollower && leader_ != kNoNode) timeout *= 2;
  if (election_elapsed_ < timeout) return;
  election_elapsed_ = 0;
  Campaign();
}

int Raft::LeaderFailureFloorTicks() const {
  return config_.leader_failure_floor_ticks > 0 ? config_.leader_failure_floor_ticks : config_.election_ticks / 2;
}

int Raft::LeaderFailureJitterTicks() const {
  return config_.leader_failure_jitter_ticks > 0 ? config_.leader_failure_jitter_ticks
                                                 : config_.election_ticks;
}

void Raft::NoteLeaderContact() {
  ++leader_contacts_;
  leader_silence_ticks_ = 0;
  leader_suspected_ = false;
  detector_campaign_in_ = -1;
}

Status Raft::ReportLeaderFailure() {
  if (!config_.external_leader_failure_detection) {
    return FailedPreconditionError("raft: external leader failure detection is off");
  }
  if (role_ == Role::kLeader) return FailedPreconditionError("raft: this node is the leader");
  if (!Promotable()) return FailedPreconditionError("raft: not a voter");
  if (role_ != Role::kFollower) return Status::Ok();  // already campaigning.
  if (leader_silence_ticks_ < LeaderFailureFloorTicks()) {
    return UnavailableError("raft: heard from the leader less than the floor ago");
  }
  leader_suspected_ = true;
  if (detector_campaign_in_ >= 0) return Status::Ok();  // already scheduled.
  // Departure from plain Raft's timer, same purpose (§3.4): spread the followers
  // whose detectors fire together so one of them usually wins the first round.
  const int delay = static_cast<int>(rng_.Uniform(static_cast<uint64_t>(LeaderFailureJitterTicks())));
  if (delay == 0) {
    election_elapsed_ = 0;
    Campaign();
  } else {
    detector_campaign_in_ = delay;
  }
  return Status::Ok();
}

void Raft::TickHeartbeat() {
  MURPHY_ASSERT(role_ == Role::kLeader);
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (transfer_target_ != kNoNode) {
    ++transfer_elapsed_;
    if (transfer_elapsed_ >= config_.election_ticks) AbortTransfer();
  }
  if (election_elapsed_ >= config_.election_ticks) election_elapsed_ = 0;
  // CheckQuorum (thesis §6.2): a leader that has not heard from a majority within
  // an election timeout steps down, so that clients find the real leader and a
  // partitioned leader stops serving ReadIndex. Departure from etcd, which checks
  // once per election timeout (so a leader may linger up to twice that): we check
  // every tick against each peer's last contact, so the bound is one timeout,
  // matching the followers' lease on votes.
  if (config_.check_quorum && !QuorumActive()) {
    BecomeFollower(term_, kNoNode);
    return;
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat(read_round_);
  }
}

bool Raft::QuorumActive() const {
  size_t active = 0;
  const uint64_t window = static_cast<uint64_t>(config_.election_ticks);
  for (NodeId voter : membership_.voters) {
    if (voter == id_) {
      ++active;
      continue;
    }
    if (ticks_ - progress(voter).last_contact_tick() < window) ++active;
  }
  return active >= Quorum();
}

void Raft::AbortTransfer() {
  transfer_target_ = kNoNode;
  transfer_elapsed_ = 0;
}

bool Raft::InLeaderLease() const {
  // External detection: our own detector suspecting the leader (past the floor)
  // ends the lease early (see Config::external_leader_failure_detection).
  if (leader_suspected_) return false;
  return leader_ != kNoNode && election_elapsed_ < config_.election_ticks;
}

// --- Messages ------------------------------------------------------------------------

void Raft::Send(Message message) {
  MURPHY_ASSERT(message.to != id_);
  MURPHY_ASSERT(message.to != kNoNode);
  MURPHY_ASSERT(message.term.value() > 0);
  message.from = id_;
  messages_.push_back(std::move(message));
}

Status Raft::Step(const Message& message) {
  if (message.to != id_) return InvalidArgumentError("raft: message for another node");
  if (message.from == id_) return InvalidArgumentError("raft: message from ourselves");
  if (message.from == kNoNode) return InvalidArgumentError("raft: message from node 0");
  if (message.term.value() == 0) return InvalidArgumentError("raft: message without a term");
  const MessageType type = message.type;

  if (message.term > term_) {
    const bool vote_request = type == MessageType::kPreVote || type == MessageType::kVote;
    if (vote_request && !message.leader_transfer) {
      // The leader lease on votes (thesis §4.2.3 / §9.6): a node that heard from a
      // leader within the minimum election timeout ignores requests to replace it,
      // so a node that was partitioned away (and so has a higher term) cannot
      // disrupt a working cluster. PreVote always applies it; real votes only with
      // CheckQuorum, which is what guarantees a lease-holding leader is real.
      const bool lease_applies = type == MessageType::kPreVote || config_.check_quorum;
      if (lease_applies && InLeaderLease()) return Status::Ok();
    }
    if (type == MessageType::kPreVote) {
      // Answering a pre-vote never changes our term.
    } else if (type == MessageType::kPreVoteResponse && !message.reject) {
      // A pre-vote grant carries the future term; it is not a reason to adopt it.
    } else {
      const bool from_leader =
          type == MessageType::kAppend || type == MessageType::kHeartbeat || type == MessageType::kSnapshot;
      BecomeFollower(message.term, from_leader ? message.from : kNoNode);
    }
  } else if (message.term < term_) {
    if (config_.mutations.skip_append_term_check && type == MessageType::kAppend && role_ == Role::kFollower) {
      // MUTATION: the stale leader's entries are taken as if it were current.
      HandleAppend(message);
      return Status::Ok();
    }
    if ((config_.check_quorum || config_.pre_vote) &&
        (type == MessageType::kAppend || type == MessageType::kHeartbeat || type == MessageType::kSnapshot)) {
      // A leader of an older term. With PreVote/CheckQuorum our higher term may
      // never reach it through votes, so answer with our term to make it step down.
      Message response;
      response.type = MessageType::kAppendResponse;
      response.to = message.from;
      response.term = term_;
      response.reject = true;
      Send(std::move(response));
    } else if (type == MessageType::kPreVote) {
      Message response;
      response.type = MessageType::kPreVoteResponse;
      response.to = message.from;
      response.term = term_;
      response.reject = true;
      Send(std::move(response));
    }
    return Status::Ok();
  }

  if (type == MessageType::kPreVote || type == MessageType::kVote) {
    HandleVoteRequest(message);
    return Status::Ok();
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(message);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(message);
      break;
    case Role::kFollower:
      StepFollower(message);
      break;
  }
  return Status::Ok();
}

void Raft::HandleVoteRequest(const Message& message) {
  const bool pre_vote = message.type == MessageType::kPreVote;
  // Raft §5.2: at most one vote per term, first come first served (repeating the
  // same vote is fine: the first answer may have been lost). A pre-vote binds
  // nothing, so it may be granted for a future term regardless of our vote.
  bool can_vote = vote_ == message.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                  (pre_vote && message.term > term_);
  if (config_.mutations.vote_twice_in_term && !pre_vote && role_ == Role::kFollower && leader_ == kNoNode) {
    can_vote = true;  // MUTATION: ignores the vote already cast in this term.
  }
  Message response;
  response.type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  response.to = message.from;
  if (can_vote && log_.IsUpToDate(message.index, message.log_term)) {
    response.term = message.term;
    if (!pre_vote) {
      MURPHY_ASSERT(message.term == term_);
      vote_ = message.from;
      election_elapsed_ = 0;  // granting a vote defers our own candidacy (§5.2).
    }
  } else {
    response.term = term_;
    response.reject = true;
  }
  Send(std::move(response));
}

void Raft::StepFollower(const Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Any of these comes from the leader of our term: it resets the election timer.
      election_elapsed_ = 0;
      leader_ = message.from;
      NoteLeaderContact();
      if (message.type == MessageType::kAppend) {
        HandleAppend(message);
      } else if (message.type == MessageType::kHeartbeat) {
        HandleHeartbeat(message);
      } else {
        HandleSnapshotChunk(message);
      }
      return;
    case MessageType::kTimeoutNow:
      // Thesis §3.10: the leader asks us to start an election at once, skipping
      // PreVote and the lease (it is the leader giving way).
      if (Promotable()) StartCampaign(CampaignKind::kTransfer);
      return;
    default:
      return;  // late answers to a role we no longer have.
  }
}

void Raft::StepCandidate(const Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
      // Raft §5.2: a candidate that hears from a leader of its term steps down.
      BecomeFollower(term_, message.from);
      NoteLeaderContact();
      HandleAppend(message);
      return;
    case MessageType::kHeartbeat:
      BecomeFollower(term_, message.from);
      NoteLeaderContact();
      HandleHeartbeat(message);
      return;
    case MessageType::kSnapshot:
      BecomeFollower(term_, message.from);
      NoteLeaderContact();
      HandleSnapshotChunk(message);
      return;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse: {
      const bool matches_role = (message.type == MessageType::kPreVoteResponse) ==
                                (role_ == Role::kPreCandidate);
      if (!matches_role) return;
      switch (RecordVote(message.from, !message.reject)) {
        case Tally::kWon:
          if (role_ == Role::kPreCandidate) {
            StartCampaign(CampaignKind::kVote);
          } else {
            BecomeLeader();
          }
          return;
        case Tally::kLost:
          BecomeFollower(term_, kNoNode);
          return;
        case Tally::kPending:
          return;
      }
      return;
    }
    default:
      return;
  }
}

void Raft::StepLeader(const Message& message) {
  switch (message.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      MURPHY_ASSERT_MSG(false, "two leaders in one term: election safety is broken");
      return;
    case MessageType::kSnapshotResponse:
      if (progress_.contains(message.from)) HandleSnapshotResponse(message);
      return;
    case MessageType::kAppendResponse:
      if (progress_.contains(message.from)) HandleAppendResponse(message);
      return;
    case MessageType::kHeartbeatResponse:
      if (progress_.contains(message.from)) HandleHeartbeatResponse(message);
      return;
    default:
      return;
  }
}

void Raft::HandleAppend(const Message& message) {
  Message response;
  response.type = MessageType::kAppendResponse;
  response.to = message.from;
  response.term = term_;
  if (message.index < log_.committed()) {
    // Everything up to our commit index matches the leader's log (Log Matching);
    // tell it where to continue.
    response.index = log_.committed();
    Send(std::move(response));
    return;
  }
  if (AwaitingSnapshot() && (message.index.value() > 0 || !message.entries.empty())) {
    // A joining node has no configuration of its own: the configuration its
    // cluster bootstrapped with is in no log entry, only in snapshots. Replaying
    // entries on top of the empty configuration would compute a wrong one (a
    // promoted learner would think itself the sole voter), so it accepts the log
    // only on top of a snapshot. Rejecting at index 0 makes the leader send one
    // (if it has compacted its log; the node shell sees to that before adding a
    // member); until then nothing is appended, which is safe.
    response.reject = true;
    response.index = message.index;
    response.reject_hint = LogIndex(0);
    response.log_term = Term(0);
    Send(std::move(response));
    return;
  }
  LogIndex first_changed;
  std::optional<LogIndex> last = log_.MaybeAppend(message.index, message.log_term, message.entries, &first_changed);
  if (last.has_value()) {
    // Configurations take effect when appended and are undone when truncated.
    RebuildConfigurationFrom(first_changed);
    // §5.3 receiver rule 5: commit no further than what this message proves we have.
    log_.CommitTo(std::min(message.commit, *last));
    response.index = *last;
    Send(std::move(response));
    return;
  }
  // Fast backtracking: suggest the last index at or before the probe whose term is
  // not above the probed term; the leader skips a whole term per round trip.
  LogIndex hint = log_.FindConflictByTerm(std::min(message.index, log_.last_index()), message.log_term);
  response.reject = true;
  response.index = message.index;
  response.reject_hint = hint;
  response.log_term = log_.TermAtOrDie(hint);
  Send(std::move(response));
}

void Raft::HandleHeartbeat(const Message& message) {
  // The leader sends min(our match, its commit), which we are known to have.
  log_.CommitTo(message.commit);
  Message response;
  response.type = MessageType::kHeartbeatResponse;
  response.to = message.from;
  response.term = term_;
  response.read_round = message.read_round;
  Send(std::move(response));
}

void Raft::HandleAppendResponse(const Message& message) {
  Progress& progress = MutableProgress(message.from);
  progress.set_last_contact_tick(ticks_);
  if (message.reject) {
    if (message.index.value() == 0 && message.reject_hint.value() == 0 && message.log_term.value() == 0 &&
        message.term == term_) {
      // Not a log rejection (e.g. a term notice that raced our election); nothing to do.
      return;
    }
    LogIndex hint = std::min(message.reject_hint, log_.last_index());
    hint = log_.FindConflictByTerm(hint, message.log_term);
    if (progress.MaybeDecreaseTo(message.index, hint)) {
      if (progress.state() == ProgressState::kReplicate) progress.BecomeProbe();
      SendAppend(message.from, true);
    }
    return;
  }
  if (message.index > log_.last_index()) return;  // cannot happen in one term; be defensive.
  const bool updated = progress.MaybeUpdate(message.index);
  if (progress.state() == ProgressState::kSnapshot &&
      (progress.match() >= progress.pending_snapshot() || progress.match() >= log_.offset())) {
    // The snapshot is installed (or no longer needed): stream entries after it.
    progress.BecomeReplicate();
  } else if (updated && progress.state() == ProgressState::kProbe) {
    progress.BecomeReplicate();
  }
  if (updated) CommitAndBroadcast();
  if (role_ != Role::kLeader) return;  // stepped down after committing its removal.
  while (SendAppend(message.from, false)) {
  }
  if (message.from == transfer_target_ && progress.match() == log_.last_index()) {
    Message timeout_now;
    timeout_now.type = MessageType::kTimeoutNow;
    timeout_now.to = message.from;
    timeout_now.term = term_;
    Send(std::move(timeout_now));
  }
}

void Raft::HandleHeartbeatResponse(const Message& message) {
  Progress& progress = MutableProgress(message.from);
  progress.set_last_contact_tick(ticks_);
  progress.OnHeartbeatResponse();
  if (progress.state() == ProgressState::kReplicate && progress.IsPaused()) progress.FreeOldestInflight();
  if (progress.state() == ProgressState::kSnapshot) progress.OnHeartbeatWhileSnapshotting();
  // A peer behind us: send what it lacks; with nothing new to send (everything
  // was sent optimistically, and may have been lost), an empty append probes at
  // `next - 1`, whose rejection rewinds the progress. Without it a lost append
  // would stall the follower until the next proposal.
  if (progress.match() < log_.last_index()) SendAppend(message.from, true);
  if (message.read_round > 0 && !progress.learner()) {
    progress.AckReadRound(message.read_round);
    ReleaseConfirmedReads();
  }
}

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  Progress& progress = MutableProgress(to);
  if (progress.state() == ProgressState::kSnapshot) return SendSnapshotChunks(to);
  if (progress.IsPaused()) return false;
  LogIndex previous(progress.next().value() - 1);
  // Raft §7: the entries the follower needs are compacted away; send the snapshot.
  if (previous < log_.offset()) return SendSnapshotChunks(to);
  std::vector<Entry> entries;
  if (progress.next() <= log_.last_index()) {
    entries = log_.Slice(progress.next(), log_.last_index().next(), config_.max_entries_per_message,
                         config_.max_bytes_per_message);
  }
  if (entries.empty() && !send_if_empty) return false;
  Message message;
  message.type = MessageType::kAppend;
  message.to = to;
  message.term = term_;
  message.index = previous;
  message.log_term = log_.TermAtOrDie(previous);
  message.commit = log_.committed();
  LogIndex sent_last(previous.value() + entries.size());
  message.entries = std::move(entries);
  progress.OnAppendSent(sent_last, !message.entries.empty());
  Send(std::move(message));
  return true;
}

void Raft::BroadcastAppend() {
  for (auto& [peer, progress] : progress_) SendAppend(peer, true);
}

void Raft::BroadcastHeartbeat(uint64_t read_round) {
  for (auto& [peer, progress] : progress_) {
    Message message;
    message.type = MessageType::kHeartbeat;
    message.to = peer;
    message.term = term_;
    // Never tell a follower to commit beyond what it is known to hold.
    message.commit = std::min(progress.match(), log_.committed());
    message.read_round = read_round;
    Send(std::move(message));
  }
}

void Raft::CommitAndBroadcast() {
  if (!MaybeCommit()) return;
  BroadcastAppend();
  if (!membership_.IsVoter(id_) && !ChangePending()) {
    // Thesis §4.2.2: a leader that is not in the (now committed) configuration it
    // manages steps down; it never campaigns again (not Promotable).
    BecomeFollower(term_, kNoNode);
  }
}

bool Raft::MaybeCommit() {
  MURPHY_ASSERT(role_ == Role::kLeader);
  std::vector<LogIndex> matches;
  matches.reserve(membership_.voters.size());
  for (NodeId voter : membership_.voters) {
    matches.push_back(voter == id_ ? SelfMatch() : MutableProgress(voter).match());
  }
  std::sort(matches.begin(), matches.end(), std::greater<LogIndex>());
  size_t needed = Quorum();
  // MUTATION: one vote short (never below one: a count of zero means nothing).
  if (config_.mutations.commit_without_quorum && needed > 1) --needed;
  LogIndex quorum_index = matches[needed - 1];
  if (quorum_index <= log_.committed()) return false;
  // Raft §5.4.2: only an entry of the current term is committed by counting
  // replicas; earlier ones commit indirectly with it (Figure 8).
  if (log_.TermAtOrDie(quorum_index) != term_) return false;
  LogIndex previous = log_.committed();
  log_.CommitTo(quorum_index);
  uint64_t released = 0;
  for (LogIndex index = previous.next(); index <= quorum_index; index = index.next()) {
    released += EntryCostBytes(log_.EntryAt(index));
  }
  uncommitted_bytes_ = released >= uncommitted_bytes_ ? 0 : uncommitted_bytes_ - released;
  return true;
}

void Raft::OnStable(LogIndex index, Term term) {
  log_.StableTo(index, term);
  if (role_ == Role::kLeader) CommitAndBroadcast();
}

// --- Local requests --------------------------------------------------------------

Result<LogIndex> Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) return UnavailableError("raft: not the leader");
  if (transfer_target_ != kNoNode) return UnavailableError("raft: leadership transfer in progress");
  if (data.size() > config_.max_entry_bytes) return InvalidArgumentError("raft: entry too large");
  Entry entry{term_, log_.last_index().next(), EntryType::kNormal, std::move(data)};
  uint64_t cost = EntryCostBytes(entry);
  // As in etcd, one entry is always admitted when nothing is outstanding, so a
  // limit smaller than an entry cannot wedge the leader.
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + cost > config_.max_uncommitted_bytes) {
    return ResourceExhaustedError("raft: too many uncommitted bytes");
  }
  LogIndex index = entry.index;
  log_.Append({&entry, 1});
  uncommitted_bytes_ += cost;
  for (auto& [peer, progress] : progress_) SendAppend(peer, false);
  return index;
}

bool Raft::CommittedInCurrentTerm() const { return log_.TermAtOrDie(log_.committed()) == term_; }

Status Raft::ReadIndex(uint64_t request_id) {
  if (role_ != Role::kLeader) return UnavailableError("raft: not the leader");
  // Thesis §6.4 step 1: until an entry of its term is committed, the leader does not
  // know the true commit index.
  if (!CommittedInCurrentTerm()) return UnavailableError("raft: leader has not committed in its term yet");
  if (pending_reads_.size() >= config_.max_pending_reads) {
    return ResourceExhaustedError("raft: too many pending reads");
  }
  if (SoleVoter()) {
    read_states_.push_back({request_id, log_.committed()});
    return Status::Ok();
  }
  ++read_round_;
  pending_reads_.push_back({request_id, log_.committed(), read_round_});
  BroadcastHeartbeat(read_round_);
  return Status::Ok();
}

void Raft::ReleaseConfirmedReads() {
  // A heartbeat answer for round r proves we were still leader after every read of
  // round <= r was registered. The quorum-th highest acknowledged round confirms all
  // reads up to it.
  std::vector<uint64_t> rounds;
  for (NodeId voter : membership_.voters) {
    rounds.push_back(voter == id_ ? read_round_ : MutableProgress(voter).read_round_acked());
  }
  std::sort(rounds.begin(), rounds.end(), std::greater<uint64_t>());
  uint64_t confirmed = rounds[Quorum() - 1];
  while (!pending_reads_.empty() && pending_reads_.front().round <= confirmed) {
    read_states_.push_back({pending_reads_.front().request_id, pending_reads_.front().index});
    pending_reads_.pop_front();
  }
}

Status Raft::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) return FailedPreconditionError("raft: not the leader");
  if (target == id_) return FailedPreconditionError("raft: already the leader");
  if (!membership_.IsVoter(target)) return FailedPreconditionError("raft: transfer target is not a voter");
  if (transfer_target_ == target) return Status::Ok();
  transfer_target_ = target;
  transfer_elapsed_ = 0;
  Progress& progress = MutableProgress(target);
  if (progress.match() == log_.last_index()) {
    Message timeout_now;
    timeout_now.type = MessageType::kTimeoutNow;
    timeout_now.to = target;
    timeout_now.term = term_;
    Send(std::move(timeout_now));
  } else {
    SendAppend(target, true);
  }
  return Status::Ok();
}

}  // namespace murphy::raft
