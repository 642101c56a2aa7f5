#include "murphy/posix/posix_env.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "murphy/posix/handshake.h"
#include "murphy/protocol/frame.h"

namespace murphy::posix {
namespace {

constexpr uint64_t kCluster = 42;

PosixEnvOptions NodeOptions(uint32_t id, bool listen = true) {
  PosixEnvOptions options;
  options.self = NodeId(id);
  options.cluster_id = kCluster;
  if (listen) options.listen = PeerAddress{"127.0.0.1", 0};
  options.seed = id;
  options.suspension_check_interval = Duration::Zero();
  options.reconnect.base = Milliseconds(5);
  options.reconnect.cap = Milliseconds(20);
  return options;
}

std::unique_ptr<PosixEnv> MakeEnv(PosixEnvOptions options) {
  Result<std::unique_ptr<PosixEnv>> env = PosixEnv::Create(std::move(options));
  MURPHY_ASSERT_MSG(env.ok(), env.status().ToString().c_str());
  return std::move(env).value();
}

PeerAddress Loopback(const PosixEnv& env) { return PeerAddress{"127.0.0.1", env.listen_port()}; }

// Drives the envs' loops in small slices until `done` holds. The real-time deadline
// only bounds a failing test; correctness never depends on how long anything takes.
template <typename Predicate>
bool RunUntil(std::initializer_list<PosixEnv*> envs, Predicate done, int limit_ms = 1500) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    for (PosixEnv* env : envs) env->RunFor(Microseconds(500));
  }
  return true;
}

// Runs the loops for a while regardless of any condition (for "nothing happens").
void RunFor(std::initializer_list<PosixEnv*> envs, int milliseconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
  while (std::chrono::steady_clock::now() < deadline) {
    for (PosixEnv* env : envs) env->RunFor(Microseconds(500));
  }
}

struct Received {
  NodeId source;
  std::string text;
};

void Record(PosixEnv* env, std::vector<Received>* inbox) {
  env->SetReceiver([inbox](NodeId source, std::span<const uint8_t> payload) {
    inbox->push_back(Received{source, std::string(AsText(payload))});
  });
}

Bytes Text(std::string_view text) {
  const auto bytes = AsBytes(text);
  return Bytes(bytes.begin(), bytes.end());
}

// --- Transport -------------------------------------------------------------------------

TEST(PosixEnvTransportTest, TwoNodesExchangeMessagesBothWays) {
  auto a = MakeEnv(NodeOptions(1));
  auto b = MakeEnv(NodeOptions(2));
  ASSERT_NE(a->listen_port(), 0);
  ASSERT_NE(b->listen_port(), 0);
  ASSERT_TRUE(a->AddPeer(NodeId(2), Loopback(*b)).ok());
  ASSERT_TRUE(b->AddPeer(NodeId(1), Loopback(*a)).ok());
  std::vector<Received> at_a;
  std::vector<Received> at_b;
  Record(a.get(), &at_a);
  b->SetReceiver([&](NodeId source, std::span<const uint8_t> payload) {
    at_b.push_back(Received{source, std::string(AsText(payload))});
    b->Send(source, Text("pong:" + std::string(AsText(payload))));
  });
  a->Send(NodeId(2), Text("ping"));
  EXPECT_TRUE(at_b.empty());  // never inline
  ASSERT_TRUE(RunUntil({a.get(), b.get()}, [&] { return !at_a.empty(); }));
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].source, NodeId(1));
  EXPECT_EQ(at_b[0].text, "ping");
  EXPECT_EQ(at_a[0].source, NodeId(2));
  EXPECT_EQ(at_a[0].text, "pong:ping");
  EXPECT_EQ(a->metrics().messages_sent, 1u);
  EXPECT_EQ(a->metrics().messages_received, 1u);
  EXPECT_EQ(b->metrics().messages_received, 1u);
  EXPECT_EQ(a->metrics().connects, 1u);
  EXPECT_EQ(b->metrics().connections_accepted, 1u);
  EXPECT_EQ(a->metrics().bad_frames + b->metrics().bad_frames, 0u);
}

