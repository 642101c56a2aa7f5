#include "murphy/core/status.h"

#include <gtest/gtest.h>

namespace murphy {
namespace {

TEST(StatusTest, OkCarriesNothing) {
  const Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.code(), StatusCode::kOk);
  EXPECT_EQ(ok.ToString(), "OK");
  EXPECT_EQ(sizeof(Status), sizeof(void*));
}

TEST(StatusTest, ErrorsCarryCodeAndMessage) {
  const Status status = UnavailableError("no leader");
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "no leader");
  EXPECT_EQ(status.ToString(), "UNAVAILABLE: no leader");
  const Status copy = status;
  EXPECT_EQ(copy, status);
  EXPECT_NE(copy, AbortedError("no leader"));
}

TEST(StatusTest, CodesCarryRetryMeaning) {
  EXPECT_TRUE(UnavailableError("").retryable());
  EXPECT_TRUE(ResourceExhaustedError("").retryable());
  EXPECT_FALSE(AbortedError("stale token").retryable());
  EXPECT_FALSE(FailedPreconditionError("").retryable());
  EXPECT_FALSE(InvalidArgumentError("").retryable());
  EXPECT_FALSE(DeadlineExceededError("").retryable());
  EXPECT_TRUE(DeadlineExceededError("").outcome_unknown());
  EXPECT_FALSE(UnavailableError("").outcome_unknown());
}

TEST(StatusTest, NamesRoundTrip) {
  for (int i = 0; i < kStatusCodeCount; ++i) {
    const auto code = static_cast<StatusCode>(i);
    EXPECT_EQ(StatusCodeFromName(StatusCodeName(code)), code);
  }
  EXPECT_EQ(StatusCodeFromName("NOPE"), std::nullopt);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  MURPHY_ASSIGN_OR_RETURN(const int half, Half(x));
  MURPHY_ASSIGN_OR_RETURN(const int quarter, Half(half));
  return quarter;
}

Status CheckEven(int x) {
  MURPHY_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(ResultTest, HoldsValueOrStatus) {
  const Result<int> good = Half(8);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 4);
  const Result<int> bad = Half(3);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().message(), "odd");
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(1).ok());
}

TEST(ResultDeathTest, ValueOfAnErrorCrashes) {
  const Result<int> bad = Half(3);
  EXPECT_DEATH((void)bad.value(), "Result::value\\(\\) on an error");
}

TEST(ResultDeathTest, OkStatusWithoutValueCrashes) {
  EXPECT_DEATH((void)Result<int>{Status::Ok()}, "OK status without a value");
}

}  // namespace
}  // namespace murphy
