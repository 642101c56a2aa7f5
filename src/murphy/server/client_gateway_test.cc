// The HTTP API gateway end to end inside one process: a one-node lock service on a
// PosixEnv (WAL in a temp directory) behind a GatewayEnv, and the gateway answering
// HttpRequests handed to it directly (no sockets for HTTP). Waits poll the loop with a
// deadline; nothing sleeps for correctness.
#include "murphy/server/client_gateway.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "murphy/locksvc/lock_node.h"
#include "murphy/posix/posix_env.h"

namespace murphy::server {
namespace {

using Json = nlohmann::json;

class ClientGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/murphy-gateway-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    posix::PosixEnvOptions env_options;
    env_options.self = NodeId(1);
    env_options.data_directory = directory_;
    auto env = posix::PosixEnv::Create(std::move(env_options));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    gateway_env_ = std::make_unique<GatewayEnv>(env_.get());
    locksvc::LockNodeOptions options;
    options.node.members = {NodeId(1)};
    options.node.tick_interval = Milliseconds(10);
    options.node.election_ticks = 5;
    node_ = std::make_unique<locksvc::LockNode>(*gateway_env_, std::move(options));
    HttpApiGatewayOptions api_options;
    api_options.nodes = {NodeId(1)};
    api_options.wait_poll_interval = Milliseconds(50);
    api_options.wait_grace = Milliseconds(100);
    gateway_ = std::make_unique<HttpApiGateway>(*gateway_env_, api_options);
    ASSERT_TRUE(RunUntil([&] { return node_->shell().leader() == NodeId(1); })) << "no leader";
  }

  void TearDown() override {
    gateway_.reset();
    node_.reset();
    gateway_env_.reset();
    env_.reset();
    std::filesystem::remove_all(directory_);
  }

  template <typename Predicate>
  bool RunUntil(Predicate done, Duration limit = Seconds(10)) {
    for (Duration waited; waited < limit; waited += Milliseconds(5)) {
      if (done()) return true;
      env_->RunFor(Milliseconds(5));
    }
    return done();
  }

  // Starts a request; the answer lands in the returned slot.
  std::shared_ptr<std::optional<HttpResponse>> Start(const std::string& method, const std::string& target,
                                                     const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.version = "HTTP/1.1";
    request.body = body;
    auto slot = std::make_shared<std::optional<HttpResponse>>();
    gateway_->Handle(request, [slot](HttpResponse response) {
      EXPECT_FALSE(slot->has_value()) << "answered twice";
      *slot = std::move(response);
    });
    return slot;
  }

  HttpResponse Await(const std::shared_ptr<std::optional<HttpResponse>>& slot) {
    EXPECT_TRUE(RunUntil([&] { return slot->has_value(); })) << "no answer";
    return slot->value_or(HttpResponse{0, "", "", {}});
  }

  // A request and its answer as (HTTP status, JSON body).
  std::pair<int, Json> Call(const std::string& method, const std::string& target, const std::string& body = "") {
    const HttpResponse response = Await(Start(method, target, body));
    EXPECT_EQ(response.content_type, "application/json");
    return {response.status, Json::parse(response.body, nullptr, false)};
  }

  std::string directory_;
  std::unique_ptr<posix::PosixEnv> env_;
  std::unique_ptr<GatewayEnv> gateway_env_;
  std::unique_ptr<locksvc::LockNode> node_;
  std::unique_ptr<HttpApiGateway> gateway_;
};

TEST_F(ClientGatewayTest, LeaseLockFencedWriteAndWaitingAcquire) {
  auto [status, first] = Call("POST", "/v1/lease/grant", R"({"ttl_ms":5000})");
  ASSERT_EQ(status, 200) << first;
  EXPECT_EQ(first["ttl_ms"], 5000);
  const uint64_t lease1 = first["lease"];

  auto [acquired_status, acquired] =
      Call("POST", "/v1/lock/acquire", R"({"name":"a","lease":)" + std::to_string(lease1) + R"(,"mode":"try"})");
  ASSERT_EQ(acquired_status, 200) << acquired;
  const uint64_t token1 = acquired["token"];

  auto [put_status, put] = Call("POST", "/v1/kv/put",
                                R"({"resource":"r","lock":"a","token":)" + std::to_string(token1) +
                                    R"(,"value":"one"})");
  ASSERT_EQ(put_status, 200) << put;
  EXPECT_EQ(put["version"], 1);
  EXPECT_EQ(put["max_token"], token1);

  // A second lease waits for the lock; revoking the first grants it.
  auto [second_status, second] = Call("POST", "/v1/lease/grant", R"({"ttl_ms":5000})");
  ASSERT_EQ(second_status, 200);
  const uint64_t lease2 = second["lease"];
  auto waiting = Start("POST", "/v1/lock/acquire",
                       R"({"name":"a","lease":)" + std::to_string(lease2) + R"(,"mode":"wait","wait_timeout_ms":5000})");
  ASSERT_TRUE(RunUntil([&] { return gateway_->waits() == 1; })) << "the acquire did not wait";
  EXPECT_FALSE(waiting->has_value());
  auto [lock_status, lock] = Call("GET", "/v1/lock/a");
  ASSERT_EQ(lock_status, 200);
  EXPECT_EQ(lock["holder"], lease1);
  EXPECT_EQ(lock["waiter_count"], 1);
  auto [revoke_status, revoked] = Call("POST", "/v1/lease/revoke", R"({"lease":)" + std::to_string(lease1) + "}");
  ASSERT_EQ(revoke_status, 200) << revoked;
  const HttpResponse granted = Await(waiting);
  ASSERT_EQ(granted.status, 200) << granted.body;
  const uint64_t token2 = Json::parse(granted.body)["token"];
  EXPECT_GT(token2, token1);

  // The new holder writes; the old token is then refused with the store's max token.
  auto [new_status, newer] = Call("POST", "/v1/kv/put",
                                  R"({"resource":"r","lock":"a","token":)" + std::to_string(token2) +
                                      R"(,"value":"two"})");
  ASSERT_EQ(new_status, 200) << newer;
  auto [stale_status, stale] = Call("POST", "/v1/kv/put",
                                    R"({"resource":"r","lock":"a","token":)" + std::to_string(token1) +
                                        R"(,"value":"late"})");
  EXPECT_EQ(stale_status, 409) << stale;
  EXPECT_EQ(stale["code"], "ABORTED");
  EXPECT_EQ(stale["max_token"], token2);
  auto [read_status, read] = Call("GET", "/v1/kv/r");
  ASSERT_EQ(read_status, 200);
  EXPECT_EQ(read["value"], "two");
  EXPECT_EQ(read["version"], 2);
  EXPECT_GT(gateway_env_->client_messages(), 0u);
}

