#include "murphy/locksvc/locks_workload.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "murphy/check/fencing.h"
#include "murphy/check/history.h"
#include "murphy/check/linearizability.h"
#include "murphy/check/model.h"
#include "murphy/client/lock_client.h"
#include "murphy/locksvc/lock_node.h"
#include "murphy/node/kv_workload.h"
#include "murphy/node/node_checkers.h"

namespace murphy::locksvc {
namespace {

enum class Variant : uint8_t { kNormal, kUnsafeStore, kUnsafeClient, kFullTtlOnFailover };

constexpr int kWorkers = 4;
constexpr int kFailovers = 3;
constexpr Duration kFailoverEvery = Milliseconds(1200);
constexpr Duration kDrillLimit = Seconds(30);
const char* const kLocks[] = {"a", "b"};
constexpr char kDrillLock[] = "drill";

std::string ResourceOf(std::string_view lock) { return "r-" + std::string(lock); }

client::LockClientOptions ClientOptions(const std::vector<NodeId>& members) {
  client::LockClientOptions options;
  options.channel.nodes = members;
  // The nemesis drifts clocks by up to 10%: the relative bound is the sum of two.
  options.max_drift_rate = 0.25;
  return options;
}

// What the workers tell the workload (true time, from the simulator).
struct WriteIssue {
  Instant time;
  NodeId client;
  std::string lock;
  FencingToken token;
};

struct Journal {
  std::vector<WriteIssue> safe_writes;  // sent through LockClient::Write (or unsafe mutant)
  std::vector<std::pair<NodeId, std::pair<std::string, FencingToken>>> held;  // tokens clients were told
  // What the workers saw, in true time, for the linearizability check (owners are
  // worker ids; a lock read's holder is recorded as a lease id and translated at
  // check time), plus the ends of holdings the workload records from applied entries.
  History history;
};

// The node's answer to a kTry acquire of a held lock (lock_machine.cc); any other
// FAILED_PRECONDITION (e.g. a request pushed out of the idempotency window) says
// nothing about the lock.
constexpr std::string_view kHeldByAnotherLease = "lock is held by another lease";

// A lock-using process.
class Worker {
 public:
  Worker(Env& env, const std::vector<NodeId>& members, Variant variant, Journal* journal,
         std::function<Instant()> true_now, std::function<void(NodeId)> request_pause)
      : env_(env),
        variant_(variant),
        journal_(journal),
        true_now_(std::move(true_now)),
        request_pause_(std::move(request_pause)),
        client_(env, ClientOptions(members)) {
    Later(Milliseconds(env_.rng().UniformInRange(0, 200)), [this] { Start(); });
  }
  ~Worker() {
    for (const auto& [id, timer] : timers_) env_.CancelTimer(timer);
  }

 private:
  void Later(Duration delay, std::function<void()> action) {
    const uint64_t id = next_timer_++;
    timers_[id] = env_.SetTimer(delay, [this, id, action = std::move(action)] {
      timers_.erase(id);
      action();
    });
  }

  OperationId Invoke(Input input) { return journal_->history.Invoke(env_.self(), true_now_(), std::move(input)); }
  int64_t self() const { return env_.self().value(); }

  // Reads of the lock's holder and token and of its resource, concurrent with
  // whatever the worker does next; recorded for the linearizability check.
  void ReadBoth(const std::string& lock) {
    const OperationId lock_read = Invoke(Input::Read(lock));
    client_.GetLock(lock, [this, lock_read](Result<protocol::LockInfoBody> info) {
      History& history = journal_->history;
      if (info.ok()) {
        const std::optional<int64_t> holder =
            info->holder.has_value() ? std::optional<int64_t>(info->holder->value()) : std::nullopt;
        history.Ok(lock_read, true_now_(), Output::LockState(holder, info->token.value()));
      } else if (info.status().code() == StatusCode::kNotFound) {
        history.Ok(lock_read, true_now_(), Output::LockState(std::nullopt, 0));
      } else {
        history.Info(lock_read, true_now_());
      }
    });
    const OperationId store_read = Invoke(Input::FencedRead(ResourceOf(lock)));
    client_.Read(ResourceOf(lock), [this, store_read](Result<protocol::ReadBody> body) {
      History& history = journal_->history;
      if (body.ok()) {
        history.Ok(store_read, true_now_(),
                   Output::FencedState(body->max_token.value(), static_cast<int64_t>(body->version)));
      } else if (body.status().code() == StatusCode::kNotFound) {
        history.Ok(store_read, true_now_(), Output::FencedState(std::nullopt, 0));
      } else {
        history.Info(store_read, true_now_());
      }
    });
  }

