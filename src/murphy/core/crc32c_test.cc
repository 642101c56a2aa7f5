#include "murphy/core/crc32c.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

TEST(Crc32cTest, StandardVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283U);
  EXPECT_EQ(Crc32c(""), 0U);
  // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAU);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43U);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string text = "hello, distributed world";
  for (size_t split = 0; split <= text.size(); ++split) {
    const uint32_t first = Crc32c(std::string_view(text).substr(0, split));
    EXPECT_EQ(Crc32cExtend(first, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()) + split, text.size() - split)), Crc32c(text));
  }
}

TEST(Crc32cTest, HardwareAndPortableAgree) {
  Rng rng(9);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> data(rng.Uniform(300));
    for (uint8_t& byte : data) byte = static_cast<uint8_t>(rng.NextU64());
    EXPECT_EQ(Crc32c(data), Crc32cExtendPortable(0, data));
  }
}

TEST(Crc32cTest, DetectsEverySingleBitFlip) {
  std::vector<uint8_t> data(64, 0x5A);
  const uint32_t original = Crc32c(data);
  for (size_t bit = 0; bit < data.size() * 8; ++bit) {
    data[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
    EXPECT_NE(Crc32c(data), original);
    data[bit / 8] ^= static_cast<uint8_t>(1U << (bit % 8));
  }
}

TEST(Crc32cTest, MaskRoundTrips) {
  const uint32_t crc = Crc32c("abc");
  EXPECT_NE(MaskCrc(crc), crc);
  EXPECT_EQ(UnmaskCrc(MaskCrc(crc)), crc);
}

}  // namespace
}  // namespace murphy