TEST(PosixEnvTransportTest, ManyMessagesOnOneConnectionArriveInOrder) {
  auto a = MakeEnv(NodeOptions(1));
  auto b = MakeEnv(NodeOptions(2));
  ASSERT_TRUE(a->AddPeer(NodeId(2), Loopback(*b)).ok());
  std::vector<Received> at_b;
  Record(b.get(), &at_b);
  constexpr int kMessages = 2000;
  for (int i = 0; i < kMessages; ++i) a->Send(NodeId(2), Text(std::to_string(i) + std::string(i % 300, 'x')));
  // The receiver may see the bytes before the sender's write completion has run.
  ASSERT_TRUE(RunUntil({a.get(), b.get()}, [&] {
    return at_b.size() == kMessages && a->metrics().messages_sent == kMessages;
  }));
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(at_b[static_cast<size_t>(i)].text, std::to_string(i) + std::string(i % 300, 'x'));
  }
  EXPECT_EQ(a->metrics().bytes_sent, b->metrics().bytes_received);
}

TEST(PosixEnvTransportTest, AClientWithoutAnAddressGetsRepliesOverItsConnection) {
  auto server = MakeEnv(NodeOptions(1));
  PosixEnvOptions client_options = NodeOptions(100, /*listen=*/false);
  client_options.peers[NodeId(1)] = Loopback(*server);
  auto client = MakeEnv(client_options);
  EXPECT_EQ(client->listen_port(), 0);
  server->SetReceiver([&](NodeId source, std::span<const uint8_t> payload) {
    server->Send(source, Text("re:" + std::string(AsText(payload))));
  });
  std::vector<Received> at_client;
  Record(client.get(), &at_client);
  client->Send(NodeId(1), Text("acquire"));
  client->Send(NodeId(1), Text("renew"));
  ASSERT_TRUE(RunUntil({server.get(), client.get()}, [&] { return at_client.size() == 2; }));
  EXPECT_EQ(at_client[0].source, NodeId(1));
  EXPECT_EQ(at_client[0].text, "re:acquire");
  EXPECT_EQ(at_client[1].text, "re:renew");
  // The server has no way to reach a process it never heard from.
  server->Send(NodeId(77), Text("lost"));
  EXPECT_EQ(server->metrics().dropped_no_route, 1u);
}

