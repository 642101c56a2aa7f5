#include "murphy/env/env.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace murphy {
namespace {

// A minimal Env that records what it was asked, to prove EnvWrapper forwards.
class RecordingEnv : public Env {
 public:
  NodeId self() const override { return NodeId(7); }
  Instant MonotonicNow() override { return Instant::FromNanoseconds(100); }
  WallTime WallNow() override { return WallTime::FromNanoseconds(200); }
  Instant BootNow() override { return Instant::FromNanoseconds(300); }
  TimerId SetTimer(Duration delay, std::function<void()> callback) override {
    last_delay = delay;
    callback();
    return TimerId(5);
  }
  bool CancelTimer(TimerId id) override { return id == TimerId(5); }
  void Send(NodeId target, Bytes payload) override {
    sent_to = target;
    sent = std::move(payload);
  }
  void SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) override {
    receiver_ = std::move(receiver);
  }
  Disk& disk() override { ADD_FAILURE() << "not used"; std::abort(); }
  Rng& rng() override { return rng_; }
  void Trace(std::string_view event, std::initializer_list<TraceField> fields) override {
    traced = std::string(event) + "/" + std::to_string(fields.size());
  }

  Duration last_delay;
  NodeId sent_to;
  Bytes sent;
  std::string traced;
  std::function<void(NodeId, std::span<const uint8_t>)> receiver_;
  Rng rng_{1};
};

// Overrides one call and forwards the rest.
class SkewedEnv : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  WallTime WallNow() override { return target()->WallNow() + Seconds(5); }
};

TEST(EnvWrapperTest, ForwardsEveryCallAndOverridesOne) {
  RecordingEnv base;
  SkewedEnv env(&base);
  EXPECT_EQ(env.self(), NodeId(7));
  EXPECT_EQ(env.MonotonicNow(), Instant::FromNanoseconds(100));
  EXPECT_EQ(env.BootNow(), Instant::FromNanoseconds(300));
  EXPECT_EQ(env.WallNow(), WallTime::FromNanoseconds(200) + Seconds(5));
  bool fired = false;
  EXPECT_EQ(env.SetTimer(Milliseconds(3), [&] { fired = true; }), TimerId(5));
  EXPECT_TRUE(fired);
  EXPECT_EQ(base.last_delay, Milliseconds(3));
  EXPECT_TRUE(env.CancelTimer(TimerId(5)));
  env.Send(NodeId(2), Bytes{1, 2});
  EXPECT_EQ(base.sent_to, NodeId(2));
  EXPECT_EQ(base.sent, (Bytes{1, 2}));
  env.SetReceiver([](NodeId, std::span<const uint8_t>) {});
  EXPECT_TRUE(static_cast<bool>(base.receiver_));
  EXPECT_EQ(&env.rng(), &base.rng_);
  env.Trace("lease_granted", {{"lease", uint64_t{3}}, {"holder", std::string_view("a")}});
  EXPECT_EQ(base.traced, "lease_granted/2");
}

}  // namespace
}  // namespace murphy
