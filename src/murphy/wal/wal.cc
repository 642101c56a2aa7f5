#include "murphy/wal/wal.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "murphy/core/assert.h"
#include "murphy/wal/record.h"

namespace murphy {
namespace {

using wal::RecordType;

constexpr std::string_view kWalPrefix = "wal-";
constexpr std::string_view kSegmentSuffix = ".log";
constexpr std::string_view kTemporarySuffix = ".tmp";
constexpr size_t kSequenceDigits = 10;
constexpr size_t kIndexDigits = 20;
constexpr uint64_t kMaxSequence = 9'999'999'999;
constexpr uint64_t kEntryHeaderBytes = 16;          // index u64 + term u64
constexpr uint64_t kDiscardPayloadBytes = 8;        // index u64
constexpr uint64_t kHardStatePayloadBytes = 20;     // term u64 + vote u32 + commit u64
constexpr uint64_t kSnapshotHeaderBytes = 16 + 10;  // index, term, membership length varint

std::string Padded(uint64_t value, size_t digits) {
  std::string text = std::to_string(value);
  if (text.size() < digits) text.insert(0, digits - text.size(), '0');
  return text;
}

bool ParseDigits(std::string_view text, uint64_t* value) {
  for (const char digit : text) {
    if (digit < '0' || digit > '9') return false;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *value);
  return error == std::errc() && end == text.data() + text.size();
}

// "wal-<10 digits>-<20 digits>.log" → the sequence number.
bool ParseSegmentName(std::string_view name, uint64_t* sequence) {
  constexpr size_t kLength = kWalPrefix.size() + kSequenceDigits + 1 + kIndexDigits + kSegmentSuffix.size();
  if (name.size() != kLength || !name.starts_with(kWalPrefix) || !name.ends_with(kSegmentSuffix))
    return false;
  name.remove_prefix(kWalPrefix.size());
  if (name[kSequenceDigits] != '-') return false;
  uint64_t first_index = 0;
  return ParseDigits(name.substr(0, kSequenceDigits), sequence) &&
         ParseDigits(name.substr(kSequenceDigits + 1, kIndexDigits), &first_index);
}

Status WithContext(const Status& status, std::string_view what) {
  if (status.ok()) return status;
  return Status(status.code(), "wal: " + std::string(what) + ": " + std::string(status.message()));
}

Status Corrupt(std::string_view file, uint64_t offset, std::string_view what) {
  return DataLossError("wal: " + std::string(file) + " at offset " + std::to_string(offset) + ": " +
                       std::string(what));
}

Result<Bytes> ReadFile(Disk& disk, std::string_view name) {
  Result<Bytes> content = disk.Read(name);
  if (!content.ok()) return WithContext(content.status(), "reading " + std::string(name));
  return content;
}

void EncodeEntry(const WalEntry& entry, ByteWriter* writer) {
  const size_t start = wal::BeginRecord(*writer, RecordType::kEntry);
  writer->PutU64(entry.index.value());
  writer->PutU64(entry.term.value());
  writer->PutRaw(entry.data);
  wal::FinishRecord(*writer, start);
}

bool DecodeEntry(std::span<const uint8_t> payload, WalEntry* entry) {
  ByteReader reader(payload);
  uint64_t index = 0;
  uint64_t term = 0;
  if (!reader.GetU64(&index) || !reader.GetU64(&term)) return false;
  const std::span<const uint8_t> data = reader.rest();
  entry->index = LogIndex(index);
  entry->term = Term(term);
  entry->data.assign(data.begin(), data.end());
  return true;
}

bool DecodeIndexOnly(std::span<const uint8_t> payload, LogIndex* index) {
  ByteReader reader(payload);
  uint64_t value = 0;
  if (!reader.GetU64(&value) || !reader.at_end()) return false;
  *index = LogIndex(value);
  return true;
}

// The offset of the first record at or after `from` whose CRC checks, if any.
std::optional<size_t> FindValidRecord(std::span<const uint8_t> bytes, size_t from,
                                      uint64_t max_payload_bytes) {
  for (size_t offset = from; offset < bytes.size(); ++offset) {
    if (wal::ParseRecord(bytes.subspan(offset), max_payload_bytes).check == wal::RecordCheck::kOk)
      return offset;
  }
  return std::nullopt;
}

}  // namespace

std::string WalSegmentName(uint64_t sequence, LogIndex first_index) {
  MURPHY_ASSERT(sequence <= kMaxSequence);
  return std::string(kWalPrefix) + Padded(sequence, kSequenceDigits) + "-" +
         Padded(first_index.value(), kIndexDigits) + std::string(kSegmentSuffix);
}

// Replay state while recovering: the live log as the records so far define it.
struct Wal::RecoveryScan {
  LogIndex last;                  // index of the last live entry (0: none)
  std::vector<WalEntry> entries;  // live entries, consecutive; back().index == last
};

Wal::Wal(Disk& disk, const WalOptions& options) : disk_(disk), options_(options) {}

Wal::~Wal() = default;

Result<Wal::Opened> Wal::Open(Disk& disk, const WalOptions& options) {
  if (options.segment_limit_bytes == 0 || options.max_entry_data_bytes == 0 || options.max_batch_bytes == 0 ||
      options.max_snapshot_bytes == 0 || options.max_segments < 2 || options.max_pending_syncs == 0) {
    return InvalidArgumentError("wal: every limit must be positive and max_segments at least 2");
  }
  if (options.max_entry_data_bytes > UINT32_MAX - kEntryHeaderBytes ||
      options.max_snapshot_bytes > UINT32_MAX - kSnapshotHeaderBytes) {
    return InvalidArgumentError("wal: a record payload must fit the 32-bit length field");
  }
  std::unique_ptr<Wal> wal(new Wal(disk, options));
  Opened opened;
  MURPHY_RETURN_IF_ERROR(wal->Recover(&opened.state));
  opened.wal = std::move(wal);
  return Result<Opened>(std::move(opened));
}

Status Wal::Recover(RecoveredState* state) {
  MURPHY_ASSIGN_OR_RETURN(const std::vector<std::string> names, disk_.List());
  std::vector<std::pair<uint64_t, std::string>> found;  // (sequence, name)
  for (const std::string& name : names) {
    if (!name.starts_with(kWalPrefix)) continue;  // another module's file
    if (name.ends_with(kTemporarySuffix)) {
      // An interrupted atomic replacement: the real file still holds the old state.
      MURPHY_RETURN_IF_ERROR(WithContext(disk_.Remove(name), "removing " + name));
      directory_dirty_ = true;
      continue;
    }
    if (name == kWalHardStateName || name == kWalSnapshotName) continue;
    uint64_t sequence = 0;
    if (!ParseSegmentName(name, &sequence)) return DataLossError("wal: unrecognised file " + name);
    found.emplace_back(sequence, name);
  }
  std::sort(found.begin(), found.end());
  if (found.size() > options_.max_segments) {
    return ResourceExhaustedError("wal: " + std::to_string(found.size()) + " segments exceed the limit of " +
                                  std::to_string(options_.max_segments));
  }
  for (size_t i = 1; i < found.size(); ++i) {
    if (found[i].first != found[i - 1].first + 1) {
      return DataLossError("wal: segment sequence " + std::to_string(found[i - 1].first + 1) +
                           " is missing between " + found[i - 1].second + " and " + found[i].second);
    }
  }

  Bytes payload;
  bool exists = false;
  MURPHY_RETURN_IF_ERROR(LoadSingleRecordFile(kWalHardStateName, static_cast<uint8_t>(RecordType::kHardState),
                                              kHardStatePayloadBytes, &payload, &exists));
  if (exists) {
    ByteReader reader(payload);
    uint64_t term = 0;
    uint32_t vote = 0;
    uint64_t commit = 0;
    if (!reader.GetU64(&term) || !reader.GetU32(&vote) || !reader.GetU64(&commit) || !reader.at_end()) {
      return Corrupt(kWalHardStateName, wal::kRecordHeaderBytes, "malformed hard state");
    }
    state->hard_state = HardState{Term(term), NodeId(vote), LogIndex(commit)};
  }
  MURPHY_RETURN_IF_ERROR(LoadSingleRecordFile(kWalSnapshotName, static_cast<uint8_t>(RecordType::kSnapshot),
                                              kSnapshotHeaderBytes + options_.max_snapshot_bytes, &payload,
                                              &exists));
  if (exists) {
    ByteReader reader(payload);
    uint64_t index = 0;
    uint64_t term = 0;
    std::span<const uint8_t> membership;
    if (!reader.GetU64(&index) || !reader.GetU64(&term) ||
        !reader.GetLengthPrefixed(options_.max_snapshot_bytes, &membership) || index == 0 ||
        membership.size() + reader.remaining() > options_.max_snapshot_bytes) {
      return Corrupt(kWalSnapshotName, wal::kRecordHeaderBytes, "malformed snapshot");
    }
    const std::span<const uint8_t> data = reader.rest();
    state->snapshot = WalSnapshot{LogIndex(index), Term(term), Bytes(membership.begin(), membership.end()),
                                  Bytes(data.begin(), data.end())};
    snapshot_index_ = LogIndex(index);
  }

  RecoveryScan scan;
  for (size_t i = 0; i < found.size(); ++i) {
    MURPHY_RETURN_IF_ERROR(
        ReplaySegment(found[i].first, found[i].second, i + 1 == found.size(), &scan, state));
  }

  // Keep what lies after the snapshot; pair the result with the replay invariants.
  std::vector<WalEntry>& entries = scan.entries;
  const auto covered = std::find_if(entries.begin(), entries.end(),
                                    [this](const WalEntry& entry) { return entry.index > snapshot_index_; });
  entries.erase(entries.begin(), covered);
  for (size_t i = 0; i < entries.size(); ++i) {
    MURPHY_ASSERT(entries[i].index == LogIndex(snapshot_index_.value() + 1 + i));
  }
  MURPHY_ASSERT(entries.empty() || entries.back().index == scan.last);
  state->entries = std::move(entries);
  last_entry_index_ = scan.last;
  durable_entry_index_ = scan.last;  // the last segment was synced during replay

  uint64_t sequence = 1;
  if (!segments_.empty()) {
    sequence = segments_.back().sequence + 1;
  } else if (!found.empty()) {
    sequence = found.front().first;  // the only segment was empty and is gone
  }
  if (sequence > kMaxSequence) return ResourceExhaustedError("wal: segment sequence numbers exhausted");
  MURPHY_RETURN_IF_ERROR(StartSegment(sequence, last_index().next()));
  // Removals, the new segment and any rename an earlier process did not make durable.
  MURPHY_RETURN_IF_ERROR(WithContext(disk_.SyncDirectory(), "syncing the directory"));
  directory_dirty_ = false;
  return Status::Ok();
}

Status Wal::LoadSingleRecordFile(std::string_view name, uint8_t type, uint64_t max_payload_bytes,
                                 Bytes* payload, bool* found) {
  Result<Bytes> content = disk_.Read(name);
  if (!content.ok() && content.status().code() == StatusCode::kNotFound) {
    *found = false;
    return Status::Ok();
  }
  if (!content.ok()) return WithContext(content.status(), "reading " + std::string(name));
  *found = true;
  // Written by temp + sync + rename, the file is never torn: any defect is corruption.
  const wal::ParsedRecord record = wal::ParseRecord(*content, max_payload_bytes);
  if (record.check != wal::RecordCheck::kOk) return Corrupt(name, 0, wal::RecordCheckName(record.check));
  if (record.type != type) return Corrupt(name, 0, "unexpected record type " + std::to_string(record.type));
  if (record.size_bytes != content->size()) return Corrupt(name, record.size_bytes, "trailing bytes");
  payload->assign(record.payload.begin(), record.payload.end());
  return Status::Ok();
}

Status Wal::ReplaySegment(uint64_t sequence, const std::string& name, bool last, RecoveryScan* scan,
                          RecoveredState* state) {
  MURPHY_ASSIGN_OR_RETURN(const Bytes content, ReadFile(disk_, name));
  const std::span<const uint8_t> bytes(content);
  if (!last && bytes.empty()) return Corrupt(name, 0, "empty closed segment");
  const uint64_t max_payload_bytes =
      std::max(kEntryHeaderBytes + options_.max_entry_data_bytes, kDiscardPayloadBytes);
  Segment segment{sequence, name, 0, LogIndex(0)};
  size_t offset = 0;
  while (offset < bytes.size()) {
    const wal::ParsedRecord record = wal::ParseRecord(bytes.subspan(offset), max_payload_bytes);
    if (record.check != wal::RecordCheck::kOk) {
      if (!last) {
        return Corrupt(name, offset,
                       std::string(wal::RecordCheckName(record.check)) +
                           " in a closed segment (closed segments are synced before the next begins)");
      }
      if (const std::optional<size_t> next = FindValidRecord(bytes, offset + 1, max_payload_bytes)) {
        return Corrupt(name, offset,
                       std::string(wal::RecordCheckName(record.check)) +
                           " followed by a valid record at offset " + std::to_string(*next) +
                           ": corruption before the tail, refusing to drop entries");
      }
      break;  // a torn tail: handled below
    }
    const std::span<const uint8_t> payload = record.payload;
    if (record.type == static_cast<uint8_t>(RecordType::kEntry)) {
      WalEntry entry;
      if (!DecodeEntry(payload, &entry)) return Corrupt(name, offset, "malformed entry record");
      const LogIndex limit = std::max(scan->last, snapshot_index_).next();
      if (entry.index == LogIndex(0) || entry.index > limit) {
        return Corrupt(name, offset,
                       "entry " + ToString(entry.index) + " leaves a gap after index " +
                           ToString(scan->last) + " (snapshot index " + ToString(snapshot_index_) + ")");
      }
      // The later record wins: drop the suffix it replaces.
      std::vector<WalEntry>& entries = scan->entries;
      while (!entries.empty() && entries.back().index >= entry.index) entries.pop_back();
      if (!entries.empty() && entries.back().index.next() != entry.index) {
        // Only possible when the entry follows the snapshot and everything kept lies
        // inside it (see the replay rule).
        MURPHY_ASSERT(entries.back().index < snapshot_index_);
        entries.clear();
      }
      segment.max_entry_index = std::max(segment.max_entry_index, entry.index);
      scan->last = entry.index;
      entries.push_back(std::move(entry));
    } else if (record.type == static_cast<uint8_t>(RecordType::kDiscardAfter)) {
      LogIndex index;
      if (!DecodeIndexOnly(payload, &index)) return Corrupt(name, offset, "malformed discard record");
      while (!scan->entries.empty() && scan->entries.back().index > index) scan->entries.pop_back();
      scan->last = std::min(scan->last, index);
    } else {
      return Corrupt(name, offset,
                     "record type " + std::to_string(record.type) + " does not belong in a segment");
    }
    MURPHY_ASSERT(scan->entries.empty() || scan->entries.back().index == scan->last);
    offset += record.size_bytes;
  }
  MURPHY_ASSERT(offset <= bytes.size());
  segment.size_bytes = offset;
  if (!last) {
    segments_.push_back(std::move(segment));
    return Status::Ok();
  }

  if (offset < bytes.size()) {
    // Before destroying bytes on the strength of one read, make sure the disk says the
    // same thing twice: a transient read error must be reported, not "repaired".
    MURPHY_ASSIGN_OR_RETURN(const Bytes again, ReadFile(disk_, name));
    if (again != content) {
      return DataLossError("wal: " + name + ": two reads returned different bytes; refusing to truncate");
    }
    state->truncated_tail_bytes += bytes.size() - offset;
  }
  if (offset == 0) {
    // Nothing valid: an empty or wholly torn segment. Remove it so that no empty
    // segment is ever followed by another.
    MURPHY_RETURN_IF_ERROR(WithContext(disk_.Remove(name), "removing " + name));
    directory_dirty_ = true;
    return Status::Ok();
  }
  if (offset < bytes.size()) {
    MURPHY_RETURN_IF_ERROR(WithContext(disk_.Truncate(name, offset), "truncating the torn tail of " + name));
  }
  // Sync even a clean segment: after a process (not machine) crash, what we just read
  // may still be only in the page cache, and we are about to build on it.
  MURPHY_RETURN_IF_ERROR(WithContext(disk_.Sync(name), "syncing " + name));
  segments_.push_back(std::move(segment));
  return Status::Ok();
}

Status Wal::Fail(Status status) {
  if (!status.ok() && failure_.ok()) failure_ = status;
  return status;
}

Status Wal::StartSegment(uint64_t sequence, LogIndex first_index) {
  std::string name = WalSegmentName(sequence, first_index);
  // An empty append creates the file, so that SyncAsync always has a file to sync.
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Append(name, {}), "creating " + name)));
  directory_dirty_ = true;
  segments_.push_back(Segment{sequence, std::move(name), 0, LogIndex(0)});
  return Status::Ok();
}

