#include "murphy/server/http_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace murphy::server {
namespace {

using Json = nlohmann::json;

// --- HTTP bodies -------------------------------------------------------------------------

TEST(HttpBodyTest, PostBodyByContentLength) {
  const std::string head = "POST /v1/kv/put HTTP/1.1\r\nContent-Length: 5\r\n\r\n";
  EXPECT_EQ(ParseHttpRequestWithBody(head).state, HttpParseState::kIncomplete);
  EXPECT_EQ(ParseHttpRequestWithBody(head + "abc").state, HttpParseState::kIncomplete);
  const HttpParseResult whole = ParseHttpRequestWithBody(head + "abcdeEXTRA");
  ASSERT_EQ(whole.state, HttpParseState::kComplete) << whole.error;
  EXPECT_EQ(whole.request.body, "abcde");
  EXPECT_EQ(whole.body_bytes, 5u);
  EXPECT_EQ(whole.head_bytes, head.size());
}

TEST(HttpBodyTest, GetWithoutLengthHasAnEmptyBody) {
  const HttpParseResult result = ParseHttpRequestWithBody("GET /v1/lock/a HTTP/1.1\r\n\r\n");
  ASSERT_EQ(result.state, HttpParseState::kComplete);
  EXPECT_EQ(result.request.body, "");
}

TEST(HttpBodyTest, LengthErrors) {
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\n\r\n").error_status, 411);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n").error_status, 400);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: 1x\r\n\r\n").error_status, 400);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: \r\n\r\n").error_status, 400);
  EXPECT_EQ(
      ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").error_status,
      400);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")
                .error_status,
            400);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").error_status, 501);
  // Beyond the limit: 413 as soon as the head is there, without waiting for the body.
  HttpLimits limits;
  limits.max_body_bytes = 10;
  const HttpParseResult big = ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits);
  EXPECT_EQ(big.state, HttpParseState::kError);
  EXPECT_EQ(big.error_status, 413);
  EXPECT_EQ(ParseHttpRequestWithBody("POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", limits).state,
            HttpParseState::kComplete);
}

