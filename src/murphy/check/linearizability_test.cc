#include "murphy/check/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "murphy/check/history.h"
#include "murphy/check/history_generator.h"
#include "murphy/check/model.h"
#include "murphy/core/rng.h"

namespace murphy {
namespace {

Instant At(int64_t t) { return Instant::FromNanoseconds(t); }
NodeId P(uint32_t process) { return NodeId(process); }

LinearizabilityResult Check(const History& history, const Model& model, LinearizabilityOptions options = {}) {
  Result<LinearizabilityResult> result = CheckLinearizability(history, model, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? std::move(result).value() : LinearizabilityResult{};
}

Verdict VerdictOf(const History& history, const Model& model, LinearizabilityOptions options = {}) {
  return Check(history, model, options).verdict;
}

// ----- register: the classic hand-written histories -----

TEST(RegisterTest, SequentialWriteThenReadIsLinearizable) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(1));
  const LinearizabilityResult result = Check(history, *MakeRegisterModel());
  EXPECT_EQ(result.verdict, Verdict::kLinearizable);
  EXPECT_TRUE(result.counterexamples.empty());
  EXPECT_EQ(result.operations_checked, 2u);
}

TEST(RegisterTest, StaleReadAfterCompletedWriteIsNotLinearizable) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kOk, Output::Success());
  const OperationId stale = history.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(0));
  const LinearizabilityResult result = Check(history, *MakeRegisterModel());
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  ASSERT_EQ(result.counterexamples.size(), 1u);
  const Counterexample& example = result.counterexamples[0];
  EXPECT_EQ(example.culprit, stale);
  EXPECT_EQ(example.prefix_operations, 2u);
  EXPECT_TRUE(example.concurrent.empty());
  ASSERT_EQ(example.linearization_tail.size(), 1u);
  EXPECT_EQ(example.linearization_tail[0], OperationId(0));
  EXPECT_EQ(example.state, "register=1");
  // The text names the operation with its process, times and values.
  EXPECT_NE(example.description.find("#1 process 2 [+0.000000020s, +0.000000030s] read() -> 0"),
            std::string::npos)
      << example.description;
  EXPECT_NE(result.ToString().find("not linearizable"), std::string::npos);
}

TEST(RegisterTest, ReadConcurrentWithWriteMaySeeEitherValue) {
  for (const int64_t seen : {0, 1}) {
    History history;
    history.Add(P(1), At(0), At(100), Input::Write(1), Outcome::kOk, Output::Success());
    history.Add(P(2), At(50), At(60), Input::Read(), Outcome::kOk, Output::Value(seen));
    EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kLinearizable) << seen;
  }
  History history;  // ...but not a value nobody wrote.
  history.Add(P(1), At(0), At(100), Input::Write(1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(50), At(60), Input::Read(), Outcome::kOk, Output::Value(2));
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kNotLinearizable);
}

TEST(RegisterTest, NewThenOldInversionIsNotLinearizable) {
  // Two sequential reads concurrent with one write: once a read saw the new value, a
  // later read may not see the old one.
  History history;
  history.Add(P(1), At(0), At(100), Input::Write(1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(10), At(20), Input::Read(), Outcome::kOk, Output::Value(1));
  const OperationId old = history.Add(P(3), At(30), At(40), Input::Read(), Outcome::kOk, Output::Value(0));
  const LinearizabilityResult result = Check(history, *MakeRegisterModel());
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.counterexamples[0].culprit, old);
  EXPECT_EQ(result.counterexamples[0].concurrent, std::vector<OperationId>{OperationId(0)});

  History swapped;  // Old then new is fine.
  swapped.Add(P(1), At(0), At(100), Input::Write(1), Outcome::kOk, Output::Success());
  swapped.Add(P(2), At(10), At(20), Input::Read(), Outcome::kOk, Output::Value(0));
  swapped.Add(P(3), At(30), At(40), Input::Read(), Outcome::kOk, Output::Value(1));
  EXPECT_EQ(VerdictOf(swapped, *MakeRegisterModel()), Verdict::kLinearizable);
}

