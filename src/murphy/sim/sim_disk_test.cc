#include "murphy/sim/sim_disk.h"

#include <gtest/gtest.h>

#include <string>

namespace murphy::sim {
namespace {

// Records traces and busy time; runs "later" actions on demand.
class FakeHost : public SimDisk::Host {
 public:
  void DiskTrace(std::string_view event, std::initializer_list<TraceField>) override { events.emplace_back(event); }
  void DiskBusy(Duration duration) override { busy += duration; }
  void DiskLater(Duration delay, std::function<void()> action) override {
    delays.push_back(delay);
    later.push_back(std::move(action));
  }
  void RunLater() {
    auto actions = std::move(later);
    later.clear();
    for (auto& action : actions) action();
  }
  std::vector<std::string> events;
  Duration busy;
  std::vector<Duration> delays;
  std::vector<std::function<void()>> later;
};

std::string Text(const Result<Bytes>& bytes) { return bytes.ok() ? std::string(AsText(*bytes)) : "<error>"; }

DiskFaults Unsynced(DiskFaults::Unsynced mode) {
  DiskFaults faults;
  faults.unsynced_on_crash = mode;
  return faults;
}

TEST(SimDiskTest, CrashKeepsSyncedAndLosesUnsynced) {
  FakeHost host;
  SimDisk disk(Rng(1), &host);
  disk.set_faults(Unsynced(DiskFaults::Unsynced::kLose));
  ASSERT_TRUE(disk.Append("wal", AsBytes("synced|")).ok());
  ASSERT_TRUE(disk.Sync("wal").ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  ASSERT_TRUE(disk.Append("wal", AsBytes("unsynced")).ok());
  EXPECT_EQ(Text(disk.Read("wal")), "synced|unsynced");
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("wal")), "synced|");
  EXPECT_EQ(disk.counters().lost_unsynced_bytes, 8u);
}

TEST(SimDiskTest, TornWriteKeepsAStrictPrefixOfTheTail) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FakeHost host;
    SimDisk disk(Rng(seed), &host);
    disk.set_faults(Unsynced(DiskFaults::Unsynced::kTear));
    ASSERT_TRUE(disk.Append("wal", AsBytes("head")).ok());
    ASSERT_TRUE(disk.Sync("wal").ok());
    ASSERT_TRUE(disk.SyncDirectory().ok());
    ASSERT_TRUE(disk.Append("wal", AsBytes("0123456789")).ok());
    disk.Crash();
    const std::string after = Text(disk.Read("wal"));
    EXPECT_GT(after.size(), 4u);
    EXPECT_LT(after.size(), 14u);
    EXPECT_EQ(after, std::string("head0123456789").substr(0, after.size()));
    EXPECT_EQ(disk.counters().torn_files, 1u);
  }
}

TEST(SimDiskTest, NamesNeedSyncDirectory) {
  FakeHost host;
  SimDisk disk(Rng(2), &host);
  ASSERT_TRUE(disk.Append("a", AsBytes("1")).ok());
  ASSERT_TRUE(disk.Sync("a").ok());  // content durable, name not
  disk.Crash();
  EXPECT_EQ(disk.Read("a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(disk.counters().lost_files, 1u);

  ASSERT_TRUE(disk.Append("tmp", AsBytes("new")).ok());
  ASSERT_TRUE(disk.Sync("tmp").ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  ASSERT_TRUE(disk.Append("other", AsBytes("x")).ok());
  ASSERT_TRUE(disk.Rename("tmp", "final").ok());
  EXPECT_EQ(*disk.List(), (std::vector<std::string>{"final", "other"}));
  disk.Crash();  // the rename was not made durable
  EXPECT_EQ(*disk.List(), (std::vector<std::string>{"tmp"}));
  ASSERT_TRUE(disk.Rename("tmp", "final").ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("final")), "new");
  ASSERT_TRUE(disk.Remove("final").ok());
  EXPECT_EQ(disk.Remove("final").code(), StatusCode::kNotFound);
}

TEST(SimDiskTest, TruncateIsUndoneByACrashUnlessSynced) {
  FakeHost host;
  SimDisk disk(Rng(3), &host);
  ASSERT_TRUE(disk.Append("f", AsBytes("abcdef")).ok());
  ASSERT_TRUE(disk.Sync("f").ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  ASSERT_TRUE(disk.Truncate("f", 2).ok());
  EXPECT_EQ(disk.Truncate("f", 10).code(), StatusCode::kOutOfRange);
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("f")), "abcdef");
  ASSERT_TRUE(disk.Truncate("f", 2).ok());
  ASSERT_TRUE(disk.Sync("f").ok());
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("f")), "ab");
}

