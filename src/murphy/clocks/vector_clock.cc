#include "murphy/clocks/vector_clock.h"

#include <algorithm>

#include "murphy/core/assert.h"

namespace murphy {

const char* CausalOrderName(CausalOrder order) {
  switch (order) {
    case CausalOrder::kEqual:
      return "equal";
    case CausalOrder::kBefore:
      return "before";
    case CausalOrder::kAfter:
      return "after";
    case CausalOrder::kConcurrent:
      return "concurrent";
  }
  MURPHY_UNREACHABLE();
}

namespace {
// First entry whose node is >= `node`.
template <typename Entries>  // const or mutable std::vector<VectorClock::Entry>
auto LowerBound(Entries& entries, NodeId node) {
  return std::lower_bound(entries.begin(), entries.end(), node,
                          [](const VectorClock::Entry& entry, NodeId n) { return entry.node < n; });
}

Status FullError() {
  return ResourceExhaustedError("vector clock is full: more than kMaxVectorClockEntries (128) nodes");
}
}  // namespace

uint64_t VectorClock::Get(NodeId node) const {
  auto it = LowerBound(entries_, node);
  return (it != entries_.end() && it->node == node) ? it->counter : 0;
}

Result<uint64_t> VectorClock::Increment(NodeId node) {
  auto it = LowerBound(entries_, node);
  if (it != entries_.end() && it->node == node) {
    MURPHY_ASSERT(it->counter < ~uint64_t{0});
    return ++it->counter;
  }
  if (entries_.size() >= kMaxVectorClockEntries) return FullError();
  entries_.insert(it, Entry{node, 1});
  return uint64_t{1};
}

Status VectorClock::Raise(NodeId node, uint64_t counter) {
  if (counter == 0) return Status::Ok();
  auto it = LowerBound(entries_, node);
  if (it != entries_.end() && it->node == node) {
    it->counter = std::max(it->counter, counter);
    return Status::Ok();
  }
  if (entries_.size() >= kMaxVectorClockEntries) return FullError();
  entries_.insert(it, Entry{node, counter});
  return Status::Ok();
}

Status VectorClock::Merge(const VectorClock& other) {
  // Fast path, the common case in a small cluster: the same set of nodes. No
  // allocation, one pass.
  if (entries_.size() == other.entries_.size()) {
    bool same_nodes = true;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].node != other.entries_[i].node) {
        same_nodes = false;
        break;
      }
    }
    if (same_nodes) {
      for (size_t i = 0; i < entries_.size(); ++i) {
        entries_[i].counter = std::max(entries_[i].counter, other.entries_[i].counter);
      }
      return Status::Ok();
    }
  }
  std::vector<Entry> merged;
  merged.reserve(entries_.size() + other.entries_.size());
  size_t i = 0;
  size_t j = 0;
  while (i < entries_.size() || j < other.entries_.size()) {
    if (j == other.entries_.size() || (i < entries_.size() && entries_[i].node < other.entries_[j].node)) {
      merged.push_back(entries_[i++]);
    } else if (i == entries_.size() || other.entries_[j].node < entries_[i].node) {
      merged.push_back(other.entries_[j++]);
    } else {
      merged.push_back(Entry{entries_[i].node, std::max(entries_[i].counter, other.entries_[j].counter)});
      ++i;
      ++j;
    }
  }
  if (merged.size() > kMaxVectorClockEntries) return FullError();
  entries_ = std::move(merged);
  return Status::Ok();
}

CausalOrder VectorClock::Compare(const VectorClock& other) const {
  // One merge-walk over both sorted entry lists; a missing entry counts as 0.
  bool this_greater = false;   // some entry here exceeds other's
  bool other_greater = false;  // some entry of other exceeds this one's
  size_t i = 0;
  size_t j = 0;
  while (i < entries_.size() && j < other.entries_.size()) {
    const Entry& a = entries_[i];
    const Entry& b = other.entries_[j];
    if (a.node < b.node) {
      this_greater = true;
      ++i;
    } else if (b.node < a.node) {
      other_greater = true;
      ++j;
    } else {
      if (a.counter > b.counter) this_greater = true;
      if (b.counter > a.counter) other_greater = true;
      ++i;
      ++j;
    }
    if (this_greater && other_greater) return CausalOrder::kConcurrent;
  }
  if (i < entries_.size()) this_greater = true;
  if (j < other.entries_.size()) other_greater = true;
  if (this_greater && other_greater) return CausalOrder::kConcurrent;
  if (this_greater) return CausalOrder::kAfter;
  if (other_greater) return CausalOrder::kBefore;
  return CausalOrder::kEqual;
}

bool VectorClock::Dominates(const VectorClock& other) const {
  const CausalOrder order = Compare(other);
  return order == CausalOrder::kAfter || order == CausalOrder::kEqual;
}

std::string VectorClock::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(entries_[i].node.value());
    out += ':';
    out += std::to_string(entries_[i].counter);
  }
  out += '}';
  return out;
}

}  // namespace murphy