TEST(RegisterTest, InfoWriteMayOrMayNotTakeEffect) {
  for (const int64_t seen : {0, 1}) {
    History history;
    history.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kInfo);
    history.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(seen));
    history.Add(P(2), At(40), At(50), Input::Read(), Outcome::kOk, Output::Value(seen));
    EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kLinearizable) << seen;
  }
  // It may take effect long after the client gave up (completion "at infinity")...
  History late;
  late.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kInfo);
  late.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(0));
  late.Add(P(2), At(40), At(50), Input::Read(), Outcome::kOk, Output::Value(1));
  EXPECT_EQ(VerdictOf(late, *MakeRegisterModel()), Verdict::kLinearizable);
  // ...but only once, and never before it was invoked.
  History twice;
  twice.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kInfo);
  twice.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(1));
  twice.Add(P(2), At(40), At(50), Input::Read(), Outcome::kOk, Output::Value(0));
  EXPECT_EQ(VerdictOf(twice, *MakeRegisterModel()), Verdict::kNotLinearizable);
  History early;
  early.Add(P(2), At(0), At(5), Input::Read(), Outcome::kOk, Output::Value(1));
  early.Add(P(1), At(10), At(20), Input::Write(1), Outcome::kInfo);
  EXPECT_EQ(VerdictOf(early, *MakeRegisterModel()), Verdict::kNotLinearizable);
}

TEST(RegisterTest, PendingOperationIsTreatedAsInfo) {
  History history;
  history.Invoke(P(1), At(0), Input::Write(7));  // Never completes.
  const OperationId read = history.Invoke(P(2), At(10), Input::Read());
  history.Ok(read, At(20), Output::Value(7));
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kLinearizable);
}

TEST(RegisterTest, FailedWriteNeverTakesEffect) {
  History history;
  const OperationId write = history.Invoke(P(1), At(0), Input::Write(1));
  history.Fail(write, At(10));
  history.Add(P(2), At(5), At(30), Input::Read(), Outcome::kOk, Output::Value(1));
  const LinearizabilityResult result = Check(history, *MakeRegisterModel());
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.operations_checked, 1u);  // The failed write is dropped.
}

TEST(RegisterTest, TouchingIntervalsCountAsConcurrent) {
  // The read is invoked at the very instant the write completes: either order is
  // possible, so a read of the old value is allowed...
  History history;
  history.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(10), At(20), Input::Read(), Outcome::kOk, Output::Value(0));
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kLinearizable);
  // ...one nanosecond later it is not.
  History later;
  later.Add(P(1), At(0), At(10), Input::Write(1), Outcome::kOk, Output::Success());
  later.Add(P(2), At(11), At(20), Input::Read(), Outcome::kOk, Output::Value(0));
  EXPECT_EQ(VerdictOf(later, *MakeRegisterModel()), Verdict::kNotLinearizable);
}

TEST(RegisterTest, CompareAndSet) {
  History history;
  history.Add(P(1), At(0), At(10), Input::CompareAndSet(0, 5), Outcome::kOk, Output::Success());
  history.Add(P(2), At(20), At(30), Input::CompareAndSet(0, 6), Outcome::kOk, Output::Failure());
  history.Add(P(3), At(40), At(50), Input::Read(), Outcome::kOk, Output::Value(5));
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel()), Verdict::kLinearizable);

  History both;  // Two sequential CAS from the same expected value cannot both succeed.
  both.Add(P(1), At(0), At(10), Input::CompareAndSet(0, 5), Outcome::kOk, Output::Success());
  both.Add(P(2), At(20), At(30), Input::CompareAndSet(0, 6), Outcome::kOk, Output::Success());
  EXPECT_EQ(VerdictOf(both, *MakeRegisterModel()), Verdict::kNotLinearizable);

  History info;  // An info CAS that would succeed takes effect as a swap, or not at all.
  info.Add(P(1), At(0), At(10), Input::CompareAndSet(0, 5), Outcome::kInfo);
  info.Add(P(2), At(20), At(30), Input::Read(), Outcome::kOk, Output::Value(5));
  EXPECT_EQ(VerdictOf(info, *MakeRegisterModel()), Verdict::kLinearizable);
}

TEST(RegisterTest, InitialValueIsConfigurable) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Read(), Outcome::kOk, Output::Value(42));
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel(42)), Verdict::kLinearizable);
  EXPECT_EQ(VerdictOf(history, *MakeRegisterModel(0)), Verdict::kNotLinearizable);
}

TEST(CheckLinearizabilityTest, RejectsOperationsTheModelCannotJudge) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(1));
  Result<LinearizabilityResult> result = CheckLinearizability(history, *MakeRegisterModel());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(result.status().message().find("#0"), std::string_view::npos);
}

