#include "murphy/server/http_api.h"

#include <charconv>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <utility>
#include <variant>

namespace murphy::server {
namespace {

using Json = nlohmann::json;

// Serializes without throwing: strings that are not valid UTF-8 (a value written
// through the binary protocol may be any bytes) get U+FFFD replacements.
std::string Dump(const Json& json) { return json.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n"; }

HttpResponse JsonResponse(int status, const Json& json) {
  return HttpResponse{status, "application/json", Dump(json), {}};
}

// The nesting depth of a JSON text, counted outside strings; stops counting early.
size_t JsonDepth(std::string_view text) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxApiJsonDepth) return deepest;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// A request body as a checked JSON object: each accessor records the first problem.
class Fields {
 public:
  static Result<Fields> Parse(std::string_view body, std::initializer_list<std::string_view> allowed) {
    if (JsonDepth(body) > kMaxApiJsonDepth) return InvalidArgumentError("JSON nested too deeply");
    Json json = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) return InvalidArgumentError("malformed JSON body");
    if (!json.is_object()) return InvalidArgumentError("the JSON body must be an object");
    for (const auto& item : json.items()) {
      bool known = false;
      for (const std::string_view name : allowed) known = known || item.key() == name;
      if (!known) return InvalidArgumentError("unknown field \"" + item.key() + "\"");
    }
    return Fields(std::move(json));
  }

  std::optional<uint64_t> OptionalUint(const char* name, uint64_t max) {
    const auto found = json_.find(name);
    if (found == json_.end()) return std::nullopt;
    if (!found->is_number_unsigned()) {
      Fail(std::string("\"") + name + "\" must be a non-negative integer");
      return std::nullopt;
    }
    const uint64_t value = found->get<uint64_t>();
    if (value > max) {
      Fail(std::string("\"") + name + "\" must be at most " + std::to_string(max));
      return std::nullopt;
    }
    return value;
  }
  uint64_t Uint(const char* name, uint64_t max = std::numeric_limits<uint64_t>::max()) {
    if (!json_.contains(name)) {
      Fail(std::string("missing field \"") + name + "\"");
      return 0;
    }
    return OptionalUint(name, max).value_or(0);
  }

  std::optional<std::string> OptionalString(const char* name, size_t max_bytes, bool allow_empty) {
    const auto found = json_.find(name);
    if (found == json_.end()) return std::nullopt;
    if (!found->is_string()) {
      Fail(std::string("\"") + name + "\" must be a string");
      return std::nullopt;
    }
    std::string value = found->get<std::string>();
    if (value.size() > max_bytes) {
      Fail(std::string("\"") + name + "\" longer than " + std::to_string(max_bytes) + " bytes");
      return std::nullopt;
    }
    if (!allow_empty && value.empty()) {
      Fail(std::string("\"") + name + "\" must not be empty");
      return std::nullopt;
    }
    return value;
  }
  std::string String(const char* name, size_t max_bytes, bool allow_empty = false) {
    if (!json_.contains(name)) {
      Fail(std::string("missing field \"") + name + "\"");
      return {};
    }
    return OptionalString(name, max_bytes, allow_empty).value_or(std::string());
  }

  const Status& status() const { return status_; }

 private:
  explicit Fields(Json json) : json_(std::move(json)) {}
  void Fail(std::string why) {
    if (status_.ok()) status_ = InvalidArgumentError(std::move(why));
  }
  Json json_;
  Status status_;
};

Result<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError("\"" + std::string(text.substr(0, 64)) + "\" is not a decimal id");
  }
  return value;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A path parameter: percent-decoded, not empty, within the name limit.
Result<std::string> PathName(std::string_view encoded) {
  std::string name;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      name += encoded[i];
      continue;
    }
    const int high = i + 1 < encoded.size() ? HexValue(encoded[i + 1]) : -1;
    const int low = i + 2 < encoded.size() ? HexValue(encoded[i + 2]) : -1;
    if (high < 0 || low < 0) return InvalidArgumentError("malformed percent-encoding in the path");
    name += static_cast<char>(high * 16 + low);
    i += 2;
  }
  if (name.empty()) return InvalidArgumentError("empty name in the path");
  if (name.size() > protocol::kMaxNameBytes) {
    return InvalidArgumentError("name longer than " + std::to_string(protocol::kMaxNameBytes) + " bytes");
  }
  return name;
}

constexpr uint64_t kMaxId = std::numeric_limits<uint64_t>::max();

