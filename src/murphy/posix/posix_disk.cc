#include "murphy/posix/posix_disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace murphy::posix {

Status StatusFromErrno(int error, std::string_view operation, std::string_view name) {
  std::string message;
  message.reserve(operation.size() + name.size() + 48);
  message.append(operation);
  message.push_back(' ');
  message.append(name);
  message.append(": ");
  char buffer[128];
  // The GNU strerror_r returns the message (possibly not in `buffer`).
  message.append(strerror_r(error, buffer, sizeof buffer));
  switch (error) {
    case ENOENT:
      return NotFoundError(message);
    case ENOSPC:
    case EDQUOT:
    case EMFILE:
    case ENFILE:
    case EFBIG:
      return ResourceExhaustedError(message);
    case EIO:
      return DataLossError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return PermissionDeniedError(message);
    case EEXIST:
      return AlreadyExistsError(message);
    case ENAMETOOLONG:
    case EINVAL:
    case EISDIR:
    case ENOTDIR:
      return InvalidArgumentError(message);
    default:
      return InternalError(message);
  }
}

// One open fd. Shared between the cache and in-flight SyncAsync requests, so that
// the fd is closed only when neither needs it any more (on whichever thread lets go
// last; close(2) is thread-safe).
class PosixDisk::OpenFile {
 public:
  explicit OpenFile(int fd) : fd_(fd) { MURPHY_ASSERT(fd_ >= 0); }
  ~OpenFile() { ::close(fd_); }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  int fd() const { return fd_; }

 private:
  const int fd_;
};

struct PosixDisk::SyncRequest {
  std::shared_ptr<OpenFile> file;
  std::string name;
  std::function<void(Status)> done;
};

struct PosixDisk::Shared {
  std::mutex mutex;
  std::condition_variable wake;
  std::deque<SyncRequest> queue;  // guarded by mutex
  bool stop = false;              // guarded by mutex
  Status sync_failure;            // guarded by mutex; sticky once set
  // Loop thread only: false once the disk is destroyed, so that completions still
  // queued on the loop do nothing.
  bool alive = true;
  std::thread thread;
};

Status PosixDisk::ValidateName(std::string_view name) {
  if (name.empty()) return InvalidArgumentError("disk: empty file name");
  if (name.size() > kMaxNameLength) return InvalidArgumentError("disk: file name too long");
  if (name == "." || name == "..") return InvalidArgumentError("disk: file name '.' or '..'");
  if (name.find('/') != std::string_view::npos) {
    return InvalidArgumentError(std::string("disk: file name with '/': ") + std::string(name));
  }
  if (name.find('\0') != std::string_view::npos) return InvalidArgumentError("disk: file name with NUL");
  return Status::Ok();
}

Result<std::unique_ptr<PosixDisk>> PosixDisk::Open(std::string directory, Poster poster) {
  MURPHY_ASSERT(poster != nullptr);
  if (directory.empty()) return InvalidArgumentError("disk: empty data directory");
  // mkdir -p: every prefix that ends before a '/', then the whole path.
  for (size_t slash = directory.find('/', 1); ; slash = directory.find('/', slash + 1)) {
    const std::string prefix = directory.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return StatusFromErrno(errno, "mkdir", prefix);
    }
    if (slash == std::string::npos) break;
  }
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, "open directory", directory);
  std::unique_ptr<PosixDisk> disk(new PosixDisk(std::move(directory), fd, std::move(poster)));
  // std::thread reports a failure to start (e.g. a thread limit) by throwing; it must
  // not leave the module.
  try {
    disk->shared_->thread = std::thread([raw = disk.get()] { raw->RunSyncThread(); });
  } catch (const std::system_error& error) {
    return ResourceExhaustedError(std::string("disk: cannot start the fsync thread: ") + error.what());
  }
  return disk;
}

PosixDisk::PosixDisk(std::string directory, int directory_fd, Poster poster)
    : directory_(std::move(directory)),
      directory_fd_(directory_fd),
      poster_(std::move(poster)),
      shared_(std::make_shared<Shared>()) {}

PosixDisk::~PosixDisk() {
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->stop = true;
  }
  shared_->wake.notify_one();
  if (shared_->thread.joinable()) shared_->thread.join();
  shared_->alive = false;
  files_.clear();
  ::close(directory_fd_);
}

std::string PosixDisk::PathOf(std::string_view name) const {
  std::string path;
  path.reserve(directory_.size() + 1 + name.size());
  path.append(directory_);
  path.push_back('/');
  path.append(name);
  return path;
}

