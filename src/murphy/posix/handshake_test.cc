#include "murphy/posix/handshake.h"

#include <gtest/gtest.h>

#include "murphy/protocol/frame.h"

namespace murphy::posix {
namespace {

TEST(HandshakeTest, HelloRoundTripsThroughAFrame) {
  const Hello hello{0x0123456789abcdefULL, NodeId(7), NodeId(3)};
  const Bytes frame = EncodeHelloFrame(hello);
  Result<Frame> decoded = DecodeFrame(frame);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->type, kHelloFrameType);
  ASSERT_EQ(decoded->payload.size(), kHelloSize);
  Result<Hello> back = DecodeHelloPayload(decoded->payload);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->cluster_id, hello.cluster_id);
  EXPECT_EQ(back->sender, NodeId(7));
  EXPECT_EQ(back->target, NodeId(3));
}

TEST(HandshakeTest, LayoutIsLittleEndianAsDocumented) {
  const Bytes payload = EncodeHelloPayload(Hello{0x1122334455667788ULL, NodeId(0x0a0b0c0d), NodeId(1)});
  const Bytes expected = {0x01, 0x00,                                            // version
                          0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,        // cluster
                          0x0d, 0x0c, 0x0b, 0x0a,                                // sender
                          0x01, 0x00, 0x00, 0x00,                                // target
                          0x00, 0x00};                                           // flags
  EXPECT_EQ(payload, expected);
}

TEST(HandshakeTest, MalformedHellosAreRejected) {
  Bytes payload = EncodeHelloPayload(Hello{1, NodeId(2), NodeId(3)});
  EXPECT_EQ(DecodeHelloPayload(std::span<const uint8_t>(payload).first(5)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeHelloPayload({}).status().code(), StatusCode::kInvalidArgument);
  Bytes longer = payload;
  longer.push_back(0);
  EXPECT_EQ(DecodeHelloPayload(longer).status().code(), StatusCode::kInvalidArgument);
  Bytes other_version = payload;
  other_version[0] = 2;
  EXPECT_EQ(DecodeHelloPayload(other_version).status().code(), StatusCode::kUnimplemented);
  Bytes flags = payload;
  flags[18] = 1;
  EXPECT_EQ(DecodeHelloPayload(flags).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace murphy::posix
