#include "murphy/service/lock_service.h"

#include <gtest/gtest.h>

#include <variant>

namespace murphy::service {
namespace {

constexpr NodeId kClient(7);
constexpr NodeId kOther(8);

protocol::Request Mutation(uint64_t sequence, protocol::RequestBody body, NodeId client = kClient) {
  protocol::Request request;
  request.header.request_id = sequence;
  request.header.client = client;
  request.header.sequence = sequence;
  request.header.budget = Seconds(1);
  request.body = std::move(body);
  return request;
}

protocol::Request Read(protocol::RequestBody body) {
  protocol::Request request;
  request.header.request_id = 1000;
  request.header.client = kClient;
  request.body = std::move(body);
  return request;
}

protocol::AcquireRequest WaitFor(std::string lock, LeaseId lease) {
  protocol::AcquireRequest request;
  request.lock = std::move(lock);
  request.lease = lease;
  return request;
}

TEST(LockServiceTest, RoutesEveryKind) {
  EXPECT_EQ(RouteOf(protocol::GrantLeaseRequest{}), Route::kLockCommand);
  EXPECT_EQ(RouteOf(protocol::KeepAliveRequest{}), Route::kLockCommand);
  EXPECT_EQ(RouteOf(protocol::RevokeLeaseRequest{}), Route::kLockCommand);
  EXPECT_EQ(RouteOf(protocol::AcquireRequest{}), Route::kLockCommand);
  EXPECT_EQ(RouteOf(protocol::ReleaseRequest{}), Route::kLockCommand);
  EXPECT_EQ(RouteOf(protocol::WriteRequest{}), Route::kStoreWrite);
  EXPECT_EQ(RouteOf(protocol::GetLockRequest{}), Route::kLockRead);
  EXPECT_EQ(RouteOf(protocol::GetLeaseRequest{}), Route::kLockRead);
  EXPECT_EQ(RouteOf(protocol::ReadRequest{}), Route::kStoreRead);
}

TEST(LockServiceTest, ChecksSenderAndBudget) {
  const protocol::Request request = Mutation(1, protocol::GrantLeaseRequest{Seconds(5)});
  EXPECT_TRUE(CheckRequest(request, kClient).ok());
  EXPECT_EQ(CheckRequest(request, kOther).code(), StatusCode::kPermissionDenied);
  protocol::Request spent = request;
  spent.header.budget = Duration::Zero();
  EXPECT_EQ(CheckRequest(spent, kClient).code(), StatusCode::kDeadlineExceeded);
}

TEST(LockServiceTest, ConvertsCommandsWithTheirRequestId) {
  const lock::Command acquire = ToLockCommand(Mutation(
      4,
      protocol::AcquireRequest{"orders", LeaseId(3), protocol::AcquireMode::kWaitWithTimeout, Seconds(2)}));
  EXPECT_EQ(
      std::get<lock::Acquire>(acquire),
      (lock::Acquire{{kClient, 4}, "orders", LeaseId(3), lock::AcquireMode::kWaitWithTimeout, Seconds(2)}));
  EXPECT_EQ(std::get<lock::KeepAlive>(ToLockCommand(Mutation(5, protocol::KeepAliveRequest{LeaseId(3)}))),
            (lock::KeepAlive{{kClient, 5}, LeaseId(3)}));
  const store::FencedWrite write =
      ToFencedWrite(Mutation(6, protocol::WriteRequest{"r", "orders", FencingToken(2), "v", 0, "key"}));
  EXPECT_EQ(write, (store::FencedWrite{"r", "orders", FencingToken(2), "v", 0, "key"}));
  EXPECT_EQ(std::get<lock::CancelWait>(
                ToLockCommand(Mutation(8, protocol::CancelAcquireRequest{"orders", LeaseId(3)}))),
            (lock::CancelWait{{kClient, 8}, "orders", LeaseId(3)}));
  protocol::WriteRequest on_value{"r", "orders", FencingToken(2), "v", std::nullopt, "", "old"};
  EXPECT_EQ(ToFencedWrite(Mutation(7, on_value)),
            (store::FencedWrite{"r", "orders", FencingToken(2), "v", std::nullopt, "", "old"}));
}

TEST(LockServiceTest, CancelAcquireWithdrawsAWaitAndReportsARacedGrant) {
  Instant now;
  LocalLockService service({}, now);
  auto lease_of = [&](NodeId client, uint64_t sequence) {
    auto grant = service.Handle(client, Mutation(sequence, protocol::GrantLeaseRequest{Seconds(3)}, client), now);
    return std::get<protocol::LeaseBody>(grant.response.body).lease;
  };
  const LeaseId holder = lease_of(kClient, 1);
  const LeaseId waiter = lease_of(kOther, 1);
  service.Handle(kClient, Mutation(2, WaitFor("orders", holder)), now);
  auto wait = service.Handle(kOther, Mutation(2, WaitFor("orders", waiter), kOther), now);
  ASSERT_EQ(std::get<protocol::AcquireBody>(wait.response.body).state, protocol::AcquireState::kWaiting);

  auto cancel = service.Handle(kOther, Mutation(3, protocol::CancelAcquireRequest{"orders", waiter}, kOther), now);
  ASSERT_EQ(cancel.response.code, StatusCode::kOk) << cancel.response.message;
  EXPECT_EQ(std::get<protocol::AcquireBody>(cancel.response.body).state, protocol::AcquireState::kNone);
  ASSERT_EQ(cancel.pushes.size(), 1u);  // the waiter hears its wait ended
  EXPECT_EQ(cancel.pushes[0].client, kOther);
  EXPECT_EQ(cancel.pushes[0].push.kind, protocol::PushKind::kWaitEnded);
  EXPECT_TRUE(service.machine().GetLock("orders")->waiters.empty());

  // The holder "cancels" too late: the answer is its grant, and it still holds.
  auto late = service.Handle(kClient, Mutation(3, protocol::CancelAcquireRequest{"orders", holder}), now);
  ASSERT_EQ(late.response.code, StatusCode::kOk);
  const auto body = std::get<protocol::AcquireBody>(late.response.body);
  EXPECT_EQ(body.state, protocol::AcquireState::kGranted);
  EXPECT_EQ(body.token, FencingToken(1));
  EXPECT_EQ(service.machine().GetLock("orders")->holder, holder);
}

TEST(LockServiceTest, PushesOnlyClientFacingEvents) {
  lock::Event granted{lock::EventKind::kGranted, kClient, LeaseId(3), "orders", FencingToken(9)};
  const std::optional<Delivery> push = PushFor(granted);
  ASSERT_TRUE(push.has_value());
  EXPECT_EQ(push->client, kClient);
  EXPECT_EQ(push->push, (protocol::Push{protocol::PushKind::kGranted, LeaseId(3), "orders", FencingToken(9),
                                        0, protocol::EndReason::kNone}));
  lock::Event renewed{lock::EventKind::kLeaseRenewed, kClient, LeaseId(3)};
  EXPECT_FALSE(PushFor(renewed).has_value());
}

TEST(LockServiceTest, LocalServiceGrantsExpiresAndFences) {
  Instant now;
  LocalLockService service({}, now);
  auto grant = service.Handle(kClient, Mutation(1, protocol::GrantLeaseRequest{Seconds(3)}), now);
  ASSERT_EQ(grant.response.code, StatusCode::kOk) << grant.response.message;
  const LeaseId lease = std::get<protocol::LeaseBody>(grant.response.body).lease;
  auto acquire = service.Handle(kClient, Mutation(2, WaitFor("orders", lease)), now);
  ASSERT_EQ(acquire.response.code, StatusCode::kOk);
  const auto body = std::get<protocol::AcquireBody>(acquire.response.body);
  EXPECT_EQ(body.state, protocol::AcquireState::kGranted);
  const FencingToken token = body.token;

  // A retry of the same (client, sequence) is answered from memory: same token.
  auto retry = service.Handle(kClient, Mutation(2, WaitFor("orders", lease)), now);
  EXPECT_EQ(std::get<protocol::AcquireBody>(retry.response.body).token, token);

  // A lease of another client cannot be used.
  auto stolen = service.Handle(kOther, Mutation(10, WaitFor("orders", lease), kOther), now);
  EXPECT_EQ(stolen.response.code, StatusCode::kPermissionDenied);

  auto write =
      service.Handle(kClient, Mutation(3, protocol::WriteRequest{"r", "orders", token, "v1", {}, "k1"}), now);
  EXPECT_EQ(write.response.code, StatusCode::kOk);

  // The lease expires on the service's clock; the holder is told.
  now += Seconds(4);
  const std::vector<Delivery> pushes = service.Tick(now);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].push.kind, protocol::PushKind::kLost);
  EXPECT_EQ(pushes[0].push.reason, protocol::EndReason::kLeaseExpired);

