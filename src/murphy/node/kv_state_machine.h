// murphy/node/kv_state_machine.h — a small replicated key-value map (put, get,
// compare-and-set, delete) with at-most-once application of retried commands.
//
// Contract: `KvStateMachine` is a StateMachine (state_machine.h) over string keys
// and int64 values, every key initially absent — the sequential object that
// check/model.h's MakeKeyValueModel specifies:
//   get          the value, or absent;
//   put          sets the value;
//   cas          sets `value` iff the key is present with `expected` (else kCasFailed);
//   delete       removes the key (succeeds whether or not it was present).
// Commands arrive as ClientCommands (client_protocol.h). Deduplication: the machine
// remembers, per client, the highest sequence number applied and its result. A
// command with that number again (a retry whose first reply was lost) is answered
// from memory without applying it twice; a lower number (an abandoned operation
// whose proposal committed late) is answered kStale and not applied — clients run
// one operation at a time, so a lower number can only be such a straggler. The
// session table is part of the snapshot, so deduplication survives restarts and
// snapshot installs. Limits: at most max_sessions clients are remembered (the one
// with the oldest last command is forgotten first: a retry from it after that
// could apply twice — the documented price of a bounded table) and at most max_keys
// keys (a put of a new key beyond it is answered kRejected and not applied).
// Reads (Query) accept only get.
// Thread safety: none; owned by one node shell.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "murphy/node/state_machine.h"

namespace murphy::node {

enum class KvOp : uint8_t { kGet = 1, kPut = 2, kCompareAndSet = 3, kDelete = 4 };

struct KvOperation {
  KvOp op = KvOp::kGet;
  std::string key;
  int64_t value = 0;     // put, cas: the value written
  int64_t expected = 0;  // cas: the value required
  friend bool operator==(const KvOperation&, const KvOperation&) = default;
};

enum class KvOutcome : uint8_t {
  kOk = 1,         // applied / read (get: `value` holds it, or nullopt if absent)
  kCasFailed = 2,  // cas: the key was absent or held another value; nothing changed
  kStale = 3,      // an older sequence number than the client's latest: not applied
  kMalformed = 4,  // undecodable command: not applied
  kRejected = 5,   // a limit was hit (too many keys): not applied
};

struct KvResult {
  KvOutcome outcome = KvOutcome::kOk;
  std::optional<int64_t> value;
  friend bool operator==(const KvResult&, const KvResult&) = default;
};

std::string EncodeKvOperation(const KvOperation& operation);
Result<KvOperation> DecodeKvOperation(std::string_view bytes);
std::string EncodeKvResult(const KvResult& result);
Result<KvResult> DecodeKvResult(std::string_view bytes);

struct KvLimits {
  size_t max_keys = 1 << 20;
  size_t max_key_bytes = 1024;
  size_t max_sessions = 4096;
};

class KvStateMachine : public StateMachine {
 public:
  explicit KvStateMachine(KvLimits limits = {}) : limits_(limits) {}

  std::string Apply(LogIndex index, std::string_view command) override;
  std::string Query(std::string_view request) const override;
  std::string Snapshot() const override;
  Status Restore(std::string_view data) override;

  const std::map<std::string, int64_t, std::less<>>& data() const { return data_; }
  size_t session_count() const { return sessions_.size(); }
  // Commands applied for real (not answered from the session table) — for tests.
  uint64_t applied_commands() const { return applied_commands_; }

 private:
  struct Session {
    uint64_t sequence = 0;
    std::string result;
    uint64_t last_index = 0;
  };
  KvResult Execute(const KvOperation& operation);
  KvResult Read(const KvOperation& operation) const;
  void ForgetOldestSession();

  KvLimits limits_;
  std::map<std::string, int64_t, std::less<>> data_;
  std::map<uint64_t, Session> sessions_;
  uint64_t applied_commands_ = 0;
};

}  // namespace murphy::node
