// murphy/node/node_shell.h — one Raft node: raft + WAL + a replicated state machine,
// driven over `Env`.
//
// Contract: a `NodeShell` is the whole server side of a node, written once against
// Env (so the simulator and the real daemon run this same code). Constructed on its
// Env's loop, it:
//   - opens the WAL on env.disk() and recovers: the hard state, the latest snapshot
//     (restored into the state machine) and the entries after it go into a RawNode;
//     entries up to the recovered commit index are re-applied by the first Ready;
//   - ticks Raft every `tick_interval` on an Env timer (one tick per timer firing: a
//     paused process loses ticks, it does not burst them);
//   - receives frames (client_protocol.h) and steps Raft with kRaftFrame messages;
//     serves kClientRequestFrame requests: commands are proposed (on the leader) and
//     answered once applied; queries go through ReadIndex and are answered once the
//     state machine has applied the confirmed index; a non-leader answers
//     kNotLeader with the leader it knows (Raft does not forward: the client
//     follows the hint);
//   - processes each Ready in RawNode's order: send `messages`; persist the
//     snapshot (if any), the hard state (if term or vote changed) and append the
//     entries; make them durable with ONE asynchronous WAL sync for the whole batch
//     (group commit — while it runs, new input piles up in Raft and goes into the
//     next Ready); only then send `messages_after_persist`, restore/apply, answer
//     clients and reads, and Advance;
//   - takes a snapshot every `snapshot_every_entries` applied entries, spaced
//     further as the state grows (`snapshot_bytes_per_entry`) (WAL
//     SaveSnapshot, then RawNode::Compact, then WAL Compact), and its first one as
//     soon as the configuration lists a member added at runtime (a joining node
//     catches up only from a snapshot);
//   - membership at runtime: the leader proposes single-server changes
//     (ProposeMembershipChange) whose context carries the new member's address; a
//     node started with `join` waits, unconfigured, for the leader's snapshot;
//     every change of the configuration in effect is reported to `on_membership`,
//     and snapshots (WAL and InstallSnapshot) keep the contexts.
//   - optionally drives a `NodeService` (options.service; the lock service uses it):
//     frames of other types go to it, and it hears of every applied normal entry
//     (with the state machine's result), of gaining and losing leadership and of
//     every tick; it proposes with ProposeCommand and reads with ReadBarrier. The KV
//     path does not use it and is unchanged.
// Durability rules honoured (ARCHITECTURE.md "Quorum"): nothing that depends on
// state — a vote, an append acknowledgement, a reply to a client — leaves before
// that state is durable. The commit index is persisted only along with term/vote
// changes: Raft does not need it durable for safety, and after a restart the node
// re-learns it from the leader (recovery clamps it into the recovered log).
// Crash-stop on disk failure: any WAL error on the write path — above all a failed
// fsync — stops the node for good (`stopped()`): it traces `fatal_fsync` (or
// `fatal_wal`), calls `on_fatal`, and from then on drops every input and sends
// nothing. Retrying fsync is unsafe (env.h); recovery is a restart, which reopens
// the WAL from whatever the disk durably holds. A WAL that cannot be opened
// (corruption, a transient read error) also stops the node (`wal_open_failed`).
// Observability: Env::Trace events (ready, synced, became_leader, stepped_down,
// commit, apply, snapshot_taken, snapshot_installed, recovered, fatal_fsync, ...) and a
// `NodeObserver` that sees Raft's log, commits, applies, leadership and every
// message at the moment it is sent together with the state that is durable then
// (what a persist-before-send monitor and a RaftSafetyChecker need).
// Limits: pending client commands and reads (kUnavailable beyond), Raft's own
// limits (Config), WAL limits (WalOptions), frame size (protocol/frame.h).
// Thread safety: none; everything runs on the Env's loop. Ownership: the shell owns
// its WAL and state machine; the Env and the observer must outlive it. The
// destructor cancels its timer; a pending WAL sync completion is dropped.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/env/env.h"
#include "murphy/node/client_protocol.h"
#include "murphy/node/state_machine.h"
#include "murphy/raft/durability.h"
#include "murphy/raft/raw_node.h"
#include "murphy/wal/wal.h"

