// murphy/check/history_generator.h — random histories that are linearizable by
// construction, for testing and benchmarking the checker.
//
// Contract: `GenerateKeyValueHistory` simulates `clients` clients, each issuing one
// operation at a time on a key-value map. Every operation gets an invocation time, a
// linearization point inside its interval and a completion time; the operations are
// applied to a real sequential map in linearization-point order, which yields their
// outputs. The result is therefore linearizable (the linearization points witness
// it), with realistic overlap between clients. Optionally some operations end as
// fail (they did not take effect) or info (they took effect or not, by a coin toss;
// an info operation that took effect may do so after the client gave up). Written
// values are unique (1, 2, 3, ...), so a read can be corrupted into a value that was
// never written. Deterministic for a given Rng state. Thread safety: a pure function
// of its arguments (it advances `rng`).
#pragma once

#include <cstdint>

#include "murphy/check/history.h"
#include "murphy/core/rng.h"
#include "murphy/core/time.h"

namespace murphy {

struct KeyValueWorkload {
  int clients = 8;
  int keys = 10;  // Keys are "k0", "k1", ...
  uint64_t operations = 1000;
  // Mix of operations; the rest of the probability mass goes to reads.
  double write_probability = 0.3;
  double compare_and_set_probability = 0.15;
  double delete_probability = 0.05;
  // Outcomes other than ok.
  double fail_probability = 0.0;
  double info_probability = 0.0;
  // Each operation spends an exponential time before its linearization point and
  // another after it; clients think for an exponential time between operations.
  Duration mean_latency = Milliseconds(1);
  Duration mean_think = Microseconds(200);
};

// REQUIRES: clients >= 1, keys >= 1.
History GenerateKeyValueHistory(Rng& rng, const KeyValueWorkload& workload);

}  // namespace murphy