  // Another client takes the lock with a larger token; the old token is fenced off.
  auto other_grant =
      service.Handle(kOther, Mutation(11, protocol::GrantLeaseRequest{Seconds(3)}, kOther), now);
  const LeaseId other_lease = std::get<protocol::LeaseBody>(other_grant.response.body).lease;
  auto other_acquire = service.Handle(kOther, Mutation(12, WaitFor("orders", other_lease), kOther), now);
  const FencingToken newer = std::get<protocol::AcquireBody>(other_acquire.response.body).token;
  EXPECT_GT(newer, token);
  service.Handle(kOther, Mutation(13, protocol::WriteRequest{"r", "orders", newer, "v2", {}, "k2"}, kOther),
                 now);
  auto stale =
      service.Handle(kClient, Mutation(4, protocol::WriteRequest{"r", "orders", token, "v3", {}, "k3"}), now);
  EXPECT_EQ(stale.response.code, StatusCode::kAborted);
  EXPECT_EQ(std::get<protocol::WriteBody>(stale.response.body).max_token, newer);

  auto read = service.Handle(kClient, Read(protocol::ReadRequest{"r"}), now);
  ASSERT_EQ(read.response.code, StatusCode::kOk);
  EXPECT_EQ(std::get<protocol::ReadBody>(read.response.body).value, "v2");

