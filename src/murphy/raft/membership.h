// murphy/raft/membership.h — single-server membership changes (thesis §4.1–§4.3).
//
// Contract: a `ConfigChange` adds one node as a learner, promotes one learner to
// voter, or removes one node (voter or learner). It travels as the payload of a
// kConfigChange log entry (`EncodeConfigChange`); `ApplyConfigChange` computes the
// configuration that follows, or refuses a change that does not fit (adding a
// member, promoting a non-learner, removing a non-member or the last voter). Because
// each change alters the voters by at most one node, the majorities of a
// configuration and of the next always overlap (thesis §4.1), which is what keeps
// two leaders from being elected by disjoint majorities while nodes disagree on
// the configuration. Raft (raft.h) enforces the rest of the rule: one change at a
// time, each only after the previous one is committed and the leader has committed
// an entry of its own term.
//
// A change may carry an opaque `context` (etcd's ConfChange.Context): for murphy the
// new member's "HOST:PORT". Raft does not interpret it; ApplyConfigChange records
// it in Membership::contexts (add-learner sets it, promote replaces it if the
// change carries one, remove drops it), so it travels with the configuration into
// snapshots. At most kMaxConfigChangeContextBytes.
//
// Payload encoding: a change without a context is encoded as before contexts
// existed ([type u8][node varint], version 1), so logs and peers of older builds
// read it; one with a context starts with the version byte kConfigChangeVersion2
// (never a valid version-1 type) followed by type, node and the length-prefixed
// context. The decoder reads both.
//
// Departure from the thesis: there is no direct "add voter". A node joins as a
// learner, catches up, then is promoted (etcd's practice), so a new voter never
// stalls commitment while it copies the log (the availability gap of §4.2.1).
// Thread safety: pure functions over values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/raft/types.h"

namespace murphy::raft {

enum class ConfigChangeType : uint8_t {
  kAddLearner = 1,
  kPromote = 2,
  kRemove = 3,
};

inline constexpr size_t kMaxConfigChangeContextBytes = 512;
inline constexpr uint8_t kConfigChangeVersion2 = 0x20;

struct ConfigChange {
  ConfigChangeType type = ConfigChangeType::kAddLearner;
  NodeId node = kNoNode;
  std::string context = {};  // opaque to Raft; empty: none.
  friend bool operator==(const ConfigChange&, const ConfigChange&) = default;
};

// "add-learner 4", "promote 4", "remove 2"; " context=HOST:PORT" follows if set.
std::string DescribeConfigChange(const ConfigChange& change);

// The entry payload; DecodeConfigChange(EncodeConfigChange(c)) == c. Decoding
// fails with InvalidArgument on anything else (never crashes).
std::string EncodeConfigChange(const ConfigChange& change);
Result<ConfigChange> DecodeConfigChange(std::string_view data);

// The configuration after `change`; FailedPrecondition if it does not apply to
// `membership` (see above), InvalidArgument for node 0 or a context longer than
// kMaxConfigChangeContextBytes. The result keeps the lists
// sorted and disjoint.
Result<Membership> ApplyConfigChange(const Membership& membership, const ConfigChange& change);

// How many voters two configurations do not share (0 or 1 for one change).
size_t VoterDistance(const Membership& a, const Membership& b);

}  // namespace murphy::raft