Status Wal::FlushBuffer(ByteWriter* buffer) {
  if (buffer->size() == 0) return Status::Ok();
  Segment& active = segments_.back();
  MURPHY_RETURN_IF_ERROR(
      Fail(WithContext(disk_.Append(active.name, buffer->bytes()), "appending to " + active.name)));
  active.size_bytes += buffer->size();
  *buffer = ByteWriter();
  return Status::Ok();
}

Status Wal::MakeRoom(uint64_t record_bytes, LogIndex index, ByteWriter* buffer) {
  const uint64_t used = segments_.back().size_bytes + buffer->size();
  if (used == 0 || used + record_bytes <= options_.segment_limit_bytes) return Status::Ok();
  MURPHY_RETURN_IF_ERROR(FlushBuffer(buffer));
  // Close the full segment durably before its successor exists: then only the last
  // segment can ever have a torn tail, and recovery can be strict about the others.
  const std::string& closing = segments_.back().name;
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Sync(closing), "syncing " + closing)));
  const uint64_t sequence = segments_.back().sequence + 1;
  if (sequence > kMaxSequence) return Fail(ResourceExhaustedError("wal: segment sequence numbers exhausted"));
  return StartSegment(sequence, index);
}

Status Wal::CheckSegmentBudget(uint64_t batch_bytes) const {
  // Each rotation closes a segment whose bytes plus the record that did not fit exceed
  // the limit, and every byte is counted at most twice that way (the active segment's
  // earlier bytes included), so a batch rotates fewer than 2 * bytes / limit + 2 times.
  const uint64_t rotations = 2 * batch_bytes / options_.segment_limit_bytes + 2;
  if (segments_.size() + rotations > options_.max_segments) {
    return ResourceExhaustedError("wal: the batch could exceed " + std::to_string(options_.max_segments) +
                                  " segments; save a snapshot and compact first");
  }
  return Status::Ok();
}

