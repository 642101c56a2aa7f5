#include "murphy/wal/wal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "murphy/sim/sim_disk.h"

namespace murphy {
namespace {

// Records nothing; runs "later" actions (SyncAsync completions) when told to.
class FakeHost : public sim::SimDisk::Host {
 public:
  void DiskTrace(std::string_view, std::initializer_list<TraceField>) override {}
  void DiskBusy(Duration) override {}
  void DiskLater(Duration, std::function<void()> action) override { later.push_back(std::move(action)); }
  void RunLater() {
    auto actions = std::move(later);
    later.clear();
    for (auto& action : actions) action();
  }
  std::vector<std::function<void()>> later;
};

// Forwards to a SimDisk until a budget of calls is spent; from then on every call
// fails as if the machine had died just before it (the test then calls Crash()).
class CrashingDisk : public Disk {
 public:
  explicit CrashingDisk(sim::SimDisk* target) : target_(target) {}
  void set_budget(std::optional<uint64_t> calls) { budget_ = calls; }
  bool spent() const { return budget_.has_value() && *budget_ == 0; }

  Status Append(std::string_view name, std::span<const uint8_t> data) override {
    return Spend() ? Dead() : target_->Append(name, data);
  }
  Status Sync(std::string_view name) override { return Spend() ? Dead() : target_->Sync(name); }
  void SyncAsync(std::string_view name, std::function<void(Status)> done) override {
    target_->SyncAsync(name, std::move(done));
  }
  Result<Bytes> Read(std::string_view name) override {
    if (Spend()) return Dead();
    return target_->Read(name);
  }
  Status Truncate(std::string_view name, uint64_t size) override {
    return Spend() ? Dead() : target_->Truncate(name, size);
  }
  Status Rename(std::string_view source, std::string_view target) override {
    return Spend() ? Dead() : target_->Rename(source, target);
  }
  Status Remove(std::string_view name) override { return Spend() ? Dead() : target_->Remove(name); }
  Status SyncDirectory() override { return Spend() ? Dead() : target_->SyncDirectory(); }
  Result<std::vector<std::string>> List() override {
    if (Spend()) return Dead();
    return target_->List();
  }

 private:
  bool Spend() {
    if (!budget_.has_value()) return false;
    if (*budget_ == 0) return true;
    --*budget_;
    return false;
  }
  static Status Dead() { return UnavailableError("crashing disk: the machine is down"); }
  sim::SimDisk* target_;
  std::optional<uint64_t> budget_;
};

WalEntry Entry(uint64_t index, uint64_t term, std::string_view data) {
  const auto bytes = AsBytes(data);
  return WalEntry{LogIndex(index), Term(term), Bytes(bytes.begin(), bytes.end())};
}

std::vector<WalEntry> Entries(uint64_t first, uint64_t last, uint64_t term) {
  std::vector<WalEntry> entries;
  for (uint64_t index = first; index <= last; ++index) {
    entries.push_back(Entry(index, term, "entry " + std::to_string(index) + " term " + std::to_string(term)));
  }
  return entries;
}

std::string Describe(const std::vector<WalEntry>& entries) {
  std::string text;
  for (const WalEntry& entry : entries) text += ToString(entry.index) + "/" + ToString(entry.term) + " ";
  return text;
}

// Replaces the content of `name` durably (to plant corruption).
void PutFile(sim::SimDisk& disk, const std::string& name, const Bytes& content) {
  ASSERT_TRUE(disk.Remove(name).ok());
  ASSERT_TRUE(disk.Append(name, content).ok());
  ASSERT_TRUE(disk.Sync(name).ok());
  ASSERT_TRUE(disk.SyncDirectory().ok());
}

std::vector<std::string> Segments(sim::SimDisk& disk) {
  std::vector<std::string> segments;
  const std::vector<std::string> names = disk.List().value();
  for (const std::string& name : names) {
    if (name.ends_with(".log")) segments.push_back(name);
  }
  return segments;
}

class WalTest : public ::testing::Test {
 protected:
  Wal& Open(const WalOptions& options = {}) {
    wal_.reset();
    Result<Wal::Opened> opened = Wal::Open(disk_, options);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) std::abort();
    state_ = std::move(opened->state);
    wal_ = std::move(opened->wal);
    return *wal_;
  }
  Status OpenStatus(const WalOptions& options = {}) {
    wal_.reset();
    Result<Wal::Opened> opened = Wal::Open(disk_, options);
    return opened.ok() ? Status::Ok() : opened.status();
  }
  void CrashAndReopen(const WalOptions& options = {}) {
    wal_.reset();
    host_.later.clear();
    disk_.Crash();
    Open(options);
  }

