#include "murphy/sim/sim_disk.h"

#include <algorithm>

namespace murphy::sim {

SimDisk::File* SimDisk::Find(std::string_view name) {
  const auto it = current_names_.find(name);
  if (it == current_names_.end()) return nullptr;
  return &files_.at(it->second);
}

Status SimDisk::Append(std::string_view name, std::span<const uint8_t> data) {
  File* file = Find(name);
  if (file == nullptr) {
    if (current_names_.size() >= kMaxFiles) return ResourceExhaustedError("sim disk: too many files");
    const uint64_t inode = next_inode_++;
    files_[inode] = File{};
    current_names_.emplace(std::string(name), inode);
    file = &files_[inode];
  }
  if (file->current.size() + data.size() > kMaxFileBytes) return ResourceExhaustedError("sim disk: file too large");
  if (total_bytes_ + data.size() > kMaxTotalBytes) return ResourceExhaustedError("sim disk: disk full");
  file->current.insert(file->current.end(), data.begin(), data.end());
  ++file->version;
  total_bytes_ += data.size();
  ++counters_.appends;
  return Status::Ok();
}

Status SimDisk::FinishSync(std::string_view name, uint64_t inode, uint64_t version, Bytes content) {
  ++counters_.syncs;
  const auto it = files_.find(inode);
  // Persists `content` unless the file already holds a newer durable version.
  auto persist = [&] {
    if (it == files_.end() || it->second.durable_version > version) return;
    it->second.durable = std::move(content);
    it->second.durable_version = version;
  };
  if (rng_.Bernoulli(faults_.sync_error_probability)) {
    ++counters_.sync_errors;
    // The kernel may or may not have written the pages before reporting the error;
    // the caller cannot know which (fsyncgate), so neither may a test assume it.
    const bool reached_disk = rng_.Bernoulli(0.5);
    if (reached_disk) persist();
    host_->DiskTrace("disk_sync_error", {{"name", name}, {"reached_disk", reached_disk}});
    return DataLossError("sim disk: fsync failed; the file's durable state is unknown");
  }
  persist();
  return Status::Ok();
}

Status SimDisk::Sync(std::string_view name) {
  const auto it = current_names_.find(name);
  if (it == current_names_.end()) return NotFoundError("sim disk: no such file");
  if (faults_.sync_latency > Duration::Zero()) host_->DiskBusy(faults_.sync_latency);
  const File& file = files_.at(it->second);
  return FinishSync(name, it->second, file.version, file.current);
}

void SimDisk::SyncAsync(std::string_view name, std::function<void(Status)> done) {
  const auto it = current_names_.find(name);
  if (it == current_names_.end()) {
    host_->DiskLater(Duration::Zero(), [done = std::move(done)] { done(NotFoundError("sim disk: no such file")); });
    return;
  }
  // Like fsync, the sync covers what was written before the call.
  const uint64_t inode = it->second;
  Bytes snapshot = files_.at(inode).current;
  const uint64_t version = files_.at(inode).version;
  host_->DiskLater(faults_.sync_latency, [this, file_name = std::string(name), inode, version,
                                          snapshot = std::move(snapshot), done = std::move(done)]() mutable {
    done(FinishSync(file_name, inode, version, std::move(snapshot)));
  });
}

Result<Bytes> SimDisk::Read(std::string_view name) {
  File* file = Find(name);
  if (file == nullptr) return NotFoundError("sim disk: no such file");
  Bytes copy = file->current;
  if (!copy.empty() && rng_.Bernoulli(faults_.read_corruption_probability)) {
    const uint64_t bit = rng_.Uniform(copy.size() * 8);
    copy[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    ++counters_.read_corruptions;
    host_->DiskTrace("disk_read_corrupt", {{"name", name}, {"bit", bit}});
  }
  return copy;
}

Status SimDisk::Truncate(std::string_view name, uint64_t size) {
  File* file = Find(name);
  if (file == nullptr) return NotFoundError("sim disk: no such file");
  if (size > file->current.size()) return OutOfRangeError("sim disk: truncate beyond the end");
  total_bytes_ -= file->current.size() - size;
  file->current.resize(size);
  ++file->version;
  return Status::Ok();
}

Status SimDisk::Rename(std::string_view source, std::string_view target) {
  const auto it = current_names_.find(source);
  if (it == current_names_.end()) return NotFoundError("sim disk: no such file");
  const uint64_t inode = it->second;
  current_names_.erase(it);
  current_names_.insert_or_assign(std::string(target), inode);
  CollectUnreferenced();
  return Status::Ok();
}

Status SimDisk::Remove(std::string_view name) {
  const auto it = current_names_.find(name);
  if (it == current_names_.end()) return NotFoundError("sim disk: no such file");
  current_names_.erase(it);
  CollectUnreferenced();
  return Status::Ok();
}

Status SimDisk::SyncDirectory() {
  durable_names_ = current_names_;
  CollectUnreferenced();
  return Status::Ok();
}

Result<std::vector<std::string>> SimDisk::List() {
  std::vector<std::string> names;
  names.reserve(current_names_.size());
  for (const auto& [name, inode] : current_names_) names.push_back(name);
  return names;  // std::map keeps them sorted
}

Result<Bytes> SimDisk::DurableContent(std::string_view name) const {
  const auto it = durable_names_.find(name);
  if (it == durable_names_.end()) return NotFoundError("sim disk: no durable file of that name");
  return files_.at(it->second).durable;
}

void SimDisk::CollectUnreferenced() {
  for (auto it = files_.begin(); it != files_.end();) {
    const uint64_t inode = it->first;
    const auto refers = [inode](const auto& entry) { return entry.second == inode; };
    if (std::none_of(current_names_.begin(), current_names_.end(), refers) &&
        std::none_of(durable_names_.begin(), durable_names_.end(), refers)) {
      total_bytes_ -= it->second.current.size();
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

void SimDisk::Crash() {
  for (const auto& [name, inode] : current_names_) {
    if (!durable_names_.contains(name)) {
      ++counters_.lost_files;
      host_->DiskTrace("disk_crash", {{"name", std::string_view(name)}, {"lost_file", true}});
    }
  }
  current_names_ = durable_names_;
  CollectUnreferenced();
  total_bytes_ = 0;
  for (auto& [inode, file] : files_) {
    const Bytes& durable = file.durable;
    const uint64_t synced = durable.size();
    const bool appended = file.current.size() > durable.size() &&
                          std::equal(durable.begin(), durable.end(), file.current.begin());
    uint64_t kept = 0;
    uint64_t lost = 0;
    if (appended) {
      const uint64_t tail = file.current.size() - durable.size();
      DiskFaults::Unsynced mode = faults_.unsynced_on_crash;
      if (mode == DiskFaults::Unsynced::kRandom) {
        mode = rng_.Bernoulli(0.5) ? DiskFaults::Unsynced::kLose : DiskFaults::Unsynced::kTear;
      }
      // A torn write keeps a strict prefix of the tail (possibly cutting a record).
      kept = mode == DiskFaults::Unsynced::kTear && tail > 1 ? rng_.UniformInRange(1, static_cast<int64_t>(tail) - 1)
                                                            : 0;
      lost = tail - kept;
      file.current.resize(durable.size() + kept);
      if (kept > 0) ++counters_.torn_files;
    } else if (file.current != durable) {
      lost = file.current.size() > durable.size() ? file.current.size() - durable.size() : 0;
      file.current = durable;
    }
    // The kept prefix is now on the platter: it is as durable as the rest.
    file.durable = file.current;
    ++file.version;
    file.durable_version = file.version;
    counters_.lost_unsynced_bytes += lost;
    total_bytes_ += file.current.size();
    if (lost > 0 || kept > 0) {
      std::string_view name;
      for (const auto& [entry_name, entry_inode] : durable_names_) {
        if (entry_inode == inode) name = entry_name;
      }
      host_->DiskTrace("disk_crash", {{"name", name},
                                      {"synced_bytes", synced},
                                      {"kept_bytes", kept},
                                      {"lost_bytes", lost}});
    }
  }
}

}  // namespace murphy::sim
