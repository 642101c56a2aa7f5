// murphy/core/codec.h — byte codec helpers: little-endian integers, varints,
// length-prefixed bytes.
//
// Contract: `ByteWriter` appends to a buffer it owns; it never fails. `ByteReader`
// reads from a span it does not own (the span must outlive it) and never reads past
// the end: every getter returns false (and leaves the output untouched) when the
// input is short or malformed, and the reader then stays failed, so a decoder can do
// a series of reads and check `ok()` once. Length-prefixed reads take a limit, so a
// corrupt length can never make the caller allocate gigabytes. Used by the wire
// protocol, the WAL and snapshots. Thread safety: none; one owner per object.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace murphy {

using Bytes = std::vector<uint8_t>;

inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}
inline std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes initial) : buffer_(std::move(initial)) {}

  void PutU8(uint8_t value) { buffer_.push_back(value); }
  void PutU16(uint16_t value) { PutFixed(value, 2); }
  void PutU32(uint32_t value) { PutFixed(value, 4); }
  void PutU64(uint64_t value) { PutFixed(value, 8); }
  void PutI64(int64_t value) { PutU64(static_cast<uint64_t>(value)); }
  // LEB128, 1 to 10 bytes.
  void PutVarint(uint64_t value);
  // Zig-zag then varint, so small negative numbers stay small.
  void PutSignedVarint(int64_t value) {
    PutVarint((static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63));
  }
  void PutBool(bool value) { PutU8(value ? 1 : 0); }
  // Raw bytes, no length.
  void PutRaw(std::span<const uint8_t> bytes) { buffer_.insert(buffer_.end(), bytes.begin(), bytes.end()); }
  // Varint length then the bytes.
  void PutLengthPrefixed(std::span<const uint8_t> bytes) {
    PutVarint(bytes.size());
    PutRaw(bytes);
  }
  void PutString(std::string_view text) { PutLengthPrefixed(AsBytes(text)); }

  // Overwrites 4 bytes at `offset` (for a length or CRC filled in after the body).
  // REQUIRES: offset + 4 <= size().
  void PatchU32(size_t offset, uint32_t value);

  size_t size() const { return buffer_.size(); }
  const Bytes& bytes() const { return buffer_; }
  Bytes Take() { return std::move(buffer_); }

 private:
  void PutFixed(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) buffer_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }
  Bytes buffer_;
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> input) : input_(input) {}

  bool GetU8(uint8_t* value);
  bool GetU16(uint16_t* value);
  bool GetU32(uint32_t* value);
  bool GetU64(uint64_t* value);
  bool GetI64(int64_t* value);
  // Rejects encodings longer than 10 bytes or overflowing 64 bits.
  bool GetVarint(uint64_t* value);
  bool GetSignedVarint(int64_t* value);
  // Accepts only 0 or 1.
  bool GetBool(bool* value);
  // Exactly `size` bytes, as a view into the input.
  bool GetRaw(size_t size, std::span<const uint8_t>* bytes);
  // A varint length (at most `max_size`) then that many bytes, viewed in place.
  bool GetLengthPrefixed(size_t max_size, std::span<const uint8_t>* bytes);
  bool GetString(size_t max_size, std::string* text);

  // False once any read has failed.
  bool ok() const { return ok_; }
  size_t remaining() const { return input_.size() - position_; }
  size_t position() const { return position_; }
  bool at_end() const { return remaining() == 0; }
  std::span<const uint8_t> rest() const { return input_.subspan(position_); }

 private:
  bool GetFixed(int width, uint64_t* value);
  bool Fail() {
    ok_ = false;
    return false;
  }
  std::span<const uint8_t> input_;
  size_t position_ = 0;
  bool ok_ = true;
};

}  // namespace murphy