namespace murphy::node {

// Sees what a node does, for checkers. Every call comes from the node's loop, at
// the moment it happens. Default implementations ignore the call.
class NodeObserver {
 public:
  virtual ~NodeObserver() = default;
  // Raft's log on `node` from index `from` on is now exactly `entries` (an append,
  // an overwrite of a conflicting suffix).
  virtual void OnLog(NodeId node, LogIndex from, const std::vector<raft::Entry>& entries) {
    (void)node, (void)from, (void)entries;
  }
  // The node's whole log is now: everything up to `snapshot_index` (covered by a
  // snapshot — recovered or installed from the leader) followed by `entries`.
  virtual void OnLogReset(NodeId node, LogIndex snapshot_index, const std::vector<raft::Entry>& entries) {
    (void)node, (void)snapshot_index, (void)entries;
  }
  virtual void OnBecameLeader(NodeId node, Term term) { (void)node, (void)term; }
  // The commit index reached `commit` while the node's term was `term`.
  virtual void OnCommitted(NodeId node, Term term, LogIndex commit) { (void)node, (void)term, (void)commit; }
  // The node applied `entry` (every committed entry, no-ops and config changes too).
  virtual void OnApplied(NodeId node, const raft::Entry& entry) { (void)node, (void)entry; }
  // `message` is being put on the wire now; `durable` is what the node's storage
  // durably holds at this moment (from the WAL's durable index and the last hard
  // state it saved successfully).
  virtual void OnSend(NodeId node, const raft::Message& message, const raft::DurableState& durable) {
    (void)node, (void)message, (void)durable;
  }
  // The node stopped for good (fatal disk error); `reason` says why.
  virtual void OnStopped(NodeId node, std::string_view reason) { (void)node, (void)reason; }
};

class NodeShell;

// A service layered on the shell (the lock service of locksvc/): the shell hands it
// the frames it does not speak itself and tells it about applies, leadership and
// ticks; the service proposes commands and asks for read barriers through the shell's
// public API (ProposeCommand, ReadBarrier). The KV path does not use it. Every call
// comes from the node's loop. Why a hook and not a subclass: the shell stays the one
// place that knows Raft, the WAL and the durability rules; a service only sees
// committed, applied results.
class NodeService {
 public:
  virtual ~NodeService() = default;
  // Called once from the shell's constructor, before recovery (so before any apply).
  virtual void Attach(NodeShell* shell) { (void)shell; }
  // A valid frame of a type the shell does not handle (not raft, not KV client).
  virtual void OnFrame(NodeId source, uint8_t type, std::span<const uint8_t> payload) {
    (void)source, (void)type, (void)payload;
  }
  // The state machine applied the normal entry at `index` (term `term`), returning
  // `result`. Also during recovery replays: effects must be idempotent or node-local.
  virtual void OnApplied(LogIndex index, Term term, std::string_view result) {
    (void)index, (void)term, (void)result;
  }
  // The node became leader / stopped being leader (also when it stops for good).
  virtual void OnBecameLeader() {}
  virtual void OnLostLeadership() {}
  // Every tick of the shell's timer (leader or not), before Raft's Ready is processed.
  virtual void OnTick() {}
};

struct NodeOptions {
  // The bootstrap voters (the same on every node; this node's id is env.self()).
  // Empty when `join` is set.
  std::vector<NodeId> members;
  // Join an existing cluster instead of bootstrapping one: start with no
  // configuration, never campaign, and wait for the leader (which added this node
  // as a learner with NodeShell::ProposeMembershipChange) to send its snapshot.
  // Once a snapshot is in the WAL it decides the configuration, so a restarted
  // joined node may keep the flag. REQUIRES: members is empty.
  bool join = false;
  // Called on the loop with the configuration in effect (the latest in the log,
  // committed or not — thesis §4.1 — with each member's context) once at startup
  // (from the constructor: it must not call back into the shell, which is not
  // constructed yet) and again whenever it changes: a change appended or
  // truncated, a snapshot installed. The embedder tells its transport how to reach
  // the members from the contexts (murphyd: Env peer addresses).
  std::function<void(const raft::Membership&)> on_membership;
  Duration tick_interval = Milliseconds(10);
  // Election timeout in [election_ticks, 2 * election_ticks) ticks.
  int election_ticks = 10;
  int heartbeat_ticks = 2;
  // Take a snapshot after this many entries applied since the last one (0: never)...
  uint64_t snapshot_every_entries = 1000;
  // ...and not before (entries applied since the last snapshot) x this >= the
  // last snapshot's size in bytes (0: no such wait). Serializing the state then
  // costs at most about this many bytes per applied entry, amortized, however
  // large the state grows (a store remembering a million idempotency keys made a
  // snapshot every 1000 entries spend half the CPU); the price is a log (in memory
  // and in the WAL) of up to about state size / this entries between snapshots.
  uint64_t snapshot_bytes_per_entry = 256;
  size_t max_pending_commands = 1024;
  size_t max_pending_reads = 1024;
  WalOptions wal;
  NodeObserver* observer = nullptr;  // not owned; may be null
  NodeService* service = nullptr;    // not owned; may be null; must outlive the shell
  // TEST ONLY — a deliberately broken shell that sends messages_after_persist
  // before the WAL sync, to prove the persist-before-send monitor can fail.
  bool unsafe_send_before_persist = false;
};

class NodeShell {
 public:
  // Recovers from env.disk() and starts ticking. A failed recovery leaves the node
  // stopped (see the contract). REQUIRES: options.members contains env.self(), or
  // options.join and options.members is empty.
  NodeShell(Env& env, NodeOptions options, std::unique_ptr<StateMachine> state_machine);
  ~NodeShell();
  NodeShell(const NodeShell&) = delete;
  NodeShell& operator=(const NodeShell&) = delete;

