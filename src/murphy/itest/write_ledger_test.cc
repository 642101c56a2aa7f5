#include "murphy/itest/write_ledger.h"

#include <gtest/gtest.h>

namespace murphy::itest {
namespace {

const FencingToken kToken(7);

ObservedResource Shows(std::string value, uint64_t version, FencingToken max_token = kToken) {
  return ObservedResource{std::move(value), version, max_token};
}

std::string ViolationOf(const Status& status) {
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  return std::string(status.message());
}

TEST(WriteLedgerTest, LastAcknowledgedValueAtItsVersionIsConsistent) {
  WriteLedger ledger;
  ASSERT_TRUE(ledger.CheckAcknowledgedVersion("r", 1).ok());
  ledger.Acknowledged("r", "a", kToken, 1);
  ASSERT_TRUE(ledger.CheckAcknowledgedVersion("r", 2).ok());
  ledger.Acknowledged("r", "b", kToken, 2);
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("b", 2)).ok());
}

TEST(WriteLedgerTest, AnEarlierAcknowledgedValueIsALostWrite) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ledger.Acknowledged("r", "b", kToken, 2);
  EXPECT_NE(ViolationOf(ledger.CheckObserved("r", Shows("a", 1))).find("lost acknowledged write"),
            std::string::npos);
  EXPECT_NE(ViolationOf(ledger.CheckObserved("r", ObservedResource{})).find("lost acknowledged write"),
            std::string::npos);
}

TEST(WriteLedgerTest, TheRightValueAtTheWrongVersionIsAViolation) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ViolationOf(ledger.CheckObserved("r", Shows("a", 2)));
}

TEST(WriteLedgerTest, ALaterUnknownWriteMayHaveBeenApplied) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ledger.Unknown("r", "b", kToken);
  ledger.Unknown("r", "c", kToken);
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("a", 1)).ok());
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("b", 2)).ok());
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("c", 2)).ok());  // b was not applied
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("c", 3)).ok());
  ViolationOf(ledger.CheckObserved("r", Shows("c", 4)));
  ViolationOf(ledger.CheckObserved("r", Shows("b", 3)));
}

TEST(WriteLedgerTest, UnknownWritesWidenTheNextAcknowledgedVersion) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ViolationOf(ledger.CheckAcknowledgedVersion("r", 3));
  ViolationOf(ledger.CheckAcknowledgedVersion("r", 1));
  ledger.Unknown("r", "b", kToken);
  EXPECT_TRUE(ledger.CheckAcknowledgedVersion("r", 2).ok());
  EXPECT_TRUE(ledger.CheckAcknowledgedVersion("r", 3).ok());
  ViolationOf(ledger.CheckAcknowledgedVersion("r", 4));
}

TEST(WriteLedgerTest, RejectedAndForeignValuesAreViolations) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ledger.Rejected("r", "b", kToken);
  EXPECT_NE(ViolationOf(ledger.CheckObserved("r", Shows("b", 2))).find("not applied"), std::string::npos);
  EXPECT_NE(ViolationOf(ledger.CheckObserved("r", Shows("zz", 2))).find("never wrote"), std::string::npos);
}

TEST(WriteLedgerTest, NothingAcknowledgedAllowsNotFound) {
  WriteLedger ledger;
  ledger.Unknown("r", "a", kToken);
  EXPECT_TRUE(ledger.CheckObserved("r", ObservedResource{}).ok());
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("a", 1)).ok());
}

TEST(WriteLedgerTest, MaxTokenBelowTheWritesTokenIsAViolation) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", FencingToken(9), 1);
  EXPECT_NE(ViolationOf(ledger.CheckObserved("r", Shows("a", 1, FencingToken(8)))).find("max_token"),
            std::string::npos);
  EXPECT_TRUE(ledger.CheckObserved("r", Shows("a", 1, FencingToken(10))).ok());
}

TEST(WriteLedgerTest, CountsAndLastAcknowledged) {
  WriteLedger ledger;
  ledger.Acknowledged("r", "a", kToken, 1);
  ledger.Unknown("r", "b", kToken);
  ledger.Rejected("s", "c", kToken);
  EXPECT_EQ(ledger.count(WriteOutcome::kAcknowledged), 1u);
  EXPECT_EQ(ledger.count(WriteOutcome::kUnknown), 1u);
  EXPECT_EQ(ledger.count(WriteOutcome::kRejected), 1u);
  ASSERT_TRUE(ledger.LastAcknowledged("r").has_value());
  EXPECT_EQ(ledger.LastAcknowledged("r")->value, "a");
  EXPECT_FALSE(ledger.LastAcknowledged("s").has_value());
  EXPECT_EQ(ledger.resources(), (std::vector<std::string>{"r", "s"}));
}

}  // namespace
}  // namespace murphy::itest