  // A fenced write's answer: accepted, rejected as stale (the store's max token is
  // above ours), or — for anything else — unknown.
  std::function<void(client::WriteReply)> RecordWrite(FencingToken token, const std::string& lock) {
    const OperationId write = Invoke(Input::FencedWrite(ResourceOf(lock), token.value()));
    return [this, write, token](client::WriteReply reply) {
      History& history = journal_->history;
      const auto version = static_cast<int64_t>(reply.version);
      if (reply.status.ok()) {
        history.Ok(write, true_now_(), Output::FencedAccepted(reply.max_token.value(), version));
      } else if (reply.status.code() == StatusCode::kAborted && reply.max_token > token) {
        history.Ok(write, true_now_(), Output::FencedRejected(reply.max_token.value(), version));
      } else {
        history.Info(write, true_now_());
      }
    };
  }

  void Start() {
    handle_.reset();
    const std::string lock = kLocks[env_.rng().Uniform(2)];
    const auto mode = env_.rng().Bernoulli(0.5) ? protocol::AcquireMode::kWait : protocol::AcquireMode::kTry;
    const uint64_t round = ++round_;
    if (env_.rng().Bernoulli(0.3)) ReadBoth(lock);
    const OperationId acquire = Invoke(Input::Acquire(lock, self()));
    if (mode == protocol::AcquireMode::kWait && env_.rng().Bernoulli(0.2)) {
      // An impatient client: gives up waiting (cancel-acquire, then its lease is
      // revoked — also when the grant raced ahead of the cancel).
      Later(Milliseconds(env_.rng().UniformInRange(100, 1500)), [this, round, lock] {
        if (round == round_ && handle_ == nullptr) client_.CancelAcquire(lock);
      });
    }
    client_.Acquire(lock, kTtl, mode, [this, round, acquire, mode](Result<std::unique_ptr<client::LockHandle>> result) {
      if (round != round_) return;
      if (!result.ok()) {
        const bool refused = mode == protocol::AcquireMode::kTry &&
                             result.status().code() == StatusCode::kFailedPrecondition &&
                             result.status().message().find(kHeldByAnotherLease) != std::string_view::npos;
        if (refused) {
          journal_->history.Ok(acquire, true_now_(), Output::Failure());
        } else {
          journal_->history.Info(acquire, true_now_());  // the lock may have been granted meanwhile
        }
        Later(Milliseconds(env_.rng().UniformInRange(100, 300)), [this] { Start(); });
        return;
      }
      journal_->history.Ok(acquire, true_now_(), Output::Token(result.value()->token().value()));
      handle_ = std::move(result).value();
      journal_->held.push_back({env_.self(), {handle_->lock(), handle_->token()}});
      Hold(static_cast<int>(env_.rng().UniformInRange(1, 3)));
    });
  }

  void Hold(int writes_left) {
    if (writes_left == 0) {
      handle_.reset();  // release
      Later(Milliseconds(env_.rng().UniformInRange(100, 500)), [this] { Start(); });
      return;
    }
    const bool gc_pause = env_.rng().Bernoulli(0.1);
    if (gc_pause) request_pause_(env_.self());
    Later(Milliseconds(env_.rng().UniformInRange(50, 300)), [this, writes_left, gc_pause] {
      WriteOnce(gc_pause);
      Hold(writes_left - 1);
    });
  }