// "timeout_ms", accepted by every POST.
Duration Timeout(Fields& fields) {
  const std::optional<uint64_t> ms =
      fields.OptionalUint("timeout_ms", static_cast<uint64_t>(ToMilliseconds(kMaxApiTimeout)));
  if (!ms.has_value()) return kDefaultApiTimeout;
  return *ms == 0 ? kDefaultApiTimeout : Milliseconds(static_cast<int64_t>(*ms));
}

Result<ApiRequest> DecodePost(ApiRoute route, std::string_view body) {
  ApiRequest request;
  request.route = route;
  switch (route) {
    case ApiRoute::kLeaseGrant: {
      MURPHY_ASSIGN_OR_RETURN(Fields fields, Fields::Parse(body, {"ttl_ms", "timeout_ms"}));
      const uint64_t ttl_ms = fields.Uint("ttl_ms", static_cast<uint64_t>(ToMilliseconds(kMaxApiTtl)));
      request.timeout = Timeout(fields);
      MURPHY_RETURN_IF_ERROR(fields.status());
      if (ttl_ms == 0) return InvalidArgumentError("\"ttl_ms\" must be positive");
      request.body = protocol::GrantLeaseRequest{Milliseconds(static_cast<int64_t>(ttl_ms))};
      return request;
    }
    case ApiRoute::kLeaseKeepAlive:
    case ApiRoute::kLeaseRevoke: {
      MURPHY_ASSIGN_OR_RETURN(Fields fields, Fields::Parse(body, {"lease", "timeout_ms"}));
      const LeaseId lease(fields.Uint("lease", kMaxId));
      request.timeout = Timeout(fields);
      MURPHY_RETURN_IF_ERROR(fields.status());
      if (route == ApiRoute::kLeaseKeepAlive) {
        request.body = protocol::KeepAliveRequest{lease};
      } else {
        request.body = protocol::RevokeLeaseRequest{lease};
      }
      return request;
    }
    case ApiRoute::kLockAcquire: {
      MURPHY_ASSIGN_OR_RETURN(Fields fields,
                              Fields::Parse(body, {"name", "lease", "mode", "wait_timeout_ms", "timeout_ms"}));
      protocol::AcquireRequest acquire;
      acquire.lock = fields.String("name", protocol::kMaxNameBytes);
      acquire.lease = LeaseId(fields.Uint("lease", kMaxId));
      const std::string mode = fields.OptionalString("mode", 16, true).value_or("try");
      const std::optional<uint64_t> wait_ms =
          fields.OptionalUint("wait_timeout_ms", static_cast<uint64_t>(ToMilliseconds(kMaxApiWait)));
      request.timeout = Timeout(fields);
      MURPHY_RETURN_IF_ERROR(fields.status());
      if (mode == "try") {
        if (wait_ms.has_value()) return InvalidArgumentError("\"wait_timeout_ms\" is for \"mode\":\"wait\" only");
        acquire.mode = protocol::AcquireMode::kTry;
      } else if (mode == "wait") {
        if (wait_ms.has_value() && *wait_ms == 0) return InvalidArgumentError("\"wait_timeout_ms\" must be positive");
        request.wait = wait_ms.has_value() ? Milliseconds(static_cast<int64_t>(*wait_ms)) : kMaxApiWait;
        // The node ends the wait itself at the same timeout, so nothing waits on after
        // the HTTP request has given up.
        acquire.mode = protocol::AcquireMode::kWaitWithTimeout;
        acquire.wait_timeout = request.wait;
      } else {
        return InvalidArgumentError("\"mode\" must be \"try\" or \"wait\"");
      }
      request.body = std::move(acquire);
      return request;
    }
    case ApiRoute::kLockRelease: {
      MURPHY_ASSIGN_OR_RETURN(Fields fields, Fields::Parse(body, {"name", "lease", "timeout_ms"}));
      protocol::ReleaseRequest release;
      release.lock = fields.String("name", protocol::kMaxNameBytes);
      release.lease = LeaseId(fields.Uint("lease", kMaxId));
      request.timeout = Timeout(fields);
      MURPHY_RETURN_IF_ERROR(fields.status());
      request.body = std::move(release);
      return request;
    }
    case ApiRoute::kKvPut: {
      MURPHY_ASSIGN_OR_RETURN(
          Fields fields, Fields::Parse(body, {"resource", "lock", "token", "value", "expected_version",
                                              "idempotency_key", "timeout_ms"}));
      protocol::WriteRequest write;
      write.resource = fields.String("resource", protocol::kMaxNameBytes);
      write.lock = fields.String("lock", protocol::kMaxNameBytes);
      write.token = FencingToken(fields.Uint("token", kMaxId));
      write.value = fields.String("value", protocol::kMaxValueBytes, /*allow_empty=*/true);
      write.expected_version = fields.OptionalUint("expected_version", kMaxId);
      write.idempotency_key = fields.OptionalString("idempotency_key", protocol::kMaxKeyBytes, false).value_or("");
      request.timeout = Timeout(fields);
      MURPHY_RETURN_IF_ERROR(fields.status());
      request.body = std::move(write);
      return request;
    }
    case ApiRoute::kLeaseGet:
    case ApiRoute::kLockGet:
    case ApiRoute::kKvGet:
      break;
  }
  return InternalError("not a POST route");
}

