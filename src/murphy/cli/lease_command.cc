// murphy lease grant|keepalive|revoke|show — leases of the lock service, managed by
// hand (etcdctl lease style). A lease belongs to the client id that granted it; the
// commands that change a lease act as that client (ClientCommand::ConnectAsLeaseOwner),
// since the process that granted it has exited.
#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "murphy/cli/client_command_support.h"
#include "murphy/cli/commands.h"

namespace murphy::cli {
namespace {

struct LeaseFlags {
  ClientFlags client;
  std::string ttl = "10s";
  uint64_t lease = 0;
};

nlohmann::json LeaseJson(const protocol::LeaseBody& body) {
  return {{"lease", body.lease.value()}, {"ttl_ms", ToMilliseconds(body.ttl)}};
}

int RunGrant(const LeaseFlags& flags) {
  ClientCommand command("lease grant", flags.client);
  const Duration ttl = *ParseDuration(flags.ttl);
  if (ttl <= Duration::Zero()) return command.Fail(kExitUsage, InvalidArgumentError("--ttl must be > 0"));
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote = command.Connect(&exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result = remote->Call(protocol::GrantLeaseRequest{ttl}, command.timeout());
  if (!result.status.ok()) return command.Fail(result.status);
  const auto& body = std::get<protocol::LeaseBody>(result.response->body);
  return command.Succeed(LeaseJson(body),
                         "lease " + ToString(body.lease) + " granted with ttl " + FormatDuration(body.ttl));
}

int RunKeepAlive(const LeaseFlags& flags) {
  ClientCommand command("lease keepalive", flags.client);
  int exit_code = kExitOk;
  const LeaseId lease(flags.lease);
  std::unique_ptr<remote::RemoteClient> remote = command.ConnectAsLeaseOwner(lease, &exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result = remote->Call(protocol::KeepAliveRequest{lease}, command.timeout());
  if (!result.status.ok()) return command.Fail(result.status, {{"lease", flags.lease}});
  const auto& body = std::get<protocol::LeaseBody>(result.response->body);
  return command.Succeed(LeaseJson(body), "lease " + ToString(body.lease) + " renewed: ttl " +
                                              FormatDuration(body.ttl) + " from now");
}

int RunRevoke(const LeaseFlags& flags) {
  ClientCommand command("lease revoke", flags.client);
  int exit_code = kExitOk;
  const LeaseId lease(flags.lease);
  std::unique_ptr<remote::RemoteClient> remote = command.ConnectAsLeaseOwner(lease, &exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result = remote->Call(protocol::RevokeLeaseRequest{lease}, command.timeout());
  if (!result.status.ok()) return command.Fail(result.status, {{"lease", flags.lease}});
  return command.Succeed({{"lease", flags.lease}, {"revoked", true}},
                         "lease " + ToString(lease) + " revoked (its locks are released)");
}

int RunShow(const LeaseFlags& flags) {
  ClientCommand command("lease show", flags.client);
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote = command.Connect(&exit_code);
  if (remote == nullptr) return exit_code;
  const LeaseId lease(flags.lease);
  const client::CallResult result = remote->Call(protocol::GetLeaseRequest{lease}, command.timeout());
  if (!result.status.ok()) {
    if (result.status.code() == StatusCode::kNotFound) {
      return command.Fail(
          NotFoundError("lease " + ToString(lease) + " not found (expired, revoked or never granted)"),
          {{"lease", flags.lease}});
    }
    return command.Fail(result.status, {{"lease", flags.lease}});
  }
  const auto& body = std::get<protocol::LeaseInfoBody>(result.response->body);
  const nlohmann::json json = {{"lease", body.lease.value()},
                               {"client", body.client.value()},
                               {"ttl_ms", ToMilliseconds(body.ttl)},
                               {"remaining_ms", ToMilliseconds(body.remaining)},
                               {"renewals", body.renewals},
                               {"held", body.held},
                               {"waiting", body.waiting}};
  std::string human =
      "lease:     " + ToString(body.lease) + "\nclient:    " + ToString(body.client) +
      "\nttl:       " + FormatDuration(body.ttl) + "\nremaining: " + FormatDuration(body.remaining) +
      " (as of the last checkpoint or renewal)\nrenewals:  " + std::to_string(body.renewals) + "\nholds:    ";
  for (const std::string& lock : body.held) human += " " + lock;
  if (body.held.empty()) human += " -";
  human += "\nwaits for:";
  for (const std::string& lock : body.waiting) human += " " + lock;
  if (body.waiting.empty()) human += " -";
  return command.Succeed(json, human);
}

}  // namespace

void AddLeaseCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<LeaseFlags>();
  CLI::App* lease = app.add_subcommand("lease", "Grant, renew, revoke and inspect leases");
  lease->require_subcommand(1);
  lease->footer(kExitCodeHelp);

  CLI::App* grant = lease->add_subcommand("grant", "Grant a lease; prints its id");
  CheckDuration(grant->add_option("--ttl", flags->ttl, "Time to live, e.g. 10s")->capture_default_str());
  AddClientFlags(grant, &flags->client);
  grant->footer(kExitCodeHelp);
  grant->callback([flags, exit_code] { *exit_code = RunGrant(*flags); });

  CLI::App* keepalive = lease->add_subcommand("keepalive", "Renew a lease once: a full ttl from now");
  keepalive->add_option("ID", flags->lease, "Lease id")->required();
  AddClientFlags(keepalive, &flags->client);
  keepalive->footer(kExitCodeHelp);
  keepalive->callback([flags, exit_code] { *exit_code = RunKeepAlive(*flags); });

  CLI::App* revoke = lease->add_subcommand("revoke", "Revoke a lease; the locks it holds are released");
  revoke->add_option("ID", flags->lease, "Lease id")->required();
  AddClientFlags(revoke, &flags->client);
  revoke->footer(kExitCodeHelp);
  revoke->callback([flags, exit_code] { *exit_code = RunRevoke(*flags); });

  CLI::App* show =
      lease->add_subcommand("show", "Show a lease: owner, ttl, remaining, locks held and awaited");
  show->add_option("ID", flags->lease, "Lease id")->required();
  AddClientFlags(show, &flags->client);
  show->footer(kExitCodeHelp);
  show->callback([flags, exit_code] { *exit_code = RunShow(*flags); });
}

}  // namespace murphy::cli
