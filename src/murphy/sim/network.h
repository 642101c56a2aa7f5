// murphy/sim/network.h — values that describe the simulated network: directed
// links, delay distributions, per-link fault settings, system models, and the
// partition shapes of Jepsen's nemesis catalogue as sets of cut directed links.
//
// Contract: plain values and pure functions; no state, no clock, no randomness
// except through the Rng passed in. A partition is a set of *directed* links that
// are cut (a message from source to target is dropped), so one-way cuts and
// asymmetric "partial partitions" are first-class. Thread safety: values.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/rng.h"
#include "murphy/core/time.h"

namespace murphy::sim {

// A directed link: messages from `source` to `target`.
struct Link {
  NodeId source;
  NodeId target;
  friend bool operator==(const Link&, const Link&) = default;
  friend auto operator<=>(const Link&, const Link&) = default;
};

// One-way delay of a message = min + a draw from the shape, capped at `max`.
// Exponential and Pareto give the long tail that makes timeouts hard (the chapter's
// "unbounded delays"); a finite `max` is the synchronous model's bound.
struct DelayModel {
  enum class Shape : uint8_t { kFixed, kUniform, kExponential, kPareto };
  Shape shape = Shape::kExponential;
  Duration min = Microseconds(500);
  // kUniform: the draw is in [0, spread]; kExponential: its mean; kPareto: its scale.
  Duration spread = Milliseconds(1);
  double pareto_shape = 1.5;  // tail index; <= 2 has infinite variance
  Duration max = Duration::Infinite();

  static DelayModel Fixed(Duration delay);
  static DelayModel Uniform(Duration low, Duration high);
  static DelayModel Exponential(Duration min, Duration mean);
  static DelayModel Pareto(Duration min, Duration scale, double tail_index);

  Duration Draw(Rng& rng) const;
};

// Per directed link. Probabilities are per message.
struct LinkConfig {
  DelayModel delay;
  // Extra uniform delay in [0, jitter]; with fifo = false it reorders messages.
  Duration jitter = Duration::Zero();
  double loss_probability = 0;
  double duplicate_probability = 0;
  double corrupt_probability = 0;
  // Deliver in send order (like one TCP connection). Off: random delays reorder.
  bool fifo = false;
  // Messages in flight (and held by a clog) on the link at most; more are dropped,
  // like a full socket buffer or switch queue.
  uint32_t queue_limit = 1024;
};

// A temporary fault laid over links' base configs (a nemesis window). Overlays
// combine: probabilities by maximum, extra delays by sum, reordering by "any".
struct LinkFaultOverlay {
  double loss_probability = 0;
  double duplicate_probability = 0;
  double corrupt_probability = 0;
  // An extra exponential delay with this mean (a latency spike / slow network).
  Duration extra_delay_mean = Duration::Zero();
  // Turns FIFO off and adds this much jitter.
  Duration reorder_jitter = Duration::Zero();
};

// Dwork–Lynch–Stockmeyer system models (the chapter's "System Models" section).
enum class SystemModelKind : uint8_t { kSynchronous, kPartiallySynchronous, kAsynchronous };
struct SystemModel {
  SystemModelKind kind = SystemModelKind::kAsynchronous;
  // Synchronous, and partially synchronous after GST: delays in [min, bound].
  Duration min = Microseconds(500);
  Duration bound = Milliseconds(10);
  // Asynchronous, and partially synchronous before GST: Pareto with this scale.
  Duration tail_scale = Milliseconds(2);
  double tail_index = 1.1;
  // Global stabilization time (partially synchronous only), in true time.
  Instant global_stabilization_time;

  static SystemModel Synchronous(Duration min, Duration bound);
  static SystemModel PartiallySynchronous(Instant gst, Duration min, Duration bound);
  static SystemModel Asynchronous(Duration min, Duration tail_scale, double tail_index);

  DelayModel Bounded() const;
  DelayModel Unbounded() const;
};

// --- Partition shapes (sets of cut links) -------------------------------------------
// Every directed link between distinct members of `nodes`.
std::vector<Link> AllLinks(const std::vector<NodeId>& nodes);
// Cuts `node` off from every other member, both ways.
std::vector<Link> IsolateCuts(NodeId node, const std::vector<NodeId>& nodes);
// Cuts every link between different groups, both ways (a clean partition). Nodes
// in no group are left alone.
std::vector<Link> GroupCuts(const std::vector<std::vector<NodeId>>& groups);
// A random split into two halves (the smaller has floor(n/2) members), both ways.
std::vector<Link> HalvesCuts(const std::vector<NodeId>& nodes, Rng& rng);
// One-way: messages from any of `from` to any of `to` are dropped; replies flow.
std::vector<Link> OneWayCuts(const std::vector<NodeId>& from, const std::vector<NodeId>& to);
// Two halves that can both reach one `bridge` node but not each other (Jepsen's
// "bridge": the bridge sees a majority on each side).
std::vector<Link> BridgeCuts(const std::vector<NodeId>& nodes, NodeId bridge);
// Jepsen's "majorities ring": every node sees a majority, no two nodes the same one.
// Each node keeps links only to the nodes within ring distance majority/2 on either
// side, so it sees a majority (itself included). Fewer than 4 nodes: no cuts.
std::vector<Link> MajoritiesRingCuts(const std::vector<NodeId>& nodes);

// "1->2 1->3", for traces and schedules.
std::string FormatLinks(const std::vector<Link>& links);

}  // namespace murphy::sim