  FakeHost host_;
  sim::SimDisk disk_{Rng(7), &host_};
  std::unique_ptr<Wal> wal_;
  RecoveredState state_;
};

TEST_F(WalTest, FreshDiskRecoversNothing) {
  Wal& wal = Open();
  EXPECT_FALSE(state_.hard_state.has_value());
  EXPECT_FALSE(state_.snapshot.has_value());
  EXPECT_TRUE(state_.entries.empty());
  EXPECT_EQ(wal.last_index(), LogIndex(0));
  EXPECT_EQ(wal.durable_index(), LogIndex(0));
  EXPECT_EQ(wal.segment_count(), 1u);
}

TEST_F(WalTest, RoundTripsEntriesHardStateAndSnapshotAcrossACrash) {
  Wal& wal = Open();
  const std::vector<WalEntry> entries = Entries(1, 20, 3);
  ASSERT_TRUE(wal.Append(entries).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const HardState hard_state{Term(3), NodeId(2), LogIndex(17)};
  ASSERT_TRUE(wal.SaveHardState(hard_state).ok());
  const WalSnapshot snapshot{LogIndex(5), Term(3), Bytes{1, 2, 3}, Bytes(100, 7)};
  ASSERT_TRUE(wal.SaveSnapshot(snapshot).ok());

  CrashAndReopen();
  ASSERT_TRUE(state_.hard_state.has_value());
  EXPECT_EQ(*state_.hard_state, hard_state);
  ASSERT_TRUE(state_.snapshot.has_value());
  EXPECT_EQ(*state_.snapshot, snapshot);
  EXPECT_EQ(state_.entries, std::vector<WalEntry>(entries.begin() + 5, entries.end()));
  EXPECT_EQ(state_.truncated_tail_bytes, 0u);
  EXPECT_EQ(wal_->last_index(), LogIndex(20));
  EXPECT_EQ(wal_->durable_index(), LogIndex(20));

  // And the reopened log continues where it stopped.
  ASSERT_TRUE(wal_->Append(Entries(21, 22, 4)).ok());
  ASSERT_TRUE(wal_->Sync().ok());
  CrashAndReopen();
  ASSERT_EQ(state_.entries.size(), 17u);
  EXPECT_EQ(state_.entries.back(), Entries(22, 22, 4).front());
}

TEST_F(WalTest, ABatchIsOneDiskAppendAndOneSync) {
  Wal& wal = Open();
  const uint64_t appends = disk_.counters().appends;
  const uint64_t syncs = disk_.counters().syncs;
  ASSERT_TRUE(wal.Append(Entries(1, 100, 1)).ok());
  EXPECT_EQ(disk_.counters().appends, appends + 1);
  EXPECT_EQ(wal.last_index(), LogIndex(100));
  EXPECT_EQ(wal.durable_index(), LogIndex(0)) << "nothing is durable before the sync";
  ASSERT_TRUE(wal.Sync().ok());
  EXPECT_EQ(disk_.counters().syncs, syncs + 1);
  EXPECT_EQ(wal.durable_index(), LogIndex(100));
}

TEST_F(WalTest, UnsyncedEntriesAreNotInventedAfterACrash) {
  disk_.set_faults(sim::DiskFaults{.unsynced_on_crash = sim::DiskFaults::Unsynced::kLose});
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.Append(Entries(4, 9, 1)).ok());
  CrashAndReopen();
  EXPECT_EQ(state_.entries, Entries(1, 3, 1));
}

TEST_F(WalTest, SyncAsyncReportsTheDurableIndexOnCompletion) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  std::vector<std::pair<Status, LogIndex>> completions;
  const auto record = [&completions](Status status, LogIndex durable) {
    completions.emplace_back(status, durable);
  };
  ASSERT_TRUE(wal.SyncAsync(record).ok());
  ASSERT_TRUE(wal.Append(Entries(11, 12, 1)).ok());  // after the sync began: not covered by it
  EXPECT_EQ(wal.durable_index(), LogIndex(0));
  EXPECT_TRUE(completions.empty()) << "the completion never runs inside SyncAsync";
  host_.RunLater();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_TRUE(completions[0].first.ok());
  EXPECT_EQ(completions[0].second, LogIndex(10));
  EXPECT_EQ(wal.durable_index(), LogIndex(10));
}

TEST_F(WalTest, AnOverwriteWhileASyncIsInFlightLowersWhatItCovers) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  LogIndex reported;
  ASSERT_TRUE(wal.SyncAsync([&reported](Status status, LogIndex durable) {
                   EXPECT_TRUE(status.ok());
                   reported = durable;
                 })
                  .ok());
  ASSERT_TRUE(wal.Append(Entries(6, 6, 2)).ok());  // replaces 6..10 before the sync lands
  EXPECT_EQ(wal.last_index(), LogIndex(6));
  host_.RunLater();
  EXPECT_EQ(reported, LogIndex(5)) << "the new entry 6 was written after the sync began";
  ASSERT_TRUE(wal.Sync().ok());
  EXPECT_EQ(wal.durable_index(), LogIndex(6));
}

TEST_F(WalTest, PendingSyncsAreBounded) {
  WalOptions options;
  options.max_pending_syncs = 2;
  Wal& wal = Open(options);
  int completed = 0;
  const auto count = [&completed](Status, LogIndex) { ++completed; };
  ASSERT_TRUE(wal.SyncAsync(count).ok());
  ASSERT_TRUE(wal.SyncAsync(count).ok());
  EXPECT_EQ(wal.SyncAsync(count).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(wal.status().ok()) << "hitting the limit is not fatal";
  host_.RunLater();
  EXPECT_EQ(completed, 2);
  EXPECT_TRUE(wal.SyncAsync(count).ok());
}

TEST_F(WalTest, SegmentsRotateAtTheSizeLimitAndReplayInOrder) {
  WalOptions options;
  options.segment_limit_bytes = 512;
  Wal& wal = Open(options);
  for (uint64_t first = 1; first <= 200; first += 10) {
    ASSERT_TRUE(wal.Append(Entries(first, first + 9, 1)).ok());
    ASSERT_TRUE(wal.Sync().ok());
  }
  EXPECT_GT(wal.segment_count(), 10u);
  const std::vector<std::string> segments = Segments(disk_);
  EXPECT_EQ(segments.size(), wal.segment_count());
  for (const std::string& name : segments) {
    EXPECT_LE(disk_.Read(name)->size(), options.segment_limit_bytes) << name;
  }
  EXPECT_EQ(segments.front(), WalSegmentName(1, LogIndex(1)));
  CrashAndReopen(options);
  EXPECT_EQ(state_.entries, Entries(1, 200, 1));
}

TEST_F(WalTest, AnOverwriteDiscardsTheOldSuffixDurably) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.Append(Entries(5, 6, 2)).ok());
  EXPECT_EQ(wal.last_index(), LogIndex(6));
  EXPECT_EQ(wal.durable_index(), LogIndex(4)) << "the replaced entries may no longer be acknowledged";
  ASSERT_TRUE(wal.Sync().ok());
  CrashAndReopen();
  std::vector<WalEntry> expected = Entries(1, 4, 1);
  for (const WalEntry& entry : Entries(5, 6, 2)) expected.push_back(entry);
  EXPECT_EQ(state_.entries, expected) << Describe(state_.entries);
}

