#include "murphy/protocol/clock_ping.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "murphy/protocol/frame.h"

namespace murphy::protocol {
namespace {

WallTime At(int64_t nanoseconds) { return WallTime::FromNanoseconds(nanoseconds); }

TEST(ClockPingTest, PingAndPongRoundTrip) {
  const ClockPing ping{7, At(1'795'000'000'123'456'789)};
  Result<ClockPing> ping_decoded = DecodeClockPing(EncodeClockPing(ping));
  ASSERT_TRUE(ping_decoded.ok()) << ping_decoded.status().ToString();
  EXPECT_EQ(*ping_decoded, ping);

  const ClockPong pong{7, At(1'795'000'000'123'456'789), At(-5), At(std::numeric_limits<int64_t>::max())};
  Result<ClockPong> pong_decoded = DecodeClockPong(EncodeClockPong(pong));
  ASSERT_TRUE(pong_decoded.ok()) << pong_decoded.status().ToString();
  EXPECT_EQ(*pong_decoded, pong);
}

TEST(ClockPingTest, ExtremeReadingsFitTheLimit) {
  const WallTime lowest = At(std::numeric_limits<int64_t>::min());
  const ClockPong pong{std::numeric_limits<uint64_t>::max(), lowest, lowest, lowest};
  EXPECT_LE(EncodeClockPong(pong).size(), kMaxClockPingBytes);
  Result<ClockMessage> decoded = DecodeClockMessage(EncodeClockPongFrame(pong));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_TRUE(std::holds_alternative<ClockPong>(*decoded));
  EXPECT_EQ(std::get<ClockPong>(*decoded), pong);
}

TEST(ClockPingTest, WholeDatagramsDecodeByFrameType) {
  const ClockPing ping{3, At(42)};
  Result<ClockMessage> decoded = DecodeClockMessage(EncodeClockPingFrame(ping));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ASSERT_TRUE(std::holds_alternative<ClockPing>(*decoded));
  EXPECT_EQ(std::get<ClockPing>(*decoded), ping);
  EXPECT_TRUE(IsClockFrameType(kClockPingFrame));
  EXPECT_TRUE(IsClockFrameType(kClockPongFrame));
  EXPECT_FALSE(IsClockFrameType(0x10));
}

TEST(ClockPingTest, OtherFrameTypesAreRefused) {
  const Bytes frame = EncodeFrame(0x10, EncodeClockPing({3, At(42)}));
  Result<ClockMessage> decoded = DecodeClockMessage(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
}

TEST(ClockPingTest, CorruptFrameIsDataLoss) {
  Bytes frame = EncodeClockPingFrame({3, At(42)});
  frame.back() ^= 0x01;
  Result<ClockMessage> decoded = DecodeClockMessage(frame);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss);
}

TEST(ClockPingTest, MalformedPayloadsAreErrors) {
  EXPECT_EQ(DecodeClockPing({}).status().code(), StatusCode::kInvalidArgument);
  const Bytes wrong_version = {2, 1, 0};
  EXPECT_EQ(DecodeClockPing(wrong_version).status().code(), StatusCode::kUnimplemented);
  const Bytes zero_sequence = {kClockPingVersion, 0, 0};
  EXPECT_EQ(DecodeClockPing(zero_sequence).status().code(), StatusCode::kInvalidArgument);
  Bytes trailing = EncodeClockPing({1, At(9)});
  trailing.push_back(0);
  EXPECT_EQ(DecodeClockPing(trailing).status().code(), StatusCode::kInvalidArgument);
  // Every truncation of a valid pong is refused, never misread.
  const Bytes pong = EncodeClockPong({5, At(1'000'000), At(2'000'000), At(3'000'000)});
  for (size_t size = 0; size < pong.size(); ++size) {
    Result<ClockPong> decoded = DecodeClockPong(std::span<const uint8_t>(pong.data(), size));
    EXPECT_FALSE(decoded.ok()) << "truncated to " << size << " bytes";
  }
}

TEST(ClockPingTest, OversizedFrameIsRefusedBeforeDecoding) {
  const Bytes big(kMaxClockPingBytes + 1, 0);
  Result<ClockMessage> decoded = DecodeClockMessage(EncodeFrame(kClockPingFrame, big));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace murphy::protocol
