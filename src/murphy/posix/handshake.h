// murphy/posix/handshake.h — the transport's frame types and its hello frame.
//
// Contract: a TCP connection between two murphy processes carries protocol/ frames
// (frame.h) of two transport types:
//   kHelloFrameType (0x48, 'H')  the first frame in each direction, exactly once;
//   kDataFrameType  (0x44, 'D')  one Env::Send payload per frame, opaque here.
// Hello payload, 20 bytes, little-endian:
//   offset  size  field
//   0       2     hello version (kHelloVersion)
//   2       8     cluster id — a process of another cluster is a stranger: rejected
//   10      4     sender NodeId — who is speaking; replies to it may use this socket
//   14      4     target NodeId — whom the sender meant to reach (0: anyone); lets
//                 an acceptor reject a dialer that used a stale address book
//   18      2     flags (reserved, 0)
// The dialer writes its hello as soon as the connection is up and may pipeline data
// frames right behind it. The acceptor checks the dialer's hello (version, cluster,
// target is itself or 0, sender is not itself or 0) and answers with its own hello
// (target = the dialer), which the dialer checks in turn (cluster, sender is the node
// it dialled). Any check that fails closes the connection and counts a rejected
// handshake; a first frame that is not a hello counts as a bad frame.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "murphy/core/codec.h"
#include "murphy/core/ids.h"
#include "murphy/core/status.h"

namespace murphy::posix {

inline constexpr uint8_t kHelloFrameType = 0x48;
inline constexpr uint8_t kDataFrameType = 0x44;
inline constexpr uint16_t kHelloVersion = 1;
inline constexpr size_t kHelloSize = 20;

struct Hello {
  uint64_t cluster_id = 0;
  NodeId sender;
  NodeId target;  // 0: anyone
};

// The hello payload (not framed).
Bytes EncodeHelloPayload(const Hello& hello);
// The hello as a complete frame, ready for the socket.
Bytes EncodeHelloFrame(const Hello& hello);
// InvalidArgument if the payload is not exactly a hello; Unimplemented for another
// hello version.
Result<Hello> DecodeHelloPayload(std::span<const uint8_t> payload);

}  // namespace murphy::posix
