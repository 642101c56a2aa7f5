// murphy-durability-driver — the client half of the real-process durability tests
// (scripts/durability-test starts, kills and restarts the murphyd processes; this
// program talks to them through remote::RemoteClient and decides).
//
//   stream  A client holds a lock (lease with keepalive, LockClient; if the lock is lost
//           or no longer safe, it acquires again — the new token must be higher — and
//           never counts a write refused as not safe) and writes, one at
//           a time, fenced writes with distinct values to K fresh resources, recording
//           every outcome in a WriteLedger. After --before-kill acknowledged writes it
//           creates DIR/durability-ready-to-kill; the script kill -9s the leader (or
//           all three nodes, and starts them again) and writes the kill's wall time
//           (ms since the epoch) to DIR/durability-killed; the client fails over by
//           itself (or waits for the cluster); after --after-kill more acknowledged
//           writes it reads every resource back and checks it against the ledger. The
//           values read are saved (--expect FILE) for a later `verify`.
//   setup   Builds state to survive a full restart, with plain calls (no keepalive, no
//           release on exit): leases with a long TTL, lock A granted twice (the first
//           grant's token is now stale), lock B held with two waiters, fenced writes.
//           Saves what must come back (--expect FILE).
//   verify  Reads that state back (--expect FILE) and checks it exactly; for a setup's
//           file also: lease, lock holders, tokens and waiters; a stale-token write is
//           rejected; a new grant of A has a token above the old one; revoking B's
//           holder grants B to the first waiter.
// Every check prints one line, "ok    NAME: DETAIL" or "FAIL  NAME: DETAIL". Exit codes:
// 0 every check passed, 1 a check failed (or the cluster could not be driven), 2 usage.
// --fault breaks the driver on purpose, so the tests can show each check can fail:
//   unsent-ack      (stream, setup) the last write is recorded as acknowledged but never
//                   sent — its loss must be caught (in setup, only by `verify`);
//   wrong-resource  (stream, verify) each resource is read back from its neighbour.
// Thread safety: single-threaded (one asio loop, run by the blocking helpers below).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "murphy/client/lock_client.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/itest/write_ledger.h"
#include "murphy/protocol/client_message.h"
#include "murphy/remote/cluster_endpoints.h"
#include "murphy/remote/remote_client.h"

namespace murphy::itest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kExitViolation = 1;
constexpr int kExitUsage = 2;
constexpr const char* kReadyToKillFile = "durability-ready-to-kill";
constexpr const char* kKilledFile = "durability-killed";
// Every blocking step gives up after this (the cluster is then not making progress).
constexpr Duration kCallTimeout = Seconds(10);

struct Flags {
  std::string dir;
  std::string expect_path;
  std::string fault = "none";
  int resources = 4;
  int before_kill = 40;
  int after_kill = 60;
  int ttl_seconds = 20;
  int timeout_seconds = 45;
};

// One line per check; counts failures.
class Verdict {
 public:
  bool Expect(bool passed, const std::string& check, const std::string& detail) {
    std::printf("%s %s: %s\n", passed ? "ok   " : "FAIL ", check.c_str(), detail.c_str());
    std::fflush(stdout);
    if (!passed) ++failures_;
    return passed;
  }
  void Fail(const std::string& check, const std::string& detail) { Expect(false, check, detail); }
  void Note(const std::string& text) {
    std::printf("      %s\n", text.c_str());
    std::fflush(stdout);
  }
  int failures() const { return failures_; }
  int ExitCode() const {
    if (failures_ == 0) return 0;
    std::printf("FAILED: %d check(s) failed\n", failures_);
    return kExitViolation;
  }

 private:
  int failures_ = 0;
};

std::string Str(const Status& status) { return status.ToString(); }
std::string Str(FencingToken token) { return ToString(token); }
std::string Str(LeaseId lease) { return ToString(lease); }

Result<std::unique_ptr<remote::RemoteClient>> ConnectTo(const std::string& dir, uint32_t client_id) {
  Result<remote::ClusterEndpoints> cluster = remote::ReadClusterDirectory(dir);
  if (!cluster.ok()) return cluster.status();
  remote::RemoteClientOptions options;
  options.client_id = client_id;
  return remote::RemoteClient::Connect(*cluster, std::move(options));
}

// --- Blocking helpers ---------------------------------------------------------------

// Starts an operation whose `done` callback takes a T and runs the loop until it has
// answered or `bound` passes (nullopt). The answer lands in a shared slot, so a
// callback that comes later still has somewhere to go.
template <typename T>
std::optional<T> Await(remote::RemoteClient& remote, const std::function<void(std::function<void(T)>)>& start,
                       Duration bound = kCallTimeout + Seconds(2)) {
  auto slot = std::make_shared<std::optional<T>>();
  start([slot](T answer) { *slot = std::move(answer); });
  remote.RunUntil([&slot] { return slot->has_value(); }, bound);
  return std::move(*slot);
}

