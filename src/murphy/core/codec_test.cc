#include "murphy/core/codec.h"

#include <gtest/gtest.h>

#include <limits>

#include "murphy/core/rng.h"

namespace murphy {
namespace {

TEST(CodecTest, RoundTripsEveryType) {
  ByteWriter writer;
  writer.PutU8(0xAB);
  writer.PutU16(0xBEEF);
  writer.PutU32(0xDEADBEEF);
  writer.PutU64(0x0123456789ABCDEFULL);
  writer.PutI64(-42);
  writer.PutVarint(300);
  writer.PutVarint(std::numeric_limits<uint64_t>::max());
  writer.PutSignedVarint(-1);
  writer.PutSignedVarint(std::numeric_limits<int64_t>::min());
  writer.PutBool(true);
  writer.PutString("lock/a");

  ByteReader reader(writer.bytes());
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u32 = 0;
  uint64_t u64 = 0;
  int64_t i64 = 0;
  uint64_t small = 0;
  uint64_t large = 0;
  int64_t minus_one = 0;
  int64_t most_negative = 0;
  bool flag = false;
  std::string text;
  EXPECT_TRUE(reader.GetU8(&u8) && reader.GetU16(&u16) && reader.GetU32(&u32) && reader.GetU64(&u64) &&
              reader.GetI64(&i64) && reader.GetVarint(&small) && reader.GetVarint(&large) &&
              reader.GetSignedVarint(&minus_one) && reader.GetSignedVarint(&most_negative) &&
              reader.GetBool(&flag) && reader.GetString(100, &text));
  EXPECT_EQ(u8, 0xAB);
  EXPECT_EQ(u16, 0xBEEF);
  EXPECT_EQ(u32, 0xDEADBEEFU);
  EXPECT_EQ(u64, 0x0123456789ABCDEFULL);
  EXPECT_EQ(i64, -42);
  EXPECT_EQ(small, 300U);
  EXPECT_EQ(large, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(minus_one, -1);
  EXPECT_EQ(most_negative, std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(flag);
  EXPECT_EQ(text, "lock/a");
  EXPECT_TRUE(reader.at_end());
  EXPECT_TRUE(reader.ok());
}

TEST(CodecTest, LittleEndianOnTheWire) {
  ByteWriter writer;
  writer.PutU32(0x01020304);
  EXPECT_EQ(writer.bytes(), (Bytes{4, 3, 2, 1}));
  writer.PatchU32(0, 0xA0B0C0D0);
  EXPECT_EQ(writer.bytes(), (Bytes{0xD0, 0xC0, 0xB0, 0xA0}));
}

TEST(CodecTest, ShortInputFailsAndStaysFailed) {
  const Bytes three = {1, 2, 3};
  ByteReader reader(three);
  uint32_t value = 7;
  EXPECT_FALSE(reader.GetU32(&value));
  EXPECT_EQ(value, 7U);
  uint8_t byte = 0;
  EXPECT_FALSE(reader.GetU8(&byte));  // sticky failure
  EXPECT_FALSE(reader.ok());
}

TEST(CodecTest, RejectsMalformedVarintsAndBools) {
  const Bytes too_long(11, 0x80);
  uint64_t value = 0;
  EXPECT_FALSE(ByteReader(too_long).GetVarint(&value));
  Bytes overflow(9, 0xFF);
  overflow.push_back(0x02);  // bit 64 set
  EXPECT_FALSE(ByteReader(overflow).GetVarint(&value));
  const Bytes truncated = {0x80};
  EXPECT_FALSE(ByteReader(truncated).GetVarint(&value));
  const Bytes two = {2};
  bool flag = false;
  EXPECT_FALSE(ByteReader(two).GetBool(&flag));
}

TEST(CodecTest, LengthPrefixRespectsLimitAndInput) {
  ByteWriter writer;
  writer.PutString("0123456789");
  std::string text;
  EXPECT_FALSE(ByteReader(writer.bytes()).GetString(9, &text));
  EXPECT_TRUE(ByteReader(writer.bytes()).GetString(10, &text));
  // A length that claims more than the input holds.
  ByteWriter liar;
  liar.PutVarint(1ULL << 40);
  liar.PutU8(1);
  std::span<const uint8_t> bytes;
  EXPECT_FALSE(ByteReader(liar.bytes()).GetLengthPrefixed(std::numeric_limits<size_t>::max(), &bytes));
}

TEST(CodecTest, RandomInputNeverReadsOutOfBounds) {
  Rng rng(17);
  for (int round = 0; round < 5000; ++round) {
    Bytes input(rng.Uniform(24));
    for (uint8_t& byte : input) byte = static_cast<uint8_t>(rng.NextU64());
    ByteReader reader(input);
    uint64_t value = 0;
    std::string text;
    while (reader.ok() && !reader.at_end()) {
      switch (rng.Uniform(3)) {
        case 0: reader.GetVarint(&value); break;
        case 1: reader.GetU32(reinterpret_cast<uint32_t*>(&value)); break;
        default: reader.GetString(16, &text); break;
      }
    }
    EXPECT_LE(reader.position(), input.size());
  }
}

}  // namespace
}  // namespace murphy
