// murphy/cli/client_command_support.h — what the client commands (`lease`, `lock`,
// `kv`, `lock run`) share: exit codes, the duration syntax, the flags that find the
// cluster, the mapping from a Status to an exit code, and output (human text or one
// JSON object).
//
// Contract:
// - Exit codes (documented in docs/cli.md and in each command's help):
//     0 ok; 1 the operation failed (lock held for --try, not found, refused);
//     2 usage error (bad flag, bad duration, no cluster found); 3 outcome unknown (a
//     timeout: the request may have been applied); 4 a stale fencing token, rejected
//     by the fenced store; 5 (`lock run`) the lock was lost and the command terminated.
// - Durations: one or more groups of a decimal number and a unit, "10s", "500ms",
//   "1m30s", "1.5s", units ns us ms s m h. No sign, no spaces, no unit-less numbers;
//   at most 24 h in total. Anything else is INVALID_ARGUMENT naming the text.
// - The cluster: `--endpoints ID=HOST:PORT,...` with `--cluster-id N`, or else `--dir
//   DIR` (default ./.murphy, as `murphy cluster`). Missing or malformed: a usage
//   error (exit 2) with a message that says what to do.
// - Output: on success, human lines or (with --json) one JSON object on stdout. On
//   failure the message goes to stderr as "murphy COMMAND: message" and, with --json,
//   one object {"error":..., "code":..., "exit_code":...} (plus the fields given) to
//   stdout, so a script always gets JSON.
// Thread safety: functions are pure or touch only stdout/stderr.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "murphy/core/ids.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/remote/cluster_endpoints.h"
#include "murphy/remote/remote_client.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace murphy::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitOutcomeUnknown = 3;
inline constexpr int kExitStaleToken = 4;
inline constexpr int kExitLockLost = 5;

// The exit-code table, for command help texts.
inline constexpr const char* kExitCodeHelp =
    "Exit codes: 0 ok; 1 operation failed; 2 usage error; 3 outcome unknown (timeout: may have been "
    "applied); 4 stale fencing token rejected by the fenced store; 5 (lock run) lock lost, command "
    "terminated.";

// See the contract. Zero is allowed ("0s"); callers that need > 0 check.
Result<Duration> ParseDuration(std::string_view text);
// A CLI11 check for a duration option: its error names the option's text.
void CheckDuration(CLI::Option* option);

// The flags every client command takes.
struct ClientFlags {
  std::string dir = ".murphy";
  std::string endpoints;
  uint64_t cluster_id = 0;
  std::string timeout = "5s";
  bool json = false;
};

// Adds --dir, --endpoints, --cluster-id, --timeout and (if `with_json`) --json.
void AddClientFlags(CLI::App* command, ClientFlags* flags, bool with_json = true);

// Where the cluster is (see the contract); errors are usage errors.
Result<remote::ClusterEndpoints> ResolveCluster(const ClientFlags& flags);

// The exit code for a failed Status: 3 for DEADLINE_EXCEEDED, 1 otherwise.
// (Stale tokens are told apart by the write's answer, not by the code alone: ABORTED
// is also a compare-and-set mismatch.)
int ExitCodeFor(const Status& status);

// One client command's output and connection: created by the command's action with
// the command's name ("lease grant") and flags.
class ClientCommand {
 public:
  ClientCommand(std::string name, const ClientFlags& flags) : name_(std::move(name)), flags_(flags) {}

  const ClientFlags& flags() const { return flags_; }
  // --timeout, parsed (the flag was checked by CLI11).
  Duration timeout() const;

  // Connects to the cluster as a fresh client (random id). On failure prints the
  // error and returns null; *exit_code is then set.
  std::unique_ptr<remote::RemoteClient> Connect(int* exit_code);
  // Connects as the client that owns `lease` (a lease is bound to the client id that
  // granted it; a CLI process exits, so a later command takes that identity over).
  // Fails with exit 1 if the lease does not exist, 3 if that cannot be told.
  std::unique_ptr<remote::RemoteClient> ConnectAsLeaseOwner(LeaseId lease, int* exit_code);

  // Prints `json` (with --json) or `human` (otherwise) to stdout; returns 0.
  int Succeed(const nlohmann::json& json, const std::string& human) const;
  // Prints the failure (see the contract); returns `exit_code`.
  int Fail(int exit_code, const Status& status, nlohmann::json fields = nlohmann::json::object()) const;
  int Fail(const Status& status, nlohmann::json fields = nlohmann::json::object()) const {
    return Fail(ExitCodeFor(status), status, std::move(fields));
  }

 private:
  std::unique_ptr<remote::RemoteClient> ConnectWith(const remote::ClusterEndpoints& cluster,
                                                    remote::RemoteClientOptions options, int* exit_code);

  std::string name_;
  ClientFlags flags_;
};

}  // namespace murphy::cli