// The client promises an answer by the request's deadline; none at all is a bug.
Status NoAnswer(const std::string& what) {
  return InternalError("the client gave no answer to " + what + " within its deadline");
}

Result<protocol::ReadBody> ReadResource(remote::RemoteClient& remote, const std::string& resource) {
  using Answer = Result<protocol::ReadBody>;
  std::optional<Answer> answer = Await<Answer>(remote, [&](std::function<void(Answer)> done) {
    remote.lock_client().Read(resource, done, kCallTimeout);
  });
  if (!answer.has_value()) return NoAnswer("the read of " + resource);
  return std::move(*answer);
}

Result<protocol::LockInfoBody> GetLock(remote::RemoteClient& remote, const std::string& lock) {
  using Answer = Result<protocol::LockInfoBody>;
  std::optional<Answer> answer = Await<Answer>(remote, [&](std::function<void(Answer)> done) {
    remote.lock_client().GetLock(lock, done, kCallTimeout);
  });
  if (!answer.has_value()) return NoAnswer("the query of lock " + lock);
  return std::move(*answer);
}

client::WriteReply WriteWithToken(remote::RemoteClient& remote, const std::string& resource,
                                  const std::string& lock, FencingToken token, const std::string& value) {
  client::WriteOptions options;
  options.timeout = kCallTimeout;
  std::optional<client::WriteReply> reply =
      Await<client::WriteReply>(remote, [&](std::function<void(client::WriteReply)> done) {
        remote.lock_client().WriteWithToken(resource, lock, token, value, done, options);
      });
  if (!reply.has_value()) return client::WriteReply{NoAnswer("a write to " + resource), {}, 0};
  return std::move(*reply);
}

template <typename Body>
const Body* BodyOf(const client::CallResult& result) {
  if (!result.status.ok() || !result.response.has_value()) return nullptr;
  return std::get_if<Body>(&result.response->body);
}

Result<LeaseId> GrantLease(remote::RemoteClient& remote, Duration ttl) {
  client::CallResult result = remote.Call(protocol::GrantLeaseRequest{ttl}, kCallTimeout);
  const auto* body = BodyOf<protocol::LeaseBody>(result);
  if (body == nullptr)
    return result.status.ok() ? InternalError("grant answered without a lease") : result.status;
  return body->lease;
}

Result<protocol::AcquireBody> Acquire(remote::RemoteClient& remote, const std::string& lock, LeaseId lease,
                                      protocol::AcquireMode mode) {
  protocol::AcquireRequest request;
  request.lock = lock;
  request.lease = lease;
  request.mode = mode;
  client::CallResult result = remote.Call(std::move(request), kCallTimeout);
  const auto* body = BodyOf<protocol::AcquireBody>(result);
  if (body == nullptr)
    return result.status.ok() ? InternalError("acquire answered without a result") : result.status;
  return *body;
}

Status RevokeLease(remote::RemoteClient& remote, LeaseId lease) {
  return remote.Call(protocol::RevokeLeaseRequest{lease}, kCallTimeout).status;
}

Result<protocol::LeaseInfoBody> GetLease(remote::RemoteClient& remote, LeaseId lease) {
  client::CallResult result = remote.Call(protocol::GetLeaseRequest{lease}, kCallTimeout);
  const auto* body = BodyOf<protocol::LeaseInfoBody>(result);
  if (body == nullptr)
    return result.status.ok() ? InternalError("lease query answered without a body") : result.status;
  return *body;
}

// --- Expectations file ----------------------------------------------------------------

json ResourceJson(const std::string& name, const protocol::ReadBody& read) {
  return {{"name", name},
          {"lock", read.lock},
          {"value", read.value},
          {"version", read.version},
          {"max_token", read.max_token.value()}};
}

bool SaveJson(const std::string& path, const json& document, Verdict& verdict) {
  std::ofstream out(path, std::ios::trunc);
  out << document.dump(2) << "\n";
  out.flush();
  return verdict.Expect(static_cast<bool>(out), "expectations saved", path);
}

// --- stream -------------------------------------------------------------------------

struct AckTime {
  Instant monotonic;
  WallTime wall;
};

std::optional<int64_t> ReadKillTimeMs(const fs::path& file) {
  std::ifstream in(file);
  int64_t ms = 0;
  if (!(in >> ms)) return std::nullopt;
  return ms;
}

