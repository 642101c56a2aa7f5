// murphy/scenarios/sim_support.h — small helpers shared by the scenarios that run in
// the simulator (sim/). Internal to scenarios/.
//
// Contract: a scenario drives a Simulator from outside its processes (between
// events): it runs until something observable happened, then injects the next fault.
// These helpers turn the simulator's Status results into assertions, because a
// scenario whose run hits the event limit is a bug in the scenario, not an outcome.
// Thread safety: none; each run owns its Simulator.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "murphy/core/assert.h"
#include "murphy/core/time.h"
#include "murphy/sim/network.h"
#include "murphy/sim/simulator.h"

namespace murphy::scenarios {

// Options for a scenario's simulator: the seed, no trace, a generous event limit.
inline sim::SimOptions ScenarioSimOptions(uint64_t seed) {
  sim::SimOptions options;
  options.seed = seed;
  options.max_events = 20'000'000;
  return options;
}

// A link with a one-way delay uniform in [low, high] and no faults.
inline sim::LinkConfig UniformLink(Duration low, Duration high) {
  sim::LinkConfig link;
  link.delay = sim::DelayModel::Uniform(low, high);
  return link;
}

// True time since the start of the run, in milliseconds: "t=1610.2ms".
inline std::string FormatTrueTime(Instant when) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "t=%.1fms", static_cast<double>(when.nanoseconds()) / 1e6);
  return buffer;
}

// Runs every event up to `deadline`. REQUIRES: the event limit is not hit.
inline void RunTo(sim::Simulator& simulator, Instant deadline) {
  const Status status = simulator.RunUntil(deadline);
  MURPHY_ASSERT_MSG(status.ok(), "scenario simulation hit the event limit");
}

// Runs until `predicate` holds or `limit` passes; whether it held.
// REQUIRES: the event limit is not hit.
inline bool RunUntilHolds(sim::Simulator& simulator, const std::function<bool()>& predicate, Instant limit) {
  const Result<bool> held = simulator.RunUntil(predicate, limit);
  MURPHY_ASSERT_MSG(held.ok(), "scenario simulation hit the event limit");
  return *held;
}

}  // namespace murphy::scenarios