TEST(CheckLinearizabilityTest, EmptyHistoryIsLinearizable) {
  EXPECT_EQ(VerdictOf(History(), *MakeKeyValueModel()), Verdict::kLinearizable);
}

// ----- key-value map -----

TEST(KeyValueTest, KeysArePartitionsAndTheCounterexampleNamesOne) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Write("x", 1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(0), At(10), Input::Write("y", 2), Outcome::kOk, Output::Success());
  history.Add(P(1), At(20), At(30), Input::Read("x"), Outcome::kOk, Output::Value(1));
  history.Add(P(2), At(20), At(30), Input::Read("y"), Outcome::kOk, Output::Absent());  // Stale.
  history.Add(P(3), At(40), At(50), Input::Delete("x"), Outcome::kOk, Output::Success());
  history.Add(P(3), At(60), At(70), Input::Read("x"), Outcome::kOk, Output::Absent());
  const LinearizabilityResult result = Check(history, *MakeKeyValueModel());
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.partitions, 2u);
  ASSERT_EQ(result.counterexamples.size(), 1u);
  EXPECT_EQ(result.counterexamples[0].partition, "y");
  EXPECT_EQ(result.counterexamples[0].culprit, OperationId(3));
  EXPECT_EQ(result.counterexamples[0].state, "y=2 (other keys absent)");
  EXPECT_NE(result.counterexamples[0].description.find("read(y) -> absent"), std::string::npos);
}

TEST(KeyValueTest, ReportsEveryFailingPartitionWhenAsked) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Write("x", 1), Outcome::kOk, Output::Success());
  history.Add(P(1), At(20), At(30), Input::Read("x"), Outcome::kOk, Output::Value(9));
  history.Add(P(2), At(0), At(10), Input::Write("y", 1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(20), At(30), Input::Read("y"), Outcome::kOk, Output::Value(9));
  LinearizabilityOptions options;
  options.stop_at_first_failure = false;
  EXPECT_EQ(Check(history, *MakeKeyValueModel(), options).counterexamples.size(), 2u);
  EXPECT_EQ(Check(history, *MakeKeyValueModel()).counterexamples.size(), 1u);
}

TEST(KeyValueTest, CompareAndSetOnAbsentKeyFails) {
  History history;
  history.Add(P(1), At(0), At(10), Input::CompareAndSet("x", 0, 1), Outcome::kOk, Output::Success());
  EXPECT_EQ(VerdictOf(history, *MakeKeyValueModel()), Verdict::kNotLinearizable);
  History failed;
  failed.Add(P(1), At(0), At(10), Input::CompareAndSet("x", 0, 1), Outcome::kOk, Output::Failure());
  EXPECT_EQ(VerdictOf(failed, *MakeKeyValueModel()), Verdict::kLinearizable);
}

// ----- lock with fencing tokens -----

TEST(LockTest, GrantsReleasesAndIncreasingTokensAreLinearizable) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(33));
  history.Add(P(2), At(5), At(15), Input::Acquire("a", 2), Outcome::kOk, Output::Failure());
  history.Add(P(1), At(20), At(30), Input::Release("a", 1, 33), Outcome::kOk, Output::Success());
  history.Add(P(2), At(40), At(50), Input::Acquire("a", 2), Outcome::kOk, Output::Token(34));
  history.Add(P(3), At(40), At(50), Input::Acquire("b", 3), Outcome::kOk, Output::Token(1));
  EXPECT_EQ(VerdictOf(history, *MakeLockModel()), Verdict::kLinearizable);
}

TEST(LockTest, TwoHoldersAreCaught) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(33));
  const OperationId second =
      history.Add(P(2), At(20), At(30), Input::Acquire("a", 2), Outcome::kOk, Output::Token(34));
  const LinearizabilityResult result = Check(history, *MakeLockModel());
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.counterexamples[0].culprit, second);
  EXPECT_EQ(result.counterexamples[0].state, "a: held by owner 1 with token 33");
}

TEST(LockTest, TokensMustStrictlyIncrease) {
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(34));
  history.Add(P(1), At(20), At(30), Input::Release("a", 1, 34), Outcome::kOk, Output::Success());
  history.Add(P(2), At(40), At(50), Input::Acquire("a", 2), Outcome::kOk, Output::Token(34));
  EXPECT_EQ(VerdictOf(history, *MakeLockModel()), Verdict::kNotLinearizable);
}

