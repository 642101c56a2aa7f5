#include "murphy/posix/posix_disk.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace murphy::posix {
namespace {

std::string MakeTempDirectory() {
  std::string pattern = testing::TempDir() + "murphy_posix_disk_XXXXXX";
  MURPHY_ASSERT(::mkdtemp(pattern.data()) != nullptr);
  return pattern;
}

void RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  MURPHY_ASSERT(!error);
}

// A stand-in for the loop: the fsync thread posts into a locked queue, the test
// thread runs what was posted.
class FakeLoop {
 public:
  PosixDisk::Poster poster() {
    return [this](std::function<void()> action) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        posted_.push_back(std::move(action));
      }
      wake_.notify_one();
    };
  }
  // Runs posted functions until `done` holds; false after a generous deadline.
  template <typename Predicate>
  bool RunUntil(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      std::function<void()> action;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!wake_.wait_until(lock, deadline, [this] { return !posted_.empty(); })) return false;
        action = std::move(posted_.front());
        posted_.pop_front();
      }
      action();
    }
    return true;
  }
  size_t RunPending() {
    std::deque<std::function<void()>> actions;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      actions.swap(posted_);
    }
    for (auto& action : actions) action();
    return actions.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> posted_;
};

class PosixDiskTest : public testing::Test {
 protected:
  void SetUp() override {
    root_ = MakeTempDirectory();
    directory_ = root_ + "/nested/data";
    Result<std::unique_ptr<PosixDisk>> disk = PosixDisk::Open(directory_, loop_.poster());
    ASSERT_TRUE(disk.ok()) << disk.status().ToString();
    disk_ = std::move(disk).value();
  }
  void TearDown() override {
    disk_.reset();
    loop_.RunPending();
    RemoveTree(root_);
  }
  std::string Text(std::string_view name) {
    Result<Bytes> content = disk_->Read(name);
    EXPECT_TRUE(content.ok()) << content.status().ToString();
    return content.ok() ? std::string(AsText(*content)) : std::string();
  }

  FakeLoop loop_;
  std::string root_;
  std::string directory_;
  std::unique_ptr<PosixDisk> disk_;
};

TEST_F(PosixDiskTest, OpenCreatesTheDirectoryWithItsParents) {
  struct stat status {};
  ASSERT_EQ(::stat(directory_.c_str(), &status), 0);
  EXPECT_TRUE(S_ISDIR(status.st_mode));
}

TEST_F(PosixDiskTest, AppendReadSyncAndList) {
  ASSERT_TRUE(disk_->Append("log", AsBytes("hello ")).ok());
  ASSERT_TRUE(disk_->Append("log", AsBytes("world")).ok());
  ASSERT_TRUE(disk_->Append("empty", {}).ok());
  EXPECT_EQ(Text("log"), "hello world");
  EXPECT_EQ(Text("empty"), "");
  EXPECT_TRUE(disk_->Sync("log").ok());
  EXPECT_TRUE(disk_->SyncDirectory().ok());
  Result<std::vector<std::string>> names = disk_->List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"empty", "log"}));
  EXPECT_EQ(disk_->metrics().appends, 3u);
  EXPECT_EQ(disk_->metrics().bytes_appended, 11u);
  EXPECT_EQ(disk_->metrics().fsyncs, 2u);
  EXPECT_TRUE(disk_->sync_failure().ok());
}

TEST_F(PosixDiskTest, ContentSurvivesReopening) {
  ASSERT_TRUE(disk_->Append("wal", AsBytes("abc")).ok());
  ASSERT_TRUE(disk_->Sync("wal").ok());
  disk_.reset();
  Result<std::unique_ptr<PosixDisk>> reopened = PosixDisk::Open(directory_, loop_.poster());
  ASSERT_TRUE(reopened.ok());
  disk_ = std::move(reopened).value();
  EXPECT_EQ(Text("wal"), "abc");
}

