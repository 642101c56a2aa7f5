// murphy kv put|get — the fenced store: a write carries a lock name and a fencing
// token and is accepted iff token >= the resource's max_token (ARCHITECTURE.md,
// "Fencing tokens"); a stale token is rejected with the store's max_token (exit 4).
#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "murphy/cli/client_command_support.h"
#include "murphy/cli/commands.h"

namespace murphy::cli {
namespace {

struct KvFlags {
  ClientFlags client;
  std::string resource;
  std::string value;
  std::string lock;
  uint64_t token = 0;
  uint64_t expected_version = 0;
  CLI::Option* expected_version_option = nullptr;  // given iff count() > 0
};

int RunPut(const KvFlags& flags) {
  ClientCommand command("kv put", flags.client);
  if (flags.token == 0) return command.Fail(kExitUsage, InvalidArgumentError("--token must be >= 1"));
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote = command.Connect(&exit_code);
  if (remote == nullptr) return exit_code;
  protocol::WriteRequest request;
  request.resource = flags.resource;
  request.lock = flags.lock;
  request.token = FencingToken(flags.token);
  request.value = flags.value;
  if (flags.expected_version_option->count() > 0) request.expected_version = flags.expected_version;
  const client::CallResult result = remote->Call(request, command.timeout());
  nlohmann::json json = {{"resource", flags.resource}, {"lock", flags.lock}, {"token", flags.token}};
  const protocol::WriteBody* body =
      result.response.has_value() ? std::get_if<protocol::WriteBody>(&result.response->body) : nullptr;
  if (body != nullptr) {
    json["max_token"] = body->max_token.value();
    json["version"] = body->version;
  }
  if (!result.status.ok()) {
    // ABORTED is also a compare-and-set mismatch; a stale token is the case where the
    // store has seen a larger token than ours.
    if (result.status.code() == StatusCode::kAborted && body != nullptr && body->max_token > request.token) {
      json["rejected"] = true;
      return command.Fail(kExitStaleToken,
                          AbortedError("rejected: token " + std::to_string(flags.token) + " < max_token " +
                                       ToString(body->max_token) + " (a newer lock holder has written)"),
                          json);
    }
    return command.Fail(result.status, json);
  }
  json["written"] = true;
  return command.Succeed(json, "written " + flags.resource + ": version " + std::to_string(body->version) +
                                   " (token " + std::to_string(flags.token) + ", max_token " +
                                   ToString(body->max_token) + ")");
}

int RunGet(const KvFlags& flags) {
  ClientCommand command("kv get", flags.client);
  int exit_code = kExitOk;
  std::unique_ptr<remote::RemoteClient> remote = command.Connect(&exit_code);
  if (remote == nullptr) return exit_code;
  const client::CallResult result = remote->Call(protocol::ReadRequest{flags.resource}, command.timeout());
  if (!result.status.ok()) {
    if (result.status.code() == StatusCode::kNotFound) {
      return command.Fail(NotFoundError("resource " + flags.resource + " not found (never written)"),
                          {{"resource", flags.resource}});
    }
    return command.Fail(result.status, {{"resource", flags.resource}});
  }
  const auto& body = std::get<protocol::ReadBody>(result.response->body);
  const nlohmann::json json = {{"resource", flags.resource},
                               {"value", body.value},
                               {"lock", body.lock},
                               {"max_token", body.max_token.value()},
                               {"version", body.version}};
  return command.Succeed(json, "value:     " + body.value + "\nlock:      " + body.lock + "\nmax_token: " +
                                   ToString(body.max_token) + "\nversion:   " + std::to_string(body.version));
}

}  // namespace

void AddKvCommand(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<KvFlags>();
  CLI::App* kv = app.add_subcommand("kv", "Fenced writes and reads of the store");
  kv->require_subcommand(1);
  kv->footer(kExitCodeHelp);

  CLI::App* put = kv->add_subcommand("put", "Write RESOURCE = VALUE fenced by a lock's token");
  put->add_option("RESOURCE", flags->resource, "Resource name")->required();
  put->add_option("VALUE", flags->value, "Value")->required();
  put->add_option("--lock", flags->lock, "The lock whose token fences the resource")->required();
  put->add_option("--token", flags->token, "The fencing token (murphy lock acquire printed it)")->required();
  flags->expected_version_option =
      put->add_option("--expected-version", flags->expected_version,
                      "Compare-and-set: write only if the resource is at this version");
  AddClientFlags(put, &flags->client);
  put->footer(std::string("A stale token prints \"rejected: token T < max_token M\" and exits 4. ") +
              kExitCodeHelp);
  put->callback([flags, exit_code] { *exit_code = RunPut(*flags); });

  CLI::App* get = kv->add_subcommand("get", "Read a resource: value, lock, max_token, version");
  get->add_option("RESOURCE", flags->resource, "Resource name")->required();
  AddClientFlags(get, &flags->client);
  get->footer(kExitCodeHelp);
  get->callback([flags, exit_code] { *exit_code = RunGet(*flags); });
}

}  // namespace murphy::cli
