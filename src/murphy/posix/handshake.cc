#include "murphy/posix/handshake.h"

#include "murphy/protocol/frame.h"

namespace murphy::posix {

Bytes EncodeHelloPayload(const Hello& hello) {
  ByteWriter writer;
  writer.PutU16(kHelloVersion);
  writer.PutU64(hello.cluster_id);
  writer.PutU32(hello.sender.value());
  writer.PutU32(hello.target.value());
  writer.PutU16(0);  // flags
  MURPHY_ASSERT(writer.size() == kHelloSize);
  return writer.Take();
}

Bytes EncodeHelloFrame(const Hello& hello) { return EncodeFrame(kHelloFrameType, EncodeHelloPayload(hello)); }

Result<Hello> DecodeHelloPayload(std::span<const uint8_t> payload) {
  if (payload.size() < 2) return InvalidArgumentError("hello: too short");
  ByteReader reader(payload);
  uint16_t version = 0;
  reader.GetU16(&version);
  if (version != kHelloVersion) return UnimplementedError("hello: unknown version");
  if (payload.size() != kHelloSize) return InvalidArgumentError("hello: wrong size");
  Hello hello;
  uint32_t sender = 0;
  uint32_t target = 0;
  uint16_t flags = 0;
  reader.GetU64(&hello.cluster_id);
  reader.GetU32(&sender);
  reader.GetU32(&target);
  reader.GetU16(&flags);
  MURPHY_ASSERT(reader.ok());
  MURPHY_ASSERT(reader.at_end());
  if (flags != 0) return InvalidArgumentError("hello: unknown flags");
  hello.sender = NodeId(sender);
  hello.target = NodeId(target);
  return hello;
}

}  // namespace murphy::posix
