#include "murphy/raft/durability.h"

#include <gtest/gtest.h>

namespace murphy::raft {
namespace {

Message Make(MessageType type, uint32_t from, uint32_t to, uint64_t term) {
  Message message;
  message.type = type;
  message.from = NodeId(from);
  message.to = NodeId(to);
  message.term = Term(term);
  return message;
}

DurableState Durable(uint64_t term, uint32_t vote, uint64_t last_index) {
  return {{Term(term), NodeId(vote), LogIndex(0)}, LogIndex(last_index)};
}

TEST(DurabilityTest, VoteRequestNeedsDurableSelfVote) {
  Message vote = Make(MessageType::kVote, 1, 2, 3);
  EXPECT_FALSE(CheckSendAllowed(vote, Durable(2, 1, 0)).ok());
  EXPECT_FALSE(CheckSendAllowed(vote, Durable(3, 0, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(vote, Durable(3, 1, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(vote, Durable(4, 0, 0)).ok());  // moved on: harmless.
}

TEST(DurabilityTest, GrantedVoteNeedsDurableVote) {
  Message grant = Make(MessageType::kVoteResponse, 2, 1, 3);
  EXPECT_FALSE(CheckSendAllowed(grant, Durable(3, 0, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(grant, Durable(3, 1, 0)).ok());
  grant.reject = true;
  EXPECT_TRUE(CheckSendAllowed(grant, Durable(3, 0, 0)).ok());
}

TEST(DurabilityTest, AppendAcknowledgementNeedsDurableEntries) {
  Message ack = Make(MessageType::kAppendResponse, 2, 1, 3);
  ack.index = LogIndex(10);
  EXPECT_FALSE(CheckSendAllowed(ack, Durable(3, 1, 9)).ok());
  EXPECT_TRUE(CheckSendAllowed(ack, Durable(3, 1, 10)).ok());
}

TEST(DurabilityTest, EveryMessageClaimsOnlyDurableTerms) {
  EXPECT_FALSE(CheckSendAllowed(Make(MessageType::kHeartbeat, 1, 2, 5), Durable(4, 1, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(Make(MessageType::kHeartbeat, 1, 2, 4), Durable(4, 1, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(Make(MessageType::kPreVote, 1, 2, 5), Durable(4, 1, 0)).ok());
  EXPECT_FALSE(CheckSendAllowed(Make(MessageType::kPreVote, 1, 2, 6), Durable(4, 1, 0)).ok());
  EXPECT_TRUE(CheckSendAllowed(Make(MessageType::kPreVoteResponse, 2, 1, 9), Durable(4, 1, 0)).ok());
}

}  // namespace
}  // namespace murphy::raft
