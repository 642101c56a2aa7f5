#include "murphy/wal/record.h"

#include <gtest/gtest.h>

#include "murphy/core/crc32c.h"

namespace murphy::wal {
namespace {

Bytes Encode(RecordType type, std::string_view payload) {
  ByteWriter writer;
  const size_t start = BeginRecord(writer, type);
  writer.PutRaw(AsBytes(payload));
  FinishRecord(writer, start);
  return writer.Take();
}

TEST(RecordTest, RoundTripsAndMatchesTheDocumentedLayout) {
  const Bytes record = Encode(RecordType::kEntry, "hello");
  ASSERT_EQ(record.size(), kRecordHeaderBytes + 5);
  // Layout: masked CRC of [4, end) | length | type | payload.
  EXPECT_EQ(record[4], 5);
  EXPECT_EQ(record[8], static_cast<uint8_t>(RecordType::kEntry));
  ByteReader reader(record);
  uint32_t masked = 0;
  ASSERT_TRUE(reader.GetU32(&masked));
  EXPECT_EQ(UnmaskCrc(masked), Crc32c(std::span<const uint8_t>(record).subspan(4)));

  const ParsedRecord parsed = ParseRecord(record, 64);
  ASSERT_EQ(parsed.check, RecordCheck::kOk);
  EXPECT_EQ(parsed.type, static_cast<uint8_t>(RecordType::kEntry));
  EXPECT_EQ(AsText(parsed.payload), "hello");
  EXPECT_EQ(parsed.size_bytes, record.size());
}

TEST(RecordTest, ClassifiesEveryPrefixAsIncomplete) {
  const Bytes record = Encode(RecordType::kEntry, "payload");
  for (size_t size = 0; size < record.size(); ++size) {
    EXPECT_EQ(ParseRecord(std::span<const uint8_t>(record).first(size), 64).check, RecordCheck::kIncomplete)
        << "prefix of " << size;
  }
}

TEST(RecordTest, DetectsEverySingleBitFlip) {
  const Bytes record = Encode(RecordType::kDiscardAfter, "12345678");
  for (size_t bit = 0; bit < record.size() * 8; ++bit) {
    Bytes flipped = record;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_NE(ParseRecord(flipped, 64).check, RecordCheck::kOk) << "bit " << bit;
  }
}

TEST(RecordTest, RefusesLengthsAboveTheLimitBeforeReadingThem) {
  const Bytes record = Encode(RecordType::kEntry, std::string(100, 'x'));
  EXPECT_EQ(ParseRecord(record, 99).check, RecordCheck::kTooLarge);
  EXPECT_EQ(ParseRecord(record, 100).check, RecordCheck::kOk);
}

}  // namespace
}  // namespace murphy::wal