void Wal::LowerDurable(LogIndex index) {
  durable_entry_index_ = std::min(durable_entry_index_, index);
  for (PendingSync& pending : pending_syncs_) pending.target = std::min(pending.target, index);
}

Status Wal::Append(std::span<const WalEntry> entries) {
  MURPHY_RETURN_IF_ERROR(failure_);
  if (entries.empty()) return Status::Ok();
  const LogIndex first = entries.front().index;
  if (first <= snapshot_index_) {
    return InvalidArgumentError("wal: entry " + ToString(first) + " is at or below the snapshot index " +
                                ToString(snapshot_index_));
  }
  if (first > last_index().next()) {
    return InvalidArgumentError("wal: entry " + ToString(first) + " leaves a gap after " +
                                ToString(last_index()));
  }
  uint64_t batch_bytes = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0 && entries[i].index != entries[i - 1].index.next()) {
      return InvalidArgumentError("wal: batch indexes are not consecutive at " + ToString(entries[i].index));
    }
    if (entries[i].data.size() > options_.max_entry_data_bytes) {
      return InvalidArgumentError("wal: entry " + ToString(entries[i].index) +
                                  " exceeds max_entry_data_bytes");
    }
    batch_bytes += wal::kRecordHeaderBytes + kEntryHeaderBytes + entries[i].data.size();
  }
  if (batch_bytes > options_.max_batch_bytes)
    return InvalidArgumentError("wal: batch exceeds max_batch_bytes");
  MURPHY_RETURN_IF_ERROR(CheckSegmentBudget(batch_bytes));

  // An overwrite: the replaced entries are no longer what the caller may acknowledge.
  if (first <= last_entry_index_) LowerDurable(LogIndex(first.value() - 1));
  Bytes storage;
  storage.reserve(std::min(batch_bytes, options_.segment_limit_bytes));  // one allocation per batch
  ByteWriter buffer(std::move(storage));
  for (const WalEntry& entry : entries) {
    MURPHY_RETURN_IF_ERROR(
        MakeRoom(wal::kRecordHeaderBytes + kEntryHeaderBytes + entry.data.size(), entry.index, &buffer));
    EncodeEntry(entry, &buffer);
    Segment& active = segments_.back();
    active.max_entry_index = std::max(active.max_entry_index, entry.index);
    last_entry_index_ = entry.index;
  }
  return FlushBuffer(&buffer);
}

