#include "murphy/core/codec.h"

#include "murphy/core/assert.h"

namespace murphy {

void ByteWriter::PutVarint(uint64_t value) {
  while (value >= 0x80) {
    buffer_.push_back(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  buffer_.push_back(static_cast<uint8_t>(value));
}

void ByteWriter::PatchU32(size_t offset, uint32_t value) {
  MURPHY_ASSERT(offset + 4 <= buffer_.size());
  for (int i = 0; i < 4; ++i) buffer_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

bool ByteReader::GetFixed(int width, uint64_t* value) {
  if (!ok_ || remaining() < static_cast<size_t>(width)) return Fail();
  uint64_t result = 0;
  for (int i = 0; i < width; ++i) result |= static_cast<uint64_t>(input_[position_ + i]) << (8 * i);
  position_ += width;
  *value = result;
  return true;
}

bool ByteReader::GetU8(uint8_t* value) {
  uint64_t wide = 0;
  if (!GetFixed(1, &wide)) return false;
  *value = static_cast<uint8_t>(wide);
  return true;
}

bool ByteReader::GetU16(uint16_t* value) {
  uint64_t wide = 0;
  if (!GetFixed(2, &wide)) return false;
  *value = static_cast<uint16_t>(wide);
  return true;
}

bool ByteReader::GetU32(uint32_t* value) {
  uint64_t wide = 0;
  if (!GetFixed(4, &wide)) return false;
  *value = static_cast<uint32_t>(wide);
  return true;
}

bool ByteReader::GetU64(uint64_t* value) { return GetFixed(8, value); }

bool ByteReader::GetI64(int64_t* value) {
  uint64_t wide = 0;
  if (!GetFixed(8, &wide)) return false;
  *value = static_cast<int64_t>(wide);
  return true;
}

bool ByteReader::GetVarint(uint64_t* value) {
  if (!ok_) return false;
  uint64_t result = 0;
  size_t cursor = position_;
  for (int shift = 0; shift < 64; shift += 7) {
    if (cursor >= input_.size()) return Fail();
    const uint8_t byte = input_[cursor++];
    // The tenth byte may only carry the top bit of a 64-bit value.
    if (shift == 63 && byte > 1) return Fail();
    result |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      position_ = cursor;
      *value = result;
      return true;
    }
  }
  return Fail();
}

bool ByteReader::GetSignedVarint(int64_t* value) {
  uint64_t encoded = 0;
  if (!GetVarint(&encoded)) return false;
  *value = static_cast<int64_t>((encoded >> 1) ^ (~(encoded & 1) + 1));
  return true;
}

bool ByteReader::GetBool(bool* value) {
  uint8_t byte = 0;
  if (!GetU8(&byte)) return false;
  if (byte > 1) return Fail();
  *value = byte == 1;
  return true;
}

bool ByteReader::GetRaw(size_t size, std::span<const uint8_t>* bytes) {
  if (!ok_ || remaining() < size) return Fail();
  *bytes = input_.subspan(position_, size);
  position_ += size;
  return true;
}

bool ByteReader::GetLengthPrefixed(size_t max_size, std::span<const uint8_t>* bytes) {
  const size_t saved = position_;
  uint64_t size = 0;
  if (!GetVarint(&size)) return false;
  if (size > max_size || size > remaining()) {
    position_ = saved;
    return Fail();
  }
  return GetRaw(static_cast<size_t>(size), bytes);
}

bool ByteReader::GetString(size_t max_size, std::string* text) {
  std::span<const uint8_t> bytes;
  if (!GetLengthPrefixed(max_size, &bytes)) return false;
  text->assign(AsText(bytes));
  return true;
}

}  // namespace murphy
