// libFuzzer target: any byte string through the admin server's request parser,
// whole and split in two (as it arrives on a socket). Properties checked: no crash,
// no over-read (ASan); a complete head lies within the input and the limit, and
// every parsed field respects its limit; the response parser never crashes either.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/server/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  murphy::server::HttpLimits limits;
  limits.max_head_bytes = 512;
  limits.max_headers = 8;
  limits.max_target_bytes = 128;
  const murphy::server::HttpParseResult whole = murphy::server::ParseHttpRequest(input, limits);
  if (whole.state == murphy::server::HttpParseState::kComplete) {
    MURPHY_ASSERT(whole.head_bytes <= size);
    MURPHY_ASSERT(whole.head_bytes <= limits.max_head_bytes);
    MURPHY_ASSERT(whole.request.headers.size() <= limits.max_headers);
    MURPHY_ASSERT(whole.request.target.size() <= limits.max_target_bytes);
    MURPHY_ASSERT(!whole.request.target.empty() && whole.request.target.front() == '/');
    // The prefix that holds the head parses the same way.
    const murphy::server::HttpParseResult head =
        murphy::server::ParseHttpRequest(input.substr(0, whole.head_bytes), limits);
    MURPHY_ASSERT(head.state == murphy::server::HttpParseState::kComplete);
    MURPHY_ASSERT(head.request.target == whole.request.target);
  }
  if (whole.state == murphy::server::HttpParseState::kError) {
    MURPHY_ASSERT(whole.error_status == 400 || whole.error_status == 431);
  }
  // Half the input, as a first read would deliver it: must not crash.
  (void)murphy::server::ParseHttpRequest(input.substr(0, size / 2), limits);
  (void)murphy::server::ParseHttpResponse(input);
  return 0;
}

// Well-formed requests and responses for the smoke runner to mutate.
std::vector<std::vector<uint8_t>> MurphyFuzzSeedInputs() {
  std::vector<std::vector<uint8_t>> seeds;
  for (const std::string_view text : {
           std::string_view("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
           std::string_view("GET /readyz?verbose=1 HTTP/1.0\r\n\r\n"),
           std::string_view("GET /status HTTP/1.1\nAccept: */*\nConnection: close\n\n"),
           std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"),
       }) {
    seeds.emplace_back(text.begin(), text.end());
  }
  return seeds;
}