TEST(PosixEnvTransportTest, APeerThatIsDownGetsTheNewestQueuedMessagesWhenItComesUp) {
  // Learn a free port, then take the node down.
  auto b = MakeEnv(NodeOptions(2));
  const PeerAddress b_address = Loopback(*b);
  b.reset();

  // Without a listener: the kernel could hand b's old port to a's listener.
  PosixEnvOptions a_options = NodeOptions(1, /*listen=*/false);
  a_options.peers[NodeId(2)] = b_address;
  a_options.max_queue_messages = 10;
  a_options.overflow = Overflow::kDropOldest;
  auto a = MakeEnv(a_options);
  for (int i = 0; i < 100; ++i) a->Send(NodeId(2), Text(std::to_string(i)));
  EXPECT_EQ(a->metrics().dropped_queue_full, 90u);
  // Connection attempts fail (refused) and are retried with backoff.
  ASSERT_TRUE(RunUntil({a.get()}, [&] { return a->metrics().connect_failures >= 3; }));
  EXPECT_GE(a->metrics().reconnects, 2u);
  EXPECT_EQ(a->metrics().messages_sent, 0u);

  PosixEnvOptions b_options = NodeOptions(2);
  b_options.listen = b_address;
  b = MakeEnv(b_options);
  std::vector<Received> at_b;
  Record(b.get(), &at_b);
  ASSERT_TRUE(RunUntil({a.get(), b.get()}, [&] { return at_b.size() == 10 && a->metrics().messages_sent == 10; }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(at_b[static_cast<size_t>(i)].text, std::to_string(90 + i));
  EXPECT_EQ(a->metrics().connects, 1u);
}

TEST(PosixEnvTransportTest, DropNewestKeepsTheOldestQueuedMessages) {
  auto b = MakeEnv(NodeOptions(2));
  const PeerAddress b_address = Loopback(*b);
  b.reset();
  PosixEnvOptions a_options = NodeOptions(1, /*listen=*/false);
  a_options.peers[NodeId(2)] = b_address;
  a_options.max_queue_messages = 5;
  a_options.overflow = Overflow::kDropNewest;
  auto a = MakeEnv(a_options);
  for (int i = 0; i < 20; ++i) a->Send(NodeId(2), Text(std::to_string(i)));
  EXPECT_EQ(a->metrics().dropped_queue_full, 15u);
  PosixEnvOptions b_options = NodeOptions(2);
  b_options.listen = b_address;
  b = MakeEnv(b_options);
  std::vector<Received> at_b;
  Record(b.get(), &at_b);
  ASSERT_TRUE(RunUntil({a.get(), b.get()}, [&] { return at_b.size() == 5; }));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(at_b[static_cast<size_t>(i)].text, std::to_string(i));
}

TEST(PosixEnvTransportTest, QueueBytesAreBoundedToo) {
  auto b = MakeEnv(NodeOptions(2));
  const PeerAddress b_address = Loopback(*b);
  b.reset();
  PosixEnvOptions a_options = NodeOptions(1);
  a_options.peers[NodeId(2)] = b_address;
  a_options.max_queue_bytes = 1000;
  auto a = MakeEnv(a_options);
  for (int i = 0; i < 10; ++i) a->Send(NodeId(2), Bytes(300, 'x'));  // 312 bytes framed
  EXPECT_EQ(a->metrics().dropped_queue_full, 7u);
  a->Send(NodeId(2), Bytes(2000, 'y'));  // can never fit
  EXPECT_EQ(a->metrics().dropped_queue_full, 8u);
}

TEST(PosixEnvTransportTest, OversizedPayloadsAreDroppedAtSend) {
  PosixEnvOptions options = NodeOptions(1);
  options.max_frame_payload = 100;
  options.peers[NodeId(2)] = PeerAddress{"127.0.0.1", 1};
  auto a = MakeEnv(options);
  a->Send(NodeId(2), Bytes(101, 0));
  a->Send(NodeId(1), Bytes(101, 0));
  EXPECT_EQ(a->metrics().dropped_too_large, 2u);
}

TEST(PosixEnvTransportTest, SendToSelfIsDeliveredThroughTheLoop) {
  auto a = MakeEnv(NodeOptions(1, /*listen=*/false));
  std::vector<Received> inbox;
  Record(a.get(), &inbox);
  a->Send(NodeId(1), Text("me"));
  EXPECT_TRUE(inbox.empty());
  a->Poll();
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].source, NodeId(1));
  EXPECT_EQ(inbox[0].text, "me");
}

