#include <array>

#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"

namespace murphy {

std::span<const Scenario* const> AllScenarios() {
  // In the chapter's order.
  static const std::array<const Scenario*, 9> scenarios = {
      &RequestFateScenario(),
      &TimeoutDilemmaScenario(),
      &ThunderingHerdScenario(),
      &LwwClockSkewScenario(),
      &TrueTimeCommitWaitScenario(),
      &CascadeScenario(),
      &TwoGeneralsScenario(),
      &ByzantineBitsScenario(),
      &SystemModelsScenario(),
  };
  return scenarios;
}

}  // namespace murphy
