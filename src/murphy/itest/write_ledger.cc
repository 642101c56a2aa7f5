#include "murphy/itest/write_ledger.h"

#include <string>

namespace murphy::itest {
namespace {

// Index of the last acknowledged write, or -1.
long LastAcknowledgedIndex(const std::vector<LedgerWrite>& history) {
  for (long i = static_cast<long>(history.size()) - 1; i >= 0; --i) {
    if (history[static_cast<size_t>(i)].outcome == WriteOutcome::kAcknowledged) return i;
  }
  return -1;
}

// Unknown writes with an index in (after, through].
uint64_t UnknownBetween(const std::vector<LedgerWrite>& history, long after, long through) {
  uint64_t unknown = 0;
  for (long i = after + 1; i <= through; ++i) {
    if (history[static_cast<size_t>(i)].outcome == WriteOutcome::kUnknown) ++unknown;
  }
  return unknown;
}

std::string Describe(const LedgerWrite& write) {
  switch (write.outcome) {
    case WriteOutcome::kAcknowledged:
      return "'" + write.value + "' (acknowledged at version " + std::to_string(write.version) + ")";
    case WriteOutcome::kUnknown:
      return "'" + write.value + "' (outcome unknown)";
    case WriteOutcome::kRejected:
      return "'" + write.value + "' (rejected)";
  }
  return "?";
}

}  // namespace

Status WriteLedger::CheckAcknowledgedVersion(const std::string& resource, uint64_t version) const {
  static const std::vector<LedgerWrite> kEmpty;
  auto found = writes_.find(resource);
  const std::vector<LedgerWrite>& history = found == writes_.end() ? kEmpty : found->second;
  const long last = LastAcknowledgedIndex(history);
  const uint64_t base = last >= 0 ? history[static_cast<size_t>(last)].version : 0;
  const uint64_t unknown = UnknownBetween(history, last, static_cast<long>(history.size()) - 1);
  if (version < base + 1 || version > base + 1 + unknown) {
    return FailedPreconditionError(resource + ": acknowledged version " + std::to_string(version) +
                                   ", expected " + std::to_string(base + 1) +
                                   (unknown > 0 ? ".." + std::to_string(base + 1 + unknown) : std::string()) +
                                   " (previous acknowledged version " + std::to_string(base) + ", " +
                                   std::to_string(unknown) + " outcome-unknown writes since)");
  }
  return Status();
}

void WriteLedger::Acknowledged(const std::string& resource, std::string value, FencingToken token,
                               uint64_t version) {
  writes_[resource].push_back(LedgerWrite{std::move(value), token, WriteOutcome::kAcknowledged, version});
}

void WriteLedger::Unknown(const std::string& resource, std::string value, FencingToken token) {
  writes_[resource].push_back(LedgerWrite{std::move(value), token, WriteOutcome::kUnknown, 0});
}

void WriteLedger::Rejected(const std::string& resource, std::string value, FencingToken token) {
  writes_[resource].push_back(LedgerWrite{std::move(value), token, WriteOutcome::kRejected, 0});
}

Status WriteLedger::CheckObserved(const std::string& resource, const ObservedResource& observed) const {
  static const std::vector<LedgerWrite> kEmpty;
  auto found = writes_.find(resource);
  const std::vector<LedgerWrite>& history = found == writes_.end() ? kEmpty : found->second;
  const long last = LastAcknowledgedIndex(history);
  if (!observed.value.has_value()) {
    if (last >= 0) {
      return FailedPreconditionError(resource + ": not found, but " +
                                     Describe(history[static_cast<size_t>(last)]) +
                                     " — lost acknowledged write");
    }
    return Status();
  }
  long shown = -1;
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i].value == *observed.value) shown = static_cast<long>(i);
  }
  if (shown < 0) {
    return FailedPreconditionError(resource + ": shows '" + *observed.value +
                                   "', a value this writer never wrote");
  }
  const LedgerWrite& write = history[static_cast<size_t>(shown)];
  if (write.outcome == WriteOutcome::kRejected) {
    return FailedPreconditionError(resource + ": shows " + Describe(write) +
                                   ", a write that was not applied");
  }
  if (shown < last) {
    return FailedPreconditionError(resource + ": shows " + Describe(write) + " but " +
                                   Describe(history[static_cast<size_t>(last)]) +
                                   " came later — lost acknowledged write");
  }
  const uint64_t base = last >= 0 ? history[static_cast<size_t>(last)].version : 0;
  if (shown == last) {
    if (observed.version != write.version) {
      return FailedPreconditionError(resource + ": shows " + Describe(write) + " at version " +
                                     std::to_string(observed.version));
    }
  } else {
    const uint64_t unknown = UnknownBetween(history, last, shown);
    if (observed.version < base + 1 || observed.version > base + unknown) {
      return FailedPreconditionError(resource + ": shows " + Describe(write) + " at version " +
                                     std::to_string(observed.version) + ", expected " +
                                     std::to_string(base + 1) + ".." + std::to_string(base + unknown));
    }
  }
  if (observed.max_token < write.token) {
    return FailedPreconditionError(resource + ": max_token " + ToString(observed.max_token) +
                                   " is below the token " + ToString(write.token) + " of " + Describe(write));
  }
  return Status();
}

std::optional<LedgerWrite> WriteLedger::LastAcknowledged(const std::string& resource) const {
  auto found = writes_.find(resource);
  if (found == writes_.end()) return std::nullopt;
  const long last = LastAcknowledgedIndex(found->second);
  if (last < 0) return std::nullopt;
  return found->second[static_cast<size_t>(last)];
}

std::vector<std::string> WriteLedger::resources() const {
  std::vector<std::string> names;
  for (const auto& [name, history] : writes_) names.push_back(name);
  return names;
}

uint64_t WriteLedger::count(WriteOutcome outcome) const {
  uint64_t total = 0;
  for (const auto& [name, history] : writes_) {
    for (const LedgerWrite& write : history) total += write.outcome == outcome ? 1 : 0;
  }
  return total;
}

}  // namespace murphy::itest