TEST(LockTest, RefusalWhileFreeAndForeignReleaseAreCaught) {
  History refused;
  refused.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Failure());
  EXPECT_EQ(VerdictOf(refused, *MakeLockModel()), Verdict::kNotLinearizable);
  History foreign;
  foreign.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(1));
  foreign.Add(P(2), At(20), At(30), Input::Release("a", 2, 1), Outcome::kOk, Output::Success());
  EXPECT_EQ(VerdictOf(foreign, *MakeLockModel()), Verdict::kNotLinearizable);
}

TEST(LockTest, InfoAcquireMayHaveGrantedTheLock) {
  // A timed-out acquire explains why a later acquire was refused and a later token
  // skipped a number; an expiry recorded as a release on the holder's behalf frees it.
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kInfo);
  history.Add(P(2), At(20), At(30), Input::Acquire("a", 2), Outcome::kOk, Output::Failure());
  history.Add(P(9), At(40), At(50), Input::Release("a", 1, 1), Outcome::kOk, Output::Success());
  history.Add(P(2), At(60), At(70), Input::Acquire("a", 2), Outcome::kOk, Output::Token(2));
  EXPECT_EQ(VerdictOf(history, *MakeLockModel()), Verdict::kLinearizable);
}

// ----- the lock service model: locks with exact reads, and the fenced store -----

// A good run of the lock service: a grant, a read of holder and token, an expiry
// recorded as a release at the instant it was applied, a refused try concurrent with
// nothing but the holding, fenced writes accepted and rejected.
History GoodLockServiceHistory() {
  History history;
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(33));
  history.Add(P(2), At(12), At(14), Input::Read("a"), Outcome::kOk, Output::LockState(1, 33));
  history.Add(P(1), At(15), At(20), Input::FencedWrite("r", 33), Outcome::kOk, Output::FencedAccepted(33, 1));
  history.Add(P(2), At(21), At(25), Input::Acquire("a", 2), Outcome::kOk, Output::Failure());
  history.Add(P(1), At(26), At(28), Input::FencedWrite("r", 33), Outcome::kOk, Output::FencedAccepted(33, 2));
  history.Add(P(1), At(30), At(30), Input::Release("a", 1, 33), Outcome::kOk, Output::Success());  // expiry
  history.Add(P(3), At(31), At(33), Input::Read("a"), Outcome::kOk, Output::LockState(std::nullopt, 33));
  history.Add(P(2), At(32), At(40), Input::Acquire("a", 2), Outcome::kOk, Output::Token(34));
  history.Add(P(2), At(41), At(45), Input::FencedWrite("r", 34), Outcome::kOk, Output::FencedAccepted(34, 3));
  history.Add(P(1), At(46), At(50), Input::FencedWrite("r", 33), Outcome::kOk, Output::FencedRejected(34, 3));
  history.Add(P(3), At(51), At(52), Input::FencedRead("r"), Outcome::kOk, Output::FencedState(34, 3));
  history.Add(P(3), At(51), At(52), Input::FencedRead("s"), Outcome::kOk, Output::FencedState(std::nullopt, 0));
  return history;
}

TEST(LockServiceModelTest, AGoodRunIsLinearizable) {
  const LinearizabilityResult result = Check(GoodLockServiceHistory(), *MakeLockServiceModel());
  EXPECT_EQ(result.verdict, Verdict::kLinearizable) << result.ToString();
  EXPECT_EQ(result.partitions, 3u);  // lock a, resources r and s
}

