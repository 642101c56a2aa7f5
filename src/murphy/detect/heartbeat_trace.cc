#include "murphy/detect/heartbeat_trace.h"

#include <algorithm>

#include "murphy/core/assert.h"

namespace murphy {

Status ValidateHeartbeatTraceConfig(const HeartbeatTraceConfig& config) {
  if (config.length <= Duration::Zero() || config.length.is_infinite()) {
    return InvalidArgumentError("length must be positive and finite");
  }
  if (config.interval <= Duration::Zero()) return InvalidArgumentError("interval must be > 0");
  if (config.base_latency < Duration::Zero()) return InvalidArgumentError("base_latency must be >= 0");
  if (config.jitter < Duration::Zero()) return InvalidArgumentError("jitter must be >= 0");
  if (config.spike_mean < Duration::Zero()) return InvalidArgumentError("spike_mean must be >= 0");
  if (!(config.spike_probability >= 0.0 && config.spike_probability <= 1.0)) {
    return InvalidArgumentError("spike_probability must be in [0, 1]");
  }
  if (!(config.pause_probability >= 0.0 && config.pause_probability < 1.0)) {
    return InvalidArgumentError("pause_probability must be in [0, 1)");
  }
  if (config.pause_min < Duration::Zero() || config.pause_max < config.pause_min) {
    return InvalidArgumentError("need 0 <= pause_min <= pause_max");
  }
  if (config.crash_after.has_value() &&
      (*config.crash_after < Duration::Zero() || *config.crash_after > config.length)) {
    return InvalidArgumentError("crash_after must be within [0, length]");
  }
  if (config.max_heartbeat_count <= 0 || config.length / config.interval > config.max_heartbeat_count) {
    return InvalidArgumentError("length / interval exceeds max_heartbeat_count");
  }
  return Status::Ok();
}

Result<HeartbeatTrace> GenerateHeartbeatTrace(const HeartbeatTraceConfig& config, Rng& rng) {
  MURPHY_RETURN_IF_ERROR(ValidateHeartbeatTraceConfig(config));
  HeartbeatTrace trace;
  trace.start = config.start;
  trace.end = config.start + config.length;
  if (config.crash_after.has_value()) trace.crash = config.start + *config.crash_after;
  const Instant stop_sending = trace.crash.value_or(trace.end);

  Instant send = config.start;
  while (send < stop_sending) {
    if (rng.Bernoulli(config.pause_probability)) {
      const Duration pause = rng.UniformDuration(config.pause_min, config.pause_max);
      trace.pauses.push_back({send, pause});
      send += pause;  // the scheduled heartbeat goes out when the pause ends
      if (send >= stop_sending) break;
    }
    Duration delay = config.base_latency;
    if (config.jitter_distribution == JitterDistribution::kNormal) {
      delay += SecondsDouble(rng.Normal() * ToSecondsDouble(config.jitter));
    } else {
      delay += rng.ExponentialDuration(config.jitter);
    }
    delay = Max(delay, Duration::Zero());
    if (rng.Bernoulli(config.spike_probability)) {
      const Duration extra = rng.ExponentialDuration(config.spike_mean);
      trace.spikes.push_back({send, extra});
      delay += extra;
    }
    const Instant arrival = send + delay;
    if (arrival < trace.end) trace.arrivals.push_back(arrival);
    send += config.interval;
  }
  // Jitter and spikes reorder deliveries; the receiver sees them in arrival order.
  std::sort(trace.arrivals.begin(), trace.arrivals.end());
  MURPHY_ASSERT(trace.arrivals.size() <= static_cast<size_t>(config.max_heartbeat_count) + 1);
  return trace;
}

HeartbeatTraceConfig TimeoutDilemmaTraceConfig() {
  HeartbeatTraceConfig config;
  config.length = Minutes(15);
  config.interval = Seconds(1);
  config.jitter = Milliseconds(20);
  config.spike_probability = 0.03;
  config.spike_mean = Milliseconds(300);
  config.pause_probability = 0.01;
  config.pause_min = Milliseconds(1500);
  config.pause_max = Seconds(4);
  config.crash_after = Minutes(12);
  return config;
}

}  // namespace murphy