TEST(HttpBodyTest, ExtraResponseHeadersAreWritten) {
  HttpResponse response{503, "application/json", "{}", {{"Retry-After", "1"}}};
  const std::string text = FormatHttpResponse(response);
  EXPECT_NE(text.find("\r\nRetry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(text.substr(0, 12), "HTTP/1.1 503");
  const Result<HttpResponse> parsed = ParseHttpResponse(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->body, "{}");
}

// --- Decoding ----------------------------------------------------------------------------

TEST(DecodeApiRequestTest, EveryRoute) {
  Result<ApiRequest> grant = DecodeApiRequest("POST", "/v1/lease/grant", R"({"ttl_ms":1500,"timeout_ms":700})");
  ASSERT_TRUE(grant.ok()) << grant.status().ToString();
  EXPECT_EQ(std::get<protocol::GrantLeaseRequest>(grant->body).ttl, Milliseconds(1500));
  EXPECT_EQ(grant->timeout, Milliseconds(700));

  Result<ApiRequest> keepalive = DecodeApiRequest("POST", "/v1/lease/keepalive", R"({"lease":7})");
  ASSERT_TRUE(keepalive.ok());
  EXPECT_EQ(std::get<protocol::KeepAliveRequest>(keepalive->body).lease, LeaseId(7));
  EXPECT_EQ(keepalive->timeout, kDefaultApiTimeout);

  Result<ApiRequest> revoke = DecodeApiRequest("POST", "/v1/lease/revoke", R"({"lease":8})");
  ASSERT_TRUE(revoke.ok());
  EXPECT_EQ(std::get<protocol::RevokeLeaseRequest>(revoke->body).lease, LeaseId(8));

  Result<ApiRequest> lease = DecodeApiRequest("GET", "/v1/lease/42", "");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ(std::get<protocol::GetLeaseRequest>(lease->body).lease, LeaseId(42));

  Result<ApiRequest> try_acquire = DecodeApiRequest("POST", "/v1/lock/acquire", R"({"name":"a","lease":1})");
  ASSERT_TRUE(try_acquire.ok());
  const auto& tried = std::get<protocol::AcquireRequest>(try_acquire->body);
  EXPECT_EQ(tried.mode, protocol::AcquireMode::kTry);
  EXPECT_EQ(tried.lock, "a");
  EXPECT_EQ(try_acquire->wait, Duration::Zero());

  Result<ApiRequest> wait =
      DecodeApiRequest("POST", "/v1/lock/acquire", R"({"name":"a","lease":1,"mode":"wait","wait_timeout_ms":2000})");
  ASSERT_TRUE(wait.ok());
  const auto& waited = std::get<protocol::AcquireRequest>(wait->body);
  EXPECT_EQ(waited.mode, protocol::AcquireMode::kWaitWithTimeout);
  EXPECT_EQ(waited.wait_timeout, Seconds(2));
  EXPECT_EQ(wait->wait, Seconds(2));
  Result<ApiRequest> wait_default =
      DecodeApiRequest("POST", "/v1/lock/acquire", R"({"name":"a","lease":1,"mode":"wait"})");
  ASSERT_TRUE(wait_default.ok());
  EXPECT_EQ(wait_default->wait, kMaxApiWait);

  Result<ApiRequest> release = DecodeApiRequest("POST", "/v1/lock/release", R"({"name":"a","lease":1})");
  ASSERT_TRUE(release.ok());
  EXPECT_EQ(std::get<protocol::ReleaseRequest>(release->body).lock, "a");

  Result<ApiRequest> lock = DecodeApiRequest("GET", "/v1/lock/a%2Fb%20c", "");
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(std::get<protocol::GetLockRequest>(lock->body).lock, "a/b c");

  Result<ApiRequest> put = DecodeApiRequest(
      "POST", "/v1/kv/put",
      R"({"resource":"r","lock":"a","token":3,"value":"","expected_version":0,"idempotency_key":"k"})");
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  const auto& write = std::get<protocol::WriteRequest>(put->body);
  EXPECT_EQ(write.resource, "r");
  EXPECT_EQ(write.token, FencingToken(3));
  EXPECT_EQ(write.value, "");
  EXPECT_EQ(write.expected_version, 0u);
  EXPECT_EQ(write.idempotency_key, "k");
  Result<ApiRequest> unconditional =
      DecodeApiRequest("POST", "/v1/kv/put", R"({"resource":"r","lock":"a","token":3,"value":"v"})");
  ASSERT_TRUE(unconditional.ok());
  EXPECT_FALSE(std::get<protocol::WriteRequest>(unconditional->body).expected_version.has_value());

  Result<ApiRequest> read = DecodeApiRequest("GET", "/v1/kv/r", "");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::get<protocol::ReadRequest>(read->body).resource, "r");
}

TEST(DecodeApiRequestTest, MalformedBodiesAreInvalidArgument) {
  for (const std::string& body : std::vector<std::string>{
           "", "{", "[]", "null", "3", R"("x")", R"({"ttl_ms":1000}garbage)",
           R"({})",                             // missing field
           R"({"ttl_ms":"1000"})",              // wrong type
           R"({"ttl_ms":-5})",                  // negative
           R"({"ttl_ms":1.5})",                 // fraction
           R"({"ttl_ms":0})",                   // not positive
           R"({"ttl_ms":99999999999999})",      // above the bound
           R"({"ttl_ms":1000,"ttl":1})",        // unknown field
           R"({"ttl_ms":1000,"timeout_ms":999999})",
           R"({"ttl_ms":[1000]})",
           R"({"a":{"b":{"c":{"d":{"e":1}}}}})",  // too deep
       }) {
    const Result<ApiRequest> result = DecodeApiRequest("POST", "/v1/lease/grant", body);
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << body;
  }
  for (const std::string& body : std::vector<std::string>{
           R"({"name":"","lease":1})", R"({"name":"a"})", R"({"lease":1})", R"({"name":7,"lease":1})",
           R"({"name":"a","lease":1,"mode":"maybe"})", R"({"name":"a","lease":1,"mode":"try","wait_timeout_ms":5})",
           R"({"name":"a","lease":1,"mode":"wait","wait_timeout_ms":0})",
           R"({"name":"a","lease":1,"mode":"wait","wait_timeout_ms":600000})",
           R"({"name":")" + std::string(protocol::kMaxNameBytes + 1, 'x') + R"(","lease":1})",
       }) {
    EXPECT_EQ(DecodeApiRequest("POST", "/v1/lock/acquire", body).status().code(), StatusCode::kInvalidArgument)
        << body.substr(0, 80);
  }
  EXPECT_EQ(DecodeApiRequest("POST", "/v1/kv/put", R"({"resource":"r","lock":"a","token":1})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("POST", "/v1/kv/put",
                             R"({"resource":"r","lock":"a","token":1,"value":"v","idempotency_key":""})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/lease/abc", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/lease/", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/lock/%zz", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/lock/%4", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/kv/", "").status().code(), StatusCode::kInvalidArgument);
}

TEST(DecodeApiRequestTest, UnknownRoutesAndWrongMethods) {
  EXPECT_EQ(DecodeApiRequest("POST", "/v1/lease/create", "{}").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/lease/grant", "").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/kv/put", "").status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(DecodeApiRequest("GET", "/v1/nothing", "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ApiErrorResponse(UnimplementedError("use POST")).status, 405);
  EXPECT_EQ(ApiErrorResponse(NotFoundError("no route")).status, 404);
  EXPECT_TRUE(IsApiPath("/v1/kv/x"));
  EXPECT_FALSE(IsApiPath("/metrics"));
  EXPECT_FALSE(IsApiPath("/v1"));
}

// --- Encoding and error mapping ------------------------------------------------------------

client::CallResult Answer(Status status, protocol::ResponseBody body) {
  client::CallResult result;
  result.status = status;
  result.response = protocol::Response{};
  result.response->code = status.code();
  result.response->message = std::string(status.message());
  result.response->body = std::move(body);
  return result;
}

TEST(EncodeApiResultTest, StatusCodesMapToHttp) {
  EXPECT_EQ(HttpStatusForCode(StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kFailedPrecondition), 409);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kInternal), 500);
}

TEST(EncodeApiResultTest, ErrorsAreJsonWithRetryAfterWhenOverloaded) {
  const HttpResponse busy = ApiErrorResponse(UnavailableError("not leader"));
  EXPECT_EQ(busy.status, 503);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0].first, "Retry-After");
  const Json json = Json::parse(busy.body);
  EXPECT_EQ(json["code"], "UNAVAILABLE");
  EXPECT_EQ(json["error"], "not leader");
  EXPECT_EQ(ApiErrorResponse(ResourceExhaustedError("full")).headers.size(), 1u);
  EXPECT_TRUE(ApiErrorResponse(InvalidArgumentError("x")).headers.empty());
}

