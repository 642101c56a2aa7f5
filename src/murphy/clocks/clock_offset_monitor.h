// murphy/clocks/clock_offset_monitor.h — estimates peers' clock offsets and decides
// when this node's clock is too far from the cluster's to keep serving.
//
// Sources: NTP's on-wire offset/delay calculation and its clock filter, which trusts
// the sample with the smallest round trip (RFC 5905, sections 8 and 10); CockroachDB's
// RemoteClockMonitor (pkg/rpc/clock_offset.go): a node whose clock is off by more than
// 0.8 x max_offset from a majority of the cluster must stop serving, because the HLC's
// max-offset guard and uncertainty intervals are only correct while clocks stay within
// max_offset of each other.
//
// Contract:
// - Record() takes one ping round trip: local send t0, peer receive t1, peer send t2,
//   local receive t3 (wall clocks; the peer's two readings come back in its reply).
//     offset      = ((t1 - t0) + (t2 - t3)) / 2   (peer clock minus ours; > 0: peer ahead)
//     uncertainty = round trip / 2 = ((t3 - t0) - (t2 - t1)) / 2, rounded up
//   The true offset lies within offset +/- uncertainty if the clocks did not jump during
//   the round trip.
// - Per peer it keeps the last kOffsetSamplesPerPeer samples; the estimate is the fresh
//   one (younger than estimate_ttl on the *monotonic* clock) with the smallest
//   uncertainty, latest first on ties (NTP's clock filter). Samples older than the ttl
//   expire; a peer with no fresh sample has no estimate. At most max_peers peers.
// - Evaluate(): a peer is *far* only when the evidence proves it, i.e.
//   |offset| - uncertainty > 0.8 x max_offset; *near* otherwise; a peer whose best
//   uncertainty exceeds max_uncertainty is *inconclusive* and not counted at all (a
//   slow network must not fence a node, nor vouch for it). This node must fence itself
//   when the far peers are a strict majority of the known cluster — this node plus its
//   conclusive peers: 2 x far > far + near + 1. (CockroachDB's wording is "at least half
//   of the other nodes"; we use the spec's "majority of the cluster", which in a
//   3-node cluster with one bad clock fences only the bad node.) A 2-node cluster can
//   never tell which clock is wrong and never fences.
// Thread safety: none; owned by one event loop.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

inline constexpr size_t kOffsetSamplesPerPeer = 8;

// The four timestamps of one NTP-style ping.
struct RoundTripSample {
  WallTime local_send;      // t0, our clock
  WallTime remote_receive;  // t1, peer's clock
  WallTime remote_send;     // t2, peer's clock
  WallTime local_receive;   // t3, our clock
};

// One peer's current estimate: true offset within offset +/- uncertainty.
struct PeerOffset {
  NodeId peer;
  Duration offset;       // peer clock minus our clock
  Duration uncertainty;  // half the round trip of the chosen sample
  Instant measured_at;   // monotonic time of the chosen sample
};

struct OffsetVerdict {
  int near_peers = 0;
  int far_peers = 0;
  int inconclusive_peers = 0;
  bool must_fence = false;
};

class ClockOffsetMonitor {
 public:
  struct Options {
    Duration max_offset = Milliseconds(500);
    // Far means beyond tolerated_fraction x max_offset (CockroachDB: 0.8).
    double tolerated_fraction = 0.8;
    Duration estimate_ttl = Seconds(10);
    Duration max_uncertainty = Milliseconds(250);
    size_t max_peers = 64;
  };

  // REQUIRES: max_offset > 0; 0 < tolerated_fraction <= 1; estimate_ttl > 0;
  // max_uncertainty >= 0; max_peers > 0.
  explicit ClockOffsetMonitor(Options options);

  // Records one round trip with `peer`, measured at monotonic time `now`. Fails, with no
  // change, with kInvalidArgument when the timestamps are impossible (t3 < t0, t2 < t1,
  // or a negative round trip: a clock jumped mid-flight), and with kResourceExhausted
  // when `peer` is new and max_peers peers have fresh estimates.
  // REQUIRES: `now` is not earlier than the `now` of previous calls.
  Status Record(NodeId peer, const RoundTripSample& sample, Instant now);

  // The estimate for `peer`, if it has a fresh one.
  std::optional<PeerOffset> Estimate(NodeId peer, Instant now) const;
  // Every fresh estimate, sorted by peer, for metrics (murphy_clock_offset_seconds).
  std::vector<PeerOffset> Estimates(Instant now) const;
  // Drops everything known about `peer` (it left the cluster).
  void Forget(NodeId peer);

  OffsetVerdict Evaluate(Instant now) const;
  // OK, or kFailedPrecondition explaining why this node must fence itself.
  Status Verify(Instant now) const;

  // tolerated_fraction x max_offset.
  Duration far_threshold() const { return far_threshold_; }
  const Options& options() const { return options_; }

 private:
  struct Sample {
    Duration offset;
    Duration uncertainty;
    Instant measured_at;
  };
  struct Peer {
    NodeId node;
    std::array<Sample, kOffsetSamplesPerPeer> samples;
    size_t count = 0;  // valid samples, <= kOffsetSamplesPerPeer
    size_t next = 0;   // ring position of the next write
  };

  std::optional<PeerOffset> BestFresh(const Peer& peer, Instant now) const;
  void ExpireStale(Instant now);

  Options options_;
  Duration far_threshold_;
  std::vector<Peer> peers_;  // sorted by node
};

}  // namespace murphy