TEST(PosixEnvTransportTest, MalformedAddressesAndBadOptionsAreRejected) {
  auto a = MakeEnv(NodeOptions(1, /*listen=*/false));
  EXPECT_EQ(a->AddPeer(NodeId(2), PeerAddress{"not-an-ip", 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a->AddPeer(NodeId(0), PeerAddress{"127.0.0.1", 1}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(a->AddPeer(NodeId(2), PeerAddress{"::1", 5}).ok());
  EXPECT_EQ(PosixEnv::Create(NodeOptions(0)).status().code(), StatusCode::kInvalidArgument);
  // The port is taken: listening fails, the process is told.
  auto b = MakeEnv(NodeOptions(2));
  PosixEnvOptions clash = NodeOptions(3);
  clash.listen = Loopback(*b);
  EXPECT_EQ(PosixEnv::Create(clash).status().code(), StatusCode::kUnavailable);
}

// --- Hostile input ---------------------------------------------------------------------

// A raw TCP socket speaking to an env, as a broken or malicious peer would.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    MURPHY_ASSERT(fd_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // Completes from the kernel's backlog; the env's loop need not run.
    MURPHY_ASSERT(::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    MURPHY_ASSERT(::fcntl(fd_, F_SETFL, O_NONBLOCK) == 0);
  }
  ~RawSocket() { ::close(fd_); }
  void Write(std::span<const uint8_t> bytes) {
    MURPHY_ASSERT(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  }
  // True once the other side has closed the connection (reads and drops data).
  bool PeerClosed() {
    uint8_t buffer[256];
    for (;;) {
      const ssize_t result = ::recv(fd_, buffer, sizeof buffer, 0);
      if (result == 0) return true;
      if (result > 0) continue;
      return errno != EAGAIN && errno != EWOULDBLOCK;  // ECONNRESET: closed too
    }
  }

 private:
  int fd_;
};

Bytes HelloFrom(uint32_t sender, uint64_t cluster = kCluster, uint32_t target = 0) {
  return EncodeHelloFrame(Hello{cluster, NodeId(sender), NodeId(target)});
}

enum class Garbage { kNoise, kOversizedLength, kBadChecksum, kUnknownType, kNoHello };

class BadFramesTest : public testing::TestWithParam<Garbage> {};

TEST_P(BadFramesTest, CloseOnlyThatConnectionAndKeepServingAGoodPeer) {
  auto server = MakeEnv(NodeOptions(2));
  auto good = MakeEnv(NodeOptions(1));
  ASSERT_TRUE(good->AddPeer(NodeId(2), Loopback(*server)).ok());
  std::vector<Received> at_server;
  Record(server.get(), &at_server);

  RawSocket raw(server->listen_port());
  Bytes bytes;
  switch (GetParam()) {
    case Garbage::kNoise:
      bytes = Text("GET / HTTP/1.1\r\nHost: murphy\r\n\r\n");
      break;
    case Garbage::kOversizedLength:
      bytes = HelloFrom(9);
      // A valid header whose length claims 4 GiB.
      for (uint8_t byte : std::initializer_list<uint8_t>{0x59, 0x4D, kFrameVersion, kDataFrameType, 0xFF, 0xFF, 0xFF,
                                                       0xFF, 0, 0, 0, 0}) {
        bytes.push_back(byte);
      }
      break;
    case Garbage::kBadChecksum: {
      bytes = HelloFrom(9);
      Bytes frame = EncodeFrame(kDataFrameType, AsBytes("payload"));
      frame.back() ^= 0x01;
      bytes.insert(bytes.end(), frame.begin(), frame.end());
      break;
    }
    case Garbage::kUnknownType: {
      bytes = HelloFrom(9);
      const Bytes frame = EncodeFrame(0x7F, AsBytes("payload"));
      bytes.insert(bytes.end(), frame.begin(), frame.end());
      break;
    }
    case Garbage::kNoHello:
      bytes = EncodeFrame(kDataFrameType, AsBytes("payload"));
      break;
  }
  raw.Write(bytes);
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return server->metrics().bad_frames == 1; }));
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return raw.PeerClosed(); }));
  EXPECT_TRUE(at_server.empty());

  good->Send(NodeId(2), Text("still there?"));
  ASSERT_TRUE(RunUntil({server.get(), good.get()}, [&] { return at_server.size() == 1; }));
  EXPECT_EQ(at_server[0].source, NodeId(1));
  EXPECT_EQ(server->metrics().bad_frames, 1u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, BadFramesTest,
                         testing::Values(Garbage::kNoise, Garbage::kOversizedLength, Garbage::kBadChecksum,
                                         Garbage::kUnknownType, Garbage::kNoHello));

