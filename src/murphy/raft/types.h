// murphy/raft/types.h — the values Raft exchanges with its node shell and its peers.
//
// Contract: plain structs, no behaviour beyond comparison and printing. `Entry` is
// one log record; `HardState` is what must survive a crash (term, vote, commit);
// `Membership` is the set of voters and learners; `Snapshot` is a compacted prefix of
// the log (the state machine's bytes plus the metadata Raft needs: last index, its
// term, and the membership as of that index); `Message` is one wire message
// between Raft peers (encoded by message_codec.h). NodeId 0 means "no node" (no vote,
// no known leader); Term 0 and LogIndex 0 mean "before the log".
// Thread safety: values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/ids.h"

namespace murphy::raft {

// "Nobody": no vote cast, no leader known.
inline constexpr NodeId kNoNode{0};

enum class EntryType : uint8_t {
  kNormal = 0,        // application data (may be empty: the leader's no-op).
  kConfigChange = 1,  // data is an encoded ConfigChange (membership.h).
};

struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Bytes an entry is charged for in size limits (payload plus a fixed overhead, so
// that empty entries are not free).
inline uint64_t EntryCostBytes(const Entry& entry) { return entry.data.size() + 24; }

// The state that must be durable before any message that depends on it is sent.
struct HardState {
  Term term;
  NodeId vote = kNoNode;  // whom this node voted for in `term`.
  LogIndex commit;        // need not be durable for safety; saves replay on restart.

  friend bool operator==(const HardState&, const HardState&) = default;
};

// The voting configuration. Voters count in quorums; learners receive the log but
// neither vote nor count. A node is never both.
//
// `contexts` keeps each member's opaque context, as carried by the ConfigChange
// that added it (etcd's ConfChange.Context: for murphy the member's "HOST:PORT").
// Raft never interprets it; it only keeps it with the configuration so that it
// survives log compaction (snapshots carry the membership, hence the contexts) and
// the node shell can tell its transport how to reach every member. Only members
// have an entry, and only those added with a non-empty context (the bootstrap
// members have none: their addresses come from static configuration).
struct Membership {
  std::vector<NodeId> voters;    // sorted, unique.
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters.
  std::map<NodeId, std::string> contexts = {};  // keys are members; values non-empty.

  bool IsVoter(NodeId id) const;
  bool IsLearner(NodeId id) const;
  bool Contains(NodeId id) const { return IsVoter(id) || IsLearner(id); }
  // No voters and no learners: a node that joins an existing cluster starts so and
  // waits for the leader's snapshot (raft.h).
  bool empty() const { return voters.empty() && learners.empty(); }
  // The member's context, or "" if it has none.
  std::string_view ContextOf(NodeId id) const;
  friend bool operator==(const Membership&, const Membership&) = default;
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
std::string_view RoleName(Role role);

// What a snapshot stands for: the log up to `index` (whose entry had `term`), and
// the membership in effect at that index (configurations live in the log, so a
// compacted log must carry its configuration along).
struct SnapshotMetadata {
  LogIndex index;
  Term term;
  Membership membership;
  friend bool operator==(const SnapshotMetadata&, const SnapshotMetadata&) = default;
};

// The state machine's bytes (opaque to Raft) and what they cover.
struct Snapshot {
  SnapshotMetadata metadata;
  std::string data;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Volatile state worth reporting to the node shell (who leads, what we are, and the
// configuration in effect — the latest one in our log, committed or not, thesis
// §4.1 — so the shell knows whom to connect to).
struct SoftState {
  NodeId leader = kNoNode;
  Role role = Role::kFollower;
  Membership membership;
  friend bool operator==(const SoftState&, const SoftState&) = default;
};

// A linearizable read that may be served once the state machine has applied
// `index` (ReadIndex, thesis §6.4).
struct ReadState {
  uint64_t request_id = 0;
  LogIndex index;
  friend bool operator==(const ReadState&, const ReadState&) = default;
};

enum class MessageType : uint8_t {
  kPreVote = 1,
  kPreVoteResponse = 2,
  kVote = 3,
  kVoteResponse = 4,
  kAppend = 5,
  kAppendResponse = 6,
  kHeartbeat = 7,
  kHeartbeatResponse = 8,
  kTimeoutNow = 9,
  kSnapshot = 10,
  kSnapshotResponse = 11,
};
inline constexpr uint8_t kMaxMessageType = 11;
std::string_view MessageTypeName(MessageType type);

// One message between peers. The meaning of the generic fields per type:
//
//   type              index                 log_term              commit  entries
//   kPreVote/kVote    candidate last index  candidate last term   -       -
//   k*VoteResponse    -                     -                     -       -   (reject = denied)
//   kAppend           index before entries  its term              leader  the entries
//   kAppendResponse   accepted: new match   rejected: hint term   -       -
//                     rejected: the probed index, reject_hint = follower's hint index
//   kHeartbeat        -                     -                     min(match, commit)
//   kHeartbeatResponse -                    -                     -
//   kTimeoutNow       -                     -                     -
//   kSnapshot         snapshot index        snapshot term         -       -
//   kSnapshotResponse snapshot index        snapshot term         -       -
//
// kSnapshot is one chunk of an InstallSnapshot (thesis §5.4.2 / Raft §7): bytes
// [chunk_offset, chunk_offset + data.size()) of a snapshot of `snapshot_size` bytes
// whose membership is `snapshot_membership`. Departure from the paper: there is no
// `done` flag — the chunk that reaches snapshot_size is the last — because sending
// the total size lets the follower refuse an oversized snapshot at the first chunk,
// before buffering anything. kSnapshotResponse acknowledges chunks cumulatively:
// `chunk_offset` is the next byte the follower expects (0: it holds nothing of that
// snapshot); `reject` means it refuses the snapshot (too large). A snapshot fully
// installed is acknowledged like entries, with a kAppendResponse for its index.
//
// `read_round` rides on heartbeats and their responses to confirm leadership for
// ReadIndex; `leader_transfer` marks votes that a leadership transfer started (they
// bypass the voters' leader lease, as in etcd).
struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term;
  LogIndex index;
  Term log_term;
  LogIndex commit;
  std::vector<Entry> entries;
  bool reject = false;
  LogIndex reject_hint;
  uint64_t read_round = 0;
  bool leader_transfer = false;
  // kSnapshot / kSnapshotResponse only (see above).
  Membership snapshot_membership;
  uint64_t snapshot_size = 0;
  uint64_t chunk_offset = 0;
  std::string data;

  friend bool operator==(const Message&, const Message&) = default;
};

// One line, for traces and golden tests: "1->2 Append term=2 index=3 ...".
std::string DescribeMessage(const Message& message);
std::string DescribeEntry(const Entry& entry);
// "voters=(1 2 3) learners=(4)", then " contexts=(4=127.0.0.1:7004)" if any.
std::string DescribeMembership(const Membership& membership);

}  // namespace murphy::raft