  void WriteOnce(bool after_gc_pause) {
    if (handle_ == nullptr) return;
    const std::string lock = handle_->lock();
    const FencingToken token = handle_->token();
    const std::string value = std::to_string(env_.self().value()) + ":" + std::to_string(++writes_);
    if (variant_ == Variant::kUnsafeClient) {
      // The mutant: acts on its token whatever safe-until and loss say.
      journal_->safe_writes.push_back({true_now_(), env_.self(), lock, token});
      client_.WriteWithToken(ResourceOf(lock), lock, token, value, RecordWrite(token, lock));
      return;
    }
    if (after_gc_pause) {
      // The chapter's zombie: wakes from the pause and writes with its old token; only
      // the store's fence stands in the way.
      client_.WriteWithToken(ResourceOf(lock), lock, token, value, RecordWrite(token, lock));
      return;
    }
    if (!handle_->IsSafe()) return;  // Write would refuse locally: nothing is sent
    journal_->safe_writes.push_back({true_now_(), env_.self(), lock, token});
    client_.Write(*handle_, ResourceOf(lock), value, RecordWrite(token, lock));
  }

  Env& env_;
  Variant variant_;
  Journal* journal_;
  std::function<Instant()> true_now_;
  std::function<void(NodeId)> request_pause_;
  std::map<uint64_t, TimerId> timers_;
  uint64_t next_timer_ = 1;
  uint64_t round_ = 0;
  uint64_t writes_ = 0;
  // Declared before the client: a crash destroys the client first, which detaches the
  // handle (no release — a crashed process releases nothing).
  std::unique_ptr<client::LockHandle> handle_;
  client::LockClient client_;
};

// A client the drill steers directly.
class DrillClient {
 public:
  DrillClient(Env& env, const std::vector<NodeId>& members) : client_(env, ClientOptions(members)) {}
  void Acquire() {
    client_.Acquire(kDrillLock, kTtl, protocol::AcquireMode::kWait,
                    [this](Result<std::unique_ptr<client::LockHandle>> result) {
                      if (result.ok()) handle_ = std::move(result).value();
                      done_ = true;
                    });
  }
  const client::LockHandle* handle() const { return handle_.get(); }
  bool done() const { return done_; }

 private:
  bool done_ = false;
  std::unique_ptr<client::LockHandle> handle_;
  client::LockClient client_;
};

class LocksWorkload : public sim::Workload {
 public:
  explicit LocksWorkload(Variant variant) : variant_(variant) {}

  void Setup(sim::Simulator& sim) override {
    sim_ = &sim;
    checkers_ = std::make_unique<node::NodeCheckers>([&sim] { return sim.now(); });
    checkers_->on_stopped = [this](NodeId node, std::string_view) { ScheduleSupervisorRestart(node); };
    const size_t node_count = sim.rng().Bernoulli(0.5) ? 3 : 5;
    for (size_t i = 1; i <= node_count; ++i) members_.push_back(NodeId(static_cast<uint32_t>(i)));
    for (size_t i = 0; i < node_count; ++i) {
      sim.AddProcess("node" + std::to_string(i + 1), [this](Env& env) {
        LockNodeOptions options;
        options.node.members = members_;
        options.node.observer = checkers_.get();
        options.node.snapshot_every_entries = 64;
        options.node.snapshot_bytes_per_entry = 0;  // every 64, however large the state
        options.state_machine.store.skip_token_check_for_test = variant_ == Variant::kUnsafeStore;
        options.state_machine.on_applied = [this](LogIndex index, const AppliedRecord& record) {
          OnApplied(index, record);
        };
        options.timers.checkpoint_interval = kCheckpointInterval;
        options.timers.repropose_interval = Milliseconds(500);
        options.full_ttl_on_failover_for_test = variant_ == Variant::kFullTtlOnFailover;
        return sim::Hold(std::make_unique<LockNode>(env, std::move(options)));
      });
    }
    for (int i = 0; i < kWorkers; ++i) {
      workers_.push_back(sim.AddProcess("worker" + std::to_string(i + 1), [this](Env& env) {
        return sim::Hold(std::make_unique<Worker>(
            env, members_, variant_, &journal_, [this] { return sim_->now(); },
            [this](NodeId worker) {
              sim_->At(sim_->now(), [this, worker] {
                if (sim_->alive(worker) && !sim_->paused(worker)) sim_->Pause(worker, kGcPause);
              });
            }));
      }));
    }
    for (int i = 0; i < 2; ++i) {
      drill_.push_back(sim.AddProcess("drill" + std::to_string(i + 1), [this](Env& env) {
        return sim::Hold(std::make_unique<DrillClient>(env, members_));
      }));
    }
  }