Status Wal::DiscardAfter(LogIndex index) {
  MURPHY_RETURN_IF_ERROR(failure_);
  if (index < snapshot_index_) {
    return InvalidArgumentError("wal: cannot discard below the snapshot index " + ToString(snapshot_index_));
  }
  if (index >= last_entry_index_) return Status::Ok();
  const uint64_t record_bytes = wal::kRecordHeaderBytes + kDiscardPayloadBytes;
  MURPHY_RETURN_IF_ERROR(CheckSegmentBudget(record_bytes));
  LowerDurable(index);
  ByteWriter buffer;
  MURPHY_RETURN_IF_ERROR(MakeRoom(record_bytes, index.next(), &buffer));
  const size_t start = wal::BeginRecord(buffer, RecordType::kDiscardAfter);
  buffer.PutU64(index.value());
  wal::FinishRecord(buffer, start);
  last_entry_index_ = index;
  return FlushBuffer(&buffer);
}

Status Wal::Sync() {
  MURPHY_RETURN_IF_ERROR(failure_);
  if (directory_dirty_) {
    MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.SyncDirectory(), "syncing the directory")));
    directory_dirty_ = false;
  }
  const std::string& active = segments_.back().name;
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Sync(active), "syncing " + active)));
  durable_entry_index_ = last_entry_index_;
  return Status::Ok();
}

