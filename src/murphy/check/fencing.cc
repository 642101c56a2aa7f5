#include "murphy/check/fencing.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace murphy {
namespace {

std::string Token(FencingToken token) { return "token " + std::to_string(token.value()); }
std::string Node(NodeId node) { return "node " + std::to_string(node.value()); }

}  // namespace

void FencingChecker::RecordGrant(Instant time, NodeId holder, FencingToken token) {
  grants_.push_back(Grant{time, holder, token});
}

void FencingChecker::RecordWrite(Instant time, NodeId writer, FencingToken token, bool accepted) {
  writes_.push_back(Write{time, writer, token, accepted});
}

uint64_t FencingChecker::accepted_writes() const {
  return static_cast<uint64_t>(std::count_if(writes_.begin(), writes_.end(), [](const Write& w) { return w.accepted; }));
}
uint64_t FencingChecker::rejected_writes() const { return writes_.size() - accepted_writes(); }

std::vector<FencingViolation> FencingChecker::Check() const {
  std::vector<const Write*> order;
  for (const Write& write : writes_) order.push_back(&write);
  std::stable_sort(order.begin(), order.end(), [](const Write* a, const Write* b) { return a->time < b->time; });
  std::map<FencingToken, const Grant*> first_grant;
  std::set<std::pair<FencingToken, NodeId>> granted;
  for (const Grant& grant : grants_) {
    first_grant.try_emplace(grant.token, &grant);
    granted.emplace(grant.token, grant.holder);
  }
  auto grant_of = [&](FencingToken token) -> const Grant* {
    auto found = first_grant.find(token);
    return found == first_grant.end() ? nullptr : found->second;
  };

  std::vector<FencingViolation> violations;
  const Write* newest = nullptr;  // The accepted write with the highest token so far.
  for (const Write* write : order) {
    if (!write->accepted) continue;
    if (granted.count({write->token, write->writer}) == 0) {
      violations.push_back(FencingViolation{
          FencingViolation::Kind::kUngranted, write->time, write->writer, write->token,
          "resource " + resource_ + ": write by " + Node(write->writer) + " with " + Token(write->token) + " at " +
              FormatInstant(write->time) + " was accepted, but that token was never granted to " +
              Node(write->writer)});
    }
    if (newest != nullptr && write->token < newest->token) {
      const Grant* newer = grant_of(newest->token);
      std::string superseded = newer == nullptr ? std::string()
                                                : " (superseded by the grant of " + Token(newer->token) + " to " +
                                                      Node(newer->holder) + " at " + FormatInstant(newer->time) +
                                                      ")";
      violations.push_back(FencingViolation{
          FencingViolation::Kind::kInterleaved, write->time, write->writer, write->token,
          "resource " + resource_ + ": two holders' writes interleaved: " + Node(write->writer) + " wrote with " +
              Token(write->token) + superseded + " at " + FormatInstant(write->time) + " and it was accepted after " +
              Node(newest->writer) + " had written with " + Token(newest->token) + " at " +
              FormatInstant(newest->time)});
    }
    if (newest == nullptr || write->token > newest->token) newest = write;
  }
  return violations;
}

std::string FencingChecker::Report() const {
  const std::vector<FencingViolation> violations = Check();
  std::string text = "resource " + resource_ + ": " + std::to_string(accepted_writes()) + " writes accepted, " +
                     std::to_string(rejected_writes()) + " rejected, ";
  if (violations.empty()) return text + "no interleaving\n";
  text += std::to_string(violations.size()) + " violation(s)\n";
  for (const FencingViolation& violation : violations) text += "  " + violation.description + "\n";
  return text;
}

}  // namespace murphy
