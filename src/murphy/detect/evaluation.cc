#include "murphy/detect/evaluation.h"

#include "murphy/core/assert.h"

namespace murphy {
namespace {

// Accounts one finished (or still open) episode against the ground truth.
void Account(const SuspicionEpisode& episode, const std::optional<Instant>& crash, DetectorEvaluation& result) {
  const Instant false_until = crash.value_or(episode.to);
  if (episode.from < false_until) {
    ++result.false_positive_count;
    const Instant false_end = episode.to < false_until ? episode.to : false_until;
    result.false_suspected_time += false_end - episode.from;
  }
  if (static_cast<int64_t>(result.episodes.size()) < DetectorEvaluation::kMaxRecordedEpisodes) {
    result.episodes.push_back(episode);
  }
}

}  // namespace

Result<DetectorEvaluation> EvaluateDetector(const HeartbeatTrace& trace, const DetectorFactory& factory,
                                            Duration step) {
  if (step <= Duration::Zero()) return InvalidArgumentError("step must be > 0");
  if (trace.end < trace.start) return InvalidArgumentError("trace ends before it starts");
  if ((trace.end - trace.start) / step >= DetectorEvaluation::kMaxSteps) {
    return InvalidArgumentError("trace too long for this step");
  }
  std::unique_ptr<FailureDetector> detector = factory ? factory() : nullptr;
  if (detector == nullptr) return InvalidArgumentError("the factory made no detector");

  DetectorEvaluation result;
  result.name = std::string(detector->name());
  size_t next_arrival = 0;
  // A bool and an Instant rather than std::optional: g++ 12 misreports the optional's
  // payload as maybe-uninitialized here.
  bool in_episode = false;
  Instant episode_start;
  for (Instant now = trace.start; now <= trace.end; now += step) {
    while (next_arrival < trace.arrivals.size() && trace.arrivals[next_arrival] <= now) {
      detector->Heartbeat(trace.arrivals[next_arrival]);
      ++next_arrival;
    }
    ++result.sample_count;
    const bool suspected = detector->Suspect(now);
    if (suspected && !in_episode) {
      in_episode = true;
      episode_start = now;
    } else if (!suspected && in_episode) {
      in_episode = false;
      Account({episode_start, now}, trace.crash, result);
    }
  }
  if (in_episode) {
    Account({episode_start, trace.end}, trace.crash, result);
    if (trace.crash.has_value()) result.detection_time = Max(Duration::Zero(), episode_start - *trace.crash);
  }
  MURPHY_ASSERT(result.false_suspected_time >= Duration::Zero());
  return result;
}

}  // namespace murphy