TEST(SimDiskTest, FsyncErrorReturnsAnError) {
  FakeHost host;
  SimDisk disk(Rng(4), &host);
  DiskFaults faults;
  faults.sync_error_probability = 1.0;
  disk.set_faults(faults);
  ASSERT_TRUE(disk.Append("f", AsBytes("x")).ok());
  const Status status = disk.Sync("f");
  EXPECT_EQ(status.code(), StatusCode::kDataLoss);
  EXPECT_EQ(disk.counters().sync_errors, 1u);
  ASSERT_EQ(host.events.size(), 1u);
  EXPECT_EQ(host.events[0], "disk_sync_error");
  EXPECT_EQ(disk.Sync("missing").code(), StatusCode::kNotFound);
}

TEST(SimDiskTest, ReadCorruptionFlipsOneBitOfTheCopyOnly) {
  FakeHost host;
  SimDisk disk(Rng(5), &host);
  ASSERT_TRUE(disk.Append("f", AsBytes("hello world")).ok());
  DiskFaults faults;
  faults.read_corruption_probability = 1.0;
  disk.set_faults(faults);
  const Bytes corrupted = *disk.Read("f");
  int differing_bits = 0;
  const std::string original = "hello world";
  for (size_t i = 0; i < original.size(); ++i) {
    differing_bits += __builtin_popcount(static_cast<unsigned>(corrupted[i] ^ static_cast<uint8_t>(original[i])));
  }
  EXPECT_EQ(differing_bits, 1);
  disk.set_faults(DiskFaults{});
  EXPECT_EQ(Text(disk.Read("f")), original);
  EXPECT_EQ(disk.counters().read_corruptions, 1u);
}

TEST(SimDiskTest, SyncAsyncCompletesLaterAndCoversEarlierWrites) {
  FakeHost host;
  SimDisk disk(Rng(6), &host);
  DiskFaults faults;
  faults.sync_latency = Milliseconds(3);
  faults.unsynced_on_crash = DiskFaults::Unsynced::kLose;
  disk.set_faults(faults);
  ASSERT_TRUE(disk.Append("f", AsBytes("one")).ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  Status outcome = InternalError("not yet");
  disk.SyncAsync("f", [&](Status status) { outcome = std::move(status); });
  ASSERT_TRUE(disk.Append("f", AsBytes("two")).ok());
  EXPECT_FALSE(outcome.ok());
  ASSERT_EQ(host.delays.size(), 1u);
  EXPECT_EQ(host.delays[0], Milliseconds(3));
  host.RunLater();
  EXPECT_TRUE(outcome.ok());
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("f")), "one");
  // A blocking Sync charges the latency to the process.
  ASSERT_TRUE(disk.Sync("f").ok());
  EXPECT_EQ(host.busy, Milliseconds(3));
}

// Found by the WAL's randomized crash test: an async sync that completes after a
// newer blocking Sync must not roll the durable content back to its older copy.
TEST(SimDiskTest, ALateSyncAsyncNeverUndoesANewerSync) {
  FakeHost host;
  SimDisk disk(Rng(7), &host);
  DiskFaults faults;
  faults.sync_latency = Milliseconds(3);
  faults.unsynced_on_crash = DiskFaults::Unsynced::kLose;
  disk.set_faults(faults);
  ASSERT_TRUE(disk.Append("f", AsBytes("one")).ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
  Status outcome = InternalError("not yet");
  disk.SyncAsync("f", [&](Status status) { outcome = std::move(status); });
  ASSERT_TRUE(disk.Append("f", AsBytes("two")).ok());
  ASSERT_TRUE(disk.Sync("f").ok());
  host.RunLater();  // the older async sync completes last
  EXPECT_TRUE(outcome.ok());
  disk.Crash();
  EXPECT_EQ(Text(disk.Read("f")), "onetwo");
}

}  // namespace
}  // namespace murphy::sim
