// murphy/check/linearizability.h — is a concurrent history linearizable with
// respect to a sequential model?
//
// Contract: `CheckLinearizability(history, model, options)` decides whether there is
// a total order of the history's operations that (1) respects real time — if A
// completed before B was invoked, A comes first — and (2) is a legal sequential run
// of `model` (Herlihy & Wing 1990). Outcomes follow Knossos: ok operations must take
// effect with their recorded output; fail operations never took effect and are
// dropped; info (and still pending) operations may take effect at any point after
// their invocation, with any output, or never. Intervals are closed: an invocation
// and a completion at the same instant count as concurrent, so the checker only says
// "not linearizable" when no reading of the timestamps could explain the history.
//
// Algorithm: the Wing & Gong (1993) depth-first search with Lowe's (2017, "Testing
// for linearizability") improvements — linearize only minimal pending calls
// ("just-in-time linearization"), backtrack on the first completion that is not yet
// linearized, and memoise every visited configuration (the set of linearized
// operations as a bitset, plus the model state) so that no configuration is explored
// twice. Before searching, the history is split with the model's PartitionKey and
// every partition is checked on its own (P-compositionality: Horn & Kroening 2015;
// Porcupine does the same). The search is exponential in the worst case; it is bounded
// by `Options` and then answers kUnknown instead of running on.
//
// Counterexample: for a failing partition, the search also finds the smallest failing
// prefix — the partition is linearizable up to, but not including, the completion of
// one operation (the culprit), and not once it completes. The counterexample names the
// culprit, the operations concurrent with it, and the tail of one longest partial
// linearization with the model state it leaves, with ids, processes, times and values.
//
// Thread safety: a pure function of its arguments; concurrent calls are safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "murphy/check/history.h"
#include "murphy/check/model.h"
#include "murphy/core/status.h"

namespace murphy {

struct LinearizabilityOptions {
  // Search steps (attempts to linearize or undo one operation), over all partitions.
  uint64_t max_steps = 200'000'000;
  // Memory for the configuration cache of one partition (it is freed between
  // partitions), in bytes, approximately.
  uint64_t max_cache_bytes = 512ull << 20;
  // Check each partition separately (the model's PartitionKey); false checks the
  // history whole, which is exponentially slower and only for cross-checking.
  bool partition = true;
  // Stop at the first failing partition (false: report every failing partition).
  bool stop_at_first_failure = true;
  // Limits on what a counterexample lists.
  int max_concurrent_listed = 12;
  int max_linearization_listed = 8;
};

enum class Verdict : uint8_t { kLinearizable, kNotLinearizable, kUnknown };

// "linearizable", "not linearizable", "unknown".
std::string_view VerdictName(Verdict verdict);

struct Counterexample {
  std::string partition;  // The partition key ("" for an unpartitioned model).
  // The operation whose completion makes the partition non-linearizable.
  OperationId culprit;
  // Operations of the smallest failing prefix: those invoked before the culprit
  // completed (pending ones among them may or may not have taken effect).
  uint64_t prefix_operations = 0;
  // Operations overlapping the culprit in time, in invocation order (capped).
  std::vector<OperationId> concurrent;
  // The last operations (capped) of one longest partial linearization of the prefix,
  // in linearization order, and the number of operations it linearized in total.
  std::vector<OperationId> linearization_tail;
  uint64_t linearization_length = 0;
  // The model state after that partial linearization: where the culprit had to fit.
  std::string state;
  // All of the above as readable text, several lines.
  std::string description;
};

struct LinearizabilityResult {
  Verdict verdict = Verdict::kLinearizable;
  // Non-empty iff verdict == kNotLinearizable.
  std::vector<Counterexample> counterexamples;
  // Why the answer is kUnknown ("budget exceeded: ..."), empty otherwise.
  std::string unknown_reason;
  // Figures for the curious and for benchmarks.
  uint64_t partitions = 0;
  uint64_t operations_checked = 0;  // After dropping fail and info reads.
  uint64_t steps = 0;
  uint64_t cache_entries = 0;  // Summed over partitions.

  // One line for a verdict ("linearizable: 3 partitions, 120 operations"), followed by
  // the counterexamples' descriptions when there are any.
  std::string ToString() const;
};

// Checks `history` against `model`. Fails with InvalidArgument if an operation is not
// one the model can judge; otherwise returns a verdict.
Result<LinearizabilityResult> CheckLinearizability(const History& history, const Model& model,
                                                   const LinearizabilityOptions& options = {});

}  // namespace murphy