Status Wal::SyncAsync(std::function<void(Status, LogIndex durable)> done) {
  MURPHY_RETURN_IF_ERROR(failure_);
  if (pending_syncs_.size() >= options_.max_pending_syncs) {
    return ResourceExhaustedError("wal: too many syncs in flight");
  }
  if (directory_dirty_) {
    // Names are few and change rarely (rotation): a blocking directory sync is fine.
    MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.SyncDirectory(), "syncing the directory")));
    directory_dirty_ = false;
  }
  const uint64_t id = next_sync_id_++;
  pending_syncs_.push_back(PendingSync{id, last_entry_index_});
  std::weak_ptr<int> alive = lifetime_;
  disk_.SyncAsync(segments_.back().name,
                  [this, alive = std::move(alive), id, done = std::move(done)](Status status) {
                    if (alive.expired()) return;
                    OnSyncDone(id, status, done);
                  });
  return Status::Ok();
}

void Wal::OnSyncDone(uint64_t id, const Status& status, const std::function<void(Status, LogIndex)>& done) {
  const auto pending = std::find_if(pending_syncs_.begin(), pending_syncs_.end(),
                                    [id](const PendingSync& candidate) { return candidate.id == id; });
  MURPHY_ASSERT(pending != pending_syncs_.end());
  const LogIndex target = pending->target;
  pending_syncs_.erase(pending);
  Fail(WithContext(status, "syncing the active segment")).IgnoreError();
  if (!failure_.ok()) {
    done(failure_, durable_index());
    return;
  }
  MURPHY_ASSERT(target <= last_entry_index_);
  durable_entry_index_ = std::max(durable_entry_index_, target);
  done(Status::Ok(), durable_index());
}

