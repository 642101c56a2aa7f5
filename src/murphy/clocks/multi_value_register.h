// murphy/clocks/multi_value_register.h — a register that keeps concurrent writes.
//
// Source: the DVV register of Preguiça et al. (see dotted_version_vector.h), the
// semantics of Dynamo's and Riak's siblings (DeCandia et al., SOSP 2007).
//
// Contract: one replica's copy of a register. A client reads the values and an opaque
// causal context, then writes a new value *with the context it read*, through some
// replica server. The write replaces exactly the values the client had seen (those
// whose dot the context covers) and survives next to every value it had not seen:
// concurrent writes become siblings, never silently lost. Replicas converge by
// Merge() (anti-entropy, order-insensitive): a sibling survives unless a sibling on
// the other side had seen it. A later write whose context covers the siblings resolves
// the conflict. Bounded: at most `max_siblings` siblings and kMaxVectorClockEntries
// server entries; a Write or Merge that would exceed either fails with
// kResourceExhausted and changes nothing (the client must resolve siblings first).
// REQUIRES of T: copyable.
// Thread safety: none; one replica's state, owned by its event loop.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "murphy/clocks/dotted_version_vector.h"
#include "murphy/clocks/vector_clock.h"
#include "murphy/core/assert.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy {

template <typename T>
class MultiValueRegister {
 public:
  struct Sibling {
    DottedVersionVector clock;
    T value;
  };

  // REQUIRES: max_siblings > 0.
  explicit MultiValueRegister(size_t max_siblings = 16) : max_siblings_(max_siblings) {
    MURPHY_ASSERT(max_siblings_ > 0);
  }

  // Current values, one per sibling (empty before the first write), in dot order.
  std::vector<T> Values() const {
    std::vector<T> values;
    values.reserve(siblings_.size());
    for (const Sibling& sibling : siblings_) values.push_back(sibling.value);
    return values;
  }
  const std::vector<Sibling>& siblings() const { return siblings_; }

  // The causal context a reader must send back with its next write: the join of every
  // sibling's history. Never fails: Write and Merge keep it within bounds.
  VectorClock Context() const {
    Result<VectorClock> context = JoinOf(siblings_);
    MURPHY_ASSERT(context.ok());
    return std::move(context).value();
  }

  // Server `replica` accepts a client's write of `value` made after reading `context`
  // (empty for a blind write). Returns the write's dot. Fails with kResourceExhausted,
  // changing nothing, if the result would exceed the sibling or clock bounds.
  Result<Dot> Write(NodeId replica, T value, const VectorClock& context) {
    // The new dot must be above every dot `replica` ever issued for this register; all
    // of them are covered by the siblings' histories (a dot is only dropped by a write
    // whose past covers it) or by the client's context.
    uint64_t highest = context.Get(replica);
    for (const Sibling& sibling : siblings_) {
      highest = std::max(highest, sibling.clock.past.Get(replica));
      if (sibling.clock.dot.node == replica) highest = std::max(highest, sibling.clock.dot.counter);
    }
    MURPHY_ASSERT(highest < ~uint64_t{0});
    const Dot dot{replica, highest + 1};

    std::vector<Sibling> next;
    next.reserve(siblings_.size() + 1);
    for (const Sibling& sibling : siblings_) {
      // Keep what the client had not seen: it is concurrent with this write.
      if (!context.Covers(sibling.clock.dot.node, sibling.clock.dot.counter)) next.push_back(sibling);
    }
    next.push_back(Sibling{DottedVersionVector{dot, context}, std::move(value)});
    MURPHY_RETURN_IF_ERROR(Commit(std::move(next)));
    return dot;
  }

  // Anti-entropy with another replica's copy: afterwards this copy holds every sibling
  // of either side that no sibling of the other side had seen. Commutative,
  // associative and idempotent up to sibling order (siblings are kept in dot order, so
  // equal states compare equal). kResourceExhausted, changing nothing, past the bounds.
  Status Merge(const MultiValueRegister& other) {
    std::vector<Sibling> next;
    next.reserve(siblings_.size() + other.siblings_.size());
    for (const Sibling& mine : siblings_) {
      if (!SupersededBy(mine, other.siblings_)) next.push_back(mine);
    }
    for (const Sibling& theirs : other.siblings_) {
      if (SupersededBy(theirs, siblings_)) continue;
      const bool duplicate = std::any_of(siblings_.begin(), siblings_.end(), [&](const Sibling& mine) {
        return mine.clock.dot == theirs.clock.dot;
      });
      if (!duplicate) next.push_back(theirs);
    }
    return Commit(std::move(next));
  }

  size_t max_siblings() const { return max_siblings_; }

 private:
  // True iff some sibling in `others` had seen `sibling` (and is not the same write).
  static bool SupersededBy(const Sibling& sibling, const std::vector<Sibling>& others) {
    return std::any_of(others.begin(), others.end(), [&](const Sibling& other) {
      return other.clock.Compare(sibling.clock) == CausalOrder::kAfter;
    });
  }

  static Result<VectorClock> JoinOf(const std::vector<Sibling>& siblings) {
    VectorClock context;
    for (const Sibling& sibling : siblings) {
      MURPHY_RETURN_IF_ERROR(context.Merge(sibling.clock.past));
      MURPHY_RETURN_IF_ERROR(context.Raise(sibling.clock.dot.node, sibling.clock.dot.counter));
    }
    return context;
  }

  Status Commit(std::vector<Sibling> next) {
    if (next.size() > max_siblings_) {
      return ResourceExhaustedError("register would hold more than " + std::to_string(max_siblings_) +
                                    " siblings; resolve them with a write that read them");
    }
    MURPHY_RETURN_IF_ERROR(JoinOf(next).status());
    std::sort(next.begin(), next.end(),
              [](const Sibling& a, const Sibling& b) { return a.clock.dot < b.clock.dot; });
    siblings_ = std::move(next);
    return Status::Ok();
  }

  size_t max_siblings_;
  std::vector<Sibling> siblings_;  // sorted by dot; pairwise concurrent
};

}  // namespace murphy
