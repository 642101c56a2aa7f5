// murphy/scenarios/scenarios.h — the built scenarios, one accessor each. Internal to
// scenarios/: callers use AllScenarios() and FindScenario() from scenario.h.
#pragma once

#include "murphy/scenarios/scenario.h"

namespace murphy {

const Scenario& RequestFateScenario();
const Scenario& TimeoutDilemmaScenario();
const Scenario& ThunderingHerdScenario();
const Scenario& PartitionCpApScenario();
const Scenario& LwwClockSkewScenario();
const Scenario& TrueTimeCommitWaitScenario();
const Scenario& GcPauseLeaseScenario();
const Scenario& SplitBrainScenario();
const Scenario& CascadeScenario();
const Scenario& TwoGeneralsScenario();
const Scenario& ByzantineBitsScenario();
const Scenario& HealthChecksScenario();
const Scenario& SystemModelsScenario();

}  // namespace murphy