TEST(PosixEnvHandshakeTest, StrangersAreRejected) {
  auto server = MakeEnv(NodeOptions(2));
  std::vector<Received> at_server;
  Record(server.get(), &at_server);
  struct Case {
    Bytes hello;
    const char* what;
  };
  const std::vector<Case> cases = {
      {HelloFrom(9, /*cluster=*/kCluster + 1), "another cluster"},
      {HelloFrom(9, kCluster, /*target=*/5), "meant for node 5"},
      {HelloFrom(2), "claims to be the server itself"},
      {HelloFrom(0), "node 0"},
      {EncodeFrame(kHelloFrameType, AsBytes("short")), "malformed hello"},
  };
  uint64_t expected = 0;
  for (const Case& test_case : cases) {
    SCOPED_TRACE(test_case.what);
    RawSocket raw(server->listen_port());
    Bytes bytes = test_case.hello;
    const Bytes data = EncodeFrame(kDataFrameType, AsBytes("sneaky"));
    bytes.insert(bytes.end(), data.begin(), data.end());
    raw.Write(bytes);
    ++expected;
    ASSERT_TRUE(RunUntil({server.get()}, [&] { return server->metrics().handshakes_rejected == expected; }));
    ASSERT_TRUE(RunUntil({server.get()}, [&] { return raw.PeerClosed(); }));
  }
  EXPECT_TRUE(at_server.empty());
  EXPECT_EQ(server->metrics().bad_frames, 0u);
}

TEST(PosixEnvHandshakeTest, ASilentConnectionIsClosedAfterTheHandshakeTimeout) {
  PosixEnvOptions options = NodeOptions(2);
  options.handshake_timeout = Milliseconds(30);
  auto server = MakeEnv(options);
  RawSocket raw(server->listen_port());
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return server->metrics().handshakes_rejected == 1; }));
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return raw.PeerClosed(); }));
  EXPECT_EQ(server->open_connections(), 0u);
}

TEST(PosixEnvHandshakeTest, ADialerThatReachedTheWrongNodeHangsUp) {
  auto wrong = MakeEnv(NodeOptions(3));
  PosixEnvOptions options = NodeOptions(1);
  options.peers[NodeId(2)] = Loopback(*wrong);  // a stale address book
  auto a = MakeEnv(options);
  std::vector<Received> at_wrong;
  Record(wrong.get(), &at_wrong);
  a->Send(NodeId(2), Text("for node 2"));
  // The acceptor sees a hello meant for node 2 and refuses it.
  ASSERT_TRUE(RunUntil({a.get(), wrong.get()}, [&] { return wrong->metrics().handshakes_rejected >= 1; }));
  RunFor({a.get(), wrong.get()}, 20);
  EXPECT_TRUE(at_wrong.empty());
}

TEST(PosixEnvTransportTest, InboundConnectionsAreBounded) {
  PosixEnvOptions options = NodeOptions(2);
  options.max_inbound_connections = 2;
  auto server = MakeEnv(options);
  RawSocket first(server->listen_port());
  RawSocket second(server->listen_port());
  RawSocket third(server->listen_port());
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return server->metrics().connections_refused == 1; }));
  EXPECT_EQ(server->metrics().connections_accepted, 2u);
  ASSERT_TRUE(RunUntil({server.get()}, [&] { return third.PeerClosed(); }));
}

// --- Timers ----------------------------------------------------------------------------

TEST(PosixEnvTimerTest, TimersFireInDeadlineOrderTiesInSettingOrder) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  std::vector<std::string> fired;
  env->SetTimer(Milliseconds(30), [&] { fired.push_back("30ms"); });
  env->SetTimer(Milliseconds(10), [&] { fired.push_back("10ms"); });
  env->SetTimer(Milliseconds(20), [&] { fired.push_back("20ms"); });
  env->SetTimer(Milliseconds(5), [&] { fired.push_back("5ms-a"); });
  env->SetTimer(Milliseconds(5), [&] { fired.push_back("5ms-b"); });
  env->SetTimer(Duration::Zero(), [&] { fired.push_back("0"); });
  env->SetTimer(-Seconds(1), [&] { fired.push_back("negative"); });
  EXPECT_TRUE(fired.empty());  // never inline
  EXPECT_EQ(env->pending_timers(), 7u);
  ASSERT_TRUE(RunUntil({env.get()}, [&] { return fired.size() == 7; }));
  // A negative delay means "as soon as possible", like zero: setting order decides.
  EXPECT_EQ(fired, (std::vector<std::string>{"0", "negative", "5ms-a", "5ms-b", "10ms", "20ms", "30ms"}));
  EXPECT_EQ(env->pending_timers(), 0u);
  EXPECT_EQ(env->metrics().timers_fired, 7u);
}

