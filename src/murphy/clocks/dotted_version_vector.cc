#include "murphy/clocks/dotted_version_vector.h"

namespace murphy {

CausalOrder DottedVersionVector::Compare(const DottedVersionVector& other) const {
  if (dot == other.dot) return CausalOrder::kEqual;
  if (other.past.Covers(dot.node, dot.counter)) return CausalOrder::kBefore;
  if (past.Covers(other.dot.node, other.dot.counter)) return CausalOrder::kAfter;
  return CausalOrder::kConcurrent;
}

Result<VectorClock> DottedVersionVector::ToVersionVector() const {
  VectorClock clock = past;
  MURPHY_RETURN_IF_ERROR(clock.Raise(dot.node, dot.counter));
  return clock;
}

std::string DottedVersionVector::ToString() const {
  return "(" + std::to_string(dot.node.value()) + "," + std::to_string(dot.counter) + ")|" + past.ToString();
}

}  // namespace murphy