struct RouteEntry {
  std::string_view path;  // exact, or a prefix ending in '/' for GETs with a parameter
  ApiRoute route;
  bool post;
};

constexpr RouteEntry kRoutes[] = {
    {"/v1/lease/grant", ApiRoute::kLeaseGrant, true},
    {"/v1/lease/keepalive", ApiRoute::kLeaseKeepAlive, true},
    {"/v1/lease/revoke", ApiRoute::kLeaseRevoke, true},
    {"/v1/lock/acquire", ApiRoute::kLockAcquire, true},
    {"/v1/lock/release", ApiRoute::kLockRelease, true},
    {"/v1/kv/put", ApiRoute::kKvPut, true},
};

Json LeaseJson(const protocol::LeaseBody& lease) {
  return Json{{"lease", lease.lease.value()}, {"ttl_ms", ToMilliseconds(lease.ttl)}};
}

Json OkJson(const ApiRequest& request, const protocol::ResponseBody& body) {
  switch (request.route) {
    case ApiRoute::kLeaseGrant:
    case ApiRoute::kLeaseKeepAlive:
      if (const auto* lease = std::get_if<protocol::LeaseBody>(&body)) return LeaseJson(*lease);
      break;
    case ApiRoute::kLeaseRevoke:
      return Json{{"lease", std::get<protocol::RevokeLeaseRequest>(request.body).lease.value()},
                  {"revoked", true}};
    case ApiRoute::kLeaseGet:
      if (const auto* info = std::get_if<protocol::LeaseInfoBody>(&body)) {
        return Json{{"lease", info->lease.value()},      {"client", info->client.value()},
                    {"ttl_ms", ToMilliseconds(info->ttl)}, {"remaining_ms", ToMilliseconds(info->remaining)},
                    {"renewals", info->renewals},          {"held", info->held},
                    {"waiting", info->waiting}};
      }
      break;
    case ApiRoute::kLockAcquire: {
      const auto& acquire = std::get<protocol::AcquireRequest>(request.body);
      if (const auto* answer = std::get_if<protocol::AcquireBody>(&body)) {
        if (answer->state == protocol::AcquireState::kGranted) {
          return Json{{"name", acquire.lock}, {"lease", acquire.lease.value()}, {"token", answer->token.value()}};
        }
        if (answer->state == protocol::AcquireState::kWaiting) {
          return Json{{"name", acquire.lock},
                      {"lease", acquire.lease.value()},
                      {"waiting", true},
                      {"position", answer->position},
                      {"ticket", answer->ticket}};
        }
      }
      break;
    }
    case ApiRoute::kLockRelease: {
      const auto& release = std::get<protocol::ReleaseRequest>(request.body);
      return Json{{"name", release.lock}, {"lease", release.lease.value()}, {"released", true}};
    }
    case ApiRoute::kLockGet:
      if (const auto* info = std::get_if<protocol::LockInfoBody>(&body)) {
        Json waiters = Json::array();
        for (const protocol::WaiterView& waiter : info->waiters) {
          waiters.push_back(Json{{"lease", waiter.lease.value()},
                                 {"ticket", waiter.ticket},
                                 {"timeout_ms", ToMilliseconds(waiter.timeout)}});
        }
        return Json{{"name", info->lock},
                    {"holder", info->holder.has_value() ? Json(info->holder->value()) : Json(nullptr)},
                    {"token", info->token.value()},
                    {"waiter_count", info->waiter_count},
                    {"waiters", std::move(waiters)}};
      }
      break;
    case ApiRoute::kKvPut:
      if (const auto* write = std::get_if<protocol::WriteBody>(&body)) {
        return Json{{"version", write->version}, {"max_token", write->max_token.value()}};
      }
      break;
    case ApiRoute::kKvGet:
      if (const auto* read = std::get_if<protocol::ReadBody>(&body)) {
        return Json{{"resource", std::get<protocol::ReadRequest>(request.body).resource},
                    {"lock", read->lock},
                    {"max_token", read->max_token.value()},
                    {"version", read->version},
                    {"value", read->value}};
      }
      break;
  }
  return Json();  // the node answered OK with an unexpected body
}

