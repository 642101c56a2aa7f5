// murphy/server/http_api.h — the HTTP/JSON client API of murphyd as pure functions:
// an HTTP request (method, path, body) to a protocol::RequestBody, and the cluster's
// answer (client::CallResult) to an HTTP response. No sockets, no clock: the glue that
// sends the requests is server/client_gateway.h; the routes are documented for users
// in docs/http-api.md.
//
// Contract:
// - DecodeApiRequest never crashes on any input and never builds a request the
//   binary protocol would refuse to encode: names, values and keys are checked
//   against protocol/client_message.h's limits, numbers must be JSON non-negative
//   integers (a fraction, a sign, a string or a value above the range is refused),
//   unknown fields are refused (a typo must not be silently ignored), and the body
//   must be one JSON object (at most kMaxApiJsonDepth deep). Errors are Status values:
//     NOT_FOUND         no such route (an unknown path under /v1/);
//     UNIMPLEMENTED     a known path with the wrong method (the server answers 405);
//     INVALID_ARGUMENT  malformed JSON, a missing field, a wrong type, out of range.
//   Path parameters (GET /v1/lock/NAME, /v1/kv/RESOURCE) are percent-decoded.
// - ApiErrorResponse / EncodeApiResult give every error the body
//   {"error": message, "code": "FAILED_PRECONDITION"} and the HTTP status of
//   HttpStatusForCode; 429 and 503 carry Retry-After. DEADLINE_EXCEEDED is 504 and its
//   message always says "outcome unknown" (the request may have been applied).
//   A store write rejected for a stale token or a compare-and-set mismatch (ABORTED,
//   with the store's answer) is 409 with the store's "max_token" and "version".
// - Numbers in responses are JSON integers (uint64; ids and tokens stay below 2^53 in
//   practice, but clients should not assume it). Durations are milliseconds.
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "murphy/client/channel.h"
#include "murphy/core/status.h"
#include "murphy/core/time.h"
#include "murphy/protocol/client_message.h"
#include "murphy/server/http.h"

namespace murphy::server {

inline constexpr std::string_view kApiPrefix = "/v1/";
inline constexpr size_t kMaxApiJsonDepth = 4;
// Bounds of what a request may ask for (the node checks its own limits too).
inline constexpr Duration kMaxApiTtl = Hours(24);
// A waiting acquire keeps its HTTP request open at most this long.
inline constexpr Duration kMaxApiWait = Seconds(60);
// The request deadline when none is given ("timeout_ms" in any request body).
inline constexpr Duration kDefaultApiTimeout = Seconds(5);
inline constexpr Duration kMaxApiTimeout = Seconds(30);

enum class ApiRoute {
  kLeaseGrant,
  kLeaseKeepAlive,
  kLeaseRevoke,
  kLeaseGet,
  kLockAcquire,
  kLockRelease,
  kLockGet,
  kKvPut,
  kKvGet,
};

struct ApiRequest {
  ApiRoute route = ApiRoute::kLeaseGet;
  protocol::RequestBody body;
  // The deadline of the request to the cluster (each retry within it).
  Duration timeout = kDefaultApiTimeout;
  // kLockAcquire with "mode":"wait": how long the HTTP request stays open for the
  // grant (the node's wait has the same timeout).
  Duration wait = Duration::Zero();
};

// True if `path` belongs to the client API (starts with kApiPrefix).
bool IsApiPath(std::string_view path);

// See the contract.
Result<ApiRequest> DecodeApiRequest(std::string_view method, std::string_view path, std::string_view body);

// 200 for OK; 400, 403, 404, 409, 429, 500, 503, 504 (see the contract).
int HttpStatusForCode(StatusCode code);

// The JSON error response for `status` (REQUIRES: not OK). UNIMPLEMENTED (from
// DecodeApiRequest) becomes 405.
HttpResponse ApiErrorResponse(const Status& status);

// The HTTP response for the cluster's answer to `request`.
HttpResponse EncodeApiResult(const ApiRequest& request, const client::CallResult& result);

// The response of a waiting acquire that was granted `token` (also used when the
// grant arrives by push or poll rather than as the acquire's own answer).
HttpResponse AcquiredResponse(const protocol::AcquireRequest& acquire, FencingToken token);

}  // namespace murphy::server
