#include "murphy/raft/message_codec.h"

#include <gtest/gtest.h>

#include "murphy/core/rng.h"
#include "murphy/raft/membership.h"

namespace murphy::raft {
namespace {

Message Sample() {
  Message message;
  message.type = MessageType::kAppend;
  message.from = NodeId(1);
  message.to = NodeId(4000000000u);
  message.term = Term(7);
  message.index = LogIndex(41);
  message.log_term = Term(6);
  message.commit = LogIndex(40);
  message.reject = true;
  message.reject_hint = LogIndex(3);
  message.read_round = UINT64_MAX;
  message.leader_transfer = true;
  message.entries = {{Term(7), LogIndex(42), EntryType::kNormal, "lock a"},
                     {Term(7), LogIndex(43), EntryType::kConfigChange,
                      EncodeConfigChange({ConfigChangeType::kPromote, NodeId(4)})}};
  return message;
}

Message SnapshotChunk() {
  Message message;
  message.type = MessageType::kSnapshot;
  message.from = NodeId(1);
  message.to = NodeId(2);
  message.term = Term(3);
  message.index = LogIndex(100);
  message.log_term = Term(2);
  message.snapshot_membership = {{NodeId(1), NodeId(2), NodeId(3)}, {NodeId(7)}};
  message.snapshot_size = 1000;
  message.chunk_offset = 990;
  message.data = "0123456789";
  return message;
}

TEST(MessageCodecTest, RoundTrips) {
  Message message = Sample();
  Result<Message> decoded = DecodeMessage(EncodeMessage(message));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, message);
  Message empty;
  empty.type = MessageType::kHeartbeat;
  EXPECT_EQ(*DecodeMessage(EncodeMessage(empty)), empty);
  Message chunk = SnapshotChunk();
  EXPECT_EQ(*DecodeMessage(EncodeMessage(chunk)), chunk);
}

TEST(MessageCodecTest, SnapshotAcknowledgementsDecodeWhateverTheirOffset) {
  // A follower acknowledges the bytes it holds in chunk_offset. The bound that
  // protects a chunk (offset + data within snapshot_size) must not apply to the
  // acknowledgement: it dropped every one past offset 0 as sent before the fix
  // (no snapshot_size), and the leader never got past its first window of chunks.
  Message ack;
  ack.type = MessageType::kSnapshotResponse;
  ack.from = NodeId(2);
  ack.to = NodeId(1);
  ack.term = Term(3);
  ack.index = LogIndex(100);
  ack.log_term = Term(2);
  ack.chunk_offset = 5 << 20;
  Result<Message> decoded = DecodeMessage(EncodeMessage(ack));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, ack);
  ack.snapshot_size = 6 << 20;  // as followers send it now
  decoded = DecodeMessage(EncodeMessage(ack));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, ack);
}

TEST(MessageCodecTest, SnapshotFieldsAreBounded) {
  Bytes bytes = EncodeMessage(SnapshotChunk());
  EXPECT_EQ(DecodeMessage(bytes, {.max_chunk_bytes = 9}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeMessage(bytes, {.max_members = 3}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(DecodeMessage(bytes, {.max_chunk_bytes = 10, .max_members = 4}).ok());
  Message beyond = SnapshotChunk();
  beyond.chunk_offset = 995;  // 995 + 10 > 1000
  EXPECT_EQ(DecodeMessage(EncodeMessage(beyond)).status().code(), StatusCode::kInvalidArgument);
  Message unsorted = SnapshotChunk();
  unsorted.snapshot_membership.voters = {NodeId(2), NodeId(1)};
  EXPECT_EQ(DecodeMessage(EncodeMessage(unsorted)).status().code(), StatusCode::kInvalidArgument);
  Message both = SnapshotChunk();
  both.snapshot_membership.learners = {NodeId(2)};
  EXPECT_EQ(DecodeMessage(EncodeMessage(both)).status().code(), StatusCode::kInvalidArgument);
  Bytes truncated = EncodeMessage(SnapshotChunk());
  for (size_t size = 0; size < truncated.size(); ++size) {
    EXPECT_FALSE(DecodeMessage(std::span<const uint8_t>(truncated.data(), size)).ok()) << size;
  }
}

TEST(MessageCodecTest, RejectsMalformedConfigChangeEntries) {
  Message message = Sample();
  message.entries[1].data = std::string("\0\1", 2);
  EXPECT_EQ(DecodeMessage(EncodeMessage(message)).status().code(), StatusCode::kInvalidArgument);
}

TEST(MessageCodecTest, RejectsEveryTruncation) {
  Bytes bytes = EncodeMessage(Sample());
  for (size_t size = 0; size < bytes.size(); ++size) {
    EXPECT_FALSE(DecodeMessage(std::span<const uint8_t>(bytes.data(), size)).ok()) << size;
  }
  bytes.push_back(0);
  EXPECT_EQ(DecodeMessage(bytes).status().code(), StatusCode::kInvalidArgument);  // trailing byte
}

TEST(MessageCodecTest, RejectsBadVersionTypeAndLimits) {
  Bytes bytes = EncodeMessage(Sample());
  Bytes bad_version = bytes;
  bad_version[0] = 99;
  EXPECT_EQ(DecodeMessage(bad_version).status().code(), StatusCode::kUnimplemented);
  Bytes bad_type = bytes;
  bad_type[1] = 0;
  EXPECT_EQ(DecodeMessage(bad_type).status().code(), StatusCode::kInvalidArgument);
  bad_type[1] = kMaxMessageType + 1;
  EXPECT_EQ(DecodeMessage(bad_type).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeMessage(bytes, {.max_entries = 1}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeMessage(bytes, {.max_entry_bytes = 3}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(DecodeMessage(bytes, {.max_total_entry_bytes = 7}).status().code(), StatusCode::kResourceExhausted);
}

// Random corruption never crashes the decoder (the fuzz target's smoke version).
TEST(MessageCodecTest, SurvivesRandomCorruption) {
  Rng rng(7);
  Bytes original = EncodeMessage(Sample());
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes bytes = original;
    int flips = 1 + static_cast<int>(rng.Uniform(4));
    for (int f = 0; f < flips; ++f) bytes[rng.Uniform(bytes.size())] ^= static_cast<uint8_t>(1 + rng.Uniform(255));
    if (DecodeMessage(bytes).ok()) ++decoded;
  }
  EXPECT_LT(decoded, 20000);  // most flips are caught; the frame CRC catches the rest.
}

}  // namespace
}  // namespace murphy::raft
