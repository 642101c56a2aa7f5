// murphy/raft/raw_node.h — the node shell's handle on Raft: inputs in, Ready out.
//
// Contract: `RawNode` wraps the pure core (raft.h) in etcd's RawNode shape. The node
// shell's single-threaded loop does:
//
//   on a timer tick:        node.Tick();
//   on a received message:  node.Step(message);      (errors: drop the message)
//   on a client request:    node.Propose(data) / node.ReadIndex(id);
//   on an operator request: node.ProposeMembershipChange(change);
//   now and then:           persist a snapshot of the state machine at its applied
//                           index i, then node.Compact(i, bytes) (log compaction);
//   whenever HasReady():
//     Ready ready = node.GetReady();
//     1. send ready.messages                  (may go out at once, in parallel with 2)
//     2. persist ready.snapshot (if set: it replaces the whole stored log), then
//        ready.hard_state (if set) and ready.entries, and fsync; entries replace
//        any stored entries from entries.front().index onward
//     3. only then send ready.messages_after_persist
//     4. if ready.snapshot is set, restore the state machine from it; then apply
//        ready.committed_entries in order (kConfigChange entries too: decode them
//        with DecodeConfigChange to learn when a change commits, e.g. to shut down
//        a removed node); serve ready.read_states once the state machine has
//        applied their index
//     5. node.Advance();
//
// Snapshots: the node shell owns its state machine's bytes. It takes a snapshot
// when it likes (e.g. every N applied entries), makes it durable, and hands it to
// `Compact`; Raft keeps that latest snapshot in memory to stream to followers that
// fell behind it (no callback into the shell is ever needed). On a follower, a
// snapshot received from the leader arrives in `Ready::snapshot` exactly once.
// On restart, pass the latest durable snapshot and the entries after it in
// RestoreState (the shell restores its state machine from the snapshot itself).
//
// Membership: SoftState (in Ready::soft_state whenever it changes) carries the
// configuration in effect on this node, so the shell can connect to new members
// and stop talking to removed ones.
//
// Persist before send: a vote, an append acknowledgement, or any message at a term
// not yet durable depends on step 2 and is in `messages_after_persist`. Only
// replication traffic from a leader whose term and vote are already durable goes in
// `messages` (thesis §10.2.1: the leader may write its own log in parallel with
// sending it). `CheckSendAllowed` (durability.h) states the rule per message, so a
// simulator can flag any "sent before synced" whatever the shell does.
//
// At most one Ready is outstanding: HasReady() is false between GetReady() and
// Advance(). Tick/Step/Propose may be called in between (their effects wait for the
// next Ready), so persistence may be asynchronous.
// Thread safety: none; one owner.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/raft/raft.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

struct Ready {
  // Set when leader or role changed since the previous Ready (informational).
  std::optional<SoftState> soft_state;
  // Set when term, vote or commit changed: persist before messages_after_persist.
  std::optional<HardState> hard_state;
  // Entries to append to stable storage, contiguous; they overwrite any stored
  // entries at the same and later indexes.
  std::vector<Entry> entries;
  // May be sent immediately, before or while persisting.
  std::vector<Message> messages;
  // Must be sent only after hard_state and entries are durable.
  std::vector<Message> messages_after_persist;
  // Committed, locally durable entries to apply, in log order.
  std::vector<Entry> committed_entries;
  // Confirmed linearizable reads (serve once applied >= index).
  std::vector<ReadState> read_states;
  // A snapshot received from the leader: persist it first (it replaces every
  // stored entry and any older snapshot; `entries`, if any, follow it), then
  // restore the state machine from it before applying committed_entries.
  std::optional<Snapshot> snapshot;

  bool MustPersist() const { return hard_state.has_value() || !entries.empty() || snapshot.has_value(); }
};

class RawNode {
 public:
  // REQUIRES: as Raft's constructor.
  RawNode(const Config& config, RestoreState restore);

  void Tick() { raft_.Tick(); }
  Status Step(const Message& message) { return raft_.Step(message); }
  void Campaign() { raft_.Campaign(); }
  // External leader failure detection (Config::external_leader_failure_detection):
  // the shell keeps one failure detector (e.g. PhiAccrualDetector) on the current
  // leader — a fresh one whenever SoftState's leader changes to another node; it
  // keeps the old one while no leader is known (a lost pre-vote forgets the
  // leader, which is still silent) — and calls
  // detector.Heartbeat(now) after any Step that made leader_contacts() grow; on
  // every tick (or timer) while detector.Suspect(now), it calls
  // ReportLeaderFailure(). Unavailable (below the floor) means "call again later".
  Status ReportLeaderFailure() { return raft_.ReportLeaderFailure(); }
  uint64_t leader_contacts() const { return raft_.leader_contacts(); }
  Result<LogIndex> Propose(std::string data) { return raft_.Propose(std::move(data)); }
  Status ReadIndex(uint64_t request_id) { return raft_.ReadIndex(request_id); }
  Status TransferLeadership(NodeId target) { return raft_.TransferLeadership(target); }
  Result<LogIndex> ProposeMembershipChange(const ConfigChange& change) {
    return raft_.ProposeMembershipChange(change);
  }
  // REQUIRES: the snapshot (data, as of applied index `index`) is durable in the
  // node shell's storage. See Raft::Compact.
  Status Compact(LogIndex index, std::string data) { return raft_.Compact(index, std::move(data)); }

  // Is there anything to persist, send, apply or report? False while a Ready is
  // outstanding.
  bool HasReady() const;
  // REQUIRES: HasReady().
  Ready GetReady();
  // Declares the outstanding Ready done: its state durable, its messages handed to
  // the transport, its committed entries applied. REQUIRES: a Ready is outstanding.
  void Advance();

  const Raft& raft() const { return raft_; }
  bool ready_outstanding() const { return outstanding_.has_value(); }

 private:
  struct Outstanding {
    std::optional<HardState> hard_state;
    std::optional<SoftState> soft_state;
    LogIndex last_entry_index;
    Term last_entry_term;
    LogIndex last_applied;
    std::optional<LogIndex> snapshot_index;
    uint64_t snapshots_installed = 0;
  };

  Raft raft_;
  HardState persisted_hard_state_;
  SoftState reported_soft_state_;
  std::optional<Outstanding> outstanding_;
};

}  // namespace murphy::raft