TEST_F(WalTest, AnOverwriteReachingIntoEarlierSegmentsWins) {
  WalOptions options;
  options.segment_limit_bytes = 256;
  Wal& wal = Open(options);
  ASSERT_TRUE(wal.Append(Entries(1, 40, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_GT(wal.segment_count(), 3u);
  ASSERT_TRUE(wal.Append(Entries(3, 4, 2)).ok());  // lands in the last segment
  ASSERT_TRUE(wal.Sync().ok());
  CrashAndReopen(options);
  std::vector<WalEntry> expected = Entries(1, 2, 1);
  for (const WalEntry& entry : Entries(3, 4, 2)) expected.push_back(entry);
  EXPECT_EQ(state_.entries, expected) << Describe(state_.entries);
  EXPECT_EQ(wal_->last_index(), LogIndex(4));
}

TEST_F(WalTest, DiscardAfterIsDurableOnceSynced) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.DiscardAfter(LogIndex(3)).ok());
  EXPECT_EQ(wal.last_index(), LogIndex(3));
  EXPECT_EQ(wal.durable_index(), LogIndex(3));
  ASSERT_TRUE(wal.Sync().ok());
  CrashAndReopen();
  EXPECT_EQ(state_.entries, Entries(1, 3, 1));
}

TEST_F(WalTest, InstallingASnapshotBeyondTheLogDiscardsTheConflictingLog) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  // The node shell's order: discard first, then install, then continue after it.
  ASSERT_TRUE(wal.DiscardAfter(LogIndex(0)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.SaveSnapshot(WalSnapshot{LogIndex(50), Term(4), {}, Bytes{9}}).ok());
  EXPECT_EQ(wal.last_index(), LogIndex(50));
  EXPECT_EQ(wal.durable_index(), LogIndex(50));
  ASSERT_TRUE(wal.Append(Entries(51, 52, 4)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.Compact().ok());
  CrashAndReopen();
  ASSERT_TRUE(state_.snapshot.has_value());
  EXPECT_EQ(state_.snapshot->index, LogIndex(50));
  EXPECT_EQ(state_.entries, Entries(51, 52, 4));
}

TEST_F(WalTest, InvalidAppendsAreRefusedWithoutWriting) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 5, 1)).ok());
  const uint64_t appends = disk_.counters().appends;
  EXPECT_EQ(wal.Append(Entries(7, 8, 1)).code(), StatusCode::kInvalidArgument) << "a gap";
  std::vector<WalEntry> skipping = {Entry(6, 1, "a"), Entry(8, 1, "b")};
  EXPECT_EQ(wal.Append(skipping).code(), StatusCode::kInvalidArgument) << "not consecutive";
  EXPECT_EQ(wal.Append(Entries(0, 0, 1)).code(), StatusCode::kInvalidArgument) << "index 0";
  WalEntry huge = Entry(6, 1, "");
  huge.data.resize(WalOptions{}.max_entry_data_bytes + 1);
  EXPECT_EQ(wal.Append({&huge, 1}).code(), StatusCode::kInvalidArgument) << "too large";
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.SaveSnapshot(WalSnapshot{LogIndex(3), Term(1), {}, {}}).ok());
  const uint64_t appends_after_snapshot = disk_.counters().appends;
  EXPECT_EQ(wal.Append(Entries(3, 3, 2)).code(), StatusCode::kInvalidArgument) << "inside the snapshot";
  EXPECT_EQ(wal.SaveSnapshot(WalSnapshot{LogIndex(2), Term(1), {}, {}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wal.DiscardAfter(LogIndex(2)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(disk_.counters().appends, appends_after_snapshot);
  EXPECT_GT(appends_after_snapshot, appends);  // only the snapshot's temp file was written
  EXPECT_TRUE(wal.status().ok());
  EXPECT_EQ(wal.last_index(), LogIndex(5));
}

TEST_F(WalTest, ATornTailIsTruncatedAndTheTruncationIsDurable) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::string segment = Segments(disk_).back();
  const uint64_t size = disk_.Read(segment)->size();
  // What a crash in the middle of writing the last record leaves: cut it short.
  ASSERT_TRUE(disk_.Truncate(segment, size - 5).ok());
  ASSERT_TRUE(disk_.Sync(segment).ok());
  CrashAndReopen();
  EXPECT_EQ(state_.entries, Entries(1, 2, 1));
  EXPECT_GT(state_.truncated_tail_bytes, 0u);
  CrashAndReopen();
  EXPECT_EQ(state_.entries, Entries(1, 2, 1));
  EXPECT_EQ(state_.truncated_tail_bytes, 0u) << "the truncation was synced";
}

TEST_F(WalTest, ACorruptLastRecordIsATornTail) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::string segment = Segments(disk_).back();
  Bytes content = disk_.Read(segment).value();
  content[content.size() - 2] ^= 0x10;
  PutFile(disk_, segment, content);
  CrashAndReopen();
  EXPECT_EQ(state_.entries, Entries(1, 2, 1));
}

TEST_F(WalTest, TornTailsFromRealCrashesAreAlwaysRecovered) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FakeHost host;
    sim::SimDisk disk(Rng(seed), &host);
    disk.set_faults(sim::DiskFaults{.unsynced_on_crash = sim::DiskFaults::Unsynced::kTear});
    {
      auto opened = Wal::Open(disk);
      ASSERT_TRUE(opened.ok());
      Wal& wal = *opened->wal;
      ASSERT_TRUE(wal.Append(Entries(1, 5, 1)).ok());
      ASSERT_TRUE(wal.Sync().ok());
      ASSERT_TRUE(wal.Append(Entries(6, 30, 1)).ok());
    }
    disk.Crash();
    auto reopened = Wal::Open(disk);
    ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
    const std::vector<WalEntry>& entries = reopened->state.entries;
    ASSERT_GE(entries.size(), 5u);
    EXPECT_EQ(entries, Entries(1, entries.back().index.value(), 1));
  }
}