Result<std::shared_ptr<PosixDisk::OpenFile>> PosixDisk::Lookup(std::string_view name, bool create) {
  ++use_clock_;
  const auto it = files_.find(name);
  if (it != files_.end()) {
    it->second.last_use = use_clock_;
    return it->second.file;
  }
  const int flags = O_RDWR | O_APPEND | O_CLOEXEC | (create ? O_CREAT : 0);
  int fd;
  do {
    fd = ::openat(directory_fd_, std::string(name).c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return StatusFromErrno(errno, "open", name);
  if (files_.size() >= kMaxOpenFiles) {
    const auto oldest = std::min_element(files_.begin(), files_.end(), [](const auto& a, const auto& b) {
      return a.second.last_use < b.second.last_use;
    });
    files_.erase(oldest);
  }
  auto file = std::make_shared<OpenFile>(fd);
  files_.emplace(std::string(name), CacheEntry{file, use_clock_});
  return file;
}

void PosixDisk::Forget(std::string_view name) {
  const auto it = files_.find(name);
  if (it != files_.end()) files_.erase(it);
}

Status PosixDisk::sync_failure() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->sync_failure;
}

Status PosixDisk::RecordSyncFailure(int error, std::string_view operation, std::string_view name) {
  const Status cause = StatusFromErrno(error, operation, name);
  Status failure = DataLossError(std::string(cause.message()) + " (durable content unknown; do not retry)");
  std::lock_guard<std::mutex> lock(shared_->mutex);
  if (shared_->sync_failure.ok()) shared_->sync_failure = failure;
  return shared_->sync_failure;
}

Status PosixDisk::Append(std::string_view name, std::span<const uint8_t> data) {
  MURPHY_RETURN_IF_ERROR(ValidateName(name));
  MURPHY_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, Lookup(name, /*create=*/true));
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t result = ::write(file->fd(), data.data() + written, data.size() - written);
    if (result < 0) {
      if (errno == EINTR) continue;
      return StatusFromErrno(errno, "append", name);
    }
    written += static_cast<size_t>(result);
  }
  ++metrics_.appends;
  metrics_.bytes_appended += data.size();
  return Status::Ok();
}

Status PosixDisk::Sync(std::string_view name) {
  MURPHY_RETURN_IF_ERROR(ValidateName(name));
  MURPHY_RETURN_IF_ERROR(sync_failure());
  MURPHY_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, Lookup(name, /*create=*/false));
  ++metrics_.fsyncs;
  if (::fdatasync(file->fd()) != 0) {
    ++metrics_.fsync_errors;
    return RecordSyncFailure(errno, "fdatasync", name);
  }
  return Status::Ok();
}

void PosixDisk::SyncAsync(std::string_view name, std::function<void(Status)> done) {
  MURPHY_ASSERT(done != nullptr);
  Status early = ValidateName(name);
  std::shared_ptr<OpenFile> file;
  if (early.ok()) early = sync_failure();
  if (early.ok()) {
    Result<std::shared_ptr<OpenFile>> found = Lookup(name, /*create=*/false);
    if (found.ok()) {
      file = std::move(found).value();
    } else {
      early = found.status();
    }
  }
  if (early.ok()) {
    std::unique_lock<std::mutex> lock(shared_->mutex);
    if (shared_->queue.size() < kMaxPendingSyncs) {
      shared_->queue.push_back(SyncRequest{std::move(file), std::string(name), std::move(done)});
      lock.unlock();
      shared_->wake.notify_one();
      return;
    }
    early = ResourceExhaustedError("disk: too many pending syncs");
  }
  // Errors are reported like successes: later, on the loop, never inline.
  poster_([shared = shared_, done = std::move(done), early = std::move(early)] {
    if (shared->alive) done(early);
  });
}

// The fsync thread. Touches only `shared_` (under its mutex), the OpenFile handles it
// was given, and `poster_` (thread-safe by contract, never reassigned).
void PosixDisk::RunSyncThread() {
  Shared& shared = *shared_;
  for (;;) {
    std::deque<SyncRequest> batch;
    Status failure;
    {
      std::unique_lock<std::mutex> lock(shared.mutex);
      shared.wake.wait(lock, [&shared] { return shared.stop || !shared.queue.empty(); });
      if (shared.stop) return;
      batch.swap(shared.queue);
      failure = shared.sync_failure;
    }
    // One fdatasync per distinct file covers every request in the batch for it:
    // each was made before this fsync started.
    std::vector<std::pair<const OpenFile*, Status>> outcomes;
    std::vector<Status> statuses;
    statuses.reserve(batch.size());
    uint64_t fsyncs = 0;
    uint64_t errors = 0;
    for (const SyncRequest& request : batch) {
      const auto known = std::find_if(outcomes.begin(), outcomes.end(),
                                      [&request](const auto& entry) { return entry.first == request.file.get(); });
      if (known != outcomes.end()) {
        statuses.push_back(known->second);
        continue;
      }
      Status outcome = failure;
      if (outcome.ok()) {
        ++fsyncs;
        if (::fdatasync(request.file->fd()) != 0) {
          ++errors;
          const int error = errno;
          const Status cause = StatusFromErrno(error, "fdatasync", request.name);
          const Status fresh = DataLossError(std::string(cause.message()) + " (durable content unknown; do not retry)");
          std::lock_guard<std::mutex> lock(shared.mutex);
          if (shared.sync_failure.ok()) shared.sync_failure = fresh;
          failure = shared.sync_failure;
          outcome = failure;
        }
      }
      outcomes.emplace_back(request.file.get(), outcome);
      statuses.push_back(std::move(outcome));
    }
    const uint64_t coalesced = batch.size() - outcomes.size();
    // Release the fds here rather than on the loop; only the callbacks travel.
    std::vector<std::function<void(Status)>> callbacks;
    callbacks.reserve(batch.size());
    for (SyncRequest& request : batch) callbacks.push_back(std::move(request.done));
    batch.clear();
    poster_([this, shared = shared_, callbacks = std::move(callbacks), statuses = std::move(statuses), fsyncs,
             errors, coalesced] {
      if (!shared->alive) return;
      metrics_.fsyncs += fsyncs;
      metrics_.fsync_errors += errors;
      metrics_.coalesced_syncs += coalesced;
      metrics_.async_syncs += callbacks.size();
      for (size_t i = 0; i < callbacks.size(); ++i) callbacks[i](statuses[i]);
    });
  }
}