  void Targets(sim::NemesisOptions* options) const override {
    options->nodes = members_;
    options->nodes.insert(options->nodes.end(), workers_.begin(), workers_.end());
    options->crashable = members_;
    options->crashable.insert(options->crashable.end(), workers_.begin(), workers_.end());
    options->disk_nodes = members_;
    options->allow_sync_errors = true;
  }

  Status Check(sim::Simulator& sim, Instant faults_end) override {
    (void)faults_end;
    std::vector<Status> failures;
    auto note = [&failures](Status status) {
      if (!status.ok()) failures.push_back(std::move(status));
    };
    note(checkers_->Verdict());
    note(CheckStoreMonotonic());
    note(CheckFencing());
    note(CheckLockSafety());
    if (failures.empty()) {
      note(RunDrill(sim));
      // The drill ran more of the system: judge its writes and Raft again.
      note(checkers_->Verdict());
      note(CheckStoreMonotonic());
      note(CheckLockSafety());
    }
    // Last, over everything the workers saw (they ran on during the drill); also when
    // another checker failed, so that a failing run names every checker that caught it.
    note(CheckLinearizable());
    if (failures.empty()) return Status::Ok();
    if (failures.size() == 1) return failures.front();
    std::string message;
    for (const Status& failure : failures) {
      if (!message.empty()) message += "; and ";
      message += failure.message();
    }
    return FailedPreconditionError(message);
  }

 private:
  struct Grant {
    Instant time;
    NodeId client;
    LeaseId lease;
    FencingToken token;
  };
  struct AppliedWrite {
    Instant time;
    NodeId writer;
    std::string resource;
    FencingToken token;
    bool accepted;
  };

  void OnApplied(LogIndex index, const AppliedRecord& record) {
    if (index <= recorded_) return;  // not the first application of this index
    recorded_ = index;
    const Instant now = sim_->now();
    if (record.kind == AppliedRecord::Kind::kStore) {
      // A retry answered from the store's idempotency memory repeats an old result
      // without applying anything: it is not a write at this time.
      if (record.write_result.status.ok() && !record.store_changed) return;
      writes_.push_back(
          {now, record.writer, record.write.resource, record.write.token, record.write_result.status.ok()});
      return;
    }
    if (record.kind != AppliedRecord::Kind::kLock) return;
    for (const lock::Event& event : record.output.events) {
      if (event.kind == lock::EventKind::kGranted) {
        grants_[event.lock].push_back({now, event.client, event.lease, event.token});
      } else if (event.kind == lock::EventKind::kLeaseEnded) {
        lease_ends_.emplace(event.lease, now);
      } else if (event.kind == lock::EventKind::kLeaseRenewed) {
        lease_clients_.emplace(event.lease, event.client);
      } else if (event.kind == lock::EventKind::kLost && IsWorkerLock(event.lock)) {
        // The holding ended by the lease's expiry or revocation (the workers release
        // by revoking): a release on the holder's behalf, at the instant it took
        // effect — the first application of its entry, which lies after the
        // entry's commit and before any client could hear of it.
        journal_.history.Add(event.client, now, now,
                             Input::Release(event.lock, event.client.value(), event.token.value()), Outcome::kOk,
                             Output::Success());
      }
    }
  }

  Status Fail(const std::string& what) const { return FailedPreconditionError("locks: " + what); }

  static bool IsWorkerLock(std::string_view lock) {
    return std::find(std::begin(kLocks), std::end(kLocks), lock) != std::end(kLocks);
  }

