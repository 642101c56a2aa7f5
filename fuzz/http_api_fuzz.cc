// libFuzzer target: any byte string through the HTTP/JSON client API's request path —
// the request parser with bodies (whole and split, as it arrives on a socket), the JSON
// decoding of the parsed request, and the same bytes as the JSON body of every route.
// Properties checked: no crash, no over-read (ASan), no exception escaping; a parsed
// body lies within the input and the body limit; every request DecodeApiRequest
// accepts encodes in the binary protocol (its limits hold, or the encoder would
// assert) and decodes back equal; an accepted acquire's wait is within the API bound;
// every error maps to a 4xx/5xx JSON response; encoding the cluster's answers carrying
// the input as names and values (any bytes, not UTF-8) never throws.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/protocol/client_message.h"
#include "murphy/server/http.h"
#include "murphy/server/http_api.h"

namespace {

using murphy::server::ApiRequest;

void CheckAccepted(const ApiRequest& request, std::string_view input) {
  murphy::protocol::Request wire;
  wire.header.request_id = 1;
  wire.header.client = murphy::NodeId(1);
  wire.header.sequence = murphy::protocol::IsMutation(request.body) ? 1 : 0;
  wire.body = request.body;
  const murphy::Bytes encoded = murphy::protocol::EncodeRequest(wire);
  const murphy::Result<murphy::protocol::Request> decoded = murphy::protocol::DecodeRequest(encoded);
  MURPHY_ASSERT(decoded.ok());
  MURPHY_ASSERT(*decoded == wire);
  MURPHY_ASSERT(request.timeout > murphy::Duration::Zero() && request.timeout <= murphy::server::kMaxApiTimeout);
  MURPHY_ASSERT(request.wait >= murphy::Duration::Zero() && request.wait <= murphy::server::kMaxApiWait);

  // Answers that carry the input's bytes must encode without throwing.
  const std::string text(input.substr(0, murphy::protocol::kMaxNameBytes));
  for (const murphy::protocol::ResponseBody& body : {
           murphy::protocol::ResponseBody(murphy::protocol::ReadBody{text, murphy::FencingToken(7), 3, text}),
           murphy::protocol::ResponseBody(murphy::protocol::LockInfoBody{text, murphy::LeaseId(2),
                                                                         murphy::FencingToken(5), 0, {}}),
           murphy::protocol::ResponseBody(murphy::protocol::LeaseInfoBody{
               murphy::LeaseId(2), murphy::NodeId(1), murphy::Seconds(1), murphy::Seconds(1), 0, {text}, {}}),
           murphy::protocol::ResponseBody(murphy::protocol::AcquireBody{murphy::protocol::AcquireState::kGranted,
                                                                        murphy::FencingToken(9), 0, 0}),
           murphy::protocol::ResponseBody(murphy::protocol::WriteBody{murphy::FencingToken(9), 4}),
       }) {
    murphy::client::CallResult result;
    result.response = murphy::protocol::Response{};
    result.response->body = body;
    const murphy::server::HttpResponse ok = murphy::server::EncodeApiResult(request, result);
    MURPHY_ASSERT(ok.status == 200 || ok.status == 500);
    result.status = murphy::AbortedError(text);
    const murphy::server::HttpResponse failed = murphy::server::EncodeApiResult(request, result);
    MURPHY_ASSERT(failed.status == 409);
  }
}

void Decode(std::string_view method, std::string_view path, std::string_view body, std::string_view input) {
  const murphy::Result<ApiRequest> decoded = murphy::server::DecodeApiRequest(method, path, body);
  if (decoded.ok()) {
    CheckAccepted(*decoded, input);
    return;
  }
  const murphy::server::HttpResponse response = murphy::server::ApiErrorResponse(decoded.status());
  MURPHY_ASSERT(response.status == 400 || response.status == 404 || response.status == 405);
  MURPHY_ASSERT(response.content_type == "application/json");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  murphy::server::HttpLimits limits;
  limits.max_head_bytes = 1024;
  limits.max_headers = 16;
  limits.max_target_bytes = 512;
  limits.max_body_bytes = 2048;
  const murphy::server::HttpParseResult whole = murphy::server::ParseHttpRequestWithBody(input, limits);
  if (whole.state == murphy::server::HttpParseState::kComplete) {
    MURPHY_ASSERT(whole.head_bytes + whole.body_bytes <= size);
    MURPHY_ASSERT(whole.body_bytes <= limits.max_body_bytes);
    MURPHY_ASSERT(whole.request.body == input.substr(whole.head_bytes, whole.body_bytes));
    Decode(whole.request.method, whole.request.path(), whole.request.body, input);
  } else if (whole.state == murphy::server::HttpParseState::kError) {
    const int status = whole.error_status;
    MURPHY_ASSERT(status == 400 || status == 411 || status == 413 || status == 431 || status == 501);
  }
  // Half the input, as a first read would deliver it: must not crash.
  (void)murphy::server::ParseHttpRequestWithBody(input.substr(0, size / 2), limits);

  // The input as the body of every route, and as a path parameter.
  for (const std::string_view path : {"/v1/lease/grant", "/v1/lease/keepalive", "/v1/lease/revoke",
                                      "/v1/lock/acquire", "/v1/lock/release", "/v1/kv/put"}) {
    Decode("POST", path, input, input);
  }
  for (const std::string_view prefix : {"/v1/lease/", "/v1/lock/", "/v1/kv/"}) {
    Decode("GET", std::string(prefix) + std::string(input.substr(0, 2048)), "", input);
  }
  return 0;
}

// Well-formed requests for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  std::vector<std::vector<uint8_t>> seeds;
  for (const std::string_view text : {
           std::string_view("POST /v1/lease/grant HTTP/1.1\r\nContent-Length: 16\r\n\r\n{\"ttl_ms\":10000}"),
           std::string_view("POST /v1/lock/acquire HTTP/1.1\r\nContent-Length: 69\r\n\r\n"
                            "{\"name\":\"a\",\"lease\":1,\"mode\":\"wait\",\"wait_timeout_ms\":500,\"timeout_ms\":9}"),
           std::string_view("POST /v1/kv/put HTTP/1.1\r\nContent-Length: 105\r\n\r\n"
                            "{\"resource\":\"r\",\"lock\":\"a\",\"token\":3,\"value\":\"v\\u00e9\","
                            "\"expected_version\":2,\"idempotency_key\":\"k1\"}"),
           std::string_view("GET /v1/lock/a%2Fb HTTP/1.1\r\n\r\n"),
           std::string_view("GET /v1/lease/12 HTTP/1.0\n\n"),
           std::string_view("{\"name\":\"lock\",\"lease\":18446744073709551615,\"mode\":\"try\"}"),
           std::string_view("{\"lease\":4}"),
           std::string_view("{\"resource\":\"r\",\"lock\":\"a\",\"token\":3,\"value\":\"\"}"),
       }) {
    seeds.emplace_back(text.begin(), text.end());
  }
  return seeds;
}