TEST_F(WalTest, CorruptionBeforeTheTailRefusesToStart) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::string segment = Segments(disk_).back();
  Bytes content = disk_.Read(segment).value();
  content[40] ^= 0x01;  // inside the second record; eight valid records follow
  PutFile(disk_, segment, content);
  const Status status = OpenStatus();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  EXPECT_NE(status.message().find(segment), std::string_view::npos) << status.ToString();
  EXPECT_NE(status.message().find("offset"), std::string_view::npos) << status.ToString();
  EXPECT_EQ(disk_.Read(segment).value(), content) << "refusing must not modify anything";
}

TEST_F(WalTest, ACorruptLengthFieldBeforeTheTailRefusesToStart) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::string segment = Segments(disk_).back();
  Bytes content = disk_.Read(segment).value();
  content[4 + 3] = 0x7f;  // the first record's length now claims far beyond the file
  PutFile(disk_, segment, content);
  EXPECT_EQ(OpenStatus().code(), StatusCode::kDataLoss);
}

TEST_F(WalTest, ADamagedClosedSegmentRefusesToStartEvenAtItsEnd) {
  WalOptions options;
  options.segment_limit_bytes = 256;
  Wal& wal = Open(options);
  ASSERT_TRUE(wal.Append(Entries(1, 30, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::string first = Segments(disk_).front();
  Bytes content = disk_.Read(first).value();
  content.pop_back();  // a short tail is only acceptable in the last segment
  PutFile(disk_, first, content);
  const Status status = OpenStatus(options);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  EXPECT_NE(status.message().find(first), std::string_view::npos) << status.ToString();
}

TEST_F(WalTest, AMissingSegmentRefusesToStart) {
  WalOptions options;
  options.segment_limit_bytes = 256;
  Wal& wal = Open(options);
  ASSERT_TRUE(wal.Append(Entries(1, 30, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const std::vector<std::string> segments = Segments(disk_);
  ASSERT_GT(segments.size(), 3u);
  ASSERT_TRUE(disk_.Remove(segments[1]).ok());
  ASSERT_TRUE(disk_.SyncDirectory().ok());
  const Status status = OpenStatus(options);
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  // Losing the oldest one is a gap in indexes rather than in sequence numbers.
  ASSERT_TRUE(disk_.Remove(segments[0]).ok());
  ASSERT_TRUE(disk_.SyncDirectory().ok());
  const Status gap = OpenStatus(options);
  EXPECT_EQ(gap.code(), StatusCode::kDataLoss) << gap.ToString();
}

TEST_F(WalTest, AnIndexGapInsideASegmentRefusesToStart) {
  // Forge a well-checksummed segment whose entries skip index 3.
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 2, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  wal_.reset();
  const std::string segment = Segments(disk_).back();
  {
    FakeHost host;
    sim::SimDisk scratch(Rng(1), &host);
    auto other = Wal::Open(scratch);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(other->wal->Append(Entries(1, 4, 1)).ok());
    const Bytes forged = scratch.Read(Segments(scratch).back()).value();
    // Keep records 1, 2 and 4 (each is header + 16 + data bytes).
    size_t offsets[5] = {0};
    for (int i = 0; i < 4; ++i) {
      offsets[i + 1] = offsets[i] + 9 + 16 + Entries(i + 1, i + 1, 1)[0].data.size();
    }
    Bytes gapped(forged.begin(), forged.begin() + offsets[2]);
    gapped.insert(gapped.end(), forged.begin() + offsets[3], forged.begin() + offsets[4]);
    PutFile(disk_, segment, gapped);
  }
  const Status status = OpenStatus();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  EXPECT_NE(status.message().find("gap"), std::string_view::npos) << status.ToString();
}

TEST_F(WalTest, ACorruptHardStateOrSnapshotFileRefusesToStart) {
  for (const std::string_view file : {kWalHardStateName, kWalSnapshotName}) {
    SCOPED_TRACE(std::string(file));
    Wal& wal = Open();
    ASSERT_TRUE(wal.SaveHardState(HardState{Term(2), NodeId(1), LogIndex(0)}).ok());
    ASSERT_TRUE(wal.SaveSnapshot(WalSnapshot{LogIndex(1), Term(1), Bytes{1}, Bytes{2}}).ok());
    wal_.reset();
    Bytes content = disk_.Read(file).value();
    content.back() ^= 0x80;
    PutFile(disk_, std::string(file), content);
    const Status status = OpenStatus();
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
    EXPECT_NE(status.message().find(file), std::string_view::npos) << status.ToString();
    content.back() ^= 0x80;
    PutFile(disk_, std::string(file), content);
  }
}

TEST_F(WalTest, ReadCorruptionDuringRecoveryIsReportedNotSwallowed) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    FakeHost host;
    sim::SimDisk disk(Rng(seed), &host);
    {
      auto opened = Wal::Open(disk);
      ASSERT_TRUE(opened.ok());
      ASSERT_TRUE(opened->wal->Append(Entries(1, 3 + seed % 5, 1)).ok());
      ASSERT_TRUE(opened->wal->Sync().ok());
      if (seed % 2 == 0) {
        ASSERT_TRUE(opened->wal->SaveHardState(HardState{Term(1), NodeId(1), LogIndex(1)}).ok());
      }
    }
    sim::DiskFaults faults;
    faults.read_corruption_probability = 1;
    disk.set_faults(faults);
    auto corrupted = Wal::Open(disk);
    ASSERT_FALSE(corrupted.ok()) << "every read flips a bit: recovery must notice";
    EXPECT_EQ(corrupted.status().code(), StatusCode::kDataLoss) << corrupted.status().ToString();
    // Nothing was "repaired": with honest reads the log is intact.
    disk.set_faults(sim::DiskFaults{});
    auto honest = Wal::Open(disk);
    ASSERT_TRUE(honest.ok()) << honest.status().ToString();
    EXPECT_EQ(honest->state.entries, Entries(1, 3 + seed % 5, 1));
  }
}

TEST_F(WalTest, AFailedFsyncFailsTheWalForGood) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  ASSERT_TRUE(wal.Append(Entries(4, 5, 1)).ok());
  sim::DiskFaults faults;
  faults.sync_error_probability = 1;
  disk_.set_faults(faults);
  const Status failed = wal.Sync();
  EXPECT_EQ(failed.code(), StatusCode::kDataLoss) << failed.ToString();
  EXPECT_EQ(wal.durable_index(), LogIndex(3));
  disk_.set_faults(sim::DiskFaults{});
  // Sticky: even with a healthy disk, every call now returns the error (never retry fsync).
  EXPECT_EQ(wal.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.Sync().code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.Append(Entries(6, 6, 1)).code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.SaveHardState(HardState{}).code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.SaveSnapshot(WalSnapshot{LogIndex(1), Term(1), {}, {}}).code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.SyncAsync([](Status, LogIndex) { FAIL() << "must not be called"; }).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(wal.Compact().code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.durable_index(), LogIndex(3));
  // The node crashes and recovers: the acknowledged prefix is there.
  CrashAndReopen();
  ASSERT_GE(state_.entries.size(), 3u);
  EXPECT_EQ(std::vector<WalEntry>(state_.entries.begin(), state_.entries.begin() + 3), Entries(1, 3, 1));
}

TEST_F(WalTest, AFailedAsyncFsyncFailsTheWal) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  sim::DiskFaults faults;
  faults.sync_error_probability = 1;
  disk_.set_faults(faults);
  std::optional<Status> outcome;
  ASSERT_TRUE(wal.SyncAsync([&outcome](Status status, LogIndex durable) {
                   outcome = status;
                   EXPECT_EQ(durable, LogIndex(0));
                 })
                  .ok());
  host_.RunLater();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->code(), StatusCode::kDataLoss);
  EXPECT_EQ(wal.Append(Entries(4, 4, 1)).code(), StatusCode::kDataLoss);
}

TEST_F(WalTest, ACompletionAfterTheWalIsGoneIsDropped) {
  Wal& wal = Open();
  ASSERT_TRUE(wal.Append(Entries(1, 3, 1)).ok());
  bool called = false;
  ASSERT_TRUE(wal.SyncAsync([&called](Status, LogIndex) { called = true; }).ok());
  wal_.reset();
  host_.RunLater();
  EXPECT_FALSE(called);
}

TEST_F(WalTest, CompactionDropsSegmentsCoveredByTheSnapshot) {
  WalOptions options;
  options.segment_limit_bytes = 256;
  Wal& wal = Open(options);
  ASSERT_TRUE(wal.Append(Entries(1, 60, 1)).ok());
  ASSERT_TRUE(wal.Sync().ok());
  const size_t before = wal.segment_count();
  ASSERT_GT(before, 5u);
  ASSERT_TRUE(wal.Compact().ok());
  EXPECT_EQ(wal.segment_count(), before) << "nothing is covered without a snapshot";
  ASSERT_TRUE(wal.SaveSnapshot(WalSnapshot{LogIndex(40), Term(1), {}, Bytes{4, 0}}).ok());
  ASSERT_TRUE(wal.Compact().ok());
  EXPECT_LT(wal.segment_count(), before);
  EXPECT_EQ(Segments(disk_).size(), wal.segment_count());
  CrashAndReopen(options);
  EXPECT_EQ(state_.entries, Entries(41, 60, 1));
  // A snapshot covering everything leaves only the active segment... plus the new one.
  ASSERT_TRUE(wal_->SaveSnapshot(WalSnapshot{LogIndex(60), Term(1), {}, {}}).ok());
  ASSERT_TRUE(wal_->Compact().ok());
  EXPECT_EQ(wal_->segment_count(), 1u);
  CrashAndReopen(options);
  EXPECT_TRUE(state_.entries.empty());
  EXPECT_EQ(wal_->last_index(), LogIndex(60));
}

TEST_F(WalTest, FilesOfOtherModulesAreLeftAloneAndStrayTempsRemoved) {
  ASSERT_TRUE(disk_.Append("store-data", AsBytes("x")).ok());
  ASSERT_TRUE(disk_.Append("wal-hard-state.tmp", AsBytes("half written")).ok());
  ASSERT_TRUE(disk_.SyncDirectory().ok());
  Open();
  const std::vector<std::string> names = disk_.List().value();
  EXPECT_TRUE(std::find(names.begin(), names.end(), "store-data") != names.end());
  EXPECT_TRUE(std::find(names.begin(), names.end(), "wal-hard-state.tmp") == names.end());
  EXPECT_FALSE(state_.hard_state.has_value());
}

// --- Crash after every Disk call ----------------------------------------------------

// Runs `setup` on a healthy disk, then `operation` with a budget of k calls for k = 0,
// 1, ... until the operation completes; after each attempt the machine crashes and the
// recovered state must satisfy `check(completed, state)`.
template <typename Setup, typename Operation, typename Check>
void CrashAtEveryStep(uint64_t seed, const WalOptions& options, Setup setup, Operation operation,
                      Check check) {
  for (uint64_t budget = 0;; ++budget) {
    SCOPED_TRACE("crash after " + std::to_string(budget) + " disk calls, seed " + std::to_string(seed));
    FakeHost host;
    sim::SimDisk disk(Rng(seed + budget), &host);
    CrashingDisk crashing(&disk);
    bool completed = false;
    {
      auto opened = Wal::Open(crashing, options);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      setup(*opened->wal);
      crashing.set_budget(budget);
      completed = operation(*opened->wal).ok();
    }
    crashing.set_budget(std::nullopt);
    disk.Crash();
    auto recovered = Wal::Open(disk, options);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    check(completed, recovered->state);
    if (completed) return;
    ASSERT_LT(budget, 100u) << "the operation never completes";
  }
}

TEST(WalCrashTest, HardStateIsAtomicUnderACrashAtEveryStep) {
  const HardState old_state{Term(4), NodeId(1), LogIndex(2)};
  const HardState new_state{Term(5), NodeId(3), LogIndex(9)};
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CrashAtEveryStep(
        seed, WalOptions{}, [&](Wal& wal) { ASSERT_TRUE(wal.SaveHardState(old_state).ok()); },
        [&](Wal& wal) { return wal.SaveHardState(new_state); },
        [&](bool completed, const RecoveredState& state) {
          ASSERT_TRUE(state.hard_state.has_value());
          if (completed) {
            EXPECT_EQ(*state.hard_state, new_state);
          } else {
            EXPECT_TRUE(*state.hard_state == old_state || *state.hard_state == new_state);
          }
        });
  }
}

TEST(WalCrashTest, SnapshotIsAtomicAndCompactionSafeUnderACrashAtEveryStep) {
  WalOptions options;
  options.segment_limit_bytes = 200;
  const WalSnapshot old_snapshot{LogIndex(5), Term(1), Bytes{1}, Bytes(300, 1)};
  const WalSnapshot new_snapshot{LogIndex(25), Term(1), Bytes{2}, Bytes(500, 2)};
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    CrashAtEveryStep(
        seed, options,
        [&](Wal& wal) {
          ASSERT_TRUE(wal.Append(Entries(1, 30, 1)).ok());
          ASSERT_TRUE(wal.Sync().ok());
          ASSERT_TRUE(wal.SaveSnapshot(old_snapshot).ok());
        },
        [&](Wal& wal) {
          MURPHY_RETURN_IF_ERROR(wal.SaveSnapshot(new_snapshot));
          return wal.Compact();
        },
        [&](bool completed, const RecoveredState& state) {
          ASSERT_TRUE(state.snapshot.has_value());
          const bool is_new = *state.snapshot == new_snapshot;
          EXPECT_TRUE(is_new || *state.snapshot == old_snapshot);
          if (completed) {
            EXPECT_TRUE(is_new);
          }
          const uint64_t first = state.snapshot->index.value() + 1;
          EXPECT_EQ(state.entries, Entries(first, 30, 1)) << Describe(state.entries);
        });
  }
}

