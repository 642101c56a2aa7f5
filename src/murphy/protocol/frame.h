// murphy/protocol/frame.h — the wire frame: versioned, length-prefixed, checksummed.
//
// Contract: every message between murphy processes (simulated or real) travels as one
// frame:
//
//   offset  size  field
//   0       2     magic 0x4D59 ("MY" little-endian: bytes 0x59 0x4D)
//   2       1     version (kFrameVersion)
//   3       1     message type (opaque here; protocol/ messages define it)
//   4       4     payload length in bytes (≤ the decoder's limit)
//   8       4     masked CRC-32C of bytes [0, 8) followed by the payload
//   12      n     payload
//
// The CRC covers the header too, so a flipped length or type is caught, not just a
// flipped payload byte. Decoding never crashes and never allocates more than the
// limit: any input yields a frame or a Status —
//   InvalidArgument    bad magic, or a datagram whose size disagrees with its length;
//   Unimplemented      a version this build does not speak;
//   ResourceExhausted  a length above the limit (the peer must not make us buffer it);
//   DataLoss           checksum mismatch (corruption on the wire or on disk).
// A stream decoder that has failed stays failed: the connection must be closed,
// because after a bad frame the byte stream can no longer be trusted to be aligned.
// Thread safety: functions are pure; a FrameDecoder has one owner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "murphy/core/codec.h"
#include "murphy/core/status.h"

namespace murphy {

inline constexpr uint16_t kFrameMagic = 0x4D59;
inline constexpr uint8_t kFrameVersion = 1;
inline constexpr size_t kFrameHeaderSize = 12;
// The default bound on a payload; requests larger than this are refused.
inline constexpr size_t kDefaultMaxFramePayload = 1 << 20;

struct Frame {
  uint8_t type = 0;
  Bytes payload;
};

// Encodes one frame. REQUIRES: payload.size() <= UINT32_MAX.
Bytes EncodeFrame(uint8_t type, std::span<const uint8_t> payload);

// Decodes exactly one frame that fills all of `datagram` (a simulated message or a
// record). Errors as in the header comment.
Result<Frame> DecodeFrame(std::span<const uint8_t> datagram,
                          size_t max_payload = kDefaultMaxFramePayload);

// Splits a byte stream (TCP) into frames. Buffers at most one frame.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload = kDefaultMaxFramePayload) : max_payload_(max_payload) {}

  // Appends received bytes. Ignored once the decoder has failed.
  void Feed(std::span<const uint8_t> bytes);
  // The next complete frame; nullopt when more bytes are needed; an error (sticky)
  // when the stream is corrupt.
  Result<std::optional<Frame>> Next();

  bool failed() const { return !error_.ok(); }
  size_t buffered() const { return buffer_.size() - consumed_; }

 private:
  size_t max_payload_;
  Bytes buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ already returned as frames
  Status error_;
};

}  // namespace murphy
