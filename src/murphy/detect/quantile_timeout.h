// murphy/detect/quantile_timeout.h — an adaptive timeout from a high quantile of
// recent samples: timeout = clamp(quantile(window) x multiplier, floor, ceiling).
//
// This is the chapter's advice ("measure P99 latency under normal conditions and set
// the timeout 2-3x higher"), made continuous: the quantile is taken over a bounded
// sliding window of the most recent samples (request latencies, or heartbeat
// inter-arrival times), so the timeout follows the network as it changes, and a
// floor and a ceiling keep it sane while the window is small or poisoned.
// The quantile is the nearest-rank one: the smallest sample s such that at least
// q * n samples are <= s (index ceil(q * n) - 1 in sorted order).
// Keep one window per peer (`PerPeer<QuantileTimeout>`, per_peer.h): a single global
// window lets one slow host inflate everybody's timeout.
// Cost: the window is kept both in arrival order (a ring) and sorted, so a sample is
// O(log n) search plus an O(n) memmove of at most `window_sample_count` integers, and
// Timeout() is O(1). No allocation after construction.
// Thread safety: none (one event loop). Ownership: value types.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/detect/failure_detector.h"

namespace murphy {

struct QuantileTimeoutConfig {
  double quantile = 0.99;
  double multiplier = 2.0;  // "k"
  Duration floor = Milliseconds(10);
  Duration ceiling = Seconds(60);
  Duration initial_timeout = Seconds(1);  // used before the first sample
  int64_t window_sample_count = 1000;
};

// OK, or InvalidArgument: 0 < quantile <= 1, multiplier >= 1, 0 < floor <= ceiling,
// initial_timeout within [floor, ceiling], 0 < window_sample_count <= 1'000'000.
Status ValidateQuantileTimeoutConfig(const QuantileTimeoutConfig& config);

class QuantileTimeout {
 public:
  using Config = QuantileTimeoutConfig;

  // REQUIRES: ValidateQuantileTimeoutConfig(config).ok().
  explicit QuantileTimeout(const QuantileTimeoutConfig& config = {});

  // Adds a sample, evicting the oldest when the window is full.
  // REQUIRES: sample >= 0. Samples are clamped to the ceiling: anything longer times
  // out anyway, and the clamp bounds the arithmetic.
  void AddSample(Duration sample);
  // clamp(Quantile() * multiplier, floor, ceiling), or initial_timeout when empty.
  Duration Timeout() const;
  // The configured quantile of the window. REQUIRES: sample_count() > 0.
  Duration Quantile() const;

  int64_t sample_count() const { return static_cast<int64_t>(sorted_nanoseconds_.size()); }
  const QuantileTimeoutConfig& config() const { return config_; }

 private:
  QuantileTimeoutConfig config_;
  std::vector<int64_t> ring_nanoseconds_;    // arrival order; capacity = window
  std::vector<int64_t> sorted_nanoseconds_;  // the same samples, ascending
  size_t next_ = 0;  // ring slot for the next sample
};

// A heartbeat detector on inter-arrival times: suspect when the silence exceeds the
// quantile timeout. Suspicion = elapsed / Timeout().
class QuantileTimeoutDetector final : public FailureDetector {
 public:
  // REQUIRES: ValidateQuantileTimeoutConfig(config).ok().
  explicit QuantileTimeoutDetector(const QuantileTimeoutConfig& config = {}) : timeout_(config) {}

  void Heartbeat(Instant now) override;
  bool Suspect(Instant now) const override;
  double Suspicion(Instant now) const override;
  void NoteLocalPause(Instant from, Duration length) override { arrivals_.NoteLocalPause(from, length); }
  std::string_view name() const override { return "quantile"; }

  const QuantileTimeout& timeout() const { return timeout_; }

 private:
  QuantileTimeout timeout_;
  ArrivalTracker arrivals_;
};

}  // namespace murphy
