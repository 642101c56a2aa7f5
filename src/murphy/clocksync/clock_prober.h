// murphy/clocksync/clock_prober.h — measures this node's wall-clock offset to each
// peer with clock pings (protocol/clock_ping.h) and says whether the offset is within
// the bound that readiness enforces.
//
// Contract:
// - ClockProber pings every peer once per `ping_interval` (the first round as soon as
//   it is constructed) with its wall clock t0, answers every ping it receives with the
//   peer-side readings t1 (arrival) and t2 (departure), and feeds each matched round
//   trip to a ClockOffsetMonitor (clocks/clock_offset_monitor.h: NTP clock filter and
//   the "far from a majority" rule). It answers pings from any source (a pong costs
//   nothing and keeps no state) but pings only the configured peers.
// - Matching: one ping in flight per peer. A pong counts only if it comes from the peer
//   that was pinged and echoes the sequence and origin of the ping in flight; the next
//   round replaces an unanswered ping (it counts as lost), so a late, duplicated or
//   forged pong is dropped and counted, never recorded.
// - Departure from NTP: the local receive time t3 is t0 plus the elapsed time on the
//   *monotonic* clock, not a second wall-clock reading, so a step of our own wall clock
//   while a ping is in flight cannot distort the round trip (the offset is relative to
//   our wall clock at t0).
// - Report() gives the fresh estimates and the monitor's verdict. Readiness
//   (server/node_admin.h) fails only when the verdict is must_fence: the peers whose
//   clocks are provably more than `bound` away are a strict majority of the known
//   cluster. A node with no fresh estimate (single node, the first ping round after
//   start, peers unreachable) or with only inconclusive ones passes: absence of evidence
//   must not keep a node unready forever, and a node cut off from its peers already
//   fails the leader and quorum conditions.
// - Limits: at most ClockOffsetMonitor::Options::max_peers peers; membership changes
//   after start are not followed (the peer list is fixed at construction).
// Thread safety: none; runs on the Env's loop. Ownership: borrows the Env, which must
// outlive it; the destructor cancels its timer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "murphy/clocks/clock_offset_monitor.h"
#include "murphy/core/ids.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"

namespace murphy::clocksync {

struct ClockProberOptions {
  std::vector<NodeId> peers;  // whom to ping; this node's own id is skipped
  Duration ping_interval = Seconds(1);
  // max_offset is the readiness bound; ClockProber sets tolerated_fraction to 1 so that
  // "far" means beyond exactly that bound (the 0.8 margin is for HLC users).
  ClockOffsetMonitor::Options monitor;
};

struct ClockProberMetrics {
  uint64_t pings_sent = 0;
  uint64_t pongs_sent = 0;
  uint64_t samples_recorded = 0;
  uint64_t samples_rejected = 0;  // matched, but the monitor refused the round trip
  uint64_t pongs_unmatched = 0;   // late, duplicated, or not from the pinged peer
  uint64_t pings_lost = 0;        // replaced by the next round without an answer
  uint64_t bad_messages = 0;      // clock frames that failed to decode
};

struct ClockOffsetReport {
  std::vector<PeerOffset> estimates;  // fresh ones, sorted by peer
  OffsetVerdict verdict;
  Duration bound;  // the readiness bound (max_offset)
  // The largest |offset| among the estimates; Zero when there are none.
  Duration max_abs_offset;
  // This node's clock minus the cluster's median clock: the median of {0} and the peers'
  // offsets (peer minus us), negated. nullopt when there are no estimates. A node whose
  // clock alone is wrong sees its own error here; its peers see about zero.
  std::optional<Duration> offset_from_cluster;
  // When verdict.must_fence: the smallest |offset| among the far peers, i.e. this node is
  // at least this far from a majority of the cluster. Zero otherwise.
  Duration offset_to_majority;
};

class ClockProber {
 public:
  // REQUIRES: ping_interval > 0; monitor options valid (see ClockOffsetMonitor).
  ClockProber(Env& env, ClockProberOptions options);
  ~ClockProber();
  ClockProber(const ClockProber&) = delete;
  ClockProber& operator=(const ClockProber&) = delete;

  // True if `payload` is a clock frame (ping or pong, well-formed or not): it is
  // consumed here. False: not ours, untouched; the caller passes it on.
  bool OnMessage(NodeId source, std::span<const uint8_t> payload);

  ClockOffsetReport Report();
  const ClockProberMetrics& metrics() const { return metrics_; }

 private:
  struct InFlight {
    uint64_t sequence = 0;
    WallTime origin;
    Instant sent_at;
  };

  void PingRound();
  void OnPing(NodeId source, uint64_t sequence, WallTime origin, WallTime received);
  void OnPong(NodeId source, uint64_t sequence, WallTime origin, WallTime receive, WallTime transmit);

  Env& env_;
  ClockProberOptions options_;
  ClockOffsetMonitor monitor_;
  std::map<NodeId, InFlight> in_flight_;
  uint64_t next_sequence_ = 1;
  TimerId timer_;
  ClockProberMetrics metrics_;
};

// An EnvWrapper for the node: everything passes through to `target` except inbound
// clock frames, which the ClockProber it owns consumes. Wrappers compose: the target
// may itself be a wrapper, and another wrapper may wrap this one.
// Ownership: borrows `target`, which must outlive it. The node using this Env must be
// destroyed first; the destructor uninstalls the receiver it put on `target`.
class ClockProbeEnv : public EnvWrapper {
 public:
  ClockProbeEnv(Env* target, ClockProberOptions options);
  ~ClockProbeEnv() override;

  // The node's receiver: gets every inbound message that is not a clock frame.
  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) override;

  ClockProber& prober() { return prober_; }

 private:
  ClockProber prober_;
  std::function<void(NodeId, std::span<const uint8_t>)> downstream_;
  bool in_downstream_ = false;
  std::optional<std::function<void(NodeId, std::span<const uint8_t>)>> pending_downstream_;
};

}  // namespace murphy::clocksync