TEST(LockServiceModelTest, EachCorruptionOfTheGoodRunIsCaught) {
  // One hand-made bad history per rule: change one recorded answer and the run must
  // be rejected.
  struct Corruption {
    const char* what;
    size_t operation;
    Output output;
  };
  const Corruption corruptions[] = {
      {"the read names another holder", 1, Output::LockState(2, 33)},
      {"the read sees an old token", 1, Output::LockState(1, 32)},
      {"the read sees the held lock free", 1, Output::LockState(std::nullopt, 33)},
      {"a try is granted while the lock is held", 3, Output::Token(34)},
      {"the read after the expiry still sees the holder", 6, Output::LockState(1, 33)},
      {"the token does not increase", 7, Output::Token(33)},
      {"the version skips", 4, Output::FencedAccepted(33, 3)},
      {"the store accepts a stale token", 9, Output::FencedAccepted(33, 4)},
      {"the rejection reports a wrong max token", 9, Output::FencedRejected(33, 3)},
      {"the read sees an old max token", 10, Output::FencedState(33, 3)},
      {"the read sees a resource nobody wrote", 11, Output::FencedState(1, 1)},
  };
  for (const Corruption& corruption : corruptions) {
    History history = GoodLockServiceHistory();
    history.mutable_operation(OperationId(corruption.operation)).output = corruption.output;
    const LinearizabilityResult result = Check(history, *MakeLockServiceModel());
    EXPECT_EQ(result.verdict, Verdict::kNotLinearizable) << corruption.what;
    if (result.verdict == Verdict::kNotLinearizable) {
      EXPECT_EQ(result.counterexamples[0].culprit, OperationId(corruption.operation)) << corruption.what;
    }
  }
}

TEST(LockServiceModelTest, ConcurrentOperationsMayTakeEffectInEitherOrder) {
  History history;
  // A read overlapping the grant may see the lock free or held.
  history.Add(P(1), At(0), At(10), Input::Acquire("a", 1), Outcome::kOk, Output::Token(1));
  history.Add(P(2), At(5), At(6), Input::Read("a"), Outcome::kOk, Output::LockState(std::nullopt, 0));
  history.Add(P(3), At(5), At(7), Input::Read("a"), Outcome::kOk, Output::LockState(1, 1));
  // A timed-out write may have taken effect: it explains the version a later write
  // and a read see.
  history.Add(P(1), At(11), At(12), Input::FencedWrite("r", 1), Outcome::kInfo);
  history.Add(P(1), At(13), At(14), Input::FencedWrite("r", 1), Outcome::kOk, Output::FencedAccepted(1, 2));
  history.Add(P(2), At(15), At(16), Input::FencedRead("r"), Outcome::kOk, Output::FencedState(1, 2));
  EXPECT_EQ(VerdictOf(history, *MakeLockServiceModel()), Verdict::kLinearizable);
}

TEST(LockServiceModelTest, RefusesOperationsItCannotJudge) {
  History history;
  history.Add(P(1), At(0), At(1), Input::Write("x", 1), Outcome::kOk, Output::Success());
  EXPECT_EQ(CheckLinearizability(history, *MakeLockServiceModel()).status().code(),
            StatusCode::kInvalidArgument);
  History unnamed;
  unnamed.Add(P(1), At(0), At(1), Input::FencedRead(""), Outcome::kOk, Output::FencedState(std::nullopt, 0));
  EXPECT_EQ(CheckLinearizability(unnamed, *MakeLockServiceModel()).status().code(),
            StatusCode::kInvalidArgument);
}

// ----- budgets -----

History ManyConcurrentWrites(int writers) {
  // Every write overlaps every other and a final read sees none of them: the search
  // must try every subset before giving up.
  History history;
  for (int i = 0; i < writers; ++i) {
    history.Add(P(static_cast<uint32_t>(i + 1)), At(0), At(1000), Input::Write(i + 1), Outcome::kOk,
                Output::Success());
  }
  history.Add(P(99), At(2000), At(3000), Input::Read(), Outcome::kOk, Output::Value(-1));
  return history;
}

TEST(BudgetTest, StepBudgetGivesUnknown) {
  LinearizabilityOptions options;
  options.max_steps = 50;
  const LinearizabilityResult result = Check(ManyConcurrentWrites(12), *MakeRegisterModel(), options);
  EXPECT_EQ(result.verdict, Verdict::kUnknown);
  EXPECT_NE(result.unknown_reason.find("budget exceeded"), std::string::npos);
  EXPECT_LE(result.steps, 50u);
  // With room to search, the same history is decided.
  EXPECT_EQ(VerdictOf(ManyConcurrentWrites(12), *MakeRegisterModel()), Verdict::kNotLinearizable);
}

TEST(BudgetTest, MemoryBudgetGivesUnknown) {
  LinearizabilityOptions options;
  options.max_cache_bytes = 64 << 10;
  const LinearizabilityResult result = Check(ManyConcurrentWrites(14), *MakeRegisterModel(), options);
  EXPECT_EQ(result.verdict, Verdict::kUnknown);
  EXPECT_NE(result.unknown_reason.find("MiB"), std::string::npos) << result.unknown_reason;
}

