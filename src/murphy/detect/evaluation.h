// murphy/detect/evaluation.h — replays a heartbeat trace through a failure detector
// and measures the two sides of the chapter's timeout dilemma: how fast the real
// crash is detected, and how often (and for how long) a live peer was suspected.
//
// Replay: time advances from trace.start to trace.end in fixed `step`s. Before each
// sample at time t, every heartbeat that arrived at or before t is delivered at its
// own arrival time; then Suspect(t) is read. Consecutive suspected samples form an
// episode [first suspected sample, first unsuspected sample), so durations are
// measured with a resolution of `step`.
// - Detection time: the crash is detected by the episode still open at the end of the
//   trace (a suspicion "that persists"); detection time = its start - crash, or zero
//   if it began before the crash (a false suspicion that the crash made true). nullopt
//   when there is no crash or the detector is not suspecting at the end.
// - False positives: episodes that began before the crash (every episode if there is
//   no crash); false suspected time: the part of all episodes before the crash.
// This is a public API because the `timeout-dilemma` demo tabulates and plots it.
// Thread safety: a pure function. Ownership: the evaluation owns its vectors; the
// detector made by the factory lives only during the call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/detect/failure_detector.h"
#include "murphy/detect/heartbeat_trace.h"

namespace murphy {

using DetectorFactory = std::function<std::unique_ptr<FailureDetector>()>;

struct SuspicionEpisode {
  Instant from;
  Instant to;  // exclusive; trace.end for the episode still open at the end
};

struct DetectorEvaluation {
  // Limits on what is recorded (counts stay exact beyond them).
  static constexpr int64_t kMaxRecordedEpisodes = 10'000;
  static constexpr int64_t kMaxSteps = 100'000'000;

  std::string name;                       // the detector's name()
  std::optional<Duration> detection_time;  // see above
  int64_t false_positive_count = 0;
  Duration false_suspected_time;
  std::vector<SuspicionEpisode> episodes;  // the first kMaxRecordedEpisodes, in order
  int64_t sample_count = 0;
};

// Replays `trace` through a fresh detector from `factory`. InvalidArgument when
// step <= 0, when the trace would need more than kMaxSteps samples, or when the
// factory returns null.
Result<DetectorEvaluation> EvaluateDetector(const HeartbeatTrace& trace, const DetectorFactory& factory,
                                            Duration step);

}  // namespace murphy
