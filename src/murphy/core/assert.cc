#include "murphy/core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace murphy::internal {

void AssertFailed(const char* file, int line, const char* condition,
                  const char* message) noexcept {
  if (message != nullptr) {
    std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", file, line, condition,
                 message);
  } else {
    std::fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, condition);
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace murphy::internal
