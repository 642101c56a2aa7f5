// murphy/core/ids.h — strong identifier types.
//
// Contract: each id is a distinct type wrapping an unsigned integer, so a Term can
// never be passed where a LogIndex is expected. Ids compare, hash (std::hash), and
// convert to their integer only through `value()`. Counters (Term, LogIndex,
// FencingToken) have `next()`. Zero is a valid value; where a module needs "none",
// it says so in its own contract (Raft uses Term 0 / LogIndex 0 as "before the log").
// Thread safety: values.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace murphy {

template <typename Tag, typename Rep = uint64_t>
class StrongId {
 public:
  using rep_type = Rep;
  constexpr StrongId() = default;
  explicit constexpr StrongId(Rep value) : value_(value) {}

  constexpr Rep value() const { return value_; }
  constexpr StrongId next() const { return StrongId(value_ + 1); }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep value_ = 0;
};

template <typename Tag, typename Rep>
std::string ToString(StrongId<Tag, Rep> id) {
  return std::to_string(id.value());
}

// A process (node or client) of the system; also its transport address.
using NodeId = StrongId<struct NodeIdTag, uint32_t>;
// A Raft election term.
using Term = StrongId<struct TermTag>;
// A position in the replicated log (1-based; 0 means "before the first entry").
using LogIndex = StrongId<struct LogIndexTag>;
// A lease granted by the lock service.
using LeaseId = StrongId<struct LeaseIdTag>;
// A lock's fencing token: strictly increasing per lock on every grant.
using FencingToken = StrongId<struct FencingTokenTag>;

}  // namespace murphy

template <typename Tag, typename Rep>
struct std::hash<murphy::StrongId<Tag, Rep>> {
  size_t operator()(murphy::StrongId<Tag, Rep> id) const noexcept { return std::hash<Rep>()(id.value()); }
};
