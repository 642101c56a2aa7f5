// Codec tests: every command and result round-trips; decoders refuse, without
// crashing, everything malformed.
#include "murphy/lock/lock_command.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"

namespace murphy::lock {
namespace {

std::vector<Command> SampleCommands() {
  return {
      GrantLease{{NodeId(7), 1}, Seconds(10)},
      KeepAlive{{NodeId(7), 2}, LeaseId(3)},
      RevokeLease{{NodeId(7), 3}, LeaseId(3)},
      Acquire{{NodeId(7), 4}, "orders", LeaseId(3), AcquireMode::kWait, Duration::Zero()},
      Acquire{{NodeId(7), 5}, "orders", LeaseId(3), AcquireMode::kTry, Duration::Zero()},
      Acquire{{NodeId(4'000'000'000u), ~uint64_t{0}}, std::string(300, 'x'), LeaseId(~uint64_t{0}),
              AcquireMode::kWaitWithTimeout, Milliseconds(1500)},
      Release{{NodeId(7), 6}, "orders", LeaseId(3)},
      CancelWait{{NodeId(7), 7}, "orders", LeaseId(3)},
      ExpireLease{LeaseId(3), 17},
      ExpireWait{"orders", LeaseId(3), 99},
      CheckpointLeases{{{LeaseId(1), 0, Seconds(4)}, {LeaseId(2), 5, Milliseconds(1)}}},
      CheckpointLeases{},
  };
}

TEST(LockCommandTest, EveryCommandRoundTrips) {
  for (const Command& command : SampleCommands()) {
    const Bytes bytes = EncodeCommand(command);
    Result<Command> decoded = DecodeCommand(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, command);
  }
}

TEST(LockCommandTest, ResultsRoundTrip) {
  CommandResult granted;
  granted.state = AcquireState::kGranted;
  granted.token = FencingToken(34);
  CommandResult waiting;
  waiting.state = AcquireState::kWaiting;
  waiting.position = 3;
  waiting.ticket = 12;
  CommandResult lease;
  lease.lease = LeaseId(5);
  lease.ttl = Seconds(10);
  CommandResult error;
  error.status = AbortedError("renewed since");
  for (const CommandResult& result : {granted, waiting, lease, error}) {
    Result<CommandResult> decoded = DecodeResult(EncodeResult(result));
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(*decoded, result);
  }
}

TEST(LockCommandTest, RejectsVersionTypeModeAndTrailingBytes) {
  Bytes bytes = EncodeCommand(KeepAlive{{NodeId(1), 1}, LeaseId(1)});
  Bytes wrong_version = bytes;
  wrong_version[0] = 9;
  EXPECT_EQ(DecodeCommand(wrong_version).status().code(), StatusCode::kUnimplemented);
  Bytes wrong_type = bytes;
  wrong_type[1] = 0;
  EXPECT_EQ(DecodeCommand(wrong_type).status().code(), StatusCode::kInvalidArgument);
  wrong_type[1] = 9;
  EXPECT_EQ(DecodeCommand(wrong_type).status().code(), StatusCode::kInvalidArgument);
  Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_EQ(DecodeCommand(trailing).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeCommand({}).status().code(), StatusCode::kInvalidArgument);

  Bytes acquire = EncodeCommand(Acquire{{NodeId(1), 1}, "a", LeaseId(1), AcquireMode::kTry, Duration::Zero()});
  acquire[acquire.size() - 2] = 3;  // the mode byte, before the one-byte zero timeout
  EXPECT_EQ(DecodeCommand(acquire).status().code(), StatusCode::kInvalidArgument);
}

TEST(LockCommandTest, EveryTruncationIsRefused) {
  for (const Command& command : SampleCommands()) {
    const Bytes bytes = EncodeCommand(command);
    for (size_t length = 0; length < bytes.size(); ++length) {
      Result<Command> decoded = DecodeCommand(std::span<const uint8_t>(bytes.data(), length));
      EXPECT_FALSE(decoded.ok()) << "length " << length;
    }
  }
}

TEST(LockCommandTest, OversizedNamesAndCountsAreRefusedBeforeAllocating) {
  ByteWriter name;
  name.PutU8(kCommandEncodingVersion);
  name.PutU8(5);  // Release
  name.PutVarint(1);
  name.PutVarint(1);
  name.PutVarint(kMaxEncodedNameBytes + 1);
  EXPECT_EQ(DecodeCommand(name.bytes()).status().code(), StatusCode::kInvalidArgument);

  ByteWriter count;
  count.PutU8(kCommandEncodingVersion);
  count.PutU8(8);  // CheckpointLeases
  count.PutVarint(kMaxCheckpointsPerCommand + 1);
  EXPECT_EQ(DecodeCommand(count.bytes()).status().code(), StatusCode::kInvalidArgument);

  ByteWriter lying;  // claims 4000 checkpoints, carries none
  lying.PutU8(kCommandEncodingVersion);
  lying.PutU8(8);
  lying.PutVarint(4000);
  EXPECT_EQ(DecodeCommand(lying.bytes()).status().code(), StatusCode::kInvalidArgument);
}

TEST(LockCommandTest, ResultDecoderRejectsAnOkStatusWithAMessageAndUnknownCodes) {
  Bytes bytes = EncodeResult(CommandResult{});
  // [version, code, message length, ...]
  Bytes unknown_code = bytes;
  unknown_code[1] = kStatusCodeCount;
  EXPECT_FALSE(DecodeResult(unknown_code).ok());
  ByteWriter forged;
  forged.PutU8(kCommandEncodingVersion);
  forged.PutU8(0);
  forged.PutString("not ok");
  EXPECT_FALSE(DecodeResult(forged.bytes()).ok());
}

// Random bytes and random mutations of valid encodings never crash the decoders; what
// they accept re-encodes to a decodable command (round trip on the accepted set).
TEST(LockCommandTest, RandomBytesNeverCrash) {
  const std::vector<Command> samples = SampleCommands();
  int accepted = 0;
  for (uint64_t seed = 1; seed <= 2000; ++seed) {
    Rng rng(seed);
    Bytes bytes;
    if (rng.Bernoulli(0.5)) {
      bytes.resize(rng.Uniform(40));
      for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng.Uniform(256));
      if (!bytes.empty() && rng.Bernoulli(0.8)) bytes[0] = kCommandEncodingVersion;
    } else {
      bytes = EncodeCommand(samples[rng.Uniform(samples.size())]);
      const uint64_t flips = 1 + rng.Uniform(3);
      for (uint64_t i = 0; i < flips; ++i) bytes[rng.Uniform(bytes.size())] ^= 1 << rng.Uniform(8);
    }
    Result<Command> command = DecodeCommand(bytes);
    if (command.ok()) {
      ++accepted;
      Result<Command> again = DecodeCommand(EncodeCommand(*command));
      ASSERT_TRUE(again.ok()) << "seed " << seed;
      EXPECT_EQ(*again, *command) << "seed " << seed;
    }
    Result<CommandResult> result = DecodeResult(bytes);
    if (result.ok()) {
      EXPECT_EQ(*DecodeResult(EncodeResult(*result)), *result) << "seed " << seed;
    }
  }
  EXPECT_GT(accepted, 0);  // the mutations do reach the accepting paths
}

}  // namespace
}  // namespace murphy::lock