TEST(PosixEnvTimerTest, CancelledTimersNeverRun) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  int cancelled_runs = 0;
  bool later = false;
  const TimerId first = env->SetTimer(Milliseconds(1), [&] { ++cancelled_runs; });
  const TimerId second = env->SetTimer(Duration::Zero(), [&] { ++cancelled_runs; });
  env->SetTimer(Milliseconds(10), [&] { later = true; });
  EXPECT_TRUE(env->CancelTimer(first));
  EXPECT_TRUE(env->CancelTimer(second));
  EXPECT_FALSE(env->CancelTimer(first));  // already cancelled
  EXPECT_FALSE(env->CancelTimer(TimerId(12345)));
  ASSERT_TRUE(RunUntil({env.get()}, [&] { return later; }));
  EXPECT_EQ(cancelled_runs, 0);
}

TEST(PosixEnvTimerTest, ATimerThatRanCannotBeCancelledAndCallbacksMaySetAndCancelTimers) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  int runs = 0;
  TimerId victim;
  TimerId self_id = env->SetTimer(Duration::Zero(), [&] {
    ++runs;
    // A timer due at the same moment, set earlier, cancelled from a callback.
    EXPECT_TRUE(env->CancelTimer(victim));
    env->SetTimer(Duration::Zero(), [&] { ++runs; });
  });
  victim = env->SetTimer(Duration::Zero(), [&] { runs += 100; });
  ASSERT_TRUE(RunUntil({env.get()}, [&] { return runs == 2; }));
  EXPECT_FALSE(env->CancelTimer(self_id));
  RunFor({env.get()}, 5);
  EXPECT_EQ(runs, 2);
}

TEST(PosixEnvTimerTest, ASelfRearmingZeroDelayTimerDoesNotStarveTheNetwork) {
  auto a = MakeEnv(NodeOptions(1));
  auto b = MakeEnv(NodeOptions(2));
  ASSERT_TRUE(a->AddPeer(NodeId(2), Loopback(*b)).ok());
  std::vector<Received> at_b;
  Record(b.get(), &at_b);
  uint64_t spins = 0;
  std::function<void()> spin = [&] {
    ++spins;
    b->SetTimer(Duration::Zero(), spin);
  };
  b->SetTimer(Duration::Zero(), spin);
  a->Send(NodeId(2), Text("through"));
  ASSERT_TRUE(RunUntil({a.get(), b.get()}, [&] { return !at_b.empty(); }));
  EXPECT_GT(spins, 0u);
}

// --- Clocks, disk, trace, lifetime ----------------------------------------------------

TEST(PosixEnvClockTest, TheInjectedClockSourceIsUsedAndSuspensionsAreReported) {
  FakeClockSource clock;
  clock.Advance(Seconds(100));
  PosixEnvOptions options = NodeOptions(1, /*listen=*/false);
  options.clock = &clock;
  std::vector<Duration> reported;
  options.on_suspension = [&](Duration suspended) { reported.push_back(suspended); };
  auto env = MakeEnv(options);
  EXPECT_EQ(env->MonotonicNow(), clock.MonotonicNow());
  EXPECT_EQ(env->BootNow(), clock.BootNow());
  EXPECT_EQ(env->WallNow(), clock.WallNow());
  clock.Suspend(Seconds(30));
  EXPECT_EQ(env->CheckSuspension(), Seconds(30));
  EXPECT_EQ(reported, std::vector<Duration>{Seconds(30)});
  EXPECT_EQ(env->metrics().suspensions, 1u);
  EXPECT_EQ(env->CheckSuspension(), std::nullopt);
}