Json ErrorJson(const Status& status) {
  std::string message(status.message());
  if (status.code() == StatusCode::kDeadlineExceeded && message.find("outcome unknown") == std::string::npos &&
      message.find("not sent") == std::string::npos) {
    message = "outcome unknown: " + message;
  }
  return Json{{"error", message}, {"code", std::string(StatusCodeName(status.code()))}};
}

HttpResponse ErrorResponse(int http_status, const Json& json) {
  HttpResponse response = JsonResponse(http_status, json);
  if (http_status == 429 || http_status == 503) response.headers.emplace_back("Retry-After", "1");
  return response;
}

}  // namespace

bool IsApiPath(std::string_view path) { return path.substr(0, kApiPrefix.size()) == kApiPrefix; }

Result<ApiRequest> DecodeApiRequest(std::string_view method, std::string_view path, std::string_view body) {
  for (const RouteEntry& entry : kRoutes) {
    if (path != entry.path) continue;
    if (method != "POST") return UnimplementedError("use POST for " + std::string(entry.path));
    return DecodePost(entry.route, body);
  }
  struct GetEntry {
    std::string_view prefix;
    ApiRoute route;
  };
  constexpr GetEntry kGets[] = {
      {"/v1/lease/", ApiRoute::kLeaseGet},
      {"/v1/lock/", ApiRoute::kLockGet},
      {"/v1/kv/", ApiRoute::kKvGet},
  };
  for (const GetEntry& entry : kGets) {
    if (path.substr(0, entry.prefix.size()) != entry.prefix) continue;
    const std::string_view parameter = path.substr(entry.prefix.size());
    if (method != "GET") return UnimplementedError("use GET for " + std::string(entry.prefix) + "...");
    ApiRequest request;
    request.route = entry.route;
    if (entry.route == ApiRoute::kLeaseGet) {
      MURPHY_ASSIGN_OR_RETURN(const uint64_t id, ParseDecimal(parameter));
      request.body = protocol::GetLeaseRequest{LeaseId(id)};
    } else {
      MURPHY_ASSIGN_OR_RETURN(std::string name, PathName(parameter));
      if (entry.route == ApiRoute::kLockGet) {
        request.body = protocol::GetLockRequest{std::move(name)};
      } else {
        request.body = protocol::ReadRequest{std::move(name)};
      }
    }
    return request;
  }
  return NotFoundError("no such API route: " + std::string(path.substr(0, 256)));
}

int HttpStatusForCode(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kCancelled:
    case StatusCode::kUnimplemented:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

HttpResponse ApiErrorResponse(const Status& status) {
  const int http_status = status.code() == StatusCode::kUnimplemented ? 405 : HttpStatusForCode(status.code());
  return ErrorResponse(http_status, ErrorJson(status));
}

HttpResponse EncodeApiResult(const ApiRequest& request, const client::CallResult& result) {
  if (!result.status.ok()) {
    Json json = ErrorJson(result.status);
    if (result.response.has_value()) {
      if (const auto* write = std::get_if<protocol::WriteBody>(&result.response->body)) {
        json["max_token"] = write->max_token.value();
        json["version"] = write->version;
      }
    }
    return ErrorResponse(HttpStatusForCode(result.status.code()), json);
  }
  if (!result.response.has_value()) {
    return ErrorResponse(500, ErrorJson(InternalError("the cluster answered OK without a response")));
  }
  Json json = OkJson(request, result.response->body);
  if (json.is_null()) {
    return ErrorResponse(500, ErrorJson(InternalError("the cluster answered with an unexpected body")));
  }
  return JsonResponse(200, json);
}

HttpResponse AcquiredResponse(const protocol::AcquireRequest& acquire, FencingToken token) {
  return JsonResponse(200, Json{{"name", acquire.lock}, {"lease", acquire.lease.value()}, {"token", token.value()}});
}

}  // namespace murphy::server
