// murphy/detect/per_peer.h — one estimator or detector per peer, with a bound on the
// number of peers.
//
// Why per peer: a timeout learned from everybody's samples is set by the slowest
// host, so one sick node makes the whole cluster slow to notice real crashes (and a
// fast LAN peer gets a WAN peer's timeout). Keeping state per NodeId keeps each
// peer's evidence to itself.
// `T` is any estimator or detector constructible from `typename T::Config`
// (QuantileTimeout, Rfc6298Estimator, PhiAccrualDetector, ...). Entries are created on
// first use up to `max_peer_count`; beyond that, adding fails with ResourceExhausted
// rather than growing without limit — the owner decides whom to forget (Remove).
// Iteration order is by NodeId (std::map), so simulations replay identically.
// Thread safety: none. Ownership: owns its entries; pointers returned stay valid
// until that entry is removed or the PerPeer is destroyed.
#pragma once

#include <cstdint>
#include <map>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy {

template <typename T>
class PerPeer {
 public:
  using Config = typename T::Config;

  // REQUIRES: max_peer_count > 0; config valid for T.
  PerPeer(int64_t max_peer_count, Config config) : max_peer_count_(max_peer_count), config_(std::move(config)) {
    MURPHY_ASSERT(max_peer_count > 0);
  }

  // The entry for `peer`, created with the shared config if new. ResourceExhausted
  // when `peer` is new and max_peer_count entries exist already.
  Result<T*> FindOrAdd(NodeId peer) {
    auto found = entries_.find(peer);
    if (found != entries_.end()) return &found->second;
    if (size() >= max_peer_count_) return ResourceExhaustedError("PerPeer: too many peers");
    return &entries_.try_emplace(peer, config_).first->second;
  }
  // The entry for `peer`, or nullptr.
  T* Find(NodeId peer) {
    auto found = entries_.find(peer);
    return found == entries_.end() ? nullptr : &found->second;
  }
  const T* Find(NodeId peer) const {
    auto found = entries_.find(peer);
    return found == entries_.end() ? nullptr : &found->second;
  }
  // Forgets `peer`; returns whether it was known.
  bool Remove(NodeId peer) { return entries_.erase(peer) > 0; }

  int64_t size() const { return static_cast<int64_t>(entries_.size()); }
  int64_t max_peer_count() const { return max_peer_count_; }
  const Config& config() const { return config_; }
  // Entries in NodeId order, for reports.
  const std::map<NodeId, T>& entries() const { return entries_; }

 private:
  int64_t max_peer_count_;
  Config config_;
  std::map<NodeId, T> entries_;
};

}  // namespace murphy