  bool stopped() const { return stopped_; }
  // Why the node stopped (OK while running).
  const Status& stop_reason() const { return stop_reason_; }
  NodeId id() const { return env_.self(); }
  bool is_leader() const;
  NodeId leader() const;
  Term term() const;
  LogIndex commit_index() const;
  LogIndex applied_index() const { return applied_; }
  LogIndex snapshot_index() const { return snapshot_index_; }
  // What the WAL durably holds now (durable index, last hard state saved).
  raft::DurableState durable_state() const;
  const StateMachine& state_machine() const { return *state_machine_; }
  // REQUIRES: !stopped().
  const raft::RawNode& raw_node() const { return *raw_; }
  uint64_t syncs() const { return syncs_; }
  // Snapshots this node took of its own state machine (not installed ones).
  uint64_t snapshots_taken() const { return snapshots_taken_; }

  // Starts an election now (tests, leadership handover).
  void Campaign();

  // The configuration in effect on this node (the latest in its log, committed or
  // not, with contexts); empty on a joining node before the leader's snapshot.
  const raft::Membership& membership() const;
  // On the leader: proposes one single-server change (raft/membership.h: add a
  // learner with its context "HOST:PORT", promote a caught-up learner, remove a
  // member). Returns the index of its log entry; it takes effect once appended and
  // is final once committed (watch commit_index() or on_membership). Errors:
  // Unavailable — not the leader, the previous change not committed yet, the leader
  // not yet committed in its term, a leadership transfer in progress (retry later,
  // possibly elsewhere); FailedPrecondition — the change does not apply (already a
  // member, not a learner, the learner not caught up, removing the last voter);
  // InvalidArgument — node 0 or a context over kMaxConfigChangeContextBytes.
  // A new member can catch up only from a snapshot: the leader takes its first one
  // as soon as it applies the change, if it has none (see MaybeSnapshot).
  Result<LogIndex> ProposeMembershipChange(const raft::ConfigChange& change);

