// murphy/core/crc32c.h — CRC-32C (Castagnoli), as used by the WAL and wire frames.
//
// Contract: `Crc32c(data)` returns the standard CRC-32C (iSCSI polynomial 0x1EDC6F41,
// reflected, init and final xor 0xFFFFFFFF): Crc32c("123456789") == 0xE3069283.
// `Crc32cExtend(crc, data)` continues a CRC over more bytes, so that
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b). Uses the SSE4.2 instruction when the CPU
// has it, a table otherwise; both give identical results. `MaskCrc`/`UnmaskCrc` store
// a CRC inside data that is itself checksummed (LevelDB's trick). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace murphy {

uint32_t Crc32cExtend(uint32_t crc, std::span<const uint8_t> data);
inline uint32_t Crc32c(std::span<const uint8_t> data) { return Crc32cExtend(0, data); }
inline uint32_t Crc32c(std::string_view data) {
  return Crc32c(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}
// The portable table implementation, exposed so tests can compare both paths.
uint32_t Crc32cExtendPortable(uint32_t crc, std::span<const uint8_t> data);

inline constexpr uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8U; }
inline constexpr uint32_t UnmaskCrc(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8U;
  return (rotated >> 17) | (rotated << 15);
}

}  // namespace murphy