  // An acquire the worker could not see the end of (it timed out, was cancelled,
  // its lease ended, the worker crashed) may or may not have taken effect, and each
  // such "info" acquire multiplies the orders the checker must try. The log settles
  // most of them: an acquire that took effect was granted, by an applied entry after
  // its invocation, to its worker, on its lock — a grant that no acquire the worker
  // saw succeed claims (a token is granted once, to one lease, and a lease serves
  // one acquisition). An unknown acquire with no such unclaimed grant to explain it
  // did not take effect: it is recorded as failed. The others stay unknown.
  void ResolveUngrantedAcquires(History* history) const {
    std::set<std::pair<std::string, FencingToken>> claimed;
    for (const Operation& operation : history->operations()) {
      if (operation.input.kind == OperationKind::kAcquire && operation.outcome == Outcome::kOk &&
          operation.output.succeeded && operation.output.value.has_value()) {
        claimed.emplace(operation.input.key, FencingToken(static_cast<uint64_t>(*operation.output.value)));
      }
    }
    std::map<std::pair<NodeId, std::string>, Instant> last_unclaimed;
    for (const auto& [lock, grants] : grants_) {
      for (const Grant& grant : grants) {
        if (claimed.count({lock, grant.token}) != 0) continue;
        Instant& last = last_unclaimed[{grant.client, lock}];
        last = std::max(last, grant.time);
      }
    }
    for (const Operation& operation : history->operations()) {
      const bool unknown = operation.outcome == Outcome::kInfo || operation.outcome == Outcome::kPending;
      if (operation.input.kind != OperationKind::kAcquire || !unknown) continue;
      const auto last = last_unclaimed.find({operation.process, operation.input.key});
      if (last != last_unclaimed.end() && last->second >= operation.invoke_time) continue;
      Operation& resolved = history->mutable_operation(operation.id);
      resolved.outcome = Outcome::kFail;
      if (resolved.complete_time == Instant::Max()) resolved.complete_time = resolved.invoke_time;
    }
  }

  // Checker 3: the workers' history against the lock service model (check/model.h:
  // acquire, refused try, reads of holder and token, fenced writes and reads, with the
  // ends of holdings recorded from applied entries).
  Status CheckLinearizable() const {
    History history = journal_.history;
    for (const Operation& operation : journal_.history.operations()) {
      if (operation.input.kind != OperationKind::kRead || operation.outcome != Outcome::kOk) continue;
      std::optional<int64_t>& holder = history.mutable_operation(operation.id).output.holder;
      if (!holder.has_value()) continue;
      // Lease → the worker that owns it; a lease never granted becomes an owner no
      // worker is, so the checker names the read.
      const auto owner = lease_clients_.find(LeaseId(static_cast<uint64_t>(*holder)));
      holder = owner != lease_clients_.end() ? static_cast<int64_t>(owner->second.value()) : -*holder;
    }
    ResolveUngrantedAcquires(&history);
    LinearizabilityOptions options;
    options.max_steps = 20'000'000;
    Result<LinearizabilityResult> result = CheckLinearizability(history, *MakeLockServiceModel(), options);
    if (!result.ok()) return Fail("linearizability: " + result.status().ToString());
    if (result->verdict == Verdict::kLinearizable) return Status::Ok();
    return Fail("linearizability of lock operations: " + result->ToString());
  }

  Status CheckStoreMonotonic() const {
    std::map<std::string, FencingToken> max_accepted;
    for (const AppliedWrite& write : writes_) {
      if (!write.accepted) continue;
      FencingToken& max = max_accepted[write.resource];
      if (write.token < max) {
        return Fail("store monotonicity: resource " + write.resource + " accepted token " +
                    std::to_string(write.token.value()) + " at " + FormatInstant(write.time) +
                    " after accepting " + std::to_string(max.value()));
      }
      max = write.token;
    }
    return Status::Ok();
  }

