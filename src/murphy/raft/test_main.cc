// The raft_test entry point: GoogleTest's, plus `--rewrite`, which makes the golden
// interaction tests (interaction_test.cc) write their actual output back into
// testdata/*.txt instead of comparing; review the result with `git diff`.
#include <gtest/gtest.h>

#include <cstring>

namespace murphy::raft::testing {
bool rewrite_golden_files = false;
}  // namespace murphy::raft::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rewrite") == 0) murphy::raft::testing::rewrite_golden_files = true;
  }
  return RUN_ALL_TESTS();
}
