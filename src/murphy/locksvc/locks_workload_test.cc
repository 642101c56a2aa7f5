// The `locks` workloads end to end: the correct service passes, and the broken store
// is caught by the linearizability check of lock operations (checker 3), not only by
// the store-monotonicity and fencing checkers — a checker that cannot fail is a defect.
#include "murphy/locksvc/locks_workload.h"

#include <gtest/gtest.h>

#include <string>

#include "murphy/sim/runner.h"
#include "murphy/sim/workload.h"

namespace murphy::locksvc {
namespace {

sim::WorkloadRegistry Registry() {
  sim::WorkloadRegistry registry;
  RegisterLocksWorkloads(registry);
  return registry;
}

sim::RunReport RunSeed(const sim::WorkloadRegistry& registry, const std::string& workload, uint64_t seed) {
  sim::RunConfig config;
  config.seed = seed;
  config.workload = workload;
  Result<sim::RunReport> report = sim::RunOnce(registry, config);
  EXPECT_TRUE(report.ok()) << report.status().ToString();
  return report.ok() ? std::move(report).value() : sim::RunReport{};
}

TEST(LocksWorkloadTest, TheServicePassesEveryCheckerIncludingLinearizability) {
  const sim::WorkloadRegistry registry = Registry();
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    const sim::RunReport report = RunSeed(registry, "locks", seed);
    EXPECT_TRUE(report.verdict.ok()) << "seed " << seed << ": " << report.verdict.ToString();
  }
}

TEST(LocksWorkloadTest, LinearizabilityCatchesAStoreThatSkipsTheTokenCheck) {
  const sim::WorkloadRegistry registry = Registry();
  int caught = 0;
  std::string verdicts;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    const sim::RunReport report = RunSeed(registry, "locks-unsafe-store", seed);
    const std::string message(report.verdict.message());
    if (message.find("linearizability of lock operations: not linearizable") != std::string::npos) ++caught;
    verdicts += "seed " + std::to_string(seed) + ": " + message.substr(0, 300) + "\n";
  }
  EXPECT_GT(caught, 0) << verdicts;
}

}  // namespace
}  // namespace murphy::locksvc
