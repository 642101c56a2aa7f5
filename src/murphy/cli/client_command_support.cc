#include "murphy/cli/client_command_support.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <utility>

namespace murphy::cli {
namespace {

constexpr int64_t kMaxDurationNanoseconds = int64_t{24} * 3600 * 1'000'000'000;
constexpr size_t kMaxDurationText = 64;

// Nanoseconds per unit; 0 for an unknown unit.
int64_t UnitNanoseconds(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return int64_t{60} * 1'000'000'000;
  if (unit == "h") return int64_t{3600} * 1'000'000'000;
  return 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return c >= 'a' && c <= 'z'; }

Status BadDuration(std::string_view text, std::string_view why) {
  return InvalidArgumentError("bad duration \"" + std::string(text.substr(0, kMaxDurationText)) +
                              "\": " + std::string(why) + " (use e.g. 10s, 500ms, 1m30s)");
}

}  // namespace

Result<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return BadDuration(text, "empty");
  if (text.size() > kMaxDurationText) return BadDuration(text, "too long");
  int64_t total = 0;
  size_t position = 0;
  while (position < text.size()) {
    // Number: digits, optionally '.' and more digits (at least one digit in all).
    int64_t whole = 0;
    size_t whole_digits = 0;
    while (position < text.size() && IsDigit(text[position])) {
      if (whole > kMaxDurationNanoseconds) return BadDuration(text, "too large (at most 24h)");
      whole = whole * 10 + (text[position] - '0');
      ++position;
      ++whole_digits;
    }
    int64_t fraction = 0;
    int64_t fraction_scale = 1;
    size_t fraction_digits = 0;
    if (position < text.size() && text[position] == '.') {
      ++position;
      while (position < text.size() && IsDigit(text[position])) {
        if (fraction_digits < 9) {  // finer than a nanosecond of an hour is noise
          fraction = fraction * 10 + (text[position] - '0');
          fraction_scale *= 10;
        }
        ++position;
        ++fraction_digits;
      }
      if (fraction_digits == 0) return BadDuration(text, "a '.' needs digits after it");
    }
    if (whole_digits == 0 && fraction_digits == 0) {
      return BadDuration(text,
                         position < text.size() && text[position] == '-' ? "negative" : "expected a number");
    }
    const size_t unit_start = position;
    while (position < text.size() && IsLetter(text[position])) ++position;
    const std::string_view unit = text.substr(unit_start, position - unit_start);
    if (unit.empty()) return BadDuration(text, "a number needs a unit (ns, us, ms, s, m, h)");
    const int64_t per_unit = UnitNanoseconds(unit);
    if (per_unit == 0) return BadDuration(text, "unknown unit \"" + std::string(unit) + "\"");
    if (whole > kMaxDurationNanoseconds / per_unit) return BadDuration(text, "too large (at most 24h)");
    // fraction / fraction_scale < 1 and per_unit <= 3.6e12, fraction < 1e9: the product
    // fits in 63 bits only if split: (per_unit / scale) * fraction + remainder part.
    const int64_t fractional_nanoseconds =
        (per_unit / fraction_scale) * fraction + (per_unit % fraction_scale) * fraction / fraction_scale;
    total += whole * per_unit + fractional_nanoseconds;
    if (total > kMaxDurationNanoseconds) return BadDuration(text, "too large (at most 24h)");
  }
  return Duration::FromNanoseconds(total);
}

void CheckDuration(CLI::Option* option) {
  option->check(CLI::Validator(
      [](std::string& text) -> std::string {
        const Result<Duration> parsed = ParseDuration(text);
        return parsed.ok() ? std::string() : std::string(parsed.status().message());
      },
      "DURATION", "duration"));
}

void AddClientFlags(CLI::App* command, ClientFlags* flags, bool with_json) {
  command->add_option("--dir", flags->dir, "Cluster directory written by `murphy cluster up`")
      ->capture_default_str();
  command->add_option("--endpoints", flags->endpoints,
                      "Nodes as ID=HOST:PORT,... (murphyd --listen addresses); needs --cluster-id");
  command->add_option("--cluster-id", flags->cluster_id, "The cluster id (with --endpoints)");
  CheckDuration(command->add_option("--timeout", flags->timeout, "Deadline of each request, e.g. 5s")
                    ->capture_default_str());
  if (with_json) command->add_flag("--json", flags->json, "Print one JSON object on stdout");
}

