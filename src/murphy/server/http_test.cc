#include "murphy/server/http.h"

#include <gtest/gtest.h>

namespace murphy::server {
namespace {

TEST(HttpParseTest, CompleteGetWithHeaders) {
  const std::string input = "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAccept:  text/plain \r\n\r\nextra";
  const HttpParseResult result = ParseHttpRequest(input);
  ASSERT_EQ(result.state, HttpParseState::kComplete) << result.error;
  EXPECT_EQ(result.request.method, "GET");
  EXPECT_EQ(result.request.target, "/metrics?x=1");
  EXPECT_EQ(result.request.path(), "/metrics");
  EXPECT_EQ(result.request.version, "HTTP/1.1");
  EXPECT_EQ(result.request.Header("accept"), "text/plain");
  EXPECT_EQ(result.request.Header("missing"), "");
  EXPECT_EQ(result.head_bytes, input.size() - 5);
}

TEST(HttpParseTest, BareLineFeedsAreTolerated) {
  const HttpParseResult result = ParseHttpRequest("GET / HTTP/1.0\nHost: a\n\n");
  ASSERT_EQ(result.state, HttpParseState::kComplete) << result.error;
  EXPECT_EQ(result.request.path(), "/");
}

TEST(HttpParseTest, IncompleteUntilEmptyLine) {
  EXPECT_EQ(ParseHttpRequest("").state, HttpParseState::kIncomplete);
  EXPECT_EQ(ParseHttpRequest("GE").state, HttpParseState::kIncomplete);
  EXPECT_EQ(ParseHttpRequest("GET / HTTP/1.1\r\nHost: a\r\n").state, HttpParseState::kIncomplete);
}

TEST(HttpParseTest, MalformedInputIs400) {
  for (const std::string& input : {
           std::string("GET\r\n\r\n"), std::string("GET /\r\n\r\n"), std::string("GET / HTTP/2.0\r\n\r\n"),
           std::string("GET relative HTTP/1.1\r\n\r\n"), std::string("G(T / HTTP/1.1\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nno colon\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n"),
           std::string("GET / HTTP/1.1\r\nA: \x01\r\n\r\n"), std::string("GET /\x7f HTTP/1.1\r\n\r\n"),
           std::string("\x16\x03\x01\x02"),  // a TLS hello is rejected before any line end
       }) {
    const HttpParseResult result = ParseHttpRequest(input);
    EXPECT_EQ(result.state, HttpParseState::kError) << input;
    EXPECT_EQ(result.error_status, 400) << input;
  }
}

TEST(HttpParseTest, OversizeHeadIs431) {
  std::string input = "GET / HTTP/1.1\r\nX: " + std::string(9000, 'a');
  HttpParseResult result = ParseHttpRequest(input);
  EXPECT_EQ(result.state, HttpParseState::kError);
  EXPECT_EQ(result.error_status, 431);
  // A complete head just past the limit is refused too: the end is never looked for
  // beyond the limit.
  input += "\r\n\r\n";
  result = ParseHttpRequest(input);
  EXPECT_EQ(result.error_status, 431);
}

TEST(HttpParseTest, TooManyHeadersIs431) {
  std::string input = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 65; ++i) input += "H" + std::to_string(i) + ": v\r\n";
  input += "\r\n";
  const HttpParseResult result = ParseHttpRequest(input);
  EXPECT_EQ(result.state, HttpParseState::kError);
  EXPECT_EQ(result.error_status, 431);
}

TEST(HttpResponseTest, FormatThenParseRoundTrips) {
  const std::string bytes = FormatHttpResponse({503, "application/json", "{\"a\":1}"});
  EXPECT_NE(bytes.find("HTTP/1.1 503 Service Unavailable\r\n"), std::string::npos);
  EXPECT_NE(bytes.find("Connection: close\r\n"), std::string::npos);
  const Result<HttpResponse> parsed = ParseHttpResponse(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->status, 503);
  EXPECT_EQ(parsed->content_type, "application/json");
  EXPECT_EQ(parsed->body, "{\"a\":1}");
}

TEST(HttpResponseTest, MalformedResponsesAreErrors) {
  EXPECT_FALSE(ParseHttpResponse("").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 2x0 OK\r\n\r\n").ok());
  EXPECT_FALSE(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").ok());
  EXPECT_FALSE(ParseHttpResponse("junk\r\n\r\n").ok());
}

}  // namespace
}  // namespace murphy::server
