#include "murphy/wal/record.h"

#include <limits>

#include "murphy/core/assert.h"
#include "murphy/core/crc32c.h"

namespace murphy::wal {
namespace {

uint32_t LoadU32(const uint8_t* bytes) {
  return static_cast<uint32_t>(bytes[0]) | static_cast<uint32_t>(bytes[1]) << 8 |
         static_cast<uint32_t>(bytes[2]) << 16 | static_cast<uint32_t>(bytes[3]) << 24;
}

}  // namespace

size_t BeginRecord(ByteWriter& writer, RecordType type) {
  const size_t start = writer.size();
  writer.PutU32(0);  // CRC, patched by FinishRecord
  writer.PutU32(0);  // length, patched by FinishRecord
  writer.PutU8(static_cast<uint8_t>(type));
  return start;
}

void FinishRecord(ByteWriter& writer, size_t start) {
  MURPHY_ASSERT(start + kRecordHeaderBytes <= writer.size());
  const size_t payload_bytes = writer.size() - start - kRecordHeaderBytes;
  MURPHY_ASSERT(payload_bytes <= std::numeric_limits<uint32_t>::max());
  writer.PatchU32(start + 4, static_cast<uint32_t>(payload_bytes));
  const std::span<const uint8_t> covered = std::span<const uint8_t>(writer.bytes()).subspan(start + 4);
  writer.PatchU32(start, MaskCrc(Crc32c(covered)));
}

ParsedRecord ParseRecord(std::span<const uint8_t> input, size_t max_payload_bytes) {
  ParsedRecord record;
  if (input.size() < kRecordHeaderBytes) {
    record.check = RecordCheck::kIncomplete;
    return record;
  }
  const uint32_t expected_crc = UnmaskCrc(LoadU32(input.data()));
  const uint32_t length = LoadU32(input.data() + 4);
  if (length > max_payload_bytes) {
    record.check = RecordCheck::kTooLarge;
    return record;
  }
  // Compare in 64 bits: length + header cannot overflow there.
  if (uint64_t{length} + kRecordHeaderBytes > input.size()) {
    record.check = RecordCheck::kIncomplete;
    return record;
  }
  const size_t size_bytes = kRecordHeaderBytes + length;
  if (Crc32c(input.subspan(4, size_bytes - 4)) != expected_crc) {
    record.check = RecordCheck::kChecksumMismatch;
    return record;
  }
  record.check = RecordCheck::kOk;
  record.type = input[8];
  record.payload = input.subspan(kRecordHeaderBytes, length);
  record.size_bytes = size_bytes;
  return record;
}

const char* RecordCheckName(RecordCheck check) {
  switch (check) {
    case RecordCheck::kOk:
      return "ok";
    case RecordCheck::kIncomplete:
      return "incomplete record";
    case RecordCheck::kTooLarge:
      return "record length above the limit";
    case RecordCheck::kChecksumMismatch:
      return "checksum mismatch";
  }
  MURPHY_UNREACHABLE();
}

}  // namespace murphy::wal