TEST(PosixEnvClockTest, ThePeriodicCheckFindsASuspensionOnTheLoop) {
  FakeClockSource clock;
  PosixEnvOptions options = NodeOptions(1, /*listen=*/false);
  options.clock = &clock;
  options.suspension_check_interval = Milliseconds(1);
  std::vector<Duration> reported;
  options.on_suspension = [&](Duration suspended) { reported.push_back(suspended); };
  auto env = MakeEnv(options);
  clock.Suspend(Seconds(7));
  ASSERT_TRUE(RunUntil({env.get()}, [&] { return !reported.empty(); }));
  EXPECT_EQ(reported[0], Seconds(7));
  EXPECT_EQ(env->suspension_detector().suspensions(), 1u);
}

TEST(PosixEnvClockTest, RealClocksMoveForward) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  const Instant before = env->MonotonicNow();
  EXPECT_GE(env->BootNow(), before);
  EXPECT_GE(env->MonotonicNow(), before);
}

class TempDirectory {
 public:
  TempDirectory() {
    path_ = testing::TempDir() + "murphy_posix_env_XXXXXX";
    MURPHY_ASSERT(::mkdtemp(path_.data()) != nullptr);
  }
  ~TempDirectory() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
    MURPHY_ASSERT(!error);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PosixEnvDiskTest, TheDiskLivesInTheDataDirectoryAndCompletesOnTheLoop) {
  TempDirectory directory;
  PosixEnvOptions options = NodeOptions(1, /*listen=*/false);
  options.data_directory = directory.path() + "/node1";
  auto env = MakeEnv(options);
  Disk& disk = env->disk();
  ASSERT_TRUE(disk.Append("wal", AsBytes("entry")).ok());
  bool synced = false;
  disk.SyncAsync("wal", [&](Status status) {
    EXPECT_TRUE(status.ok()) << status.ToString();
    synced = true;
  });
  EXPECT_FALSE(synced);
  ASSERT_TRUE(RunUntil({env.get()}, [&] { return synced; }));
  ASSERT_TRUE(disk.Sync("wal").ok());
  EXPECT_GE(env->metrics().fsyncs, 2u);
  EXPECT_EQ(env->metrics().fsync_errors, 0u);
  Result<Bytes> content = disk.Read("wal");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(AsText(*content), "entry");
}

TEST(PosixEnvDiskTest, AProcessWithoutADataDirectoryHasNoDisk) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  EXPECT_EQ(env->disk().Append("x", AsBytes("1")).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(env->disk().List().status().code(), StatusCode::kFailedPrecondition);
  bool called = false;
  env->disk().SyncAsync("x", [&](Status status) {
    called = true;
    EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  });
  EXPECT_FALSE(called);
  env->Poll();
  EXPECT_TRUE(called);
}

TEST(PosixEnvTraceTest, TraceLinesFollowTheSimulatorSchema) {
  char* buffer = nullptr;
  size_t size = 0;
  std::FILE* sink = ::open_memstream(&buffer, &size);
  ASSERT_NE(sink, nullptr);
  {
    FakeClockSource clock;
    clock.Advance(Seconds(3));
    PosixEnvOptions options = NodeOptions(5, /*listen=*/false);
    options.clock = &clock;
    options.trace = sink;
    auto env = MakeEnv(options);
    env->Trace("lease_granted", {{"lease", uint64_t{7}}, {"ttl_ns", int64_t{-1}}, {"holder", std::string_view("c\"1")},
                                 {"safe", true}, {"ratio", 0.5}});
    env->Send(NodeId(9), Text("nowhere"));  // no route: a drop event
  }
  std::fflush(sink);
  const std::string text(buffer, size);
  std::fclose(sink);
  std::free(buffer);
  const size_t first_end = text.find('\n');
  ASSERT_NE(first_end, std::string::npos);
  const std::string first = text.substr(0, first_end);
  EXPECT_EQ(first.rfind("{\"time_ns\":", 0), 0u) << first;
  EXPECT_NE(first.find(",\"node\":5,\"mono_ns\":3000000000,\"wall_ns\":1767225603000000000,"
                       "\"event\":\"lease_granted\",\"lease\":7,\"ttl_ns\":-1,\"holder\":\"c\\\"1\","
                       "\"safe\":true,\"ratio\":0.5}"),
            std::string::npos)
      << first;
  EXPECT_NE(text.find("\"event\":\"drop\",\"source\":5,\"target\":9,\"reason\":\"no_route\""), std::string::npos)
      << text;
}