int RunStream(const Flags& flags) {
  Verdict verdict;
  if (flags.resources < 1 || flags.before_kill < 1 || flags.after_kill < 1 || flags.ttl_seconds < 1) {
    std::fprintf(stderr, "stream: --resources, --before-kill, --after-kill, --ttl-s >= 1 required\n");
    return kExitUsage;
  }
  Result<std::unique_ptr<remote::RemoteClient>> connected = ConnectTo(flags.dir, 0);
  if (!connected.ok()) {
    verdict.Fail("connect", Str(connected.status()));
    return verdict.ExitCode();
  }
  remote::RemoteClient& remote = **connected;
  client::LockClient& locks = remote.lock_client();
  Env& env = remote.env();
  const std::string nonce = std::to_string(remote.client_id().value());
  const std::string lock = "durability-stream-" + nonce;
  std::vector<std::string> resources;
  for (int k = 0; k < flags.resources; ++k)
    resources.push_back("durability/" + nonce + "/r" + std::to_string(k));
  const Duration ttl = Seconds(flags.ttl_seconds);
  const Instant deadline = env.MonotonicNow() + Seconds(flags.timeout_seconds);
  verdict.Note("client " + nonce + ", lock " + lock + ", " + std::to_string(flags.resources) +
               " resources, TTL " + FormatDuration(ttl));

  FencingToken last_token;
  int lock_losses = 0;
  auto acquire = [&]() -> std::unique_ptr<client::LockHandle> {
    using Answer = Result<std::unique_ptr<client::LockHandle>>;
    client::AcquireOptions options;
    options.request_timeout = kCallTimeout;
    std::optional<Answer> got = Await<Answer>(
        remote,
        [&](std::function<void(Answer)> done) {
          locks.Acquire(lock, ttl, protocol::AcquireMode::kWait, std::move(done), options);
        },
        kCallTimeout + Seconds(5));
    if (!got.has_value() || !got->ok()) {
      verdict.Fail("lock acquired", got.has_value() ? Str(got->status()) : Str(NoAnswer("the acquire")));
      return nullptr;
    }
    std::unique_ptr<client::LockHandle> handle = std::move(**got);
    verdict.Expect(handle->token() > last_token, "fencing token grows",
                   "granted token " + Str(handle->token()) + " after " + Str(last_token));
    last_token = handle->token();
    return handle;
  };

  std::unique_ptr<client::LockHandle> handle = acquire();
  if (handle == nullptr) return verdict.ExitCode();

  WriteLedger ledger;
  std::vector<AckTime> acks;
  std::optional<int64_t> kill_ms;
  bool ready_written = false;
  int acknowledged_after_kill = 0;
  const fs::path ready_file = fs::path(flags.dir) / kReadyToKillFile;
  const fs::path killed_file = fs::path(flags.dir) / kKilledFile;
  std::error_code ignored;
  fs::remove(ready_file, ignored);
  fs::remove(killed_file, ignored);

  for (uint64_t i = 0;; ++i) {
    if (env.MonotonicNow() > deadline) {
      verdict.Fail("stream finished in time",
                   "gave up after " + std::to_string(flags.timeout_seconds) +
                       " s: " + std::to_string(acks.size()) + " acknowledged, " +
                       (kill_ms ? std::to_string(acknowledged_after_kill) + " after the kill"
                                : std::string("the leader was never killed")));
      return verdict.ExitCode();
    }
    if (handle->lost() || !handle->IsSafe()) {
      ++lock_losses;
      verdict.Note("lock lost or no longer safe before write " + std::to_string(i) + "; acquiring again");
      handle.reset();
      handle = acquire();
      if (handle == nullptr) return verdict.ExitCode();
    }
    const std::string& resource = resources[i % resources.size()];
    const std::string value = nonce + "-w" + std::to_string(i);
    const bool last_write = kill_ms.has_value() && acknowledged_after_kill + 1 == flags.after_kill;
    if (last_write && flags.fault == "unsent-ack") {
      const std::optional<LedgerWrite> previous = ledger.LastAcknowledged(resource);
      ledger.Acknowledged(resource, value, handle->token(), (previous ? previous->version : 0) + 1);
      verdict.Note("fault unsent-ack: write " + std::to_string(i) + " to " + resource +
                   " recorded as acknowledged, never sent");
      break;
    }
    client::WriteOptions options;
    options.timeout = kCallTimeout;
    std::optional<client::WriteReply> reply =
        Await<client::WriteReply>(remote, [&](std::function<void(client::WriteReply)> done) {
          locks.Write(*handle, resource, value, std::move(done), options);
        });
    if (!reply.has_value()) {
      // Its outcome would stay open while later writes go out: the ledger's one
      // sequential writer would no longer be one.
      verdict.Fail("write answered", Str(NoAnswer("write " + std::to_string(i))));
      return verdict.ExitCode();
    }
    switch (reply->status.code()) {
      case StatusCode::kOk: {
        const Status consistent = ledger.CheckAcknowledgedVersion(resource, reply->version);
        if (!consistent.ok())
          verdict.Fail("acknowledged version consistent", std::string(consistent.message()));
        ledger.Acknowledged(resource, value, handle->token(), reply->version);
        acks.push_back(AckTime{env.MonotonicNow(), env.WallNow()});
        if (kill_ms.has_value()) ++acknowledged_after_kill;
        break;
      }
      case StatusCode::kDeadlineExceeded:
        ledger.Unknown(resource, value, handle->token());
        verdict.Note("write " + std::to_string(i) + " to " + resource + ": outcome unknown (" +
                     Str(reply->status) + ")");
        break;
      case StatusCode::kAborted:
        // One writer, one lock: nobody holds a newer token. A refusal means the store
        // saw a token that was never ours, or lost track of ours.
        ledger.Rejected(resource, value, handle->token());
        verdict.Fail("fenced write accepted", "write " + std::to_string(i) + " with token " +
                                                  Str(handle->token()) + " rejected: " + Str(reply->status) +
                                                  " (max_token " + Str(reply->max_token) + ")");
        return verdict.ExitCode();  // every later write would be refused the same way
      default:
        // FAILED_PRECONDITION: refused locally (not safe); others: definitive, not applied.
        ledger.Rejected(resource, value, handle->token());
        verdict.Note("write " + std::to_string(i) + " to " + resource +
                     " not applied: " + Str(reply->status));
        break;
    }
    if (!ready_written && acks.size() >= static_cast<size_t>(flags.before_kill)) {
      std::ofstream(ready_file) << acks.size() << "\n";
      ready_written = true;
      verdict.Note(std::to_string(acks.size()) + " writes acknowledged; ready for the kill (" +
                   ready_file.string() + ")");
    }
    if (ready_written && !kill_ms.has_value() && fs::exists(killed_file)) {
      kill_ms = ReadKillTimeMs(killed_file);
      if (!kill_ms.has_value()) {
        verdict.Fail("kill time readable", killed_file.string() + " holds no number");
        return verdict.ExitCode();
      }
      verdict.Note("the kill happened; " + std::to_string(acks.size()) + " writes acknowledged so far");
    }
    if (kill_ms.has_value() && acknowledged_after_kill >= flags.after_kill) break;
  }

  // Failover as the writer saw it: the longest pause between two acknowledgements that
  // ends after the kill (an answer already on its way from the old leader may land just
  // after the kill; the pause follows it), and the time from the kill to the end of
  // that pause. The kill time is the script's wall clock on this machine: for display
  // only, nothing is decided by it.
  const WallTime killed_at = WallTime::FromNanoseconds(*kill_ms * 1'000'000);
  std::optional<size_t> resumed;  // the acknowledgement that ends the longest pause
  size_t acknowledged_after = 0;
  Duration longest_gap = Duration::Zero();
  for (size_t a = 1; a < acks.size(); ++a) {
    if (acks[a].wall <= killed_at) continue;
    ++acknowledged_after;
    const Duration gap = acks[a].monotonic - acks[a - 1].monotonic;
    if (!resumed.has_value() || gap > longest_gap) {
      resumed = a;
      longest_gap = gap;
    }
  }
  if (verdict.Expect(resumed.has_value(), "writes acknowledged after the kill",
                     std::to_string(acknowledged_after) + " acknowledged after, " +
                         std::to_string(acks.size() - acknowledged_after) + " before")) {
    std::printf(
        "failover seen by the writer: %lld ms without an acknowledged write; the stream resumed %lld ms "
        "after the kill\n",
        static_cast<long long>(ToMilliseconds(longest_gap)),
        static_cast<long long>(ToMilliseconds(acks[*resumed].wall - killed_at)));
  }
  std::printf("writes: %llu acknowledged, %llu outcome unknown, %llu not applied; lock lost %d time(s)\n",
              static_cast<unsigned long long>(ledger.count(WriteOutcome::kAcknowledged)),
              static_cast<unsigned long long>(ledger.count(WriteOutcome::kUnknown)),
              static_cast<unsigned long long>(ledger.count(WriteOutcome::kRejected)), lock_losses);

  // Read every resource back (reads are linearizable: through the current leader).
  json saved = {{"client_id", remote.client_id().value()}, {"resources", json::array()}};
  for (size_t k = 0; k < resources.size(); ++k) {
    const std::string& resource = resources[k];
    const std::string& read_from =
        flags.fault == "wrong-resource" ? resources[(k + 1) % resources.size()] : resources[k];
    Result<protocol::ReadBody> read = ReadResource(remote, read_from);
    ObservedResource observed;
    if (read.ok()) {
      observed = ObservedResource{read->value, read->version, read->max_token};
    } else if (read.status().code() != StatusCode::kNotFound) {
      verdict.Fail("read back " + resource, Str(read.status()));
      continue;
    }
    const Status consistent = ledger.CheckObserved(resource, observed);
    const std::optional<LedgerWrite> last = ledger.LastAcknowledged(resource);
    verdict.Expect(consistent.ok(), "no acknowledged write lost",
                   consistent.ok()
                       ? resource + ": shows '" + observed.value.value_or("<none>") + "' version " +
                             std::to_string(observed.version) + " (last acknowledged: " +
                             (last ? "'" + last->value + "' version " + std::to_string(last->version)
                                   : std::string("none")) +
                             ")"
                       : std::string(consistent.message()));
    if (!read.ok()) continue;
    verdict.Expect(read->lock == lock, "fenced by the stream's lock: " + resource,
                   "lock '" + read->lock + "'");
    verdict.Expect(read->max_token <= handle->token(), "max_token within the grants: " + resource,
                   "max_token " + Str(read->max_token) + ", newest grant " + Str(handle->token()));
    saved["resources"].push_back(ResourceJson(resource, *read));
  }
  if (!flags.expect_path.empty()) SaveJson(flags.expect_path, saved, verdict);
  handle->Release();
  remote.RunFor(Milliseconds(100));  // let the revoke go out (best effort)
  return verdict.ExitCode();
}