Result<Bytes> PosixDisk::Read(std::string_view name) {
  MURPHY_RETURN_IF_ERROR(ValidateName(name));
  MURPHY_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, Lookup(name, /*create=*/false));
  struct stat status {};
  if (::fstat(file->fd(), &status) != 0) return StatusFromErrno(errno, "stat", name);
  const auto size = static_cast<uint64_t>(status.st_size);
  if (size > kMaxReadBytes) return ResourceExhaustedError(std::string("read ") + std::string(name) + ": file too large");
  Bytes content(size);
  size_t done = 0;
  while (done < content.size()) {
    const ssize_t result = ::pread(file->fd(), content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (result < 0) {
      if (errno == EINTR) continue;
      return StatusFromErrno(errno, "read", name);
    }
    if (result == 0) break;  // shorter than stat said (a concurrent truncate): return what is there
    done += static_cast<size_t>(result);
  }
  content.resize(done);
  ++metrics_.reads;
  return content;
}

Status PosixDisk::Truncate(std::string_view name, uint64_t size) {
  MURPHY_RETURN_IF_ERROR(ValidateName(name));
  MURPHY_ASSIGN_OR_RETURN(std::shared_ptr<OpenFile> file, Lookup(name, /*create=*/false));
  struct stat status {};
  if (::fstat(file->fd(), &status) != 0) return StatusFromErrno(errno, "stat", name);
  if (size > static_cast<uint64_t>(status.st_size)) {
    return OutOfRangeError(std::string("truncate ") + std::string(name) + ": size beyond the end");
  }
  int result;
  do {
    result = ::ftruncate(file->fd(), static_cast<off_t>(size));
  } while (result != 0 && errno == EINTR);
  if (result != 0) return StatusFromErrno(errno, "truncate", name);
  return Status::Ok();
}

Status PosixDisk::Rename(std::string_view source, std::string_view target) {
  MURPHY_RETURN_IF_ERROR(ValidateName(source));
  MURPHY_RETURN_IF_ERROR(ValidateName(target));
  if (::renameat(directory_fd_, std::string(source).c_str(), directory_fd_, std::string(target).c_str()) != 0) {
    return StatusFromErrno(errno, "rename", std::string(source) + " -> " + std::string(target));
  }
  if (source == target) return Status::Ok();
  // The fd follows the inode: the cached fd of `source` now belongs to `target`; the
  // replaced target's inode is gone from the directory.
  Forget(target);
  const auto it = files_.find(source);
  if (it != files_.end()) {
    CacheEntry entry = std::move(it->second);
    files_.erase(it);
    files_.emplace(std::string(target), std::move(entry));
  }
  return Status::Ok();
}

Status PosixDisk::Remove(std::string_view name) {
  MURPHY_RETURN_IF_ERROR(ValidateName(name));
  if (::unlinkat(directory_fd_, std::string(name).c_str(), 0) != 0) return StatusFromErrno(errno, "remove", name);
  Forget(name);
  return Status::Ok();
}

Status PosixDisk::SyncDirectory() {
  MURPHY_RETURN_IF_ERROR(sync_failure());
  ++metrics_.fsyncs;
  if (::fsync(directory_fd_) != 0) {
    ++metrics_.fsync_errors;
    return RecordSyncFailure(errno, "fsync directory", directory_);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> PosixDisk::List() {
  // A private fd: fdopendir takes ownership and readdir moves its offset.
  const int fd = ::openat(directory_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return StatusFromErrno(errno, "list", directory_);
  DIR* stream = ::fdopendir(fd);
  if (stream == nullptr) {
    const int error = errno;
    ::close(fd);
    return StatusFromErrno(error, "list", directory_);
  }
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) break;
    const std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    bool regular = entry->d_type == DT_REG;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat status {};
      regular = ::fstatat(directory_fd_, entry->d_name, &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(status.st_mode);
    }
    if (regular) names.emplace_back(name);
  }
  const int error = errno;
  ::closedir(stream);
  if (error != 0) return StatusFromErrno(error, "list", directory_);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace murphy::posix