  // For a NodeService. Proposes `command` for the state machine: the index it will
  // have if it commits (it may not: a leader change can replace it). Unavailable if
  // this node is not the leader or Raft refuses it. The shell processes the proposal
  // on its next Drive (after the current frame or tick).
  Result<LogIndex> ProposeCommand(std::string command);
  // For a NodeService: a linearizable read barrier. `done(OK)` once the leader has
  // confirmed its leadership for a read index and applied up to it; `done(Unavailable)`
  // if it loses leadership first or cannot start one. Dropped if the node stops.
  Status ReadBarrier(std::function<void(Status)> done);

 private:
  struct PendingCommand {
    NodeId source;
    uint64_t client_id;
    uint64_t sequence;
    Term term;
  };
  struct PendingRead {
    NodeId source;
    uint64_t client_id;
    uint64_t sequence;
    std::string payload;
    LogIndex index;  // set once confirmed
    std::function<void(Status)> done;  // a service's barrier (then no client reply)
  };

  void Recover();
  void Tick();
  void OnReceive(NodeId source, std::span<const uint8_t> payload);
  void OnClientRequest(NodeId source, const ClientRequest& request);
  void Respond(NodeId target, uint64_t client_id, uint64_t sequence, ResponseStatus status,
               std::string payload);
  // Processes Readies until one waits for a sync or none is left.
  void Drive();
  // The part of a Ready after its state is durable.
  void FinishReady(raft::Ready ready);
  void ApplyCommitted(const std::vector<raft::Entry>& entries);
  void ServeReads();
  void OnSoftState(const raft::SoftState& soft);
  void MaybeSnapshot();
  // Calls options_.on_membership if the configuration differs from the last one reported.
  void ReportMembership();
  bool HasMembersAddedAtRuntime() const;
  void SendRaft(const raft::Message& message);
  Status PersistSnapshot(const raft::Snapshot& snapshot);
  Status SaveHardState(const raft::HardState& state);
  void Stop(std::string_view event, Status reason);

  Env& env_;
  NodeOptions options_;
  std::unique_ptr<StateMachine> state_machine_;
  std::unique_ptr<Wal> wal_;
  std::unique_ptr<raft::RawNode> raw_;
  TimerId tick_timer_;
  bool stopped_ = false;
  Status stop_reason_;
  // A Ready whose WAL sync is in flight.
  std::optional<raft::Ready> syncing_;
  bool driving_ = false;

  raft::HardState durable_hard_state_;
  raft::SoftState soft_state_;
  LogIndex applied_;
  Term applied_term_;
  LogIndex snapshot_index_;
  LogIndex reported_commit_;
  uint64_t syncs_ = 0;
  uint64_t snapshots_taken_ = 0;
  // Size of the latest snapshot taken, installed or recovered (paces the next one).
  uint64_t last_snapshot_bytes_ = 0;

  std::map<LogIndex, PendingCommand> pending_commands_;
  std::map<uint64_t, PendingRead> pending_reads_;  // by ReadIndex request id
  uint64_t next_read_id_ = 1;
  std::optional<raft::Membership> reported_membership_;
};

// The WAL's snapshot membership bytes (exposed for tests). Version 1 (before
// contexts): voters then learners, as counted varint lists. Version 2 appends, only
// if there are contexts, a tag byte and the (id, context) pairs, so a membership
// without contexts encodes exactly as version 1 did and old WALs decode unchanged.
// DecodeMembership returns DataLoss for anything malformed (unsorted or overlapping
// lists, a context for a non-member, trailing bytes); it never crashes.
std::string EncodeMembership(const raft::Membership& membership);
Result<raft::Membership> DecodeMembership(std::span<const uint8_t> bytes);

}  // namespace murphy::node