TEST(BudgetTest, CacheKeepsManyConcurrentWritesTractable) {
  // Without Lowe's cache this is 13! (6e9) orders; with it, at most 2^13
  // configurations times the 14 possible states.
  const LinearizabilityResult result = Check(ManyConcurrentWrites(13), *MakeRegisterModel());
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_LE(result.cache_entries, 14u * (1u << 13));
}

// ----- randomized: generated from a real sequential execution -----

TEST(RandomHistoryTest, GeneratedHistoriesAreLinearizable) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    KeyValueWorkload workload;
    workload.clients = 2 + static_cast<int>(seed % 9);
    workload.keys = 1 + static_cast<int>(seed % 4);
    workload.operations = 2000;
    workload.fail_probability = seed % 2 == 0 ? 0.05 : 0.0;
    workload.info_probability = seed % 3 == 0 ? 0.02 : 0.0;
    const History history = GenerateKeyValueHistory(rng, workload);
    const LinearizabilityResult result = Check(history, *MakeKeyValueModel());
    EXPECT_EQ(result.verdict, Verdict::kLinearizable) << "seed " << seed << "\n" << result.ToString();
    EXPECT_EQ(result.partitions, static_cast<uint64_t>(workload.keys)) << "seed " << seed;
  }
}

// Indices of ok reads that returned a value.
std::vector<size_t> ReadsWithValues(const History& history) {
  std::vector<size_t> reads;
  for (const Operation& operation : history.operations()) {
    if (operation.input.kind == OperationKind::kRead && operation.outcome == Outcome::kOk &&
        operation.output.value.has_value()) {
      reads.push_back(operation.id.value());
    }
  }
  return reads;
}

TEST(RandomHistoryTest, CorruptedReadIsDetectedAndNamed) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(seed);
    KeyValueWorkload workload;
    workload.clients = 3 + static_cast<int>(seed % 8);
    workload.keys = 1 + static_cast<int>(seed % 5);
    workload.operations = 1000;
    // Info operations are the expensive case: each stays pending to the end, so a
    // search that must be exhausted (a violation) explores every subset of the info
    // writes on a key. A few per history keep this test fast.
    workload.info_probability = seed % 3 == 0 ? 0.005 : 0.0;
    History history = GenerateKeyValueHistory(rng, workload);
    const std::vector<size_t> reads = ReadsWithValues(history);
    ASSERT_FALSE(reads.empty());
    const OperationId victim(reads[rng.Uniform(reads.size())]);
    // A value nobody wrote: the generator writes 1, 2, 3, ...
    history.mutable_operation(victim).output.value = -7;
    const LinearizabilityResult result = Check(history, *MakeKeyValueModel());
    ASSERT_EQ(result.verdict, Verdict::kNotLinearizable) << "seed " << seed;
    // The history is fine up to that read's completion and broken after: the
    // smallest failing prefix ends exactly there.
    EXPECT_EQ(result.counterexamples[0].culprit, victim) << "seed " << seed;
    EXPECT_EQ(result.counterexamples[0].partition, history.operation(victim).input.key);
  }
}

TEST(RandomHistoryTest, StaleReadIsDetected) {
  // Make a read return the value its key held before the latest write that
  // completed before the read began: a stale read, always a violation when the
  // key was written at least twice before, strictly in the past.
  int detected = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    Rng rng(seed);
    KeyValueWorkload workload;
    workload.clients = 5;
    workload.keys = 2;
    workload.operations = 400;
    workload.compare_and_set_probability = 0;
    workload.delete_probability = 0;
    History history = GenerateKeyValueHistory(rng, workload);
    // Find a read with two earlier writes on its key that both completed before it
    // began, and no write on the key concurrent with it or the latest of them.
    for (const size_t index : ReadsWithValues(history)) {
      const Operation& read = history.operations()[index];
      const Operation* latest = nullptr;
      const Operation* previous = nullptr;
      bool overlapping = false;
      for (const Operation& write : history.operations()) {
        if (write.input.kind != OperationKind::kWrite || write.input.key != read.input.key) continue;
        if (write.invoke_time > read.complete_time) break;
        if (write.complete_time >= read.invoke_time) {
          overlapping = true;
          continue;
        }
        if (latest == nullptr || write.complete_time > latest->complete_time) {
          previous = latest;
          latest = &write;
        } else if (previous == nullptr || write.complete_time > previous->complete_time) {
          previous = &write;
        }
      }
      if (overlapping || previous == nullptr || previous->complete_time >= latest->invoke_time) continue;
      history.mutable_operation(OperationId(index)).output.value = previous->input.value;
      const LinearizabilityResult result = Check(history, *MakeKeyValueModel());
      EXPECT_EQ(result.verdict, Verdict::kNotLinearizable) << "seed " << seed;
      ++detected;
      break;
    }
  }
  EXPECT_GE(detected, 10);
}