  // Compare-and-set on the value, end to end through the service.
  protocol::WriteRequest swap{"r", "orders", newer, "v4", std::nullopt, "", "v1"};
  auto mismatch = service.Handle(kOther, Mutation(14, swap, kOther), now);
  EXPECT_EQ(mismatch.response.code, StatusCode::kAborted);
  EXPECT_EQ(std::get<protocol::WriteBody>(mismatch.response.body).version, 2u);
  swap.expected_value = "v2";
  auto swapped = service.Handle(kOther, Mutation(15, swap, kOther), now);
  EXPECT_EQ(swapped.response.code, StatusCode::kOk);
  EXPECT_EQ(std::get<protocol::WriteBody>(swapped.response.body).version, 3u);
  EXPECT_EQ(service.store().Read("r")->value, "v4");
  auto info = service.Handle(kClient, Read(protocol::GetLockRequest{"orders"}), now);
  ASSERT_EQ(info.response.code, StatusCode::kOk);
  EXPECT_EQ(std::get<protocol::LockInfoBody>(info.response.body).holder, other_lease);
  EXPECT_EQ(service.Handle(kClient, Read(protocol::GetLeaseRequest{lease}), now).response.code,
            StatusCode::kNotFound);
  EXPECT_EQ(service.Handle(kClient, Read(protocol::ReadRequest{"nothing"}), now).response.code,
            StatusCode::kNotFound);
}

TEST(LockServiceTest, WaiterIsGrantedByPush) {
  Instant now;
  LocalLockService service({}, now);
  auto a = service.Handle(kClient, Mutation(1, protocol::GrantLeaseRequest{Seconds(5)}), now);
  auto b = service.Handle(kOther, Mutation(1, protocol::GrantLeaseRequest{Seconds(5)}, kOther), now);
  const LeaseId lease_a = std::get<protocol::LeaseBody>(a.response.body).lease;
  const LeaseId lease_b = std::get<protocol::LeaseBody>(b.response.body).lease;
  service.Handle(kClient, Mutation(2, WaitFor("x", lease_a)), now);
  auto wait = service.Handle(kOther, Mutation(2, WaitFor("x", lease_b), kOther), now);
  EXPECT_EQ(std::get<protocol::AcquireBody>(wait.response.body).state, protocol::AcquireState::kWaiting);
  auto release = service.Handle(kClient, Mutation(3, protocol::ReleaseRequest{"x", lease_a}), now);
  EXPECT_EQ(release.response.code, StatusCode::kOk);
  ASSERT_EQ(release.pushes.size(), 1u);
  EXPECT_EQ(release.pushes[0].client, kOther);
  EXPECT_EQ(release.pushes[0].push.kind, protocol::PushKind::kGranted);
  EXPECT_EQ(release.pushes[0].push.lease, lease_b);
}

}  // namespace
}  // namespace murphy::service