TEST(WalCrashTest, AppendAndSyncUnderACrashAtEveryStepKeepAPrefix) {
  WalOptions options;
  options.segment_limit_bytes = 300;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    CrashAtEveryStep(
        seed, options,
        [&](Wal& wal) {
          ASSERT_TRUE(wal.Append(Entries(1, 10, 1)).ok());
          ASSERT_TRUE(wal.Sync().ok());
        },
        [&](Wal& wal) {
          MURPHY_RETURN_IF_ERROR(wal.Append(Entries(8, 40, 2)));  // an overwrite spanning rotations
          return wal.Sync();
        },
        [&](bool completed, const RecoveredState& state) {
          std::vector<WalEntry> full = Entries(1, 7, 1);
          for (const WalEntry& entry : Entries(8, 40, 2)) full.push_back(entry);
          if (completed) {
            EXPECT_EQ(state.entries, full);
            return;
          }
          // Either the old log, or the new one cut after some record.
          const bool old_log = state.entries == Entries(1, 10, 1);
          const bool new_prefix = state.entries.size() >= 7 && state.entries.size() <= full.size() &&
                                  std::equal(state.entries.begin(), state.entries.end(), full.begin());
          EXPECT_TRUE(old_log || new_prefix) << Describe(state.entries);
        });
  }
}

