#include "murphy/protocol/frame.h"

#include <limits>
#include <string>

#include "murphy/core/crc32c.h"

namespace murphy {
namespace {

struct Header {
  uint16_t magic = 0;
  uint8_t version = 0;
  uint8_t type = 0;
  uint32_t length = 0;
  uint32_t masked_crc = 0;
};

Header ReadHeader(std::span<const uint8_t> bytes) {
  MURPHY_ASSERT(bytes.size() >= kFrameHeaderSize);
  ByteReader reader(bytes.first(kFrameHeaderSize));
  Header header;
  const bool read = reader.GetU16(&header.magic) && reader.GetU8(&header.version) &&
                    reader.GetU8(&header.type) && reader.GetU32(&header.length) &&
                    reader.GetU32(&header.masked_crc);
  MURPHY_ASSERT(read);
  return header;
}

// Checks everything the header alone can tell.
Status ValidateHeader(const Header& header, size_t max_payload) {
  if (header.magic != kFrameMagic) return InvalidArgumentError("frame: bad magic");
  if (header.version != kFrameVersion) {
    return UnimplementedError("frame: unsupported version " + std::to_string(header.version));
  }
  if (header.length > max_payload) {
    return ResourceExhaustedError("frame: payload of " + std::to_string(header.length) +
                                  " bytes exceeds the limit of " + std::to_string(max_payload));
  }
  return Status::Ok();
}

uint32_t FrameCrc(std::span<const uint8_t> header_bytes, std::span<const uint8_t> payload) {
  return Crc32cExtend(Crc32c(header_bytes.first(8)), payload);
}

Result<Frame> DecodeValidated(const Header& header, std::span<const uint8_t> bytes) {
  const auto payload = bytes.subspan(kFrameHeaderSize, header.length);
  if (UnmaskCrc(header.masked_crc) != FrameCrc(bytes, payload)) {
    return DataLossError("frame: checksum mismatch");
  }
  return Frame{header.type, Bytes(payload.begin(), payload.end())};
}

}  // namespace

Bytes EncodeFrame(uint8_t type, std::span<const uint8_t> payload) {
  MURPHY_ASSERT(payload.size() <= std::numeric_limits<uint32_t>::max());
  ByteWriter writer;
  writer.PutU16(kFrameMagic);
  writer.PutU8(kFrameVersion);
  writer.PutU8(type);
  writer.PutU32(static_cast<uint32_t>(payload.size()));
  writer.PutU32(0);  // CRC, patched below
  writer.PutRaw(payload);
  const uint32_t crc = FrameCrc(writer.bytes(), payload);
  writer.PatchU32(8, MaskCrc(crc));
  return writer.Take();
}

Result<Frame> DecodeFrame(std::span<const uint8_t> datagram, size_t max_payload) {
  if (datagram.size() < kFrameHeaderSize) return InvalidArgumentError("frame: shorter than its header");
  const Header header = ReadHeader(datagram);
  MURPHY_RETURN_IF_ERROR(ValidateHeader(header, max_payload));
  if (datagram.size() != kFrameHeaderSize + header.length) {
    return InvalidArgumentError("frame: length field disagrees with the datagram size");
  }
  return DecodeValidated(header, datagram);
}

void FrameDecoder::Feed(std::span<const uint8_t> bytes) {
  if (failed()) return;
  // Drop what was already returned before growing, so the buffer stays bounded by
  // one frame plus the newly fed bytes.
  if (consumed_ > 0) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(consumed_));
    consumed_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (failed()) return error_;
  const auto pending = std::span<const uint8_t>(buffer_).subspan(consumed_);
  if (pending.size() < kFrameHeaderSize) return std::optional<Frame>();
  const Header header = ReadHeader(pending);
  if (Status status = ValidateHeader(header, max_payload_); !status.ok()) {
    error_ = status;
    return status;
  }
  if (pending.size() < kFrameHeaderSize + header.length) return std::optional<Frame>();
  Result<Frame> frame = DecodeValidated(header, pending);
  if (!frame.ok()) {
    error_ = frame.status();
    return frame.status();
  }
  consumed_ += kFrameHeaderSize + header.length;
  return std::optional<Frame>(std::move(frame).value());
}

}  // namespace murphy