Status Wal::WriteAtomically(std::string_view name, const Bytes& content) {
  const std::string temporary = std::string(name) + std::string(kTemporarySuffix);
  const Status removed = disk_.Remove(temporary);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
    return Fail(WithContext(removed, "removing " + temporary));
  }
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Append(temporary, content), "writing " + temporary)));
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Sync(temporary), "syncing " + temporary)));
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Rename(temporary, name), "renaming " + temporary)));
  MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.SyncDirectory(), "syncing the directory")));
  directory_dirty_ = false;
  return Status::Ok();
}

Status Wal::SaveHardState(const HardState& state) {
  MURPHY_RETURN_IF_ERROR(failure_);
  ByteWriter writer;
  const size_t start = wal::BeginRecord(writer, RecordType::kHardState);
  writer.PutU64(state.term.value());
  writer.PutU32(state.vote.value());
  writer.PutU64(state.commit.value());
  wal::FinishRecord(writer, start);
  MURPHY_ASSERT(writer.size() == wal::kRecordHeaderBytes + kHardStatePayloadBytes);
  return WriteAtomically(kWalHardStateName, writer.bytes());
}

Status Wal::SaveSnapshot(const WalSnapshot& snapshot) {
  MURPHY_RETURN_IF_ERROR(failure_);
  if (snapshot.index == LogIndex(0) || snapshot.index < snapshot_index_) {
    return InvalidArgumentError("wal: snapshot index " + ToString(snapshot.index) +
                                " must be positive and not below " + ToString(snapshot_index_));
  }
  if (snapshot.membership.size() + snapshot.data.size() > options_.max_snapshot_bytes) {
    return InvalidArgumentError("wal: snapshot exceeds max_snapshot_bytes");
  }
  ByteWriter writer;
  const size_t start = wal::BeginRecord(writer, RecordType::kSnapshot);
  writer.PutU64(snapshot.index.value());
  writer.PutU64(snapshot.term.value());
  writer.PutLengthPrefixed(snapshot.membership);
  writer.PutRaw(snapshot.data);
  wal::FinishRecord(writer, start);
  MURPHY_RETURN_IF_ERROR(WriteAtomically(kWalSnapshotName, writer.bytes()));
  snapshot_index_ = snapshot.index;
  return Status::Ok();
}

Status Wal::Compact() {
  MURPHY_RETURN_IF_ERROR(failure_);
  // Oldest first, each removal durable before the next: a crash leaves a consecutive
  // run of segments, never a hole (which recovery would rightly call DataLoss).
  while (segments_.size() > 1 && segments_.front().max_entry_index <= snapshot_index_) {
    const std::string& name = segments_.front().name;
    MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.Remove(name), "removing " + name)));
    MURPHY_RETURN_IF_ERROR(Fail(WithContext(disk_.SyncDirectory(), "syncing the directory")));
    directory_dirty_ = false;
    segments_.erase(segments_.begin());
  }
  return Status::Ok();
}

LogIndex Wal::last_index() const { return std::max(last_entry_index_, snapshot_index_); }

LogIndex Wal::durable_index() const { return std::max(durable_entry_index_, snapshot_index_); }

}  // namespace murphy