TEST(EncodeApiResultTest, TimeoutsSayOutcomeUnknown) {
  ApiRequest request;
  request.route = ApiRoute::kLeaseGrant;
  request.body = protocol::GrantLeaseRequest{Seconds(1)};
  client::CallResult result;
  result.status = DeadlineExceededError("attempt timed out");
  const HttpResponse response = EncodeApiResult(request, result);
  EXPECT_EQ(response.status, 504);
  const Json json = Json::parse(response.body);
  EXPECT_EQ(json["code"], "DEADLINE_EXCEEDED");
  EXPECT_EQ(json["error"], "outcome unknown: attempt timed out");
  EXPECT_EQ(std::string(json["error"]).find("failed"), std::string::npos);
}

TEST(EncodeApiResultTest, StaleTokenIs409WithMaxToken) {
  ApiRequest request;
  request.route = ApiRoute::kKvPut;
  request.body = protocol::WriteRequest{"r", "a", FencingToken(3), "v", std::nullopt, ""};
  const HttpResponse response =
      EncodeApiResult(request, Answer(AbortedError("stale fencing token 3 < 4"), protocol::WriteBody{FencingToken(4), 9}));
  EXPECT_EQ(response.status, 409);
  const Json json = Json::parse(response.body);
  EXPECT_EQ(json["code"], "ABORTED");
  EXPECT_EQ(json["max_token"], 4);
  EXPECT_EQ(json["version"], 9);
}

TEST(EncodeApiResultTest, SuccessBodies) {
  ApiRequest grant;
  grant.route = ApiRoute::kLeaseGrant;
  grant.body = protocol::GrantLeaseRequest{Seconds(3)};
  const HttpResponse granted = EncodeApiResult(grant, Answer(Status::Ok(), protocol::LeaseBody{LeaseId(5), Seconds(3)}));
  EXPECT_EQ(granted.status, 200);
  EXPECT_EQ(Json::parse(granted.body), (Json{{"lease", 5}, {"ttl_ms", 3000}}));

  ApiRequest acquire;
  acquire.route = ApiRoute::kLockAcquire;
  acquire.body = protocol::AcquireRequest{"a", LeaseId(5), protocol::AcquireMode::kTry, Duration::Zero()};
  const HttpResponse acquired = EncodeApiResult(
      acquire, Answer(Status::Ok(), protocol::AcquireBody{protocol::AcquireState::kGranted, FencingToken(34), 0, 0}));
  EXPECT_EQ(Json::parse(acquired.body), (Json{{"name", "a"}, {"lease", 5}, {"token", 34}}));

  ApiRequest lock;
  lock.route = ApiRoute::kLockGet;
  lock.body = protocol::GetLockRequest{"a"};
  const HttpResponse free_lock =
      EncodeApiResult(lock, Answer(Status::Ok(), protocol::LockInfoBody{"a", std::nullopt, FencingToken(34), 0, {}}));
  const Json free_json = Json::parse(free_lock.body);
  EXPECT_TRUE(free_json["holder"].is_null());
  EXPECT_EQ(free_json["token"], 34);

  // A stored value that is not UTF-8 is answered (with replacement characters), not
  // thrown on.
  ApiRequest read;
  read.route = ApiRoute::kKvGet;
  read.body = protocol::ReadRequest{"r"};
  const HttpResponse value = EncodeApiResult(
      read, Answer(Status::Ok(), protocol::ReadBody{"a", FencingToken(2), 1, std::string("\xff\xfe ok", 5)}));
  EXPECT_EQ(value.status, 200);
  EXPECT_NE(Json::parse(value.body)["value"].get<std::string>().find(" ok"), std::string::npos);

  // OK with the wrong body is the server's fault, said as such.
  EXPECT_EQ(EncodeApiResult(read, Answer(Status::Ok(), protocol::NoBody{})).status, 500);
}

}  // namespace
}  // namespace murphy::server