  Status CheckFencing() const {
    for (const char* lock : kLocks) {
      FencingChecker checker(ResourceOf(lock));
      auto grants = grants_.find(lock);
      if (grants != grants_.end())
        for (const Grant& grant : grants->second) checker.RecordGrant(grant.time, grant.client, grant.token);
      for (const AppliedWrite& write : writes_) {
        if (write.resource == ResourceOf(lock))
          checker.RecordWrite(write.time, write.writer, write.token, write.accepted);
      }
      const std::vector<FencingViolation> violations = checker.Check();
      if (!violations.empty()) return Fail("fencing: " + checker.Report());
    }
    // The holder oracle: a write sent on the safe path while its grant was superseded.
    for (const WriteIssue& issue : journal_.safe_writes) {
      auto grants = grants_.find(issue.lock);
      if (grants == grants_.end()) continue;
      for (const Grant& grant : grants->second) {
        if (grant.token > issue.token && grant.time < issue.time) {
          return Fail("holder oracle: client " + ToString(issue.client) + " wrote with token " +
                      std::to_string(issue.token.value()) + " of lock " + issue.lock + " at " +
                      FormatInstant(issue.time) + ", but token " + std::to_string(grant.token.value()) +
                      " had been granted at " + FormatInstant(grant.time));
        }
      }
    }
    return Status::Ok();
  }

  Status CheckLockSafety() const {
    for (const auto& [lock, grants] : grants_) {
      for (size_t i = 1; i < grants.size(); ++i) {
        if (!(grants[i - 1].token < grants[i].token)) {
          return Fail("lock " + lock + ": token " + std::to_string(grants[i].token.value()) + " granted at " +
                      FormatInstant(grants[i].time) + " after token " +
                      std::to_string(grants[i - 1].token.value()));
        }
      }
    }
    for (const auto& entry : journal_.held) {
      const NodeId client = entry.first;
      const std::pair<std::string, FencingToken>& held = entry.second;
      auto grants = grants_.find(held.first);
      const bool granted = grants != grants_.end() &&
                           std::any_of(grants->second.begin(), grants->second.end(), [&](const Grant& g) {
                             return g.client == client && g.token == held.second;
                           });
      if (!granted) {
        return Fail("client " + ToString(client) + " was told it holds " + held.first + " with token " +
                    std::to_string(held.second.value()) + ", which was never granted to it");
      }
    }
    return Status::Ok();
  }

  std::optional<NodeId> Leader() {
    for (const NodeId node : members_) {
      if (!sim_->alive(node)) continue;
      LockNode* lock_node = sim_->ProcessAs<LockNode>(node);
      if (lock_node != nullptr && lock_node->shell().is_leader()) return node;
    }
    return std::nullopt;
  }