Result<remote::ClusterEndpoints> ResolveCluster(const ClientFlags& flags) {
  if (!flags.endpoints.empty()) {
    if (flags.cluster_id == 0) return InvalidArgumentError("--endpoints needs --cluster-id N");
    Result<remote::ClusterEndpoints> cluster = remote::ParseEndpointList(flags.endpoints, flags.cluster_id);
    if (!cluster.ok()) return InvalidArgumentError("--endpoints: " + std::string(cluster.status().message()));
    return cluster;
  }
  if (flags.cluster_id != 0) return InvalidArgumentError("--cluster-id is used only with --endpoints");
  Result<remote::ClusterEndpoints> cluster = remote::ReadClusterDirectory(flags.dir);
  if (!cluster.ok()) {
    if (cluster.status().code() == StatusCode::kNotFound) {
      return InvalidArgumentError("no cluster in " + flags.dir +
                                  " (start one with `murphy cluster up --dir " + flags.dir +
                                  "`, or give --dir DIR or --endpoints)");
    }
    return InvalidArgumentError(flags.dir + ": " + std::string(cluster.status().message()));
  }
  return cluster;
}

int ExitCodeFor(const Status& status) {
  if (status.ok()) return kExitOk;
  if (status.code() == StatusCode::kDeadlineExceeded) return kExitOutcomeUnknown;
  return kExitFailed;
}

Duration ClientCommand::timeout() const {
  const Result<Duration> parsed = ParseDuration(flags_.timeout);
  return parsed.ok() ? *parsed : Seconds(5);
}

std::unique_ptr<remote::RemoteClient> ClientCommand::Connect(int* exit_code) {
  Result<remote::ClusterEndpoints> cluster = ResolveCluster(flags_);
  if (!cluster.ok()) {
    *exit_code = Fail(kExitUsage, cluster.status());
    return nullptr;
  }
  remote::RemoteClientOptions options;
  return ConnectWith(*cluster, options, exit_code);
}

std::unique_ptr<remote::RemoteClient> ClientCommand::ConnectWith(const remote::ClusterEndpoints& cluster,
                                                                 remote::RemoteClientOptions options,
                                                                 int* exit_code) {
  Result<std::unique_ptr<remote::RemoteClient>> client =
      remote::RemoteClient::Connect(cluster, std::move(options));
  if (!client.ok()) {
    *exit_code = Fail(kExitFailed, client.status());
    return nullptr;
  }
  return std::move(*client);
}

std::unique_ptr<remote::RemoteClient> ClientCommand::ConnectAsLeaseOwner(LeaseId lease, int* exit_code) {
  Result<remote::ClusterEndpoints> cluster = ResolveCluster(flags_);
  if (!cluster.ok()) {
    *exit_code = Fail(kExitUsage, cluster.status());
    return nullptr;
  }
  NodeId owner;
  {
    std::unique_ptr<remote::RemoteClient> reader = ConnectWith(*cluster, {}, exit_code);
    if (reader == nullptr) return nullptr;
    const client::CallResult result = reader->Call(protocol::GetLeaseRequest{lease}, timeout());
    if (!result.status.ok()) {
      const Status status =
          result.status.code() == StatusCode::kNotFound
              ? NotFoundError("lease " + ToString(lease) + " not found (expired or revoked?)")
              : result.status;
      *exit_code = Fail(status, {{"lease", lease.value()}});
      return nullptr;
    }
    owner = std::get<protocol::LeaseInfoBody>(result.response->body).client;
  }
  remote::RemoteClientOptions options;
  options.client_id = static_cast<uint32_t>(owner.value());
  if (options.client_id == 0 || options.client_id != owner.value()) {
    *exit_code = Fail(kExitFailed, InvalidArgumentError("lease " + ToString(lease) + " belongs to client " +
                                                        ToString(owner) + ", which a CLI cannot act as"));
    return nullptr;
  }
  return ConnectWith(*cluster, options, exit_code);
}

int ClientCommand::Succeed(const nlohmann::json& json, const std::string& human) const {
  if (flags_.json) {
    std::printf("%s\n", json.dump().c_str());
  } else {
    std::printf("%s\n", human.c_str());
  }
  std::fflush(stdout);
  return kExitOk;
}

int ClientCommand::Fail(int exit_code, const Status& status, nlohmann::json fields) const {
  std::fprintf(stderr, "murphy %s: %s\n", name_.c_str(), std::string(status.message()).c_str());
  if (flags_.json) {
    fields["error"] = std::string(status.message());
    fields["code"] = std::string(StatusCodeName(status.code()));
    fields["exit_code"] = exit_code;
    std::printf("%s\n", fields.dump().c_str());
  }
  std::fflush(stdout);
  std::fflush(stderr);
  return exit_code;
}

}  // namespace murphy::cli