// --- setup --------------------------------------------------------------------------

int RunSetup(const Flags& flags) {
  Verdict verdict;
  if (flags.expect_path.empty() || flags.resources < 2) {
    std::fprintf(stderr, "setup: --expect FILE and --resources >= 2 required\n");
    return kExitUsage;
  }
  Result<std::unique_ptr<remote::RemoteClient>> connected = ConnectTo(flags.dir, remote::RandomClientId());
  if (!connected.ok()) {
    verdict.Fail("connect", Str(connected.status()));
    return verdict.ExitCode();
  }
  remote::RemoteClient& remote = **connected;
  const std::string nonce = std::to_string(remote.client_id().value());
  const std::string lock_a = "durability-a-" + nonce;
  const std::string lock_b = "durability-b-" + nonce;
  std::vector<std::string> resources;
  for (int k = 0; k < flags.resources; ++k)
    resources.push_back("durability/" + nonce + "/s" + std::to_string(k));
  const Duration ttl = Seconds(flags.ttl_seconds);
  auto must = [&verdict](bool passed, const std::string& check, const std::string& detail) {
    return verdict.Expect(passed, check, detail);
  };

  // Lock A, first grant: token a0 (stale after the second grant).
  Result<LeaseId> lease_a0 = GrantLease(remote, ttl);
  if (!must(lease_a0.ok(), "lease granted",
            lease_a0.ok() ? "lease " + Str(*lease_a0) : Str(lease_a0.status())))
    return verdict.ExitCode();
  Result<protocol::AcquireBody> a0 = Acquire(remote, lock_a, *lease_a0, protocol::AcquireMode::kTry);
  if (!must(a0.ok() && a0->state == protocol::AcquireState::kGranted, "lock A granted",
            a0.ok() ? "token " + Str(a0->token) : Str(a0.status())))
    return verdict.ExitCode();
  const FencingToken token_a0 = a0->token;

  WriteLedger ledger;
  auto write = [&](const std::string& resource, FencingToken token, const std::string& value) {
    client::WriteReply reply = WriteWithToken(remote, resource, lock_a, token, value);
    if (reply.status.ok()) {
      const Status consistent = ledger.CheckAcknowledgedVersion(resource, reply.version);
      if (!consistent.ok())
        verdict.Fail("acknowledged version consistent", std::string(consistent.message()));
      ledger.Acknowledged(resource, value, token, reply.version);
    } else if (reply.status.outcome_unknown()) {
      ledger.Unknown(resource, value, token);
    } else {
      ledger.Rejected(resource, value, token);
      verdict.Fail("fenced write accepted",
                   resource + " with token " + Str(token) + ": " + Str(reply.status));
    }
  };
  for (int round = 0; round < 3; ++round) {
    for (const std::string& resource : resources) {
      write(resource, token_a0, resource + "@round" + std::to_string(round));
    }
  }
  must(RevokeLease(remote, *lease_a0).ok(), "lease of A's first grant revoked", "lease " + Str(*lease_a0));

  // Lock A, second grant: token a1 > a0; writes with it to the first two resources.
  Result<LeaseId> lease_a1 = GrantLease(remote, ttl);
  if (!must(lease_a1.ok(), "lease granted",
            lease_a1.ok() ? "lease " + Str(*lease_a1) : Str(lease_a1.status())))
    return verdict.ExitCode();
  Result<protocol::AcquireBody> a1 = Acquire(remote, lock_a, *lease_a1, protocol::AcquireMode::kTry);
  if (!must(a1.ok() && a1->state == protocol::AcquireState::kGranted && a1->token > token_a0,
            "lock A granted again with a higher token",
            a1.ok() ? "token " + Str(a1->token) + " after " + Str(token_a0) : Str(a1.status())))
    return verdict.ExitCode();
  const FencingToken token_a1 = a1->token;
  for (size_t k = 0; k < 2; ++k) {
    if (k == 1 && flags.fault == "unsent-ack") {
      const std::string value = resources[k] + "@unsent";
      const std::optional<LedgerWrite> previous = ledger.LastAcknowledged(resources[k]);
      ledger.Acknowledged(resources[k], value, token_a1, (previous ? previous->version : 0) + 1);
      verdict.Note("fault unsent-ack: '" + value + "' recorded as acknowledged, never sent");
      continue;
    }
    write(resources[k], token_a1, resources[k] + "@second-grant");
  }

  // Lock B: held, with two waiters in order.
  Result<LeaseId> lease_b = GrantLease(remote, ttl);
  Result<LeaseId> waiter_1 = GrantLease(remote, ttl);
  Result<LeaseId> waiter_2 = GrantLease(remote, ttl);
  if (!must(lease_b.ok() && waiter_1.ok() && waiter_2.ok(), "leases for lock B granted",
            lease_b.ok() && waiter_1.ok() && waiter_2.ok()
                ? Str(*lease_b) + " (holder), " + Str(*waiter_1) + ", " + Str(*waiter_2) + " (waiters)"
                : "a grant failed"))
    return verdict.ExitCode();
  Result<protocol::AcquireBody> b = Acquire(remote, lock_b, *lease_b, protocol::AcquireMode::kTry);
  if (!must(b.ok() && b->state == protocol::AcquireState::kGranted, "lock B granted",
            b.ok() ? "token " + Str(b->token) : Str(b.status())))
    return verdict.ExitCode();
  const FencingToken token_b = b->token;
  for (const auto& [waiter, position] : {std::pair{*waiter_1, 0u}, std::pair{*waiter_2, 1u}}) {
    Result<protocol::AcquireBody> queued = Acquire(remote, lock_b, waiter, protocol::AcquireMode::kWait);
    if (!must(
            queued.ok() && queued->state == protocol::AcquireState::kWaiting && queued->position == position,
            "lease " + Str(waiter) + " waits for lock B",
            queued.ok() ? "position " + std::to_string(queued->position) : Str(queued.status())))
      return verdict.ExitCode();
  }

  // What must come back: the values read now, once they agree with the ledger.
  json expected = {{"client_id", remote.client_id().value()},
                   {"resources", json::array()},
                   {"lease_ttl_s", flags.ttl_seconds},
                   {"lock_a",
                    {{"name", lock_a},
                     {"holder", lease_a1->value()},
                     {"token", token_a1.value()},
                     {"stale_token", token_a0.value()}}},
                   {"lock_b",
                    {{"name", lock_b},
                     {"holder", lease_b->value()},
                     {"token", token_b.value()},
                     {"waiters", {waiter_1->value(), waiter_2->value()}}}}};
  for (const std::string& resource : resources) {
    if (flags.fault == "unsent-ack" && resource == resources[1]) {
      // The pretended acknowledgement becomes the expectation; only `verify` sees it.
      const LedgerWrite last = *ledger.LastAcknowledged(resource);
      expected["resources"].push_back({{"name", resource},
                                       {"lock", lock_a},
                                       {"value", last.value},
                                       {"version", last.version},
                                       {"max_token", token_a1.value()}});
      continue;
    }
    Result<protocol::ReadBody> read = ReadResource(remote, resource);
    if (!read.ok()) {
      verdict.Fail("read back " + resource, Str(read.status()));
      continue;
    }
    const Status consistent =
        ledger.CheckObserved(resource, ObservedResource{read->value, read->version, read->max_token});
    if (verdict.Expect(consistent.ok(), "written: " + resource,
                       consistent.ok() ? "'" + read->value + "' version " + std::to_string(read->version) +
                                             " max_token " + Str(read->max_token)
                                       : std::string(consistent.message()))) {
      expected["resources"].push_back(ResourceJson(resource, *read));
    }
  }
  SaveJson(flags.expect_path, expected, verdict);
  return verdict.ExitCode();
}

