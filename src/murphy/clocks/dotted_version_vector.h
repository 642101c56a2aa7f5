// murphy/clocks/dotted_version_vector.h — dots and dotted version vectors.
//
// Source: N. Preguiça, C. Baquero, P. S. Almeida, V. Fonte, R. Gonçalves, "Dotted
// Version Vectors: Logical Clocks for Optimistic Replication", arXiv:1011.5808, 2010;
// the structure Riak adopted (riak_kv 2.0, with the DVVSet compaction).
//
// Contract: a `Dot` (node, counter) names one write: the counter-th write accepted by
// *server* `node`. A `DottedVersionVector` is {dot, past}: the write's own dot plus the
// causal context it was made with (the version vector the client had read). Because
// the dot is kept apart from the past, two writes coordinated by the same server with
// the same context are seen as concurrent — a plain version vector would have to give
// the second write the first one's history and silently supersede it, or give every
// client its own entry (the "sibling explosion" / unbounded growth problem).
// Order: a < b iff b's past covers a's dot (b was written by someone who had seen a);
// equal iff the dots are equal (dots are unique); otherwise concurrent.
// Thread safety: value types.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

#include "murphy/clocks/vector_clock.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy {

struct Dot {
  NodeId node;
  uint64_t counter = 0;  // >= 1 for a real write

  friend auto operator<=>(const Dot&, const Dot&) = default;
  friend bool operator==(const Dot&, const Dot&) = default;
};

struct DottedVersionVector {
  Dot dot;
  VectorClock past;  // the causal context the write was made with

  // True iff this write had seen the write named `other` (its dot or its past covers it).
  bool Covers(const Dot& other) const { return dot == other || past.Covers(other.node, other.counter); }
  // kBefore / kAfter / kEqual / kConcurrent as described above.
  CausalOrder Compare(const DottedVersionVector& other) const;
  // The plain version vector: past with the dot folded in. kResourceExhausted if that
  // adds an entry to a full clock.
  Result<VectorClock> ToVersionVector() const;
  // "(2,5)|{1:3, 2:4}".
  std::string ToString() const;
};

}  // namespace murphy
