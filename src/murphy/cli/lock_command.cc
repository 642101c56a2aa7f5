// murphy lock acquire|release|show — locks under a lease the user manages (etcdctl
// `lock --lease` style: the CLI process exits, the lease stays), or under a lease that
// `acquire --ttl` grants and prints. `lock run` is in lock_run.cc.
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "murphy/cli/client_command_support.h"
#include "murphy/cli/commands.h"

namespace murphy::cli {
namespace {

constexpr Duration kWaitPollInterval = Milliseconds(100);

struct LockFlags {
  ClientFlags client;
  std::string name;
  uint64_t lease = 0;
  std::string ttl;
  bool try_once = false;
  std::string wait_timeout;
};

// Where a lease stands in a lock's queue, from a GetLock answer.
enum class Standing { kHolder, kWaiting, kNeither };
Standing StandingOf(const protocol::LockInfoBody& info, LeaseId lease) {
  if (info.holder == lease) return Standing::kHolder;
  for (const protocol::WaiterView& waiter : info.waiters) {
    if (waiter.lease == lease) return Standing::kWaiting;
  }
  return Standing::kNeither;
}

int RunAcquire(const LockFlags& flags) {
  ClientCommand command("lock acquire", flags.client);
  if ((flags.lease != 0) == !flags.ttl.empty()) {
    return command.Fail(kExitUsage,
                        InvalidArgumentError("give --lease ID (a lease you manage) or --ttl D (grant "
                                             "a new lease), one of them"));
  }
  protocol::AcquireRequest request;
  request.lock = flags.name;
  request.mode = protocol::AcquireMode::kWait;
  if (flags.try_once) request.mode = protocol::AcquireMode::kTry;
  if (!flags.wait_timeout.empty()) {
    request.mode = protocol::AcquireMode::kWaitWithTimeout;
    request.wait_timeout = *ParseDuration(flags.wait_timeout);
    if (request.wait_timeout <= Duration::Zero()) {
      return command.Fail(kExitUsage, InvalidArgumentError("--wait-timeout must be > 0 (or use --try)"));
    }
  }
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote;
  nlohmann::json json = {{"lock", flags.name}};
  std::string granted_here;
  if (flags.lease != 0) {
    request.lease = LeaseId(flags.lease);
    remote = command.ConnectAsLeaseOwner(request.lease, &exit_code);
    if (remote == nullptr) return exit_code;
  } else {
    const Duration ttl = *ParseDuration(flags.ttl);
    if (ttl <= Duration::Zero()) return command.Fail(kExitUsage, InvalidArgumentError("--ttl must be > 0"));
    remote = command.Connect(&exit_code);
    if (remote == nullptr) return exit_code;
    const client::CallResult grant = remote->Call(protocol::GrantLeaseRequest{ttl}, command.timeout());
    if (!grant.status.ok()) return command.Fail(grant.status, json);
    const auto& body = std::get<protocol::LeaseBody>(grant.response->body);
    request.lease = body.lease;
    json["ttl_ms"] = ToMilliseconds(body.ttl);
    granted_here = " (lease " + ToString(body.lease) + " granted with ttl " + FormatDuration(body.ttl) + ")";
  }
  json["lease"] = request.lease.value();
  // A lease granted here that ends up holding nothing is revoked, best effort, so it
  // does not linger for its ttl.
  const auto fail = [&](int code, const Status& status) {
    if (!granted_here.empty())
      (void)remote->Call(protocol::RevokeLeaseRequest{request.lease}, command.timeout());
    return command.Fail(code, status, json);
  };

  const client::CallResult result = remote->Call(request, command.timeout());
  if (!result.status.ok()) return fail(ExitCodeFor(result.status), result.status);
  const auto& acquired = std::get<protocol::AcquireBody>(result.response->body);
  std::optional<FencingToken> token;
  if (acquired.state == protocol::AcquireState::kGranted) token = acquired.token;

  // Waiting: the grant arrives as a push to whichever connection said hello last for
  // this client id; polling the lock is simpler and works across processes.
  if (!token.has_value()) {
    std::fprintf(stderr, "murphy lock acquire: waiting for %s (position %llu)\n", flags.name.c_str(),
                 static_cast<unsigned long long>(acquired.position));
    for (;;) {
      const client::CallResult poll = remote->Call(protocol::GetLockRequest{flags.name}, command.timeout());
      if (!poll.status.ok() && poll.status.code() != StatusCode::kNotFound) {
        return fail(ExitCodeFor(poll.status), poll.status);
      }
      const Standing standing =
          poll.status.ok() ? StandingOf(std::get<protocol::LockInfoBody>(poll.response->body), request.lease)
                           : Standing::kNeither;
      if (standing == Standing::kHolder) {
        token = std::get<protocol::LockInfoBody>(poll.response->body).token;
        break;
      }
      if (standing == Standing::kNeither) {
        return fail(kExitFailed,
                    FailedPreconditionError("the wait for " + flags.name +
                                            " ended without a grant (wait timeout, or the lease ended)"));
      }
      remote->RunFor(kWaitPollInterval);
    }
  }
  json["token"] = token->value();
  return command.Succeed(json, "acquired " + flags.name + ": token " + ToString(*token) + ", lease " +
                                   ToString(request.lease) + granted_here);
}

int RunRelease(const LockFlags& flags) {
  ClientCommand command("lock release", flags.client);
  int exit_code = kExitOk;
  const LeaseId lease(flags.lease);
  std::unique_ptr<remote::RemoteClient> remote = command.ConnectAsLeaseOwner(lease, &exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result =
      remote->Call(protocol::ReleaseRequest{flags.name, lease}, command.timeout());
  const nlohmann::json json = {{"lock", flags.name}, {"lease", flags.lease}};
  if (!result.status.ok()) return command.Fail(result.status, json);
  nlohmann::json released = json;
  released["released"] = true;
  return command.Succeed(released, "released " + flags.name + " (lease " + ToString(lease) + " stays)");
}

int RunShow(const LockFlags& flags) {
  ClientCommand command("lock show", flags.client);
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote = command.Connect(&exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result = remote->Call(protocol::GetLockRequest{flags.name}, command.timeout());
  if (!result.status.ok()) {
    if (result.status.code() == StatusCode::kNotFound) {
      return command.Fail(NotFoundError("lock " + flags.name + " not found (never acquired, or forgotten)"),
                          {{"lock", flags.name}});
    }
    return command.Fail(result.status, {{"lock", flags.name}});
  }
  const auto& info = std::get<protocol::LockInfoBody>(result.response->body);
  nlohmann::json waiters = nlohmann::json::array();
  std::string waiter_text;
  for (const protocol::WaiterView& waiter : info.waiters) {
    nlohmann::json entry = {{"lease", waiter.lease.value()}, {"ticket", waiter.ticket}};
    if (waiter.timeout > Duration::Zero()) entry["timeout_ms"] = ToMilliseconds(waiter.timeout);
    waiters.push_back(entry);
    waiter_text += " " + ToString(waiter.lease);
  }
  const nlohmann::json json = {
      {"lock", info.lock},
      {"holder", info.holder.has_value() ? nlohmann::json(info.holder->value()) : nullptr},
      {"token", info.token.value()},
      {"waiter_count", info.waiter_count},
      {"waiters", waiters}};
  const std::string human =
      "lock:    " + info.lock + "\nholder:  " +
      (info.holder.has_value() ? "lease " + ToString(*info.holder) : std::string("- (free)")) +
      "\ntoken:   " + ToString(info.token) + (info.holder.has_value() ? "" : " (the last one granted)") +
      "\nwaiters: " + std::to_string(info.waiter_count) +
      (waiter_text.empty() ? "" : " (leases" + waiter_text + ")");
  return command.Succeed(json, human);
}

}  // namespace

void AddLockCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LockFlags>();
  CLI::App* lock =
      app.add_subcommand("lock", "Acquire, release and inspect locks; run a command under a lock");
  lock->require_subcommand(1);
  lock->footer(kExitCodeHelp);

  CLI::App* acquire = lock->add_subcommand(
      "acquire", "Acquire a lock under a lease; prints the fencing token. Waits unless --try.");
  acquire->add_option("NAME", flags->name, "Lock name")->required();
  CLI::Option* lease =
      acquire->add_option("--lease", flags->lease, "A lease you manage (murphy lease grant)");
  CLI::Option* ttl =
      acquire->add_option("--ttl", flags->ttl, "Grant a new lease of this ttl and print it too");
  CheckDuration(ttl);
  lease->excludes(ttl);
  CLI::Option* try_once =
      acquire->add_flag("--try", flags->try_once, "Fail at once (exit 1) if the lock is held");
  CLI::Option* wait_timeout =
      acquire->add_option("--wait-timeout", flags->wait_timeout, "Wait at most this long in the queue");
  CheckDuration(wait_timeout);
  try_once->excludes(wait_timeout);
  AddClientFlags(acquire, &flags->client);
  acquire->footer(
      std::string("The lease must outlive a wait: the lock machine drops the waiters of an ended lease. ") +
      kExitCodeHelp);
  acquire->callback([flags, exit_code] { *exit_code = RunAcquire(*flags); });

  CLI::App* release = lock->add_subcommand("release", "Release a lock held (or awaited) under a lease");
  release->add_option("NAME", flags->name, "Lock name")->required();
  release->add_option("--lease", flags->lease, "The lease that holds it")->required();
  AddClientFlags(release, &flags->client);
  release->footer(kExitCodeHelp);
  release->callback([flags, exit_code] { *exit_code = RunRelease(*flags); });

  CLI::App* show = lock->add_subcommand("show", "Show a lock: holder, token, waiters");
  show->add_option("NAME", flags->name, "Lock name")->required();
  AddClientFlags(show, &flags->client);
  show->footer(kExitCodeHelp);
  show->callback([flags, exit_code] { *exit_code = RunShow(*flags); });

  AddLockRunCommand(*lock, exit_code);
}

}  // namespace murphy::cli
