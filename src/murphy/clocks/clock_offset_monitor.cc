#include "murphy/clocks/clock_offset_monitor.h"

#include <algorithm>
#include <string>

#include "murphy/core/assert.h"

namespace murphy {

ClockOffsetMonitor::ClockOffsetMonitor(Options options)
    : options_(options), far_threshold_(options.max_offset * options.tolerated_fraction) {
  MURPHY_ASSERT(options_.max_offset > Duration::Zero());
  MURPHY_ASSERT(options_.tolerated_fraction > 0.0);
  MURPHY_ASSERT(options_.tolerated_fraction <= 1.0);
  MURPHY_ASSERT(options_.estimate_ttl > Duration::Zero());
  MURPHY_ASSERT(options_.max_uncertainty >= Duration::Zero());
  MURPHY_ASSERT(options_.max_peers > 0);
}

Status ClockOffsetMonitor::Record(NodeId peer, const RoundTripSample& sample, Instant now) {
  const Duration local_elapsed = sample.local_receive - sample.local_send;
  const Duration remote_elapsed = sample.remote_send - sample.remote_receive;
  if (local_elapsed < Duration::Zero()) {
    return InvalidArgumentError("round trip received before it was sent: local clock stepped back");
  }
  if (remote_elapsed < Duration::Zero()) {
    return InvalidArgumentError("peer replied before it received the ping: peer clock stepped back");
  }
  const Duration round_trip = local_elapsed - remote_elapsed;
  if (round_trip < Duration::Zero()) {
    return InvalidArgumentError("peer held the ping longer than the round trip took: a clock jumped");
  }
  const Duration offset =
      ((sample.remote_receive - sample.local_send) + (sample.remote_send - sample.local_receive)) / 2;
  // Round up: an uncertainty must never understate.
  const Duration uncertainty = (round_trip + Nanoseconds(1)) / 2;

  ExpireStale(now);
  auto it = std::lower_bound(peers_.begin(), peers_.end(), peer,
                             [](const Peer& entry, NodeId node) { return entry.node < node; });
  if (it == peers_.end() || it->node != peer) {
    if (peers_.size() >= options_.max_peers) {
      return ResourceExhaustedError("clock offset monitor tracks max_peers (" +
                                    std::to_string(options_.max_peers) + ") peers already");
    }
    it = peers_.insert(it, Peer{peer, {}, 0, 0});
  }
  it->samples[it->next] = Sample{offset, uncertainty, now};
  it->next = (it->next + 1) % kOffsetSamplesPerPeer;
  it->count = std::min(it->count + 1, kOffsetSamplesPerPeer);
  return Status::Ok();
}

std::optional<PeerOffset> ClockOffsetMonitor::BestFresh(const Peer& peer, Instant now) const {
  std::optional<PeerOffset> best;
  for (size_t i = 0; i < peer.count; ++i) {
    const Sample& sample = peer.samples[i];
    if (now - sample.measured_at > options_.estimate_ttl) continue;
    const bool better = !best.has_value() || sample.uncertainty < best->uncertainty ||
                        (sample.uncertainty == best->uncertainty && sample.measured_at > best->measured_at);
    if (better) best = PeerOffset{peer.node, sample.offset, sample.uncertainty, sample.measured_at};
  }
  return best;
}

void ClockOffsetMonitor::ExpireStale(Instant now) {
  std::erase_if(peers_, [&](const Peer& peer) { return !BestFresh(peer, now).has_value(); });
}

std::optional<PeerOffset> ClockOffsetMonitor::Estimate(NodeId peer, Instant now) const {
  auto it = std::lower_bound(peers_.begin(), peers_.end(), peer,
                             [](const Peer& entry, NodeId node) { return entry.node < node; });
  if (it == peers_.end() || it->node != peer) return std::nullopt;
  return BestFresh(*it, now);
}

std::vector<PeerOffset> ClockOffsetMonitor::Estimates(Instant now) const {
  std::vector<PeerOffset> estimates;
  estimates.reserve(peers_.size());
  for (const Peer& peer : peers_) {
    if (auto best = BestFresh(peer, now)) estimates.push_back(*best);
  }
  return estimates;
}

void ClockOffsetMonitor::Forget(NodeId peer) {
  std::erase_if(peers_, [&](const Peer& entry) { return entry.node == peer; });
}

OffsetVerdict ClockOffsetMonitor::Evaluate(Instant now) const {
  OffsetVerdict verdict;
  for (const Peer& peer : peers_) {
    const std::optional<PeerOffset> best = BestFresh(peer, now);
    if (!best.has_value()) continue;
    if (best->uncertainty > options_.max_uncertainty) {
      ++verdict.inconclusive_peers;
    } else if (Abs(best->offset) - best->uncertainty > far_threshold_) {
      ++verdict.far_peers;
    } else {
      ++verdict.near_peers;
    }
  }
  // The known cluster is this node (near itself) plus its conclusive peers.
  const int cluster = verdict.near_peers + verdict.far_peers + 1;
  verdict.must_fence = 2 * verdict.far_peers > cluster;
  return verdict;
}

Status ClockOffsetMonitor::Verify(Instant now) const {
  const OffsetVerdict verdict = Evaluate(now);
  if (!verdict.must_fence) return Status::Ok();
  return FailedPreconditionError(
      "clock offset: this node's clock is more than " + FormatDuration(far_threshold_) + " away from " +
      std::to_string(verdict.far_peers) + " of " +
      std::to_string(verdict.near_peers + verdict.far_peers + 1) + " known cluster members (max offset " +
      FormatDuration(options_.max_offset) + "); it must fence itself");
}

}  // namespace murphy
