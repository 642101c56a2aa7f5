// murphy/itest/write_ledger.h — what one writer was told about its fenced writes, and
// whether what the store shows afterwards can be explained by it.
//
// Contract: a WriteLedger records, per resource and in the order they were issued, the
// writes of ONE sequential writer (a write is issued only after the previous one's
// outcome is known) to resources nobody else writes, each with a value distinct from
// every other value, and what the writer learned of each:
//   acknowledged  the store answered OK with a version (applied, durable on a quorum);
//   unknown       outcome unknown (DEADLINE_EXCEEDED): applied or not;
//   rejected      definitively not applied (refused locally as not safe, a definitive
//                 error from the node).
// From that it decides:
// - CheckAcknowledgedVersion: an acknowledgement's version is consistent with the
//   history so far — exactly one above the previous acknowledgement's, plus at most one
//   per unknown write issued since (those may have been applied). A fresh resource
//   starts at version 0.
// - CheckObserved: a read of the resource afterwards shows either the last
//   acknowledged value (with exactly its version) or a value of an unknown write issued
//   after it (with a version that the history allows); and a max_token no lower than
//   the token of that write. Anything else is a violation, named in the status's
//   message: an earlier acknowledged value ("lost acknowledged write"), a rejected
//   value, a value never written, NOT_FOUND after an acknowledgement, a wrong version.
// Violations are FAILED_PRECONDITION statuses; OK otherwise.
// Thread safety: none (a value). Limits: memory grows with the writes recorded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy::itest {

enum class WriteOutcome : uint8_t { kAcknowledged, kUnknown, kRejected };

struct LedgerWrite {
  std::string value;
  FencingToken token;
  WriteOutcome outcome = WriteOutcome::kUnknown;
  uint64_t version = 0;  // kAcknowledged only
};

// What a read of a resource showed: nullopt value for NOT_FOUND.
struct ObservedResource {
  std::optional<std::string> value;
  uint64_t version = 0;
  FencingToken max_token;
};

class WriteLedger {
 public:
  // OK iff acknowledging `version` now would be consistent (see the contract).
  Status CheckAcknowledgedVersion(const std::string& resource, uint64_t version) const;

  void Acknowledged(const std::string& resource, std::string value, FencingToken token, uint64_t version);
  void Unknown(const std::string& resource, std::string value, FencingToken token);
  void Rejected(const std::string& resource, std::string value, FencingToken token);

  Status CheckObserved(const std::string& resource, const ObservedResource& observed) const;

  // The last acknowledged write of `resource`, if any.
  std::optional<LedgerWrite> LastAcknowledged(const std::string& resource) const;
  std::vector<std::string> resources() const;
  uint64_t count(WriteOutcome outcome) const;

 private:
  std::map<std::string, std::vector<LedgerWrite>> writes_;
};

}  // namespace murphy::itest
