// murphy/node/kv_client.h — a KV client process over Env: finds the leader, retries
// with backoff, and records what it saw in a linearizability history.
//
// Contract: a `KvClient` runs one operation at a time (a sequential client, as the
// checker's processes are). Each operation gets the next sequence number and keeps
// it across every retry, so the state machine applies it at most once. An attempt
// goes to the leader the client believes in; a kNotLeader answer moves it to the
// hinted leader (or the next server when there is no hint), a kUnavailable answer
// or a timeout (`attempt_timeout`) retries after a delay from `Backoff` with full
// jitter (a timeout also tries the next server: the believed leader may be down),
// until the operation's deadline (`operation_timeout`) passes. Outcomes, in the
// vocabulary of check/history.h:
//   ok    an answer with the state machine's result (cas may say "not swapped");
//   fail  definitely not applied: a read that got no answer (reads have no effect),
//         or a command the state machine refused (kRejected, kMalformed);
//   info  a command whose deadline passed without an answer: some attempt may have
//         been proposed and committed (even a kNotLeader answer cannot prove
//         otherwise, since the network may have duplicated the request to a node
//         that was leader a moment earlier), so the outcome is unknown.
// Operations come from `Submit` (tests) or, in `random` mode, from the client's own
// seeded generator: get/put/cas/delete over `keys`, with unique written values.
// History timestamps come from `history_clock` (the simulator's true time); with
// no history nothing is recorded.
// Limits: one operation in flight; retries bounded by the deadline and by
// backoff.max_retries. Thread safety: none; runs on its Env's loop. Ownership: the
// Env and the history outlive the client; the destructor cancels its timers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "murphy/check/history.h"
#include "murphy/env/env.h"
#include "murphy/node/client_protocol.h"
#include "murphy/node/kv_state_machine.h"
#include "murphy/resilience/backoff.h"

namespace murphy::node {

struct KvClientOptions {
  std::vector<NodeId> servers;
  // Where the first attempt goes (NodeId 0: a server chosen at random).
  NodeId first_server;
  Duration attempt_timeout = Milliseconds(250);
  Duration operation_timeout = Seconds(5);
  BackoffOptions backoff{Milliseconds(10), 2.0, Milliseconds(200), Jitter::kFull, 10'000};
  // Random mode: issue operations forever, with a think time in [0, max] between.
  bool random = false;
  std::vector<std::string> keys = {"a", "b", "c"};
  Duration think_time_max = Milliseconds(30);
  // Not owned; may be null.
  History* history = nullptr;
  std::function<Instant()> history_clock;
};

struct KvClientResult {
  Outcome outcome = Outcome::kPending;  // kOk, kFail or kInfo
  KvResult result;                      // meaningful for kOk
};

class KvClient {
 public:
  KvClient(Env& env, KvClientOptions options);
  ~KvClient();
  KvClient(const KvClient&) = delete;
  KvClient& operator=(const KvClient&) = delete;

  // Starts `operation`; `done` is called once with its outcome. False (and nothing
  // happens) while another operation is in flight.
  bool Submit(const KvOperation& operation, std::function<void(const KvClientResult&)> done = {});
  bool busy() const { return current_.has_value(); }
  uint64_t completed() const { return completed_; }
  uint64_t attempts() const { return attempts_; }
  NodeId believed_leader() const { return leader_; }

 private:
  struct Current {
    KvOperation operation;
    uint64_t sequence = 0;
    Instant deadline;
    Backoff backoff;
    std::optional<OperationId> history_id;
    std::function<void(const KvClientResult&)> done;
  };

  void SendAttempt();
  void OnReceive(NodeId source, std::span<const uint8_t> payload);
  void OnAttemptTimeout();
  void RetryLater();
  void Complete(Outcome outcome, const KvResult& result);
  void NextRandom();
  void ScheduleRandom();
  NodeId NextServer(NodeId after) const;

  Env& env_;
  KvClientOptions options_;
  std::optional<Current> current_;
  NodeId leader_;
  uint64_t sequence_ = 0;
  uint64_t completed_ = 0;
  uint64_t attempts_ = 0;
  uint64_t values_written_ = 0;
  std::optional<int64_t> last_read_;
  TimerId attempt_timer_;
  TimerId retry_timer_;
  TimerId think_timer_;
};

// The history input an operation stands for (check/history.h's vocabulary).
Input ToHistoryInput(const KvOperation& operation);

}  // namespace murphy::node