TEST_F(PosixDiskTest, TruncateShortensAndLaterAppendsGoToTheNewEnd) {
  ASSERT_TRUE(disk_->Append("f", AsBytes("0123456789")).ok());
  ASSERT_TRUE(disk_->Truncate("f", 4).ok());
  EXPECT_EQ(Text("f"), "0123");
  ASSERT_TRUE(disk_->Append("f", AsBytes("xy")).ok());
  EXPECT_EQ(Text("f"), "0123xy");
  EXPECT_EQ(disk_->Truncate("f", 7).code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(disk_->Truncate("f", 6).ok());
  EXPECT_TRUE(disk_->Truncate("f", 0).ok());
  EXPECT_EQ(Text("f"), "");
}

TEST_F(PosixDiskTest, RenameReplacesTheTargetAndTheCachedFdFollowsTheFile) {
  ASSERT_TRUE(disk_->Append("snapshot.tmp", AsBytes("new")).ok());
  ASSERT_TRUE(disk_->Append("snapshot", AsBytes("old")).ok());
  ASSERT_TRUE(disk_->Rename("snapshot.tmp", "snapshot").ok());
  EXPECT_EQ(Text("snapshot"), "new");
  EXPECT_EQ(disk_->Read("snapshot.tmp").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(disk_->Append("snapshot", AsBytes("+")).ok());
  EXPECT_EQ(Text("snapshot"), "new+");
  ASSERT_TRUE(disk_->SyncDirectory().ok());
  Result<std::vector<std::string>> names = disk_->List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, std::vector<std::string>{"snapshot"});
}

TEST_F(PosixDiskTest, RemoveDeletesTheFile) {
  ASSERT_TRUE(disk_->Append("a", AsBytes("1")).ok());
  ASSERT_TRUE(disk_->Remove("a").ok());
  EXPECT_EQ(disk_->Read("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(disk_->Remove("a").code(), StatusCode::kNotFound);
  // A new file of the same name starts empty (the old fd was dropped).
  ASSERT_TRUE(disk_->Append("a", AsBytes("2")).ok());
  EXPECT_EQ(Text("a"), "2");
}

TEST_F(PosixDiskTest, MissingFilesAreNotFoundAndNameTheFile) {
  const Status read = disk_->Read("nope").status();
  EXPECT_EQ(read.code(), StatusCode::kNotFound);
  EXPECT_NE(read.message().find("nope"), std::string_view::npos) << read.ToString();
  EXPECT_EQ(disk_->Sync("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(disk_->Truncate("nope", 0).code(), StatusCode::kNotFound);
  EXPECT_EQ(disk_->Remove("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(disk_->Rename("nope", "other").code(), StatusCode::kNotFound);
  // Failed reads and syncs do not create the file.
  Result<std::vector<std::string>> names = disk_->List();
  ASSERT_TRUE(names.ok());
  EXPECT_TRUE(names->empty());
}

TEST_F(PosixDiskTest, BadNamesAreInvalidArguments) {
  const std::string too_long(PosixDisk::kMaxNameLength + 1, 'x');
  const std::string with_nul("a\0b", 3);
  for (const std::string_view name : {std::string_view(""), std::string_view("a/b"), std::string_view("/etc"),
                                      std::string_view(".."), std::string_view("."), std::string_view("../x"),
                                      std::string_view(too_long), std::string_view(with_nul)}) {
    SCOPED_TRACE(std::string(name));
    EXPECT_EQ(disk_->Append(name, AsBytes("x")).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Sync(name).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Read(name).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Truncate(name, 0).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Rename(name, "ok").code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Rename("ok", name).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(disk_->Remove(name).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(disk_->Append(std::string(PosixDisk::kMaxNameLength, 'y'), AsBytes("x")).ok());
  EXPECT_TRUE(disk_->Append("a..b", AsBytes("x")).ok());
}

TEST_F(PosixDiskTest, ListSkipsWhatIsNotARegularFile) {
  ASSERT_EQ(::mkdir((directory_ + "/subdir").c_str(), 0755), 0);
  ASSERT_TRUE(disk_->Append("b", AsBytes("1")).ok());
  ASSERT_TRUE(disk_->Append("a", AsBytes("1")).ok());
  ASSERT_TRUE(disk_->Append("c", AsBytes("1")).ok());
  Result<std::vector<std::string>> names = disk_->List();
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(disk_->Read("subdir").status().code(), StatusCode::kInvalidArgument);  // EISDIR
}

TEST_F(PosixDiskTest, TheFdCacheIsBounded) {
  constexpr int kFiles = static_cast<int>(PosixDisk::kMaxOpenFiles) * 2 + 5;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kFiles; ++i) {
      ASSERT_TRUE(disk_->Append("f" + std::to_string(i), AsBytes(std::to_string(round))).ok());
      EXPECT_LE(disk_->open_files(), PosixDisk::kMaxOpenFiles);
    }
  }
  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(Text("f" + std::to_string(i)), "01");
}

TEST_F(PosixDiskTest, ErrnoMapsToStatusCodes) {
  EXPECT_EQ(StatusFromErrno(ENOENT, "read", "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusFromErrno(ENOSPC, "append", "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromErrno(EDQUOT, "append", "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromErrno(EMFILE, "open", "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromErrno(EIO, "read", "x").code(), StatusCode::kDataLoss);
  EXPECT_EQ(StatusFromErrno(EACCES, "open", "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusFromErrno(EROFS, "open", "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusFromErrno(EEXIST, "open", "x").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromErrno(EISDIR, "open", "x").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusFromErrno(EBADF, "open", "x").code(), StatusCode::kInternal);
  const Status status = StatusFromErrno(ENOSPC, "append", "wal-000001");
  EXPECT_NE(status.message().find("append wal-000001"), std::string_view::npos) << status.ToString();
}

TEST_F(PosixDiskTest, AWriteToAFullDeviceIsResourceExhausted) {
  // A symlink in the data directory to /dev/full: writes fail with ENOSPC.
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "no /dev/full";
  ASSERT_EQ(::symlink("/dev/full", (directory_ + "/full").c_str()), 0);
  const Status status = disk_->Append("full", AsBytes("data"));
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status.ToString();
  EXPECT_NE(status.message().find("full"), std::string_view::npos);
}

TEST_F(PosixDiskTest, SyncAsyncCompletesOnTheLoopNeverInline) {
  ASSERT_TRUE(disk_->Append("wal", AsBytes("record")).ok());
  bool called = false;
  Status outcome = InternalError("not called");
  disk_->SyncAsync("wal", [&](Status status) {
    called = true;
    outcome = std::move(status);
  });
  EXPECT_FALSE(called);
  ASSERT_TRUE(loop_.RunUntil([&] { return called; }));
  EXPECT_TRUE(outcome.ok()) << outcome.ToString();
  EXPECT_EQ(disk_->metrics().async_syncs, 1u);
  EXPECT_GE(disk_->metrics().fsyncs, 1u);
}

TEST_F(PosixDiskTest, SyncAsyncErrorsArePostedToo) {
  bool missing_called = false;
  bool invalid_called = false;
  disk_->SyncAsync("missing", [&](Status status) {
    missing_called = true;
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
  });
  disk_->SyncAsync("a/b", [&](Status status) {
    invalid_called = true;
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  });
  EXPECT_FALSE(missing_called);
  EXPECT_FALSE(invalid_called);
  ASSERT_TRUE(loop_.RunUntil([&] { return missing_called && invalid_called; }));
}

// TSan target: the loop thread appends and requests syncs while the fsync thread
// syncs; completions come back in request order.
TEST_F(PosixDiskTest, ManySyncAsyncCallsCompleteInOrder) {
  constexpr int kRequests = 2000;
  const std::vector<std::string> files = {"w0", "w1", "w2", "w3"};
  std::vector<int> completed;
  completed.reserve(kRequests);
  int failures = 0;
  for (int i = 0; i < kRequests; ++i) {
    const std::string& name = files[static_cast<size_t>(i) % files.size()];
    ASSERT_TRUE(disk_->Append(name, AsBytes("r")).ok());
    disk_->SyncAsync(name, [&completed, &failures, i](Status status) {
      if (!status.ok()) ++failures;
      completed.push_back(i);
    });
    if (i % 100 == 0) loop_.RunPending();  // interleave completions with requests
  }
  ASSERT_TRUE(loop_.RunUntil([&] { return completed.size() == static_cast<size_t>(kRequests); }));
  EXPECT_EQ(failures, 0);
  for (int i = 0; i < kRequests; ++i) ASSERT_EQ(completed[static_cast<size_t>(i)], i);
  const DiskMetrics& metrics = disk_->metrics();
  EXPECT_EQ(metrics.async_syncs, static_cast<uint64_t>(kRequests));
  // Every request got an fsync of its own or shared one (group commit).
  EXPECT_EQ(metrics.fsyncs + metrics.coalesced_syncs, static_cast<uint64_t>(kRequests));
  for (const std::string& name : files) EXPECT_EQ(Text(name).size(), static_cast<size_t>(kRequests / 4));
}

TEST_F(PosixDiskTest, RemovingAFileWhileItsSyncIsPendingIsSafe) {
  for (int i = 0; i < 20; ++i) {
    const std::string name = "t" + std::to_string(i);
    ASSERT_TRUE(disk_->Append(name, AsBytes("x")).ok());
    disk_->SyncAsync(name, [](Status) {});
    ASSERT_TRUE(disk_->Remove(name).ok());  // closes the cached fd; the thread keeps its own
  }
  int done = 0;
  disk_->SyncDirectory().IgnoreError();
  ASSERT_TRUE(disk_->Append("last", AsBytes("x")).ok());
  disk_->SyncAsync("last", [&](Status status) {
    EXPECT_TRUE(status.ok());
    ++done;
  });
  ASSERT_TRUE(loop_.RunUntil([&] { return done == 1; }));
}

TEST_F(PosixDiskTest, DestroyingTheDiskDropsPendingCompletions) {
  ASSERT_TRUE(disk_->Append("wal", AsBytes("x")).ok());
  int called = 0;
  for (int i = 0; i < 100; ++i) disk_->SyncAsync("wal", [&](Status) { ++called; });
  disk_.reset();          // joins the fsync thread
  loop_.RunPending();     // completions posted before the join must not run now
  EXPECT_EQ(called, 0);
}

TEST_F(PosixDiskTest, AFailedFsyncIsRememberedAndEveryLaterSyncFails) {
  // fdatasync on a FIFO fails (EINVAL): a real fsync failure without root or a
  // faulty device.
  ASSERT_EQ(::mkfifo((directory_ + "/pipe").c_str(), 0644), 0);
  ASSERT_TRUE(disk_->Append("wal", AsBytes("x")).ok());
  ASSERT_TRUE(disk_->Sync("wal").ok());
  const Status failed = disk_->Sync("pipe");
  EXPECT_EQ(failed.code(), StatusCode::kDataLoss) << failed.ToString();
  EXPECT_NE(failed.message().find("pipe"), std::string_view::npos);
  EXPECT_EQ(disk_->metrics().fsync_errors, 1u);
  // Never pretend a retry worked: the same error for every later sync, of any kind.
  EXPECT_EQ(disk_->Sync("wal"), failed);
  EXPECT_EQ(disk_->Sync("pipe"), failed);
  EXPECT_EQ(disk_->SyncDirectory(), failed);
  EXPECT_EQ(disk_->sync_failure(), failed);
  bool called = false;
  disk_->SyncAsync("wal", [&](Status status) {
    called = true;
    EXPECT_EQ(status, failed);
  });
  ASSERT_TRUE(loop_.RunUntil([&] { return called; }));
  // Other operations still work (the caller decides to stop).
  EXPECT_TRUE(disk_->Append("wal", AsBytes("y")).ok());
}

TEST_F(PosixDiskTest, AFailedAsyncFsyncIsStickyToo) {
  ASSERT_EQ(::mkfifo((directory_ + "/pipe").c_str(), 0644), 0);
  ASSERT_TRUE(disk_->Append("wal", AsBytes("x")).ok());
  Status first;
  bool called = false;
  disk_->SyncAsync("pipe", [&](Status status) {
    called = true;
    first = std::move(status);
  });
  ASSERT_TRUE(loop_.RunUntil([&] { return called; }));
  EXPECT_EQ(first.code(), StatusCode::kDataLoss);
  EXPECT_EQ(disk_->Sync("wal"), first);
  EXPECT_EQ(disk_->metrics().fsync_errors, 1u);
}

}  // namespace
}  // namespace murphy::posix