TEST_F(ClientGatewayTest, WaitThatTimesOutIsNotAcquiredAndLeavesNoWaiter) {
  auto [holder_status, holder] = Call("POST", "/v1/lease/grant", R"({"ttl_ms":5000})");
  ASSERT_EQ(holder_status, 200);
  ASSERT_EQ(Call("POST", "/v1/lock/acquire", R"({"name":"b","lease":)" + holder["lease"].dump() + "}").first, 200);
  auto [other_status, other] = Call("POST", "/v1/lease/grant", R"({"ttl_ms":5000})");
  ASSERT_EQ(other_status, 200);
  auto [wait_status, wait] = Call("POST", "/v1/lock/acquire",
                                  R"({"name":"b","lease":)" + other["lease"].dump() +
                                      R"(,"mode":"wait","wait_timeout_ms":200})");
  EXPECT_EQ(wait_status, 409) << wait;
  EXPECT_EQ(wait["code"], "FAILED_PRECONDITION");
  EXPECT_EQ(gateway_->waits(), 0u);
  auto [lock_status, lock] = Call("GET", "/v1/lock/b");
  ASSERT_EQ(lock_status, 200);
  EXPECT_EQ(lock["holder"], holder["lease"]);
  EXPECT_EQ(lock["waiter_count"], 0);
  // A try on the held lock: 409 at once.
  auto [try_status, tried] = Call("POST", "/v1/lock/acquire",
                                  R"({"name":"b","lease":)" + other["lease"].dump() + R"(,"mode":"try"})");
  EXPECT_EQ(try_status, 409) << tried;
}

TEST_F(ClientGatewayTest, BadRequestsAndUnknownThingsAreClientErrors) {
  EXPECT_EQ(Call("POST", "/v1/lease/grant", "{not json").first, 400);
  EXPECT_EQ(Call("POST", "/v1/lease/grant", R"({"ttl_ms":"1000"})").first, 400);
  EXPECT_EQ(Call("GET", "/v1/lease/grant").first, 405);
  EXPECT_EQ(Call("GET", "/v1/nothing/here").first, 404);
  EXPECT_EQ(Call("GET", "/v1/lease/999").first, 404);
  EXPECT_EQ(Call("GET", "/v1/kv/missing").first, 404);
  EXPECT_EQ(Call("POST", "/v1/lease/keepalive", R"({"lease":999})").first, 404);
  EXPECT_EQ(gateway_->metrics().bad_requests, 4u);
  // The service still works afterwards.
  EXPECT_EQ(Call("POST", "/v1/lease/grant", R"({"ttl_ms":2000})").first, 200);
}

TEST(GatewayEnvTest, CombinedHandlerKeepsAdminRoutesGetOnly) {
  int admin_calls = 0;
  const AdminServer::AsyncHandler handler = CombineApiAndAdmin(nullptr, [&](const HttpRequest&) {
    ++admin_calls;
    return HttpResponse{200, "text/plain", "ok\n", {}};
  });
  std::optional<HttpResponse> answer;
  HttpRequest request;
  request.method = "GET";
  request.target = "/livez";
  handler(request, [&](HttpResponse response) { answer = std::move(response); });
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  request.method = "POST";
  handler(request, [&](HttpResponse response) { answer = std::move(response); });
  EXPECT_EQ(answer->status, 405);
  request.target = "/v1/lease/grant";
  handler(request, [&](HttpResponse response) { answer = std::move(response); });
  EXPECT_EQ(answer->status, 404);  // no gateway
  EXPECT_EQ(admin_calls, 1);
}

}  // namespace
}  // namespace murphy::server
