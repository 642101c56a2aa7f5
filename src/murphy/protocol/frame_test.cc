#include "murphy/protocol/frame.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

Bytes RandomBytes(Rng& rng, size_t size) {
  Bytes bytes(size);
  for (uint8_t& byte : bytes) byte = static_cast<uint8_t>(rng.NextU64());
  return bytes;
}

TEST(FrameTest, RoundTrips) {
  const Bytes payload = {1, 2, 3, 4, 5};
  const Bytes encoded = EncodeFrame(7, payload);
  EXPECT_EQ(encoded.size(), kFrameHeaderSize + payload.size());
  const Result<Frame> frame = DecodeFrame(encoded);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(frame->type, 7);
  EXPECT_EQ(frame->payload, payload);
  EXPECT_TRUE(DecodeFrame(EncodeFrame(0, {})).ok());
}

TEST(FrameTest, EverySingleBitFlipIsDetected) {
  Rng rng(1);
  const Bytes encoded = EncodeFrame(3, RandomBytes(rng, 40));
  for (size_t bit = 0; bit < encoded.size() * 8; ++bit) {
    Bytes corrupt = encoded;
    corrupt[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
    const Result<Frame> frame = DecodeFrame(corrupt);
    EXPECT_FALSE(frame.ok()) << "bit " << bit;
  }
}

TEST(FrameTest, ErrorsSayWhatIsWrong) {
  Bytes encoded = EncodeFrame(1, Bytes(10, 0xAA));
  EXPECT_EQ(DecodeFrame(std::span(encoded).first(5)).status().code(), StatusCode::kInvalidArgument);

  Bytes bad_magic = encoded;
  bad_magic[0] ^= 0xFF;
  EXPECT_EQ(DecodeFrame(bad_magic).status().code(), StatusCode::kInvalidArgument);

  Bytes future = encoded;
  future[2] = kFrameVersion + 1;
  EXPECT_EQ(DecodeFrame(future).status().code(), StatusCode::kUnimplemented);

  Bytes payload_flip = encoded;
  payload_flip.back() ^= 1;
  EXPECT_EQ(DecodeFrame(payload_flip).status().code(), StatusCode::kDataLoss);

  Bytes trailing = encoded;
  trailing.push_back(0);
  EXPECT_EQ(DecodeFrame(trailing).status().code(), StatusCode::kInvalidArgument);

  const Bytes big = EncodeFrame(1, Bytes(2000, 1));
  const Result<Frame> refused = DecodeFrame(big, /*max_payload=*/1000);
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("exceeds the limit of 1000"), std::string_view::npos);
}

TEST(FrameDecoderTest, ReassemblesFramesFedByteByByte) {
  Bytes stream;
  for (uint8_t type = 0; type < 5; ++type) {
    const Bytes frame = EncodeFrame(type, Bytes(type * 3, type));
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (uint8_t byte : stream) {
    decoder.Feed(std::span<const uint8_t>(&byte, 1));
    for (;;) {
      Result<std::optional<Frame>> next = decoder.Next();
      ASSERT_TRUE(next.ok());
      if (!next->has_value()) break;
      frames.push_back(std::move(**next));
    }
  }
  ASSERT_EQ(frames.size(), 5U);
  for (uint8_t type = 0; type < 5; ++type) {
    EXPECT_EQ(frames[type].type, type);
    EXPECT_EQ(frames[type].payload, Bytes(type * 3, type));
  }
  EXPECT_EQ(decoder.buffered(), 0U);
}

TEST(FrameDecoderTest, RefusesAnOversizedLengthBeforeBufferingIt) {
  FrameDecoder decoder(/*max_payload=*/64);
  const Bytes big = EncodeFrame(1, Bytes(100, 1));
  decoder.Feed(std::span(big).first(kFrameHeaderSize));
  const auto next = decoder.Next();
  EXPECT_EQ(next.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(decoder.failed());
  // Sticky: a valid frame afterwards is not accepted on this stream.
  decoder.Feed(EncodeFrame(1, {}));
  EXPECT_FALSE(decoder.Next().ok());
}

TEST(FrameDecoderTest, CorruptionInTheMiddleOfAStreamFailsTheStream) {
  Bytes stream = EncodeFrame(1, Bytes(8, 1));
  Bytes second = EncodeFrame(2, Bytes(8, 2));
  second[kFrameHeaderSize + 3] ^= 0x10;
  stream.insert(stream.end(), second.begin(), second.end());
  FrameDecoder decoder;
  decoder.Feed(stream);
  auto first = decoder.Next();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ(decoder.Next().status().code(), StatusCode::kDataLoss);
}

TEST(FrameDecoderTest, RandomStreamsNeverCrashOrOverRead) {
  Rng rng(99);
  for (int round = 0; round < 2000; ++round) {
    FrameDecoder decoder(256);
    for (int chunk = 0; chunk < 4; ++chunk) {
      Bytes bytes = rng.Bernoulli(0.5) ? EncodeFrame(1, RandomBytes(rng, rng.Uniform(40)))
                                       : RandomBytes(rng, rng.Uniform(40));
      if (rng.Bernoulli(0.3) && !bytes.empty()) bytes[rng.Uniform(bytes.size())] ^= 0x4;
      decoder.Feed(bytes);
      for (int i = 0; i < 8; ++i) {
        auto next = decoder.Next();
        if (!next.ok() || !next->has_value()) break;
        EXPECT_LE((*next)->payload.size(), 256U);
      }
    }
  }
}

}  // namespace
}  // namespace murphy
