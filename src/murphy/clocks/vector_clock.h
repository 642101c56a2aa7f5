// murphy/clocks/vector_clock.h — vector clocks (version vectors) over NodeId.
//
// Sources: C. Fidge, "Timestamps in Message-Passing Systems That Preserve the Partial
// Ordering", 1988; F. Mattern, "Virtual Time and Global States of Distributed
// Systems", 1989. The same structure summarises replica histories as a *version
// vector* (Parker et al., 1983), which is how DottedVersionVector uses it.
//
// Contract: a map NodeId -> counter in which a missing entry means 0. Two clocks are
// ordered entry-wise: a <= b iff every a[n] <= b[n]. Compare() reports kBefore,
// kAfter, kEqual or kConcurrent — unlike a Lamport clock, a vector clock *detects*
// concurrency. Merge() is the entry-wise maximum, the least upper bound of the order.
// Bounded: at most kMaxVectorClockEntries nodes; an operation that would add an entry
// beyond that fails with kResourceExhausted and leaves the clock unchanged. (Vector
// clocks grow with the number of *writers*; keep writers to servers — see
// DottedVersionVector — so the bound is the cluster size, not the client count.)
// Zero entries are never stored, so equal clocks have equal representations.
// Thread safety: a value type; no internal synchronisation.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy {

inline constexpr size_t kMaxVectorClockEntries = 128;

// How two causal histories relate.
enum class CausalOrder : uint8_t {
  kEqual,       // the same history
  kBefore,      // the left one happened before the right one (strictly dominated)
  kAfter,       // the left one happened after the right one (strictly dominates)
  kConcurrent,  // neither saw the other: a conflict
};
// "equal", "before", "after", "concurrent".
const char* CausalOrderName(CausalOrder order);

class VectorClock {
 public:
  struct Entry {
    NodeId node;
    uint64_t counter = 0;  // > 0 for every stored entry
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  VectorClock() = default;

  // The counter of `node` (0 when absent).
  uint64_t Get(NodeId node) const;
  // True iff this clock has seen event number `counter` of `node` (Get(node) >= counter).
  bool Covers(NodeId node, uint64_t counter) const { return Get(node) >= counter; }

  // Records a new event of `node`: its counter + 1. Returns the new counter, or
  // kResourceExhausted when `node` is new and the clock is full.
  Result<uint64_t> Increment(NodeId node);
  // Raises `node`'s counter to at least `counter` (never lowers it). kResourceExhausted
  // when `node` is new and the clock is full.
  Status Raise(NodeId node, uint64_t counter);
  // this := least upper bound(this, other). kResourceExhausted (and no change) when
  // the union of nodes exceeds kMaxVectorClockEntries.
  Status Merge(const VectorClock& other);

  CausalOrder Compare(const VectorClock& other) const;
  // True iff every entry of `other` is <= the entry here (kAfter or kEqual).
  bool Dominates(const VectorClock& other) const;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Entries sorted by node id, all with counter > 0.
  const std::vector<Entry>& entries() const { return entries_; }

  // "{1:3, 4:1}", for traces and test failures.
  std::string ToString() const;

  // Representation equality, which is history equality because zero entries are
  // never stored.
  friend bool operator==(const VectorClock&, const VectorClock&) = default;

 private:
  std::vector<Entry> entries_;  // sorted by node, counters > 0
};

}  // namespace murphy