// ----- cross-check against a brute-force search and the unpartitioned check -----

// Tries every order of the operations that respects real time (Herlihy & Wing's
// definition, with no cleverness): exponential, for histories of a few operations.
bool BruteForceLinearizable(const History& history, const Model& model) {
  std::vector<const Operation*> remaining;
  for (const Operation& operation : history.operations()) {
    if (operation.outcome != Outcome::kFail) remaining.push_back(&operation);
  }
  std::function<bool(const ModelState&)> search = [&](const ModelState& state) {
    bool only_unknown = true;
    for (const Operation* operation : remaining) only_unknown &= operation->outcome != Outcome::kOk;
    if (only_unknown) return true;  // Unknown outcomes may never take effect.
    for (size_t i = 0; i < remaining.size(); ++i) {
      const Operation* candidate = remaining[i];
      bool minimal = true;
      for (const Operation* other : remaining) {
        if (other->outcome == Outcome::kOk && other->complete_time < candidate->invoke_time) minimal = false;
      }
      if (!minimal) continue;
      ModelState next;
      const Output* output = candidate->outcome == Outcome::kOk ? &candidate->output : nullptr;
      if (!model.Step(state, candidate->input, output, &next)) continue;
      remaining.erase(remaining.begin() + static_cast<std::ptrdiff_t>(i));
      const bool found = search(next);
      remaining.insert(remaining.begin() + static_cast<std::ptrdiff_t>(i), candidate);
      if (found) return true;
    }
    return false;
  };
  return search(model.Init());
}

TEST(CrossCheckTest, AgreesWithBruteForceAndWithTheUnpartitionedCheck) {
  const auto partitioned = MakeKeyValueModel(true);
  const auto whole = MakeKeyValueModel(false);
  int linearizable = 0;
  int not_linearizable = 0;
  for (uint64_t seed = 1; seed <= 600; ++seed) {
    Rng rng(seed);
    KeyValueWorkload workload;
    workload.clients = 2 + static_cast<int>(rng.Uniform(3));
    workload.keys = 1 + static_cast<int>(rng.Uniform(2));
    workload.operations = 3 + rng.Uniform(5);
    workload.info_probability = 0.1;
    workload.fail_probability = 0.1;
    History history = GenerateKeyValueHistory(rng, workload);
    // Corrupt one or two outputs with plausible values, so that both verdicts occur.
    const uint64_t corruptions = rng.Uniform(3);
    for (uint64_t c = 0; c < corruptions; ++c) {
      Operation& operation = history.mutable_operation(OperationId(rng.Uniform(history.size())));
      if (operation.outcome != Outcome::kOk) continue;
      if (operation.input.kind == OperationKind::kRead) {
        operation.output.value = rng.Bernoulli(0.2) ? std::nullopt
                                                    : std::optional<int64_t>(rng.UniformInRange(1, 6));
      } else {
        operation.output.succeeded = !operation.output.succeeded;
      }
    }
    const bool expected = BruteForceLinearizable(history, *whole);
    const Verdict by_partition = VerdictOf(history, *partitioned);
    LinearizabilityOptions unpartitioned;
    unpartitioned.partition = false;
    const Verdict by_whole = VerdictOf(history, *whole, unpartitioned);
    const Verdict truth = expected ? Verdict::kLinearizable : Verdict::kNotLinearizable;
    ASSERT_EQ(by_partition, truth) << "seed " << seed;
    ASSERT_EQ(by_whole, truth) << "seed " << seed;
    (expected ? linearizable : not_linearizable)++;
  }
  // Both verdicts were exercised.
  EXPECT_GT(linearizable, 100);
  EXPECT_GT(not_linearizable, 100);
}

}  // namespace
}  // namespace murphy
