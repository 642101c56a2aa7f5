// Seeded randomized runs: random command sequences (with retries, reordered sequence
// numbers, stale leader commands and garbage entries) applied to two replicas, one
// restored from the other's snapshot midway. Both must agree on every result, event and
// snapshot byte; fencing tokens must strictly increase per lock; invariants must hold.
// Also: snapshot decoding never crashes on random or mutated bytes.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "murphy/core/crc32c.h"
#include "murphy/core/rng.h"
#include "murphy/lock/lock_machine.h"

namespace murphy::lock {
namespace {

LockMachineOptions SmallOptions() {
  LockMachineOptions options;
  options.max_waiters_per_lock = 3;
  options.max_leases_per_client = 3;
  options.max_locks_per_lease = 3;
  options.max_locks = 4;
  options.max_idle_locks = 2;
  options.max_leases = 8;
  options.max_sessions = 9;
  options.results_per_client = 4;
  return options;
}

const std::vector<std::string> kLockNames = {"a", "b", "c", "d", "e"};

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  // The next command, given what `state` looks like (the generator peeks, as a client
  // and a leader would, to produce plausible as well as stale commands).
  Command Next(const LockMachine& state) {
    const uint64_t choice = rng_.Uniform(100);
    const NodeId client(static_cast<uint32_t>(1 + rng_.Uniform(4)));
    if (choice < 8 && !sent_.empty()) return sent_[rng_.Uniform(sent_.size())];  // a retry
    if (choice < 18) return Remember(GrantLease{Request(client), Seconds(1 + rng_.Uniform(20))});
    if (choice < 30) return Remember(KeepAlive{Request(client), SomeLease(state, client)});
    if (choice < 35) return Remember(RevokeLease{Request(client), SomeLease(state, client)});
    if (choice < 55) {
      const auto mode = static_cast<AcquireMode>(rng_.Uniform(3));
      const Duration timeout = mode == AcquireMode::kWaitWithTimeout ? Seconds(1 + rng_.Uniform(5)) : Duration::Zero();
      return Remember(Acquire{Request(client), SomeLock(), SomeLease(state, client), mode, timeout});
    }
    if (choice < 64) return Remember(Release{Request(client), SomeLock(), SomeLease(state, client)});
    if (choice < 70) return Remember(CancelWait{Request(client), SomeLock(), SomeLease(state, client)});
    if (choice < 82) {
      const LeaseId lease = SomeLease(state, client);
      std::optional<LeaseInfo> info = state.GetLease(lease);
      const uint64_t renewals = info && rng_.Bernoulli(0.8) ? info->renewals : rng_.Uniform(3);
      return ExpireLease{lease, renewals};
    }
    if (choice < 88) {
      std::vector<WaitInfo> waits = state.TimedWaits();
      if (!waits.empty() && rng_.Bernoulli(0.8)) {
        const WaitInfo& wait = waits[rng_.Uniform(waits.size())];
        return ExpireWait{wait.lock, wait.waiter.lease, wait.waiter.ticket};
      }
      return ExpireWait{SomeLock(), SomeLease(state, client), rng_.Uniform(20)};
    }
    CheckpointLeases checkpoint;
    for (const LeaseInfo& lease : state.Leases()) {
      if (rng_.Bernoulli(0.5)) {
        checkpoint.checkpoints.push_back(LeaseCheckpoint{lease.id, lease.renewals - rng_.Uniform(2) * (lease.renewals > 0),
                                                         Milliseconds(rng_.UniformInRange(-100, 25'000))});
      }
    }
    return checkpoint;
  }

  bool Garbage() { return rng_.Bernoulli(0.02); }
  Bytes GarbageBytes() {
    Bytes bytes(rng_.Uniform(12));
    for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng_.Uniform(256));
    if (!bytes.empty()) bytes[0] = kCommandEncodingVersion;
    return bytes;
  }
  uint64_t Uniform(uint64_t bound) { return rng_.Uniform(bound); }

 private:
  // Mostly the next number; sometimes one ahead (the skipped one may come later).
  RequestId Request(NodeId client) {
    uint64_t& sequence = sequences_[client];
    if (rng_.Bernoulli(0.1)) {
      sequence += 2;
      return {client, sequence};
    }
    return {client, ++sequence};
  }
  LeaseId SomeLease(const LockMachine& state, NodeId client) {
    std::vector<LeaseInfo> leases = state.Leases();
    if (leases.empty() || rng_.Bernoulli(0.1)) return LeaseId(1 + rng_.Uniform(30));
    std::vector<LeaseId> own;
    for (const LeaseInfo& lease : leases) {
      if (lease.client == client) own.push_back(lease.id);
    }
    if (!own.empty() && rng_.Bernoulli(0.9)) return own[rng_.Uniform(own.size())];
    return leases[rng_.Uniform(leases.size())].id;
  }
  std::string SomeLock() { return kLockNames[rng_.Uniform(kLockNames.size())]; }
  template <typename T>
  Command Remember(T command) {
    sent_.push_back(command);
    return command;
  }

  Rng rng_;
  std::map<NodeId, uint64_t> sequences_;
  std::vector<Command> sent_;
};

struct RunStats {
  int grants = 0;
  int retries_replayed = 0;
  int restores = 0;
};

void RunSeed(uint64_t seed, int steps, RunStats* stats) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Generator generator(seed);
  LockMachine primary(SmallOptions());
  std::optional<LockMachine> replica;
  const int restore_at = static_cast<int>(generator.Uniform(static_cast<uint64_t>(steps)));
  std::map<std::string, FencingToken> highest;  // per lock, over both replicas' lifetimes
  std::map<std::pair<NodeId, uint64_t>, CommandResult> first_results;
  for (int step = 0; step < steps; ++step) {
    if (step == restore_at) {
      replica.emplace(SmallOptions());
      const Bytes snapshot = primary.Serialize();
      ASSERT_TRUE(replica->Restore(snapshot).ok());
      ASSERT_EQ(replica->Serialize(), snapshot);
      ++stats->restores;
    }
    Bytes entry = generator.Garbage() ? generator.GarbageBytes() : EncodeCommand(generator.Next(primary));
    ApplyOutput output = primary.ApplyEncoded(entry);
    if (replica) {
      ApplyOutput other = replica->ApplyEncoded(entry);
      ASSERT_EQ(other.result, output.result) << "step " << step;
      ASSERT_EQ(other.events, output.events) << "step " << step;
    }
    const Status invariants = primary.CheckInvariants();
    ASSERT_TRUE(invariants.ok()) << invariants.ToString() << " at step " << step;
    for (const Event& event : output.events) {
      if (event.kind != EventKind::kGranted) continue;
      auto [at, inserted] = highest.emplace(event.lock, event.token);
      if (!inserted) {
        ASSERT_GT(event.token, at->second) << "token reused for " << event.lock << " at step " << step;
        at->second = event.token;
      }
      ++stats->grants;
    }
    // A retried request is answered like the first time, or refused unapplied.
    Result<Command> command = DecodeCommand(entry);
    if (!command.ok()) continue;
    std::optional<RequestId> request;
    std::visit(
        [&](const auto& c) {
          if constexpr (requires { c.request; }) request = c.request;
        },
        *command);
    if (!request || request->sequence == 0) continue;
    auto [stored, first_time] = first_results.emplace(std::make_pair(request->client, request->sequence), output.result);
    if (!first_time && output.result.status.code() != StatusCode::kFailedPrecondition) {
      ASSERT_EQ(output.result, stored->second) << "step " << step;
      ASSERT_TRUE(output.events.empty());
      ++stats->retries_replayed;
    }
  }
  ASSERT_TRUE(replica.has_value());
  EXPECT_EQ(replica->Serialize(), primary.Serialize());
}

TEST(LockRandomTest, ReplicasAgreeTokensIncreaseAndRetriesApplyOnce) {
  RunStats stats;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    RunSeed(seed, 400, &stats);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // The runs exercised what they claim to.
  EXPECT_GT(stats.grants, 3000);
  EXPECT_GT(stats.retries_replayed, 1000);
  EXPECT_EQ(stats.restores, 300);
}

// Restore never crashes, whatever the bytes; what it accepts is a valid state. Mutations
// are resealed with a fresh checksum so that they reach the structural validation.
TEST(LockRandomTest, RestoreSurvivesRandomAndMutatedSnapshots) {
  std::vector<Bytes> snapshots;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Generator generator(seed);
    LockMachine machine(SmallOptions());
    for (int step = 0; step < 200; ++step) machine.Apply(generator.Next(machine));
    snapshots.push_back(machine.Serialize());
  }
  int accepted = 0;
  int refused = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    Rng rng(seed);
    Bytes bytes = snapshots[rng.Uniform(snapshots.size())];
    Bytes body(bytes.begin(), bytes.end() - 4);
    if (rng.Bernoulli(0.1)) {
      body.resize(rng.Uniform(body.size() + 1));
    } else {
      const uint64_t flips = 1 + rng.Uniform(4);
      for (uint64_t i = 0; i < flips; ++i) body[rng.Uniform(body.size())] ^= 1 << rng.Uniform(8);
    }
    ByteWriter resealed(body);
    resealed.PutU32(Crc32c(body));
    LockMachine machine(SmallOptions());
    const Status status = machine.Restore(resealed.bytes());
    if (status.ok()) {
      ++accepted;
      ASSERT_TRUE(machine.CheckInvariants().ok()) << "seed " << seed;
      // A fixpoint after one round (a mutation may have made a varint non-canonical).
      const Bytes once = machine.Serialize();
      LockMachine again(SmallOptions());
      ASSERT_TRUE(again.Restore(once).ok()) << "seed " << seed;
      ASSERT_EQ(again.Serialize(), once) << "seed " << seed;
    } else {
      ++refused;
      EXPECT_EQ(machine.lease_count(), 0u);
    }
    // Unsealed garbage is refused by the checksum.
    Bytes garbage(rng.Uniform(64));
    for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(rng.Uniform(256));
    EXPECT_FALSE(machine.Restore(garbage).ok()) << "seed " << seed;
  }
  EXPECT_GT(accepted, 0);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace murphy::lock
