// murphy/scenarios/scenario.h — the chapter's stories as runnable, judged scenarios.
//
// Contract: a Scenario retells one story of the chapter and runs it twice from one
// seed: once without the remedy (a checker must find the failure the chapter
// describes) and once with it (the checker must pass). Runs are deterministic: the
// same seed gives the same outcome and figures. A scenario is *demonstrated* when
// its "without" run fails and its "with" run passes; one that does not is a bug in
// murphy, reported as such (a scenario whose failure never happens shows nothing).
// Scenarios are stateless objects; Run may be called from several threads at once
// on different seeds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace murphy {

// One named measurement of a run ("writes_lost", "detection_time_ms"). Units last.
struct Figure {
  std::string name;
  double value = 0;
};

struct RunOutcome {
  bool violated = false;      // the checker found the failure
  std::string violation;      // what the checker found, naming the operations involved
  std::string summary;        // one line for the table
  std::vector<Figure> figures;

  void Add(std::string name, double value) { figures.push_back({std::move(name), value}); }
  // REQUIRES: a figure of that name was added.
  double Get(std::string_view name) const;
};

class Scenario {
 public:
  virtual ~Scenario() = default;
  virtual std::string_view name() const = 0;
  // The chapter section it retells.
  virtual std::string_view section() const = 0;
  // What the remedy is, in a few words.
  virtual std::string_view remedy() const = 0;
  virtual RunOutcome Run(uint64_t seed, bool with_remedy) const = 0;
};

struct ScenarioResult {
  const Scenario* scenario = nullptr;
  uint64_t seed = 0;
  RunOutcome without;
  RunOutcome with;
  bool demonstrated() const { return without.violated && !with.violated; }
};

ScenarioResult RunScenario(const Scenario& scenario, uint64_t seed);

// Every scenario built so far, in the chapter's order.
std::span<const Scenario* const> AllScenarios();
// nullptr if there is no scenario of that name.
const Scenario* FindScenario(std::string_view name);

}  // namespace murphy
