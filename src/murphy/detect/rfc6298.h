// murphy/detect/rfc6298.h — adaptive timeouts from RFC 6298 ("Computing TCP's
// Retransmission Timer", Paxson, Allman, Chu, Sargent, 2011).
//
// `Rfc6298Estimator` is the RFC's estimator, usable as a request timeout:
//   first sample R (2.2):  SRTT = R, RTTVAR = R / 2
//   later samples R' (2.3): RTTVAR = (1 - beta) RTTVAR + beta |SRTT - R'|   (first)
//                           SRTT   = (1 - alpha) SRTT + alpha R'            (then)
//   RTO = SRTT + max(G, K * RTTVAR), clamped to [min_rto, max_rto] (2.4, 2.5),
//   with alpha = 1/8, beta = 1/4, K = 4, and RTO = initial_rto (1 s, 2.1) before the
//   first sample.
//   Karn's algorithm (section 3): a sample from a request that was retransmitted is
//   ambiguous (which copy was answered?) and is not used. On a timeout the RTO backs
//   off: RTO = min(2 * RTO, max_rto) (5.5); the backed-off RTO is kept until a valid
//   sample arrives, which recomputes it from SRTT and RTTVAR.
//   Arithmetic is in integer nanoseconds (the RFC's shifts are exact divisions by 8
//   and 4 here up to a nanosecond), so results are identical on every platform.
// `Rfc6298Detector` uses the same estimator as a heartbeat failure detector: every
// inter-arrival interval is a sample (heartbeats are never retransmitted, and a late
// heartbeat is real evidence of variance, so it is learned from), and the peer is
// suspected when the silence exceeds the RTO. Suspicion = elapsed / RTO.
// Thread safety: none (one event loop). Ownership: value types.
#pragma once

#include <cstdint>
#include <string_view>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/detect/failure_detector.h"

namespace murphy {

struct Rfc6298Config {
  Duration initial_rto = Seconds(1);             // (2.1)
  Duration min_rto = Seconds(1);                 // (2.4) "SHOULD be rounded up to 1 second"
  Duration max_rto = Seconds(60);                // (2.5) "at least 60 seconds"
  Duration clock_granularity = Milliseconds(1);  // G
};

// OK, or InvalidArgument naming the first broken field:
// 0 < min_rto <= initial_rto <= max_rto, clock_granularity >= 0.
Status ValidateRfc6298Config(const Rfc6298Config& config);

class Rfc6298Estimator {
 public:
  using Config = Rfc6298Config;
  // Samples are clamped to this: one absurd measurement must not overflow the
  // estimator, and nothing here is meant to wait an hour.
  static constexpr Duration kMaxSample = Hours(1);

  // REQUIRES: ValidateRfc6298Config(config).ok().
  explicit Rfc6298Estimator(const Rfc6298Config& config = {});

  // Records a round-trip time measured for a request. A retransmitted request's sample
  // is ignored (Karn) and leaves any backoff in place. REQUIRES: rtt >= 0.
  void OnSample(Duration rtt, bool retransmitted);
  // The request timed out: back off the RTO (doubling, up to max_rto).
  void OnTimeout();
  // The current retransmission timeout: how long to wait for the next reply.
  Duration Rto() const { return rto_; }

  bool has_sample() const { return has_sample_; }
  // SRTT and RTTVAR; zero before the first sample.
  Duration smoothed_rtt() const { return smoothed_rtt_; }
  Duration rtt_variation() const { return rtt_variation_; }
  // Timeouts since the last valid sample.
  int64_t backoff_count() const { return backoff_count_; }

 private:
  Duration ClampedRto(Duration rto) const;

  Rfc6298Config config_;
  bool has_sample_ = false;
  Duration smoothed_rtt_;
  Duration rtt_variation_;
  Duration rto_;
  int64_t backoff_count_ = 0;
};

class Rfc6298Detector final : public FailureDetector {
 public:
  // REQUIRES: ValidateRfc6298Config(config).ok().
  explicit Rfc6298Detector(const Rfc6298Config& config = {}) : estimator_(config) {}

  void Heartbeat(Instant now) override;
  // True iff monitoring and the silence exceeds the current RTO.
  bool Suspect(Instant now) const override;
  double Suspicion(Instant now) const override;
  void NoteLocalPause(Instant from, Duration length) override { arrivals_.NoteLocalPause(from, length); }
  std::string_view name() const override { return "rfc6298"; }

  const Rfc6298Estimator& estimator() const { return estimator_; }

 private:
  Rfc6298Estimator estimator_;
  ArrivalTracker arrivals_;
};

}  // namespace murphy
