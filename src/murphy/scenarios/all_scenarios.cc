#include <array>

#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"

namespace murphy {

std::span<const Scenario* const> AllScenarios() {
  // In the chapter's order.
  static const std::array<const Scenario*, 13> scenarios = {
      &RequestFateScenario(),
      &TimeoutDilemmaScenario(),
      &ThunderingHerdScenario(),
      &PartitionCpApScenario(),
      &LwwClockSkewScenario(),
      &TrueTimeCommitWaitScenario(),
      &GcPauseLeaseScenario(),
      &SplitBrainScenario(),
      &CascadeScenario(),
      &TwoGeneralsScenario(),
      &ByzantineBitsScenario(),
      &HealthChecksScenario(),
      &SystemModelsScenario(),
  };
  return scenarios;
}

}  // namespace murphy
