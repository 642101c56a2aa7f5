// murphy/core/assert.h — invariant checks that stay on in every build.
//
// Contract: MURPHY_ASSERT(condition) and MURPHY_ASSERT_MSG(condition, message)
// evaluate `condition` exactly once in every build type (release included; NDEBUG
// has no effect) and, when it is false, print the file, line, condition and message
// to stderr and abort the process. They are for programmer errors — broken
// invariants — never for operating errors (network, disk, bad input), which are
// `Status` values. The name is prefixed so that the macro cannot collide with
// other libraries' ASSERT macros when murphy is used as a library.
// MURPHY_UNREACHABLE() marks code that a correct program never reaches.
// Thread safety: safe to use from any thread.
#pragma once

namespace murphy::internal {
[[noreturn]] void AssertFailed(const char* file, int line, const char* condition,
                               const char* message) noexcept;
}  // namespace murphy::internal

#define MURPHY_ASSERT(condition)                                                   \
  do {                                                                             \
    if (!(condition)) [[unlikely]] {                                               \
      ::murphy::internal::AssertFailed(__FILE__, __LINE__, #condition, nullptr);   \
    }                                                                              \
  } while (false)

#define MURPHY_ASSERT_MSG(condition, message)                                      \
  do {                                                                             \
    if (!(condition)) [[unlikely]] {                                               \
      ::murphy::internal::AssertFailed(__FILE__, __LINE__, #condition, (message)); \
    }                                                                              \
  } while (false)

#define MURPHY_UNREACHABLE() \
  ::murphy::internal::AssertFailed(__FILE__, __LINE__, "unreachable", nullptr)
