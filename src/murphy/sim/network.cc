#include "murphy/sim/network.h"

#include <algorithm>
#include <cmath>

namespace murphy::sim {

DelayModel DelayModel::Fixed(Duration delay) {
  DelayModel model;
  model.shape = Shape::kFixed;
  model.min = delay;
  model.spread = Duration::Zero();
  return model;
}

DelayModel DelayModel::Uniform(Duration low, Duration high) {
  MURPHY_ASSERT(low <= high);
  DelayModel model;
  model.shape = Shape::kUniform;
  model.min = low;
  model.spread = high - low;
  return model;
}

DelayModel DelayModel::Exponential(Duration min, Duration mean) {
  DelayModel model;
  model.shape = Shape::kExponential;
  model.min = min;
  model.spread = mean;
  return model;
}

DelayModel DelayModel::Pareto(Duration min, Duration scale, double tail_index) {
  MURPHY_ASSERT(tail_index > 0);
  MURPHY_ASSERT(scale > Duration::Zero());
  DelayModel model;
  model.shape = Shape::kPareto;
  model.min = min;
  model.spread = scale;
  model.pareto_shape = tail_index;
  return model;
}

Duration DelayModel::Draw(Rng& rng) const {
  Duration variable = Duration::Zero();
  switch (shape) {
    case Shape::kFixed:
      break;
    case Shape::kUniform:
      variable = rng.UniformDuration(Duration::Zero(), spread);
      break;
    case Shape::kExponential:
      variable = spread > Duration::Zero() ? rng.ExponentialDuration(spread) : Duration::Zero();
      break;
    case Shape::kPareto: {
      // Pareto draws start at `scale`; shift so the tail starts at zero extra delay.
      const double scale_ns = static_cast<double>(spread.nanoseconds());
      variable = Nanoseconds(1) * (rng.Pareto(scale_ns, pareto_shape) - scale_ns);
      break;
    }
  }
  return Min(min + variable, max);
}

SystemModel SystemModel::Synchronous(Duration min, Duration bound) {
  SystemModel model;
  model.kind = SystemModelKind::kSynchronous;
  model.min = min;
  model.bound = bound;
  return model;
}

SystemModel SystemModel::PartiallySynchronous(Instant gst, Duration min, Duration bound) {
  SystemModel model;
  model.kind = SystemModelKind::kPartiallySynchronous;
  model.global_stabilization_time = gst;
  model.min = min;
  model.bound = bound;
  return model;
}

SystemModel SystemModel::Asynchronous(Duration min, Duration tail_scale, double tail_index) {
  SystemModel model;
  model.kind = SystemModelKind::kAsynchronous;
  model.min = min;
  model.tail_scale = tail_scale;
  model.tail_index = tail_index;
  return model;
}

DelayModel SystemModel::Bounded() const { return DelayModel::Uniform(min, bound); }

DelayModel SystemModel::Unbounded() const { return DelayModel::Pareto(min, tail_scale, tail_index); }

std::vector<Link> AllLinks(const std::vector<NodeId>& nodes) {
  std::vector<Link> links;
  for (const NodeId source : nodes) {
    for (const NodeId target : nodes) {
      if (source != target) links.push_back({source, target});
    }
  }
  return links;
}

std::vector<Link> IsolateCuts(NodeId node, const std::vector<NodeId>& nodes) {
  std::vector<Link> links;
  for (const NodeId other : nodes) {
    if (other == node) continue;
    links.push_back({node, other});
    links.push_back({other, node});
  }
  return links;
}

std::vector<Link> GroupCuts(const std::vector<std::vector<NodeId>>& groups) {
  std::vector<Link> links;
  for (size_t a = 0; a < groups.size(); ++a) {
    for (size_t b = 0; b < groups.size(); ++b) {
      if (a == b) continue;
      for (const NodeId source : groups[a]) {
        for (const NodeId target : groups[b]) links.push_back({source, target});
      }
    }
  }
  std::sort(links.begin(), links.end());
  return links;
}

std::vector<Link> HalvesCuts(const std::vector<NodeId>& nodes, Rng& rng) {
  std::vector<NodeId> shuffled = nodes;
  for (size_t i = shuffled.size(); i > 1; --i) std::swap(shuffled[i - 1], shuffled[rng.Uniform(i)]);
  const size_t half = shuffled.size() / 2;
  std::vector<NodeId> small(shuffled.begin(), shuffled.begin() + static_cast<std::ptrdiff_t>(half));
  std::vector<NodeId> large(shuffled.begin() + static_cast<std::ptrdiff_t>(half), shuffled.end());
  return GroupCuts({small, large});
}

std::vector<Link> OneWayCuts(const std::vector<NodeId>& from, const std::vector<NodeId>& to) {
  std::vector<Link> links;
  for (const NodeId source : from) {
    for (const NodeId target : to) {
      if (source != target) links.push_back({source, target});
    }
  }
  return links;
}

std::vector<Link> BridgeCuts(const std::vector<NodeId>& nodes, NodeId bridge) {
  std::vector<NodeId> left;
  std::vector<NodeId> right;
  for (const NodeId node : nodes) {
    if (node == bridge) continue;
    (left.size() <= right.size() ? left : right).push_back(node);
  }
  return GroupCuts({left, right});
}

std::vector<Link> MajoritiesRingCuts(const std::vector<NodeId>& nodes) {
  // Each node keeps the links to the nodes within ring distance `reach` (both
  // sides), so it sees itself plus 2 * reach others: a majority when
  // 2 * reach + 1 > n / 2, while neighbours' majorities differ.
  const size_t n = nodes.size();
  std::vector<Link> links;
  if (n < 3) return links;
  const size_t majority = n / 2 + 1;
  const size_t reach = majority / 2;  // sees 1 + 2 * reach >= majority
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i == j) continue;
      const size_t forward = (j + n - i) % n;
      const size_t distance = std::min(forward, n - forward);
      if (distance > reach) links.push_back({nodes[i], nodes[j]});
    }
  }
  return links;
}

std::string FormatLinks(const std::vector<Link>& links) {
  std::string text;
  for (const Link& link : links) {
    if (!text.empty()) text.push_back(' ');
    text += std::to_string(link.source.value()) + "->" + std::to_string(link.target.value());
  }
  return text;
}

}  // namespace murphy::sim