TEST(WalCrashTest, RecoveryItselfSurvivesACrashAtEveryStep) {
  // A torn tail and a stray temp make recovery write; crash it anywhere and recover again.
  for (uint64_t budget = 0; budget < 40; ++budget) {
    SCOPED_TRACE("crash after " + std::to_string(budget) + " disk calls");
    FakeHost host;
    sim::SimDisk disk(Rng(budget), &host);
    {
      auto opened = Wal::Open(disk);
      ASSERT_TRUE(opened.ok());
      ASSERT_TRUE(opened->wal->Append(Entries(1, 6, 1)).ok());
      ASSERT_TRUE(opened->wal->Sync().ok());
    }
    const std::string segment = Segments(disk).back();
    ASSERT_TRUE(disk.Truncate(segment, disk.Read(segment)->size() - 3).ok());
    ASSERT_TRUE(disk.Sync(segment).ok());
    ASSERT_TRUE(disk.Append("wal-snapshot.tmp", AsBytes("junk")).ok());
    ASSERT_TRUE(disk.SyncDirectory().ok());
    CrashingDisk crashing(&disk);
    crashing.set_budget(budget);
    const bool completed = Wal::Open(crashing).ok();
    disk.Crash();
    auto recovered = Wal::Open(disk);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    EXPECT_EQ(recovered->state.entries, Entries(1, 5, 1));
    if (completed) break;
  }
}

