#include "murphy/scenarios/scenario.h"

#include "murphy/core/assert.h"

namespace murphy {

double RunOutcome::Get(std::string_view name) const {
  for (const Figure& figure : figures) {
    if (figure.name == name) return figure.value;
  }
  MURPHY_ASSERT_MSG(false, "no figure of that name");
  return 0;
}

ScenarioResult RunScenario(const Scenario& scenario, uint64_t seed, const RunOptions& options) {
  ScenarioResult result;
  result.scenario = &scenario;
  result.seed = seed;
  result.without = scenario.Run(seed, /*with_remedy=*/false, options);
  result.with = scenario.Run(seed, /*with_remedy=*/true, options);
  return result;
}

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario* scenario : AllScenarios()) {
    if (scenario->name() == name) return scenario;
  }
  return nullptr;
}

}  // namespace murphy