// --- verify -------------------------------------------------------------------------

std::optional<json> LoadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  json document = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) return std::nullopt;
  return document;
}

std::string Describe(const protocol::LockInfoBody& info) {
  std::string text = "holder " + (info.holder ? Str(*info.holder) : std::string("none")) + ", token " +
                     Str(info.token) + ", waiters [";
  for (size_t w = 0; w < info.waiters.size(); ++w) text += (w ? " " : "") + Str(info.waiters[w].lease);
  return text + "] (" + std::to_string(info.waiter_count) + ")";
}

bool SameLock(const protocol::LockInfoBody& info, std::optional<LeaseId> holder, FencingToken token,
              const std::vector<LeaseId>& waiters) {
  if (info.holder != holder || info.token != token || info.waiter_count != waiters.size()) return false;
  if (info.waiters.size() != waiters.size()) return false;
  for (size_t w = 0; w < waiters.size(); ++w) {
    if (info.waiters[w].lease != waiters[w]) return false;
  }
  return true;
}

int RunVerify(const Flags& flags) {
  Verdict verdict;
  std::optional<json> expected;
  try {
    expected = LoadJson(flags.expect_path);
    if (!expected || !expected->contains("client_id") || !expected->contains("resources") ||
        !(*expected).at("resources").is_array() || (*expected).at("resources").empty()) {
      std::fprintf(stderr, "verify: %s is not an expectations file\n", flags.expect_path.c_str());
      return kExitUsage;
    }
    // One client id with `setup`: leases belong to their client (revoking them needs it).
    Result<std::unique_ptr<remote::RemoteClient>> connected =
        ConnectTo(flags.dir, (*expected).at("client_id").get<uint32_t>());
    if (!connected.ok()) {
      verdict.Fail("connect", Str(connected.status()));
      return verdict.ExitCode();
    }
    remote::RemoteClient& remote = **connected;

    const json& resources = (*expected).at("resources");
    for (size_t k = 0; k < resources.size(); ++k) {
      const json& want = resources[k];
      const std::string name = want.at("name").get<std::string>();
      const std::string read_from = flags.fault == "wrong-resource"
                                        ? resources[(k + 1) % resources.size()].at("name").get<std::string>()
                                        : name;
      Result<protocol::ReadBody> read = ReadResource(remote, read_from);
      if (!read.ok()) {
        verdict.Fail("state back: " + name, Str(read.status()));
        continue;
      }
      const bool same = read->value == want.at("value").get<std::string>() &&
                        read->version == want.at("version").get<uint64_t>() &&
                        read->max_token.value() == want.at("max_token").get<uint64_t>() &&
                        read->lock == want.at("lock").get<std::string>();
      const std::string shown = "'" + read->value + "' version " + std::to_string(read->version) +
                                " max_token " + Str(read->max_token) + " lock " + read->lock;
      verdict.Expect(same, "state back: " + name,
                     same ? shown
                          : "shows " + shown + ", expected '" + want.at("value").get<std::string>() +
                                "' version " + std::to_string(want.at("version").get<uint64_t>()) +
                                " max_token " + std::to_string(want.at("max_token").get<uint64_t>()) +
                                " — lost acknowledged state");
    }
    if (!expected->contains("lock_a")) return verdict.ExitCode();

    const json& a = (*expected).at("lock_a");
    const json& b = (*expected).at("lock_b");
    const std::string lock_a = a.at("name").get<std::string>();
    const std::string lock_b = b.at("name").get<std::string>();
    const LeaseId holder_a(a.at("holder").get<uint64_t>());
    const FencingToken token_a(a.at("token").get<uint64_t>());
    const FencingToken stale_a(a.at("stale_token").get<uint64_t>());
    const LeaseId holder_b(b.at("holder").get<uint64_t>());
    const FencingToken token_b(b.at("token").get<uint64_t>());
    std::vector<LeaseId> waiters_b;
    for (const json& waiter : b.at("waiters")) waiters_b.emplace_back(waiter.get<uint64_t>());
    const Duration ttl = Seconds((*expected).at("lease_ttl_s").get<int64_t>());

    Result<protocol::LockInfoBody> info_a = GetLock(remote, lock_a);
    verdict.Expect(info_a.ok() && SameLock(*info_a, holder_a, token_a, {}), "lock A back",
                   info_a.ok()
                       ? Describe(*info_a) + "; expected holder " + Str(holder_a) + " token " + Str(token_a)
                       : Str(info_a.status()));
    Result<protocol::LockInfoBody> info_b = GetLock(remote, lock_b);
    verdict.Expect(info_b.ok() && SameLock(*info_b, holder_b, token_b, waiters_b),
                   "lock B back with its waiters",
                   info_b.ok() ? Describe(*info_b) + "; expected holder " + Str(holder_b) + " token " +
                                     Str(token_b) + " waiters " + std::to_string(waiters_b.size())
                               : Str(info_b.status()));
    Result<protocol::LeaseInfoBody> lease = GetLease(remote, holder_a);
    const bool lease_back = lease.ok() && lease->ttl == ttl && lease->remaining > Duration::Zero() &&
                            lease->remaining <= ttl && lease->held.size() == 1 && lease->held[0] == lock_a;
    verdict.Expect(lease_back, "lease of A's holder back",
                   lease.ok() ? "lease " + Str(holder_a) + " ttl " + FormatDuration(lease->ttl) +
                                    " remaining " + FormatDuration(lease->remaining) + ", holds " +
                                    (lease->held.empty() ? std::string("nothing") : lease->held[0])
                              : Str(lease.status()));

    // A stale token is still rejected: the store's max_token survived.
    const std::string resource = resources[0].at("name").get<std::string>();
    client::WriteReply stale = WriteWithToken(remote, resource, lock_a, stale_a, "stale-after-restart");
    verdict.Expect(stale.status.code() == StatusCode::kAborted && stale.max_token == token_a,
                   "stale token rejected after the restart",
                   "write with token " + Str(stale_a) + ": " + Str(stale.status) + ", max_token " +
                       Str(stale.max_token));

    // The fencing counter continues: free A, grant it again.
    const Status revoked = RevokeLease(remote, holder_a);
    verdict.Expect(revoked.ok(), "A's holder lease revoked (same client after the restart)", Str(revoked));
    Result<LeaseId> fresh = GrantLease(remote, ttl);
    Result<protocol::AcquireBody> regrant = fresh.ok()
                                                ? Acquire(remote, lock_a, *fresh, protocol::AcquireMode::kTry)
                                                : Result<protocol::AcquireBody>(fresh.status());
    const bool continues =
        regrant.ok() && regrant->state == protocol::AcquireState::kGranted && regrant->token > token_a;
    verdict.Expect(continues, "fencing counter continues",
                   regrant.ok() ? "next grant of A: token " + Str(regrant->token) + " after " + Str(token_a)
                                : Str(regrant.status()));
    if (continues) {
      const uint64_t version = resources[0].at("version").get<uint64_t>();
      client::WriteReply fresh_write =
          WriteWithToken(remote, resource, lock_a, regrant->token, "after-restart");
      verdict.Expect(fresh_write.status.ok() && fresh_write.version == version + 1,
                     "write with the new token",
                     Str(fresh_write.status) + ", version " + std::to_string(fresh_write.version) +
                         " (expected " + std::to_string(version + 1) + ")");
      client::WriteReply old_write =
          WriteWithToken(remote, resource, lock_a, token_a, "old-holder-after-restart");
      verdict.Expect(old_write.status.code() == StatusCode::kAborted && old_write.max_token == regrant->token,
                     "the pre-restart holder's token is now stale",
                     "write with token " + Str(token_a) + ": " + Str(old_write.status) + ", max_token " +
                         Str(old_write.max_token));
    }

    // B's queue survived: revoking the holder grants B to the first waiter.
    const Status revoked_b = RevokeLease(remote, holder_b);
    verdict.Expect(revoked_b.ok(), "B's holder lease revoked", Str(revoked_b));
    Result<protocol::LockInfoBody> next_b = GetLock(remote, lock_b);
    const std::vector<LeaseId> rest(waiters_b.begin() + (waiters_b.empty() ? 0 : 1), waiters_b.end());
    const bool handed_over = next_b.ok() && !waiters_b.empty() && next_b->holder == waiters_b[0] &&
                             next_b->token > token_b && SameLock(*next_b, waiters_b[0], next_b->token, rest);
    verdict.Expect(handed_over, "lock B passes to its first waiter",
                   next_b.ok() ? Describe(*next_b) : Str(next_b.status()));
    return verdict.ExitCode();
  } catch (const json::exception& error) {
    std::fprintf(stderr, "verify: malformed expectations file %s: %s\n", flags.expect_path.c_str(),
                 error.what());
    return kExitUsage;
  }
}

}  // namespace
}  // namespace murphy::itest