// --- The randomized property loop ---------------------------------------------------

// Everything acknowledged as durable is recovered exactly; nothing unsynced is
// invented (the recovered log is one the caller actually had at some moment, record by
// record); the recovered log is consecutive after the snapshot.
class RandomizedRun {
 public:
  explicit RandomizedRun(uint64_t seed)
      : rng_(seed * 0x9E3779B97F4A7C15ULL + 1), disk_(Rng(seed), &host_), wal_disk_(&disk_) {
    options_.segment_limit_bytes = 128 + rng_.Uniform(512);
    options_.max_entry_data_bytes = 64;
  }

  void Run() {
    Recover();
    for (int step = 0; step < 120 && !::testing::Test::HasFatalFailure(); ++step) Step();
    if (!::testing::Test::HasFatalFailure()) CrashAndCheck();
  }

  uint64_t crashes() const { return crashes_; }

 private:
  void Recover() {
    auto opened = Wal::Open(wal_disk_, options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    wal_ = std::move(opened->wal);
    RecoveredState& state = opened->state;
    hard_state_candidates_ = {state.hard_state};
    snapshot_candidates_ = {state.snapshot};
    log_ = state.entries;
    history_ = {log_};
    const LogIndex snapshot_index = state.snapshot ? state.snapshot->index : LogIndex(0);
    ASSERT_EQ(wal_->snapshot_index(), snapshot_index);
    ASSERT_EQ(wal_->last_index(), log_.empty() ? snapshot_index : log_.back().index);
    ASSERT_EQ(wal_->durable_index(), wal_->last_index());
  }

  static std::vector<WalEntry> After(const std::vector<WalEntry>& log, LogIndex index) {
    std::vector<WalEntry> kept;
    for (const WalEntry& entry : log) {
      if (entry.index > index) kept.push_back(entry);
    }
    return kept;
  }

  void CrashAndCheck() {
    ++crashes_;
    const LogIndex durable = wal_->durable_index();
    const std::vector<WalEntry> log_at_crash = log_;
    const auto hard_states = hard_state_candidates_;
    const auto snapshots = snapshot_candidates_;
    const auto history = history_;
    wal_.reset();
    host_.later.clear();  // the process died: pending completions never run
    disk_.set_faults(sim::DiskFaults{});
    disk_.Crash();
    auto opened = Wal::Open(wal_disk_, options_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    const RecoveredState& state = opened->state;
    EXPECT_TRUE(std::find(hard_states.begin(), hard_states.end(), state.hard_state) != hard_states.end());
    ASSERT_TRUE(std::find(snapshots.begin(), snapshots.end(), state.snapshot) != snapshots.end());
    const LogIndex snapshot_index = state.snapshot ? state.snapshot->index : LogIndex(0);
    // Consecutive after the snapshot.
    for (size_t i = 0; i < state.entries.size(); ++i) {
      ASSERT_EQ(state.entries[i].index, LogIndex(snapshot_index.value() + 1 + i));
    }
    // Acknowledged means recovered exactly.
    for (const WalEntry& entry : After(log_at_crash, snapshot_index)) {
      if (entry.index > durable) break;
      const uint64_t position = entry.index.value() - snapshot_index.value() - 1;
      ASSERT_LT(position, state.entries.size()) << "acknowledged entry " << ToString(entry.index) << " lost";
      ASSERT_EQ(state.entries[position], entry)
          << "acknowledged entry " << ToString(entry.index) << " changed";
    }
    // Nothing invented: the log is one the caller had.
    bool seen = false;
    for (const std::vector<WalEntry>& past : history) {
      if (After(past, snapshot_index) == state.entries) {
        seen = true;
        break;
      }
    }
    ASSERT_TRUE(seen) << "recovered a log that never existed: " << Describe(state.entries);
    opened->wal.reset();
    Recover();
  }

  // The model of the log: the same rule the WAL documents.
  void ApplyToModel(const WalEntry& entry) {
    while (!log_.empty() && log_.back().index >= entry.index) log_.pop_back();
    if (!log_.empty() && log_.back().index.next() != entry.index) log_.clear();
    log_.push_back(entry);
    history_.push_back(log_);
  }

  Term TermAt(LogIndex index) const {
    for (const WalEntry& entry : log_) {
      if (entry.index == index) return entry.term;
    }
    return Term(term_);
  }

  void Step() {
    const bool faulty = rng_.Bernoulli(0.03);
    if (faulty) {
      sim::DiskFaults faults;
      faults.sync_error_probability = 1;
      disk_.set_faults(faults);
    }
    Status status;
    const std::vector<WalEntry> log_before = log_;
    const uint64_t choice = rng_.Uniform(100);
    const LogIndex last = wal_->last_index();
    const LogIndex snapshot = wal_->snapshot_index();
    if (choice < 45) {
      // Mostly extend; sometimes overwrite a suffix (a new leader's entries).
      LogIndex first = last.next();
      if (rng_.Bernoulli(0.2) && last > snapshot) {
        first = LogIndex(snapshot.value() + 1 + rng_.Uniform(last.value() - snapshot.value()));
        ++term_;
      }
      std::vector<WalEntry> batch;
      const uint64_t count = 1 + rng_.Uniform(6);
      for (uint64_t i = 0; i < count; ++i) {
        Bytes data(rng_.Uniform(options_.max_entry_data_bytes + 1));
        for (uint8_t& byte : data) byte = static_cast<uint8_t>(rng_.NextU64());
        batch.push_back(WalEntry{LogIndex(first.value() + i), Term(term_), std::move(data)});
      }
      for (const WalEntry& entry : batch) ApplyToModel(entry);
      status = wal_->Append(batch);
    } else if (choice < 50) {
      const LogIndex keep = LogIndex(snapshot.value() + rng_.Uniform(last.value() - snapshot.value() + 1));
      while (!log_.empty() && log_.back().index > keep) log_.pop_back();
      history_.push_back(log_);
      status = wal_->DiscardAfter(keep);
    } else if (choice < 65) {
      status = wal_->Sync();
    } else if (choice < 75) {
      status = wal_->SyncAsync([](Status, LogIndex) {});
      if (status.ok() && rng_.Bernoulli(0.7)) host_.RunLater();
    } else if (choice < 80) {
      const HardState next{Term(term_), NodeId(static_cast<uint32_t>(rng_.Uniform(4))),
                           wal_->durable_index()};
      hard_state_candidates_.push_back(next);
      status = wal_->SaveHardState(next);
      if (status.ok()) hard_state_candidates_ = {next};
    } else if (choice < 86) {
      // A snapshot of applied (hence durable) entries, or, rarely, one installed from a
      // leader beyond the end of the log after discarding the log.
      std::optional<WalSnapshot> next;
      if (rng_.Bernoulli(0.15)) {
        status = wal_->DiscardAfter(snapshot);
        while (!log_.empty() && log_.back().index > snapshot) log_.pop_back();
        history_.push_back(log_);
        if (status.ok()) status = wal_->Sync();
        const LogIndex index(last.value() + 1 + rng_.Uniform(5));
        next = WalSnapshot{index, Term(term_), Bytes{1}, Bytes(rng_.Uniform(50), 3)};
      } else if (wal_->durable_index() > LogIndex(0) && wal_->durable_index() >= snapshot) {
        const uint64_t low = std::max<uint64_t>(snapshot.value(), 1);
        const LogIndex index(low + rng_.Uniform(wal_->durable_index().value() - low + 1));
        next = WalSnapshot{index, TermAt(index), Bytes{2}, Bytes(rng_.Uniform(50), 4)};
      }
      if (next && status.ok()) {
        snapshot_candidates_.push_back(next);
        status = wal_->SaveSnapshot(*next);
        if (status.ok()) snapshot_candidates_ = {next};
      }
    } else if (choice < 92) {
      status = wal_->Compact();
    } else {
      if (faulty) disk_.set_faults(sim::DiskFaults{});
      CrashAndCheck();
      return;
    }
    if (faulty) disk_.set_faults(sim::DiskFaults{});
    if (!status.ok()) {
      // Every error here is fatal by construction (the model only makes valid calls):
      // the node must crash. What the failed call wrote may or may not survive (its
      // states are in the history), but the caller's view is the log before it.
      ASSERT_FALSE(wal_->status().ok()) << status.ToString();
      log_ = log_before;
      CrashAndCheck();
    }
  }

  Rng rng_;
  FakeHost host_;
  sim::SimDisk disk_;
  CrashingDisk wal_disk_;
  WalOptions options_;
  std::unique_ptr<Wal> wal_;
  std::vector<WalEntry> log_;
  std::vector<std::vector<WalEntry>> history_;
  std::vector<std::optional<HardState>> hard_state_candidates_;
  std::vector<std::optional<WalSnapshot>> snapshot_candidates_;
  uint64_t term_ = 1;
  uint64_t crashes_ = 0;
};

TEST(WalRandomizedTest, AcknowledgedIsRecoveredAndNothingIsInvented) {
  constexpr uint64_t kSeeds = 250;
  uint64_t crashes = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed) + " (rerun with this seed to reproduce)");
    RandomizedRun run(seed);
    run.Run();
    crashes += run.crashes();
    if (::testing::Test::HasFailure()) {
      std::printf("WalRandomizedTest failed at seed %llu\n", static_cast<unsigned long long>(seed));
      return;
    }
  }
  std::printf("WalRandomizedTest: %llu seeds, %llu crash-recoveries checked\n",
              static_cast<unsigned long long>(kSeeds), static_cast<unsigned long long>(crashes));
  EXPECT_GT(crashes, kSeeds);
}

}  // namespace
}  // namespace murphy