TEST(PosixEnvLoopTest, EnvsCanShareAGivenLoopAndDieWhileItHasTheirHandlers) {
  // Declared before the envs, so it outlives them: their handlers stay queued in it.
  auto loop_owner = MakeEnv(NodeOptions(50, /*listen=*/false));
  asio::io_context& loop = loop_owner->loop();
  Result<std::unique_ptr<PosixEnv>> a_result = PosixEnv::Create(NodeOptions(1), &loop);
  Result<std::unique_ptr<PosixEnv>> b_result = PosixEnv::Create(NodeOptions(2), &loop);
  ASSERT_TRUE(a_result.ok() && b_result.ok());
  std::unique_ptr<PosixEnv> a = std::move(a_result).value();
  std::unique_ptr<PosixEnv> b = std::move(b_result).value();
  ASSERT_TRUE(a->AddPeer(NodeId(2), Loopback(*b)).ok());
  ASSERT_TRUE(b->AddPeer(NodeId(1), Loopback(*a)).ok());
  std::vector<Received> at_a;
  std::vector<Received> at_b;
  Record(a.get(), &at_a);
  Record(b.get(), &at_b);
  a->Send(NodeId(2), Text("x"));
  b->Send(NodeId(1), Text("y"));
  ASSERT_TRUE(RunUntil({loop_owner.get()}, [&] { return at_a.size() == 1 && at_b.size() == 1; }));
  // Leave work in flight: timers, queued messages, a pending sync, then destroy b.
  int late = 0;
  b->SetTimer(Duration::Zero(), [&] { ++late; });
  b->disk().SyncAsync("x", [&](Status) { ++late; });  // no data directory: an error, posted
  b->Send(NodeId(1), Text("z"));
  b->Send(NodeId(2), Text("to self"));
  b.reset();
  RunFor({loop_owner.get()}, 20);
  EXPECT_EQ(late, 0);
  // a notices that b is gone and keeps working.
  a->Send(NodeId(1), Text("self"));
  ASSERT_TRUE(RunUntil({loop_owner.get()}, [&] { return at_a.size() >= 2 && at_a.back().text == "self"; }));
}

TEST(PosixEnvLoopTest, StopEndsRun) {
  auto env = MakeEnv(NodeOptions(1, /*listen=*/false));
  env->SetTimer(Milliseconds(1), [&] { env->Stop(); });
  env->Run();  // returns because of Stop (an owned loop never runs out of work)
  bool ran = false;
  env->SetTimer(Duration::Zero(), [&] { ran = true; });
  env->Poll();  // a stopped loop is restarted
  EXPECT_TRUE(ran);
}

TEST(PosixEnvTransportTest, ReceiverMayBeReplacedFromInsideItself) {
  auto a = MakeEnv(NodeOptions(1, /*listen=*/false));
  std::vector<std::string> log;
  a->SetReceiver([&](NodeId, std::span<const uint8_t> payload) {
    log.push_back("first:" + std::string(AsText(payload)));
    a->SetReceiver([&](NodeId, std::span<const uint8_t> again) { log.push_back("second:" + std::string(AsText(again))); });
  });
  a->Send(NodeId(1), Text("1"));
  a->Send(NodeId(1), Text("2"));
  a->Poll();
  EXPECT_EQ(log, (std::vector<std::string>{"first:1", "second:2"}));
}

}  // namespace
}  // namespace murphy::posix