  Status RunDrill(sim::Simulator& sim) {
    const Instant limit = sim.now() + kDrillLimit;
    auto run_until = [&](const std::function<bool()>& predicate, Instant until) -> Result<bool> {
      return sim.RunUntil(predicate, std::min(until, limit));
    };
    DrillClient* holder = sim.ProcessAs<DrillClient>(drill_[0]);
    DrillClient* waiter = sim.ProcessAs<DrillClient>(drill_[1]);
    MURPHY_ASSERT(holder != nullptr && waiter != nullptr);
    holder->Acquire();
    Result<bool> got = run_until([&] { return holder->done(); }, sim.now() + Seconds(10));
    MURPHY_RETURN_IF_ERROR(got.status());
    if (!*got || holder->handle() == nullptr)
      return Fail("drill: the holder did not get the free lock within 10s");
    const LeaseId lease = holder->handle()->lease();
    MURPHY_RETURN_IF_ERROR(sim.RunFor(Milliseconds(300)));
    const Instant crashed = sim.now();
    sim.Crash(drill_[0]);
    waiter->Acquire();
    Duration allowance = kTtl + kCheckpointInterval + kCommitSlack;
    for (int failover = 0; failover < kFailovers; ++failover) {
      MURPHY_RETURN_IF_ERROR(sim.RunFor(kFailoverEvery));
      if (lease_ends_.count(lease) != 0) break;
      Result<bool> led = run_until([&] { return Leader().has_value(); }, sim.now() + Seconds(5));
      MURPHY_RETURN_IF_ERROR(led.status());
      if (!*led) return Fail("drill: no leader within 5s");
      const NodeId old_leader = *Leader();
      const Instant failed = sim.now();
      sim.Crash(old_leader);
      Result<bool> elected = run_until([&] { return Leader().has_value(); }, sim.now() + Seconds(5));
      MURPHY_RETURN_IF_ERROR(elected.status());
      if (!*elected) return Fail("drill: no new leader within 5s of crashing the leader");
      allowance += (sim.now() - failed) + kCheckpointInterval;
      sim.Restart(old_leader);
    }
    Result<bool> ended = run_until([&] { return lease_ends_.count(lease) != 0; }, crashed + Seconds(20));
    MURPHY_RETURN_IF_ERROR(ended.status());
    if (!*ended || lease_ends_.at(lease) > crashed + allowance) {
      return Fail("lease bound: the holder crashed at " + FormatInstant(crashed) +
                  "; its lease must end by " + FormatInstant(crashed + allowance) +
                  " (TTL + checkpoint interval + per leader change " +
                  "(election time + checkpoint interval) + slack) but " +
                  (*ended ? "ended at " + FormatInstant(lease_ends_.at(lease)) : std::string("did not end")));
    }
    const Instant lease_end = lease_ends_.at(lease);
    auto grants = grants_.find(kDrillLock);
    const bool waiter_granted =
        grants != grants_.end() &&
        std::any_of(grants->second.begin(), grants->second.end(),
                    [&](const Grant& g) { return g.client == drill_[1] && g.time == lease_end; });
    if (!waiter_granted)
      return Fail("liveness: the waiter was not granted by the entry that ended the lease");
    Result<bool> holds = run_until([&] { return waiter->handle() != nullptr; }, lease_end + kWaiterBound);
    MURPHY_RETURN_IF_ERROR(holds.status());
    if (!*holds) {
      return Fail("liveness: the waiter's client did not hold the lock within " +
                  FormatDuration(kWaiterBound) + " of the lease's end at " + FormatInstant(lease_end));
    }
    return Status::Ok();
  }

  void ScheduleSupervisorRestart(NodeId node) {
    sim_->At(sim_->now() + node::kSupervisorRestartDelay, [this, node] {
      if (!sim_->alive(node)) return;
      LockNode* lock_node = sim_->ProcessAs<LockNode>(node);
      if (lock_node == nullptr || !lock_node->shell().stopped()) return;
      sim_->Crash(node);
      sim_->Restart(node);
    });
  }

  Variant variant_;
  sim::Simulator* sim_ = nullptr;
  std::unique_ptr<node::NodeCheckers> checkers_;
  std::vector<NodeId> members_;
  std::vector<NodeId> workers_;
  std::vector<NodeId> drill_;
  Journal journal_;
  LogIndex recorded_;
  std::map<std::string, std::vector<Grant>> grants_;
  std::vector<AppliedWrite> writes_;
  std::map<LeaseId, Instant> lease_ends_;
  std::map<LeaseId, NodeId> lease_clients_;
};

}  // namespace

void RegisterLocksWorkloads(sim::WorkloadRegistry& registry) {
  registry.Register(
      {"locks",
       "3 or 5 lock-service nodes (Raft + lock machine + fenced store + leader lease timers), 4 "
       "LockClient workers on 2 locks with GC pauses and zombie writes, random nemesis; checks "
       "store monotonicity, fencing (true time), lock tokens, the lease bound over 3 leader "
       "changes, waiter liveness, Raft safety",
       [] { return std::make_unique<LocksWorkload>(Variant::kNormal); }});
  registry.Register({"locks-unsafe-store", "locks with a store that skips the token check: must be caught",
                     [] { return std::make_unique<LocksWorkload>(Variant::kUnsafeStore); }});
  registry.Register({"locks-unsafe-client",
                     "locks with workers that ignore safe-until and loss and keep writing: must be caught",
                     [] { return std::make_unique<LocksWorkload>(Variant::kUnsafeClient); }});
  registry.Register(
      {"locks-full-ttl-on-failover",
       "locks with a leader that arms every lease with its full TTL on election: must be caught",
       [] { return std::make_unique<LocksWorkload>(Variant::kFullTtlOnFailover); }});
}

}  // namespace murphy::locksvc
