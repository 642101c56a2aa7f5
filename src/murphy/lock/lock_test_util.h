// Test helpers for lock/: a machine plus per-client sequence numbers, so a test reads
// as the story it tells. Test-only; not part of murphy_lock.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "murphy/lock/lock_machine.h"

namespace murphy::lock::testing {

class Harness {
 public:
  explicit Harness(const LockMachineOptions& options = {}) : machine(options) {}

  RequestId Next(NodeId client) { return {client, ++sequences_[client]}; }

  ApplyOutput Apply(const Command& command) {
    ApplyOutput output = machine.Apply(command);
    const Status invariants = machine.CheckInvariants();
    EXPECT_TRUE(invariants.ok()) << invariants.ToString();
    return output;
  }

  LeaseId GrantLease(NodeId client, Duration ttl = Seconds(10)) {
    ApplyOutput output = Apply(lock::GrantLease{Next(client), ttl});
    EXPECT_TRUE(output.result.status.ok()) << output.result.status.ToString();
    return output.result.lease;
  }
  ApplyOutput Acquire(NodeId client, LeaseId lease, const std::string& name, AcquireMode mode = AcquireMode::kWait,
                      Duration wait_timeout = Duration::Zero()) {
    return Apply(lock::Acquire{Next(client), name, lease, mode, wait_timeout});
  }
  ApplyOutput Release(NodeId client, LeaseId lease, const std::string& name) {
    return Apply(lock::Release{Next(client), name, lease});
  }
  ApplyOutput KeepAlive(NodeId client, LeaseId lease) { return Apply(lock::KeepAlive{Next(client), lease}); }
  ApplyOutput Revoke(NodeId client, LeaseId lease) { return Apply(lock::RevokeLease{Next(client), lease}); }
  // The leader's verdict for the lease's current generation.
  ApplyOutput Expire(LeaseId lease) {
    std::optional<LeaseInfo> info = machine.GetLease(lease);
    EXPECT_TRUE(info.has_value());
    return Apply(ExpireLease{lease, info ? info->renewals : 0});
  }

  // Grants and releases `name` until its counter reaches `token`.
  void AdvanceTokenTo(const std::string& name, FencingToken token) {
    const NodeId client(999);
    const LeaseId lease = GrantLease(client);
    for (;;) {
      std::optional<LockInfo> info = machine.GetLock(name);
      if (info && info->token >= token) break;
      ASSERT_TRUE(Acquire(client, lease, name, AcquireMode::kTry).result.status.ok());
      ASSERT_TRUE(Release(client, lease, name).result.status.ok());
    }
    ASSERT_TRUE(Revoke(client, lease).result.status.ok());
  }

  LockMachine machine;

 private:
  std::map<NodeId, uint64_t> sequences_;
};

inline const Event* FindEvent(const std::vector<Event>& events, EventKind kind) {
  for (const Event& event : events) {
    if (event.kind == kind) return &event;
  }
  return nullptr;
}

}  // namespace murphy::lock::testing
