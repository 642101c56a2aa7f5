// murphy/core/status.h — errors as values: Status and Result<T>.
//
// Contract: a `Status` is either OK or a code plus a human-readable message. The
// codes carry *retry meaning*, which the retry library acts on (ARCHITECTURE.md):
//   kUnavailable        transient; retry the same call (with backoff).
//   kResourceExhausted  overloaded or a limit was hit; retry later, with backoff.
//   kAborted            a conflict (e.g. a stale fencing token); retry at a higher
//                       level (re-acquire, re-read), not the same call.
//   kFailedPrecondition the system is not in the state the call needs; do not retry
//                       until the state is fixed.
//   kDeadlineExceeded   the deadline passed: the outcome is UNKNOWN — the operation
//                       may or may not have taken effect. Never read it as "failed".
//   kInvalidArgument, kOutOfRange, kNotFound, kAlreadyExists, kPermissionDenied,
//   kUnimplemented      the request itself is wrong; retrying cannot help.
//   kInternal, kDataLoss  a bug or corruption; do not retry.
//   kCancelled          the caller gave up.
// OK costs no allocation. `Result<T>` holds a T or a non-OK Status. Both are
// [[nodiscard]]. No exceptions are used. Thread safety: values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

enum class StatusCode : uint8_t {
  kOk = 0,
  kCancelled = 1,
  kInvalidArgument = 2,
  kDeadlineExceeded = 3,
  kNotFound = 4,
  kAlreadyExists = 5,
  kPermissionDenied = 6,
  kResourceExhausted = 7,
  kFailedPrecondition = 8,
  kAborted = 9,
  kOutOfRange = 10,
  kUnimplemented = 11,
  kInternal = 12,
  kUnavailable = 13,
  kDataLoss = 14,
};
inline constexpr int kStatusCodeCount = 15;

// "OK", "UNAVAILABLE", ... (the gRPC spelling).
std::string_view StatusCodeName(StatusCode code);
// Parses a name produced by StatusCodeName; nullopt for anything else.
std::optional<StatusCode> StatusCodeFromName(std::string_view name);

// May the *same* call be sent again, after a backoff, without a higher-level decision?
constexpr bool IsRetryable(StatusCode code) {
  return code == StatusCode::kUnavailable || code == StatusCode::kResourceExhausted;
}
// Did the operation possibly take effect although the caller saw no success?
constexpr bool IsOutcomeUnknown(StatusCode code) { return code == StatusCode::kDeadlineExceeded; }

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  static Status Ok() { return Status(); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ == nullptr ? StatusCode::kOk : rep_->code; }
  std::string_view message() const { return rep_ == nullptr ? std::string_view() : rep_->message; }
  // "OK" or "UNAVAILABLE: no leader".
  std::string ToString() const;

  bool retryable() const { return IsRetryable(code()); }
  bool outcome_unknown() const { return IsOutcomeUnknown(code()); }

  // Explicitly drop a status that the caller has decided not to act on.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;  // null means OK: success allocates nothing.
};

Status CancelledError(std::string_view message);
Status InvalidArgumentError(std::string_view message);
Status DeadlineExceededError(std::string_view message);
Status NotFoundError(std::string_view message);
Status AlreadyExistsError(std::string_view message);
Status PermissionDeniedError(std::string_view message);
Status ResourceExhaustedError(std::string_view message);
Status FailedPreconditionError(std::string_view message);
Status AbortedError(std::string_view message);
Status OutOfRangeError(std::string_view message);
Status UnimplementedError(std::string_view message);
Status InternalError(std::string_view message);
Status UnavailableError(std::string_view message);
Status DataLossError(std::string_view message);

// A value of type T, or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  // REQUIRES: !status.ok() — an OK status carries no value.
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    MURPHY_ASSERT_MSG(!status_.ok(), "Result constructed from an OK status without a value");
  }
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // REQUIRES: ok().
  T& value() & {
    MURPHY_ASSERT_MSG(ok(), "Result::value() on an error");
    return *value_;
  }
  const T& value() const& {
    MURPHY_ASSERT_MSG(ok(), "Result::value() on an error");
    return *value_;
  }
  T&& value() && {
    MURPHY_ASSERT_MSG(ok(), "Result::value() on an error");
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  Status status_;  // OK iff value_ holds a value.
  std::optional<T> value_;
};

}  // namespace murphy

#define MURPHY_STATUS_CONCAT_INNER(a, b) a##b
#define MURPHY_STATUS_CONCAT(a, b) MURPHY_STATUS_CONCAT_INNER(a, b)

// Returns the status from the enclosing function if `expression` is not OK.
#define MURPHY_RETURN_IF_ERROR(expression)         \
  do {                                             \
    ::murphy::Status murphy_status_ = (expression); \
    if (!murphy_status_.ok()) return murphy_status_; \
  } while (false)

// `MURPHY_ASSIGN_OR_RETURN(auto x, Compute());` declares x from a Result<T>, or
// returns its status from the enclosing function.
#define MURPHY_ASSIGN_OR_RETURN(declaration, expression) \
  MURPHY_ASSIGN_OR_RETURN_IMPL(MURPHY_STATUS_CONCAT(murphy_result_, __LINE__), declaration, expression)
#define MURPHY_ASSIGN_OR_RETURN_IMPL(result, declaration, expression) \
  auto result = (expression);                                         \
  if (!result.ok()) return result.status();                           \
  declaration = std::move(result).value()
