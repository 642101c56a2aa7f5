// The lock service and the fenced store together: the chapter's GC-pause timeline, and
// seeded randomized runs where paused holders keep writing with the tokens they once
// had. A token-monotonicity checker must find nothing with the real store, and must
// catch a store that skips the token check (the mutation test STYLE.md asks for).
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "murphy/core/rng.h"
#include "murphy/lock/lease_timers.h"
#include "murphy/lock/lock_test_util.h"
#include "murphy/store/fenced_store.h"

namespace murphy::store {
namespace {

using lock::ApplyOutput;
using lock::EventKind;
using lock::LeaseTimers;
using lock::testing::Harness;

const NodeId kA(1);
const NodeId kB(2);

TEST(FencedLockTest, ChapterTimelineAsWrittenInTheChapter) {
  Harness h;
  h.AdvanceTokenTo("storage", FencingToken(32));
  FencedStore store;
  const Instant t0 = Instant::FromNanoseconds(0);
  LeaseTimers timers(h.machine, t0);

  // 0 s: A acquires a lease (TTL 10 s) and the lock: token 33. It writes.
  ApplyOutput grant = h.Apply(lock::GrantLease{h.Next(kA), Seconds(10)});
  timers.Observe(grant.events, t0);
  const FencingToken token_a = h.Acquire(kA, grant.result.lease, "storage").result.token;
  ASSERT_EQ(token_a, FencingToken(33));
  ASSERT_TRUE(store.CheckAndWrite({"file", "storage", token_a, "A: before pause", std::nullopt, ""}).status.ok());

  // 5 s: A pauses (GC). 10 s: the leader's clock ends the lease; it is committed.
  bool lost = false;
  for (const lock::Command& command : timers.Poll(t0 + Seconds(10))) {
    ApplyOutput output = h.Apply(command);
    lost = lost || lock::testing::FindEvent(output.events, EventKind::kLost) != nullptr;
    timers.Observe(output.events, t0 + Seconds(10));
  }
  ASSERT_TRUE(lost);

  // 11 s: B acquires: token 34. B writes, more than once.
  const LeaseId lease_b = h.GrantLease(kB);
  const FencingToken token_b = h.Acquire(kB, lease_b, "storage").result.token;
  ASSERT_EQ(token_b, FencingToken(34));
  EXPECT_TRUE(store.CheckAndWrite({"file", "storage", token_b, "B1", std::nullopt, ""}).status.ok());
  EXPECT_TRUE(store.CheckAndWrite({"file", "storage", token_b, "B2", std::nullopt, ""}).status.ok());

  // 12 s: A wakes, still believing it holds the lock, and writes with 33: rejected.
  WriteResult late = store.CheckAndWrite({"file", "storage", token_a, "A: after pause", std::nullopt, ""});
  EXPECT_EQ(late.status.code(), StatusCode::kAborted);
  EXPECT_EQ(late.max_token, FencingToken(34));
  EXPECT_EQ(store.Read("file")->value, "B2");
  EXPECT_TRUE(store.CheckAndWrite({"file", "storage", token_b, "B3", std::nullopt, ""}).status.ok());
}

struct AcceptedWrite {
  std::string resource;
  FencingToken token;
};

// The checker: per resource, accepted tokens never go down. Returns the first
// regression, described, or nullopt.
std::optional<std::string> FindTokenRegression(const std::vector<AcceptedWrite>& accepted) {
  std::map<std::string, FencingToken> highest;
  for (size_t i = 0; i < accepted.size(); ++i) {
    auto [at, inserted] = highest.emplace(accepted[i].resource, accepted[i].token);
    if (inserted) continue;
    if (accepted[i].token < at->second) {
      return "write " + std::to_string(i) + " to " + accepted[i].resource + " accepted token " +
             std::to_string(accepted[i].token.value()) + " after " + std::to_string(at->second.value());
    }
    at->second = accepted[i].token;
  }
  return std::nullopt;
}

struct RunResult {
  std::vector<AcceptedWrite> accepted;
  int rejected_stale = 0;
  int replays = 0;
};

// Three clients contend for two locks; each client remembers the last token it was
// granted for each lock and keeps writing with it, also after losing the lock (a paused
// process that does not know). The leader expires leases at random. A second store,
// restored from a snapshot midway, applies the same encoded writes (determinism).
RunResult RunContention(uint64_t seed, bool skip_token_check) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  Rng rng(seed);
  Harness h;
  FencedStoreOptions options;
  options.skip_token_check_for_test = skip_token_check;
  FencedStore store(options);
  std::optional<FencedStore> replica;
  const std::vector<std::string> locks = {"x", "y"};
  std::map<NodeId, LeaseId> lease_of;
  std::map<std::pair<NodeId, std::string>, FencingToken> token_of;
  std::vector<std::pair<FencedWrite, WriteResult>> keyed;
  RunResult run;
  const auto observe = [&](const ApplyOutput& output) {
    for (const lock::Event& event : output.events) {
      if (event.kind == EventKind::kGranted) token_of[{event.client, event.lock}] = event.token;
      if (event.kind == EventKind::kLeaseEnded) lease_of.erase(event.client);
    }
  };
  const int steps = 300;
  const int restore_at = static_cast<int>(rng.Uniform(steps));
  for (int step = 0; step < steps; ++step) {
    if (step == restore_at) {
      replica.emplace(options);
      EXPECT_TRUE(replica->Restore(store.Serialize()).ok());
    }
    const NodeId client(static_cast<uint32_t>(1 + rng.Uniform(3)));
    const std::string& name = locks[rng.Uniform(locks.size())];
    if (!lease_of.contains(client)) lease_of[client] = h.GrantLease(client);
    const LeaseId lease = lease_of[client];
    const uint64_t action = rng.Uniform(100);
    if (action < 20) {
      observe(h.Acquire(client, lease, name));
    } else if (action < 30) {
      observe(h.Release(client, lease, name));
    } else if (action < 40) {
      observe(h.Expire(lease));
    } else if (action < 45 && !keyed.empty()) {
      // A retried write: the same answer, nothing applied twice.
      const auto& [write, first] = keyed[rng.Uniform(keyed.size())];
      EXPECT_EQ(store.CheckAndWrite(write), first);
      if (replica) {
        EXPECT_EQ(replica->ApplyEncoded(EncodeWrite(write)), first);
      }
      ++run.replays;
    } else {
      auto token = token_of.find({client, name});
      if (token == token_of.end()) continue;
      FencedWrite write{"resource-" + name, name, token->second, "step " + std::to_string(step), std::nullopt,
                        rng.Bernoulli(0.3) ? "key-" + std::to_string(step) : ""};
      WriteResult result = store.CheckAndWrite(write);
      if (replica) {
        EXPECT_EQ(replica->ApplyEncoded(EncodeWrite(write)), result);
      }
      if (result.status.ok()) run.accepted.push_back({write.resource, write.token});
      if (result.status.code() == StatusCode::kAborted) ++run.rejected_stale;
      if (!write.idempotency_key.empty()) keyed.emplace_back(write, result);
    }
  }
  EXPECT_TRUE(replica.has_value());
  if (replica) {
    EXPECT_EQ(replica->Serialize(), store.Serialize());
  }
  return run;
}

TEST(FencedLockTest, RandomizedRunsNeverAcceptATokenRegression) {
  int accepted = 0;
  int rejected = 0;
  int replays = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    RunResult run = RunContention(seed, /*skip_token_check=*/false);
    std::optional<std::string> regression = FindTokenRegression(run.accepted);
    ASSERT_FALSE(regression.has_value()) << "seed " << seed << ": " << *regression;
    accepted += static_cast<int>(run.accepted.size());
    rejected += run.rejected_stale;
    replays += run.replays;
  }
  // Paused holders did try, and were stopped.
  EXPECT_GT(accepted, 5000);
  EXPECT_GT(rejected, 1000);
  EXPECT_GT(replays, 1000);
}

// The checker is able to fail: the same runs against a store that skips the token
// check are caught.
TEST(FencedLockTest, TheCheckerCatchesAStoreThatSkipsTheTokenCheck) {
  int caught = 0;
  const int seeds = 100;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    if (FindTokenRegression(RunContention(seed, /*skip_token_check=*/true).accepted).has_value()) ++caught;
  }
  EXPECT_GT(caught, seeds / 2);
}

}  // namespace
}  // namespace murphy::store
