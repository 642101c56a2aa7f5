#include "murphy/clocks/multi_value_register.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

using Register = MultiValueRegister<std::string>;

std::vector<std::string> Sorted(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  return values;
}

TEST(MultiValueRegisterTest, WriteThatReadTheValueReplacesIt) {
  Register replica;
  EXPECT_TRUE(replica.Values().empty());
  ASSERT_TRUE(replica.Write(NodeId(1), "a", VectorClock()).ok());
  const VectorClock context = replica.Context();
  ASSERT_TRUE(replica.Write(NodeId(1), "b", context).ok());
  EXPECT_EQ(replica.Values(), std::vector<std::string>{"b"});
}

// The DVV case: two clients read nothing and write through the same server. Both
// writes survive, although one server coordinated both.
TEST(MultiValueRegisterTest, ConcurrentWritesThroughOneServerBecomeSiblings) {
  Register replica;
  const Result<Dot> first = replica.Write(NodeId(1), "from client x", VectorClock());
  const Result<Dot> second = replica.Write(NodeId(1), "from client y", VectorClock());
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, (Dot{NodeId(1), 1}));
  EXPECT_EQ(*second, (Dot{NodeId(1), 2}));
  EXPECT_EQ(Sorted(replica.Values()), (std::vector<std::string>{"from client x", "from client y"}));
  // A client that read both resolves the conflict.
  ASSERT_TRUE(replica.Write(NodeId(1), "merged", replica.Context()).ok());
  EXPECT_EQ(replica.Values(), std::vector<std::string>{"merged"});
  EXPECT_EQ(replica.Context().Get(NodeId(1)), 3u);
}

TEST(MultiValueRegisterTest, PartialContextKeepsWhatTheClientDidNotSee) {
  Register replica;
  ASSERT_TRUE(replica.Write(NodeId(1), "a", VectorClock()).ok());
  const VectorClock saw_a = replica.Context();
  ASSERT_TRUE(replica.Write(NodeId(1), "b", VectorClock()).ok());  // concurrent with a
  ASSERT_TRUE(replica.Write(NodeId(1), "c", saw_a).ok());          // replaces a only
  EXPECT_EQ(Sorted(replica.Values()), (std::vector<std::string>{"b", "c"}));
}

TEST(MultiValueRegisterTest, SiblingsAreBounded) {
  Register replica(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(replica.Write(NodeId(1), std::to_string(i), VectorClock()).ok());
  const Result<Dot> refused = replica.Write(NodeId(1), "one too many", VectorClock());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(replica.Values().size(), 3u);
  EXPECT_TRUE(replica.Write(NodeId(1), "resolved", replica.Context()).ok());
  EXPECT_EQ(replica.Values().size(), 1u);
  // A merge that would exceed the bound changes nothing either.
  Register other(3);
  ASSERT_TRUE(other.Write(NodeId(2), "x", VectorClock()).ok());
  ASSERT_TRUE(other.Write(NodeId(2), "y", VectorClock()).ok());
  ASSERT_TRUE(other.Write(NodeId(2), "z", VectorClock()).ok());
  EXPECT_EQ(replica.Merge(other).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(replica.Values(), std::vector<std::string>{"resolved"});
}

TEST(MultiValueRegisterTest, MergeDropsWhatTheOtherSideHadSeen) {
  Register a;
  ASSERT_TRUE(a.Write(NodeId(1), "v1", VectorClock()).ok());
  Register b;
  ASSERT_TRUE(b.Merge(a).ok());
  ASSERT_TRUE(b.Write(NodeId(2), "v2", b.Context()).ok());  // b saw v1
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.Values(), std::vector<std::string>{"v2"});
  ASSERT_TRUE(b.Merge(a).ok());
  EXPECT_EQ(b.Values(), std::vector<std::string>{"v2"});
}

struct WriteRecord {
  Dot dot;
  VectorClock context;
  std::string value;
};

// Random writes by random clients through three replicas, with random partial
// anti-entropy and stale reads. Oracle: once every replica has merged everything, the
// register holds exactly the writes that no other write's context had seen — no write
// is lost unless a client saw it and replaced it. Merging in any order converges.
TEST(MultiValueRegisterTest, PropertyNoWriteIsLostAndReplicasConverge) {
  int siblings_seen = 0;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    SCOPED_TRACE(seed);
    Rng rng(seed);
    std::vector<Register> replicas(3, Register(64));
    std::vector<WriteRecord> writes;
    std::vector<VectorClock> client_contexts(4);  // what each client last read
    for (int step = 0; step < 40; ++step) {
      const size_t replica = rng.Uniform(replicas.size());
      const size_t client = rng.Uniform(client_contexts.size());
      const uint64_t action = rng.Uniform(4);
      if (action == 0) {
        client_contexts[client] = replicas[replica].Context();
      } else if (action == 1) {
        const size_t other = rng.Uniform(replicas.size());
        ASSERT_TRUE(replicas[replica].Merge(replicas[other]).ok());
      } else {
        const std::string value = "w" + std::to_string(writes.size());
        const Result<Dot> dot =
            replicas[replica].Write(NodeId(static_cast<uint32_t>(replica)), value, client_contexts[client]);
        ASSERT_TRUE(dot.ok()) << dot.status().ToString();
        writes.push_back({*dot, client_contexts[client], value});
      }
    }
    std::vector<std::string> expected;
    for (const WriteRecord& write : writes) {
      const bool seen = std::any_of(writes.begin(), writes.end(), [&](const WriteRecord& other) {
        return other.context.Covers(write.dot.node, write.dot.counter);
      });
      if (!seen) expected.push_back(write.value);
    }
    // Full anti-entropy in two different orders.
    Register forward(64);
    for (const Register& replica : replicas) ASSERT_TRUE(forward.Merge(replica).ok());
    Register backward(64);
    for (auto it = replicas.rbegin(); it != replicas.rend(); ++it) ASSERT_TRUE(backward.Merge(*it).ok());
    EXPECT_EQ(Sorted(forward.Values()), Sorted(expected));
    EXPECT_EQ(forward.Values(), backward.Values());
    EXPECT_EQ(forward.Context(), backward.Context());
    // Idempotent.
    Register again = forward;
    ASSERT_TRUE(again.Merge(forward).ok());
    EXPECT_EQ(again.Values(), forward.Values());
    // Siblings are pairwise concurrent.
    const auto& siblings = forward.siblings();
    for (size_t i = 0; i < siblings.size(); ++i) {
      for (size_t j = i + 1; j < siblings.size(); ++j) {
        EXPECT_EQ(siblings[i].clock.Compare(siblings[j].clock), CausalOrder::kConcurrent);
      }
    }
    if (siblings.size() > 1) ++siblings_seen;
  }
  EXPECT_GT(siblings_seen, 50) << "the generator must produce conflicts";
}

}  // namespace
}  // namespace murphy
