// truetime-commit-wait — "Google TrueTime" (clock confidence intervals).
//
// The story: two nodes with interval clocks whose true offsets lie within the sync
// error epsilon. Transaction T1 commits on node A with timestamp s1 = A.now().latest;
// right after T1 is acknowledged, T2 starts on node B with s2 = B.now().latest. If A
// acknowledges at once, B's clock may be behind A's and give T2 a timestamp no
// greater than T1's although T2 started after T1 finished: external consistency is
// violated. With Spanner's commit wait, A acknowledges only once
// A.now().earliest > s1 — so s1 is certainly in the past everywhere — at the price
// of about 2 x epsilon of latency.
//
// The checker knows true time: it counts pairs where T2 started after T1's
// acknowledgement but s2 <= s1.
#include <string>

#include "murphy/clocks/interval_clock.h"
#include "murphy/core/rng.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/trace_capture.h"

namespace murphy {
namespace {

constexpr int kTransactionPairs = 200;
constexpr Duration kSyncError = Milliseconds(5);
constexpr WallTime kEpoch = WallTime::FromNanoseconds(1'795'694'400'000'000'000);

class TrueTimeCommitWait final : public Scenario {
 public:
  std::string_view name() const override { return "truetime-commit-wait"; }
  std::string_view section() const override { return "Google TrueTime"; }
  std::string_view remedy() const override { return "commit wait"; }

  RunOutcome Run(uint64_t seed, bool with_remedy, const RunOptions& options) const override {
    Rng rng(seed);
    // The report's view: T1 on node A (commit, commit wait as a bar, acknowledgement),
    // T2 on node B, the acknowledgement as a message between them, and each
    // violation; clock readings are each node's wall clock (true time + offset).
    scenarios::TraceCapture capture(options, with_remedy ? "commit wait" : "acknowledge at once", kEpoch);
    const NodeId node_ids[2] = {NodeId(1), NodeId(2)};
    capture.NameLane(node_ids[0], "A (runs T1)");
    capture.NameLane(node_ids[1], "B (runs T2)");
    Duration now = Duration::Zero();  // true time since the start
    Duration offsets[2];              // each node's wall clock minus true time
    auto make_clock = [&](int node) {
      return IntervalClock([&now, &offsets, node] { return kEpoch + now + offsets[node]; },
                           [&now] { return Instant() + now; }, IntervalClock::Options());
    };
    IntervalClock clocks[2] = {make_clock(0), make_clock(1)};

    int violations = 0;
    std::string first_violation;
    Duration total_wait;
    for (int pair = 0; pair < kTransactionPairs; ++pair) {
      // Each round the nodes resynchronise; their true errors fall anywhere within
      // the error the sync reports.
      for (int node = 0; node < 2; ++node) {
        offsets[node] = rng.UniformDuration(-kSyncError, kSyncError);
        MURPHY_ASSERT(clocks[node].OnSync(kSyncError).ok());
      }
      now += rng.UniformDuration(Milliseconds(1), Milliseconds(20));
      const WallTime s1 = clocks[0].Now().latest;
      const Duration committed_at = now;
      auto trace = [&](int node, std::string_view event, std::initializer_list<TraceField> fields) {
        capture.Write(Instant() + now, node_ids[node], Instant() + now, kEpoch + now + offsets[node], event, fields);
      };
      const std::string t1 = "T1." + std::to_string(pair + 1);
      const std::string t2 = "T2." + std::to_string(pair + 1);
      if (capture.enabled()) {
        const std::string stamp = FormatDuration(s1 - kEpoch);
        trace(0, "commit", {{"transaction", std::string_view(t1)}, {"timestamp", std::string_view(stamp)}});
      }
      if (with_remedy) {
        // Wait, re-check, wait again: the estimate assumes the wall clock advances
        // at about 1 s/s, so the loop is bounded but normally runs once.
        for (int round = 0; round < 16 && !clocks[0].After(s1); ++round) {
          const Result<Duration> wait = clocks[0].CommitWait(s1);
          MURPHY_ASSERT(wait.ok());
          now += Max(*wait, Nanoseconds(1));
        }
        MURPHY_ASSERT(clocks[0].After(s1));
      }
      total_wait += now - committed_at;
      if (capture.enabled()) {
        if (with_remedy) {
          capture.Write(Instant() + committed_at, node_ids[0], Instant() + committed_at,
                        kEpoch + committed_at + offsets[0], "commit_wait",
                        {{"transaction", std::string_view(t1)}, {"duration_ns", (now - committed_at).nanoseconds()}});
        }
        trace(0, "commit_acknowledged", {{"transaction", std::string_view(t1)}});
        trace(0, "send", {{"target", uint64_t{2}}, {"message", uint64_t(pair + 1)}, {"bytes", uint64_t{8}}});
      }
      // T2 starts on B just after T1's acknowledgement (within 1 ms).
      now += rng.UniformDuration(Duration::Zero(), Milliseconds(1));
      const WallTime s2 = clocks[1].Now().latest;
      if (capture.enabled()) {
        const std::string stamp = FormatDuration(s2 - kEpoch);
        trace(1, "deliver", {{"source", uint64_t{1}}, {"message", uint64_t(pair + 1)}, {"bytes", uint64_t{8}}});
        trace(1, "begin", {{"transaction", std::string_view(t2)}, {"timestamp", std::string_view(stamp)}});
        if (s2 <= s1) {
          const std::string earlier = FormatDuration(s1 - kEpoch);
          trace(1, "external_consistency_violated",
                {{"transaction", std::string_view(t2)}, {"timestamp", std::string_view(stamp)},
                 {"after", std::string_view(t1)}, {"after_timestamp", std::string_view(earlier)}});
        }
      }
      if (s2 <= s1) {
        ++violations;
        if (first_violation.empty()) {
          first_violation = "T2 (node B) started after T1 (node A) was acknowledged but got timestamp " +
                            FormatDuration(s2 - kEpoch) + " <= T1's " + FormatDuration(s1 - kEpoch);
        }
      }
    }
    RunOutcome outcome;
    outcome.Add("transaction_pairs", kTransactionPairs);
    outcome.Add("external_consistency_violations", violations);
    outcome.Add("epsilon_ms", ToMillisecondsDouble(kSyncError));
    outcome.Add("mean_commit_wait_ms", ToMillisecondsDouble(total_wait / kTransactionPairs));
    outcome.violated = violations > 0;
    if (outcome.violated) outcome.violation = first_violation + "; " + std::to_string(violations) + " pairs in all";
    outcome.summary = std::to_string(violations) + " of " + std::to_string(kTransactionPairs) +
                      " later transactions ordered before earlier ones; mean commit wait " +
                      FormatDuration(total_wait / kTransactionPairs) + " (epsilon " + FormatDuration(kSyncError) + ")";
    capture.Finish(&outcome);
    return outcome;
  }
};

}  // namespace

const Scenario& TrueTimeCommitWaitScenario() {
  static const TrueTimeCommitWait scenario;
  return scenario;
}

}  // namespace murphy
