// murphy/wal/record.h — the checksummed record framing shared by every WAL file.
//
// Contract: a record is a typed, length-prefixed payload protected by a masked
// CRC-32C. Segments are a sequence of records; the hard-state and snapshot files hold
// exactly one record each.
//
//   offset  size  field
//   0       4     masked CRC-32C (core/crc32c.h MaskCrc) of bytes [4, 9 + n)
//   4       4     payload length n, little-endian (≤ the reader's limit)
//   8       1     record type (RecordType)
//   9       n     payload
//
// The CRC covers the length and the type as well as the payload, so a flipped length
// or type is caught. The CRC is masked (LevelDB's trick) because payloads may
// themselves contain CRCs of embedded data. ParseRecord never reads outside its input
// and never allocates; it classifies what it finds instead of guessing.
// Thread safety: functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "murphy/core/codec.h"

namespace murphy::wal {

enum class RecordType : uint8_t {
  kEntry = 1,         // segment: index u64, term u64, data (rest of the payload)
  kDiscardAfter = 2,  // segment: index u64 — entries with a larger index are discarded
  kHardState = 3,     // hard-state file: term u64, vote u32, commit u64
  kSnapshot = 4,      // snapshot file: index u64, term u64, membership (varint length + bytes), data
};

inline constexpr size_t kRecordHeaderBytes = 9;

// Starts a record of `type` at the end of `writer`; returns its offset, to be passed
// to FinishRecord once the payload has been written after it.
size_t BeginRecord(ByteWriter& writer, RecordType type);
// Fills in the length and CRC of the record started at `start`.
// REQUIRES: `start` came from BeginRecord on this writer; payload ≤ UINT32_MAX bytes.
void FinishRecord(ByteWriter& writer, size_t start);

enum class RecordCheck : uint8_t {
  kOk,
  kIncomplete,        // the input ends inside the header or inside the payload
  kTooLarge,          // the length field exceeds the reader's limit
  kChecksumMismatch,  // the CRC does not match the bytes
};

struct ParsedRecord {
  RecordCheck check = RecordCheck::kIncomplete;
  uint8_t type = 0;                  // valid iff check == kOk
  std::span<const uint8_t> payload;  // a view into the input; valid iff check == kOk
  size_t size_bytes = 0;             // header + payload; valid iff check == kOk
};

// Parses the record that starts at the beginning of `input`. The type is returned
// raw: the caller decides which types it accepts.
ParsedRecord ParseRecord(std::span<const uint8_t> input, size_t max_payload_bytes);

const char* RecordCheckName(RecordCheck check);

}  // namespace murphy::wal