int main(int argc, char** argv) {
  using murphy::itest::Flags;
  Flags flags;
  CLI::App app{"murphy-durability-driver: client half of the real-process durability tests"};
  app.require_subcommand(1);
  const std::vector<std::string> faults = {"none", "unsent-ack", "wrong-resource"};
  auto common = [&flags, &faults](CLI::App* command) {
    command->add_option("--dir", flags.dir, "Cluster directory (murphy cluster up --dir)")->required();
    command->add_option("--expect", flags.expect_path,
                        "Expectations file (written by stream/setup, read by verify)");
    command->add_option("--fault", flags.fault, "Break the driver on purpose")->check(CLI::IsMember(faults));
  };
  CLI::App* stream = app.add_subcommand("stream", "Stream fenced writes across a kill of the leader");
  common(stream);
  stream->add_option("--resources", flags.resources, "Resources written round-robin");
  stream->add_option("--before-kill", flags.before_kill, "Acknowledged writes before asking for the kill");
  stream->add_option("--after-kill", flags.after_kill, "Acknowledged writes after the kill");
  stream->add_option("--ttl-s", flags.ttl_seconds, "Lease TTL of the writer's lock");
  stream->add_option("--timeout-s", flags.timeout_seconds, "Give up (and fail) after this long");
  CLI::App* setup = app.add_subcommand("setup", "Write the state a full restart must bring back");
  common(setup);
  setup->add_option("--resources", flags.resources, "Resources written");
  setup->add_option("--ttl-s", flags.ttl_seconds, "Lease TTL (long: the leases must outlive the restart)");
  CLI::App* verify = app.add_subcommand("verify", "Check the saved state is back");
  common(verify);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : murphy::itest::kExitUsage;
  }
  if (verify->parsed() && flags.expect_path.empty()) {
    std::fprintf(stderr, "verify: --expect FILE is required\n");
    return murphy::itest::kExitUsage;
  }
  if (stream->parsed()) return murphy::itest::RunStream(flags);
  if (setup->parsed()) return murphy::itest::RunSetup(flags);
  return murphy::itest::RunVerify(flags);
}
