// murphy/detect/heartbeat_trace.h — synthetic, seeded heartbeat traces for comparing
// failure detectors (the `timeout-dilemma` scenario).
//
// Model: a sender schedules a heartbeat every `interval` from `start`. Each heartbeat
// travels `base_latency` plus jitter (normal with standard deviation `jitter`, or
// exponential with mean `jitter`, never negative in total), plus — with probability
// `spike_probability` — a latency spike (an extra exponential delay with mean
// `spike_mean`: a congested switch, a retransmission). With probability
// `pause_probability` per scheduled heartbeat the sender freezes instead, for a
// length uniform in [pause_min, pause_max] (a stop-the-world GC, a VM migration):
// nothing is sent during the pause, and the schedule resumes when it ends. Pauses are
// NOT crashes: the peer is alive throughout. At `crash_after` (if set) the sender
// crashes for good: nothing sent at or after that instant arrives.
// The receiver sees the arrival times in order; ground truth (pauses, spikes, crash)
// is kept alongside so that reports can draw it.
// Determinism: everything is drawn from the Rng passed in, with murphy's own
// distributions, so a seed gives the same trace on every platform.
// Thread safety: values and a pure function. Ownership: the trace owns its vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "murphy/core/rng.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"

namespace murphy {

enum class JitterDistribution : uint8_t { kNormal, kExponential };

struct HeartbeatTraceConfig {
  Instant start = Instant::FromNanoseconds(0);
  Duration length = Minutes(10);
  Duration interval = Seconds(1);
  Duration base_latency = Milliseconds(1);
  JitterDistribution jitter_distribution = JitterDistribution::kNormal;
  Duration jitter = Milliseconds(20);
  double spike_probability = 0.0;
  Duration spike_mean = Milliseconds(300);
  double pause_probability = 0.0;
  Duration pause_min = Seconds(1);
  Duration pause_max = Seconds(3);
  std::optional<Duration> crash_after;  // from start; nullopt: no crash
  // A limit on the trace size: length / interval must not exceed it.
  int64_t max_heartbeat_count = 10'000'000;
};

// OK, or InvalidArgument naming the broken field.
Status ValidateHeartbeatTraceConfig(const HeartbeatTraceConfig& config);

struct HeartbeatTrace {
  struct Span {
    Instant from;
    Duration length;
  };

  Instant start;
  Instant end;                   // start + length: replay stops here
  std::vector<Instant> arrivals;  // ascending
  std::optional<Instant> crash;   // the real crash, if any
  std::vector<Span> pauses;       // sender pauses (ground truth, not crashes)
  std::vector<Span> spikes;       // [send time, extra delay) of spiked heartbeats
};

// Generates a trace. InvalidArgument if the config is invalid.
Result<HeartbeatTrace> GenerateHeartbeatTrace(const HeartbeatTraceConfig& config, Rng& rng);

// The chapter's timeout dilemma as a trace: a heartbeat every second with 20 ms
// jitter, 3 % latency spikes (mean 300 ms), GC-like sender pauses of 1.5-4 s about
// every 100 s, and a real crash at 12 minutes of a 15-minute trace. The detect tests
// assert the trade-off on it and the `timeout-dilemma` scenario judges it.
HeartbeatTraceConfig TimeoutDilemmaTraceConfig();

}  // namespace murphy
