// murphy lock run NAME [--ttl D] [--grace D] [--try | --wait-timeout D] -- CMD ARGS...
//
// Holds lock NAME while CMD runs (consul lock style, not etcdctl lock style: the
// command is killed when the lock is lost). One process, one asio loop — the
// RemoteClient's — that carries the LockClient (grant, acquire, keepalives,
// safe-until), the child watch and the signals:
//   1. acquire NAME under a fresh lease of --ttl (LockClient: keepalive every ttl/3);
//   2. fork/exec CMD in its own process group with MURPHY_FENCING_TOKEN,
//      MURPHY_LOCK_NAME and MURPHY_LEASE_ID in its environment;
//   3. watch the child through a pidfd (pidfd_open, Linux >= 5.3) on the loop, or, if
//      the kernel lacks it, waitpid(WNOHANG) on a 20 ms timer — never a blocking wait;
//   4. on loss of the lock (the handle's loss callback, or IsSafe() false: checked
//      every 50 ms) SIGTERM the child's process group, SIGKILL it after --grace, and
//      exit 5 once the child is gone (the group gets a final SIGKILL, so nothing of
//      the job runs on without the lock);
//   5. when CMD exits on its own, release the lock (revoke the lease) and exit with
//      CMD's status (128 + signal if a signal ended it);
//   6. SIGINT, SIGTERM and SIGHUP to `lock run` are forwarded to the child's process
//      group (SIGKILL after --grace); the lock is released when the child is gone.
// Real time on an L5 process's loop is fine here: the protocol code (LockClient,
// Channel) still sees time only through the Env.
// Limits: a signal that arrives while the lock is still being acquired ends `lock run`
// at once (exit 128 + signal); a lease already granted then ends with its ttl.
// The child's process group is not the terminal's foreground group: a CMD that reads
// from the terminal is stopped by SIGTTIN (give it input from a file or a pipe).
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "murphy/cli/client_command_support.h"
#include "murphy/cli/commands.h"

extern char** environ;

namespace murphy::cli {
namespace {

constexpr Duration kSafetyCheckInterval = Milliseconds(50);
constexpr Duration kReapPollInterval = Milliseconds(20);
constexpr Duration kReleaseWait = Seconds(3);
constexpr Duration kLoopSlice = Hours(1);

struct LockRunFlags {
  ClientFlags client;
  std::string name;
  std::string ttl = "10s";
  std::string grace = "5s";
  bool try_once = false;
  std::string wait_timeout;
  std::vector<std::string> command;
};

std::string SignalName(int signal_number) {
  const char* name = ::sigabbrev_np(signal_number);
  return name != nullptr ? std::string("SIG") + name : "signal " + std::to_string(signal_number);
}

// The descriptors open now (to close in the child those that `lock run` opened).
std::set<int> OpenDescriptors() {
  std::set<int> descriptors;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    try {
      descriptors.insert(std::stoi(entry.path().filename().string()));
    } catch (const std::exception&) {
    }
  }
  return descriptors;
}

class LockRun {
 public:
  explicit LockRun(const LockRunFlags& flags) : flags_(flags), command_("lock run", flags.client) {}

  int Run() {
    inherited_descriptors_ = OpenDescriptors();
    const Duration ttl = *ParseDuration(flags_.ttl);
    grace_ = *ParseDuration(flags_.grace);
    if (ttl <= Duration::Zero()) return command_.Fail(kExitUsage, InvalidArgumentError("--ttl must be > 0"));
    protocol::AcquireMode mode = protocol::AcquireMode::kWait;
    client::AcquireOptions acquire_options;
    acquire_options.request_timeout = command_.timeout();
    if (flags_.try_once) mode = protocol::AcquireMode::kTry;
    if (!flags_.wait_timeout.empty()) {
      mode = protocol::AcquireMode::kWaitWithTimeout;
      acquire_options.wait_timeout = *ParseDuration(flags_.wait_timeout);
      if (acquire_options.wait_timeout <= Duration::Zero()) {
        return command_.Fail(kExitUsage, InvalidArgumentError("--wait-timeout must be > 0 (or use --try)"));
      }
    }
    if (flags_.command.empty()) {
      return command_.Fail(kExitUsage,
                           InvalidArgumentError("no command: murphy lock run NAME -- CMD ARGS..."));
    }
    int exit_code = kExitOk;
    remote_ = command_.Connect(&exit_code);
    if (remote_ == nullptr) return exit_code;
    asio::io_context& loop = remote_->env().loop();
    signals_ = std::make_unique<asio::signal_set>(loop, SIGINT, SIGTERM, SIGHUP);
    WaitForSignal();

    // 1. Acquire.
    std::optional<Result<std::unique_ptr<client::LockHandle>>> acquired;
    remote_->lock_client().Acquire(
        flags_.name, ttl, mode,
        [&acquired](Result<std::unique_ptr<client::LockHandle>> result) { acquired = std::move(result); },
        acquire_options);
    while (!acquired.has_value() && received_signal_ == 0) {
      remote_->RunUntil([&] { return acquired.has_value() || received_signal_ != 0; }, kLoopSlice);
    }
    if (!acquired.has_value()) {
      std::fprintf(stderr, "murphy lock run: %s while acquiring %s; not running the command\n",
                   SignalName(received_signal_).c_str(), flags_.name.c_str());
      return 128 + received_signal_;
    }
    if (!acquired->ok()) {
      const Status& status = acquired->status();
      return command_.Fail(ExitCodeFor(status), Status(status.code(), "cannot acquire " + flags_.name + ": " +
                                                                          std::string(status.message())));
    }
    handle_ = std::move(**acquired);
    handle_->OnLoss([this](Status reason) { OnLost(std::string(reason.message())); });
    std::fprintf(stderr, "murphy lock run: acquired %s: token %s, lease %s\n", flags_.name.c_str(),
                 ToString(handle_->token()).c_str(), ToString(handle_->lease()).c_str());

    // 2. Run the command.
    const Status started = StartChild();
    if (!started.ok()) {
      std::fprintf(stderr, "murphy lock run: %s\n", std::string(started.message()).c_str());
      ReleaseLock();
      return started.code() == StatusCode::kNotFound ? 127 : 126;
    }
    // 3, 4. Watch it and the lock.
    WatchChild();
    ArmSafetyCheck();
    while (!child_status_.has_value()) {
      remote_->RunUntil([this] { return child_status_.has_value(); }, kLoopSlice);
    }
    CancelTimers();
    signals_->cancel();
    if (lost_) {
      ::kill(-child_, SIGKILL);  // whatever of the job is still running: no lock, no work
      ReleaseLock();
      std::fprintf(stderr, "murphy lock run: lock %s lost; the command was terminated (exit %d)\n",
                   flags_.name.c_str(), kExitLockLost);
      return kExitLockLost;
    }
    // 5. The command ended on its own (or by a forwarded signal).
    ReleaseLock();
    const int status = *child_status_;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  void WaitForSignal() {
    signals_->async_wait([this](const asio::error_code& error, int signal_number) {
      if (error) return;  // cancelled
      received_signal_ = signal_number;
      if (child_ > 0 && !child_status_.has_value()) {
        std::fprintf(stderr, "murphy lock run: forwarding %s to the command\n",
                     SignalName(signal_number).c_str());
        ::kill(-child_, signal_number);
        ArmKill();
      }
      WaitForSignal();
    });
  }

  Status StartChild() {
    // Everything the child needs is built before fork: after it, only async-signal-safe
    // calls.
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view text(*entry);
      if (text.starts_with("MURPHY_FENCING_TOKEN=") || text.starts_with("MURPHY_LOCK_NAME=") ||
          text.starts_with("MURPHY_LEASE_ID=")) {
        continue;
      }
      environment.emplace_back(text);
    }
    environment.push_back("MURPHY_FENCING_TOKEN=" + ToString(handle_->token()));
    environment.push_back("MURPHY_LOCK_NAME=" + flags_.name);
    environment.push_back("MURPHY_LEASE_ID=" + ToString(handle_->lease()));
    std::vector<char*> environment_pointers;
    for (std::string& entry : environment) environment_pointers.push_back(entry.data());
    environment_pointers.push_back(nullptr);
    std::vector<std::string> arguments = flags_.command;
    std::vector<char*> argument_pointers;
    for (std::string& argument : arguments) argument_pointers.push_back(argument.data());
    argument_pointers.push_back(nullptr);
    // The sockets and descriptors `lock run` opened stay out of the child.
    std::vector<int> to_close;
    for (const int descriptor : OpenDescriptors()) {
      if (descriptor > STDERR_FILENO && inherited_descriptors_.count(descriptor) == 0)
        to_close.push_back(descriptor);
    }
    // A close-on-exec pipe reports a failed exec (the child writes errno).
    int exec_pipe[2];
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0)
      return UnavailableError("pipe: " + std::string(std::strerror(errno)));
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int error = errno;
      ::close(exec_pipe[0]);
      ::close(exec_pipe[1]);
      return UnavailableError("fork: " + std::string(std::strerror(error)));
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      for (const int descriptor : to_close) {
        if (descriptor != exec_pipe[1]) ::close(descriptor);
      }
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::signal(SIGPIPE, SIG_DFL);
      ::execvpe(argument_pointers[0], argument_pointers.data(), environment_pointers.data());
      const int error = errno;
      [[maybe_unused]] const ssize_t ignored = ::write(exec_pipe[1], &error, sizeof(error));
      ::_exit(127);
    }
    ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before any kill
    ::close(exec_pipe[1]);
    int exec_error = 0;
    ssize_t got = 0;
    do {
      got = ::read(exec_pipe[0], &exec_error, sizeof(exec_error));
    } while (got < 0 && errno == EINTR);
    ::close(exec_pipe[0]);
    if (got > 0) {
      ::waitpid(pid, nullptr, 0);
      const std::string message = "cannot run " + flags_.command[0] + ": " + std::strerror(exec_error);
      return exec_error == ENOENT ? NotFoundError(message) : PermissionDeniedError(message);
    }
    child_ = pid;
    return Status::Ok();
  }

  // Collects the child's status if it has exited.
  void Reap() {
    if (child_status_.has_value()) return;
    int status = 0;
    pid_t got = 0;
    do {
      got = ::waitpid(child_, &status, WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == child_) child_status_ = status;
  }

  void WatchChild() {
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, child_, 0));
    if (pidfd >= 0) {
      child_descriptor_ = std::make_unique<asio::posix::stream_descriptor>(remote_->env().loop(), pidfd);
      child_descriptor_->async_wait(asio::posix::stream_descriptor::wait_read,
                                    [this](const asio::error_code& error) {
                                      if (error) return;
                                      Reap();
                                    });
      return;
    }
    PollChild();  // no pidfd: poll
  }

  void PollChild() {
    Reap();
    if (child_status_.has_value()) return;
    reap_timer_ = remote_->env().SetTimer(kReapPollInterval, [this] {
      reap_timer_.reset();
      PollChild();
    });
  }

  void ArmSafetyCheck() {
    safety_timer_ = remote_->env().SetTimer(kSafetyCheckInterval, [this] {
      safety_timer_.reset();
      if (lost_ || handle_ == nullptr) return;
      if (!handle_->IsSafe()) {
        OnLost("the lease is no longer safe (safe-until passed or the process was suspended)");
        return;
      }
      ArmSafetyCheck();
    });
  }

  void OnLost(const std::string& reason) {
    if (lost_ || child_status_.has_value()) return;
    lost_ = true;
    std::fprintf(stderr, "murphy lock run: lost lock %s (token %s): %s; sending SIGTERM to the command\n",
                 flags_.name.c_str(), ToString(handle_->token()).c_str(), reason.c_str());
    ::kill(-child_, SIGTERM);
    ArmKill();
  }

  // SIGKILL to the child's group after the grace period (once).
  void ArmKill() {
    if (kill_timer_.has_value()) return;
    kill_timer_ = remote_->env().SetTimer(grace_, [this] {
      if (child_status_.has_value()) return;
      std::fprintf(stderr, "murphy lock run: the command is still running after %s; sending SIGKILL\n",
                   FormatDuration(grace_).c_str());
      ::kill(-child_, SIGKILL);
    });
  }

  void CancelTimers() {
    for (std::optional<TimerId>* timer : {&reap_timer_, &safety_timer_, &kill_timer_}) {
      if (timer->has_value()) remote_->env().CancelTimer(**timer);
      timer->reset();
    }
    if (child_descriptor_ != nullptr) child_descriptor_->close();
  }

  // Revokes the lease (best effort) and lets the revoke go out, bounded.
  void ReleaseLock() {
    if (handle_ == nullptr) return;
    handle_->Release();
    handle_.reset();
    remote_->RunUntil([this] { return remote_->channel().pending_calls() == 0; }, kReleaseWait);
  }

  const LockRunFlags& flags_;
  ClientCommand command_;
  Duration grace_;
  std::set<int> inherited_descriptors_;
  std::unique_ptr<remote::RemoteClient> remote_;
  std::unique_ptr<asio::signal_set> signals_;
  std::unique_ptr<client::LockHandle> handle_;
  std::unique_ptr<asio::posix::stream_descriptor> child_descriptor_;
  pid_t child_ = 0;
  std::optional<int> child_status_;
  int received_signal_ = 0;
  bool lost_ = false;
  std::optional<TimerId> reap_timer_;
  std::optional<TimerId> safety_timer_;
  std::optional<TimerId> kill_timer_;
};

}  // namespace

void AddLockRunCommand(CLI::App& lock, int* exit_code) {
  auto flags = std::make_shared<LockRunFlags>();
  CLI::App* run = lock.add_subcommand(
      "run",
      "Run CMD while holding lock NAME; kill CMD if the lock is lost (murphy lock run NAME -- CMD ARGS...)");
  run->add_option("NAME", flags->name, "Lock name")->required();
  run->add_option("CMD", flags->command, "The command and its arguments, after --");
  CheckDuration(
      run->add_option("--ttl", flags->ttl, "Lease ttl (kept alive every ttl/3)")->capture_default_str());
  CheckDuration(run->add_option("--grace", flags->grace, "After SIGTERM, SIGKILL the command this much later")
                    ->capture_default_str());
  CLI::Option* try_once =
      run->add_flag("--try", flags->try_once, "Fail at once (exit 1) if the lock is held");
  CLI::Option* wait_timeout = run->add_option("--wait-timeout", flags->wait_timeout,
                                              "Wait at most this long for the lock (exit 1 after)");
  CheckDuration(wait_timeout);
  try_once->excludes(wait_timeout);
  AddClientFlags(run, &flags->client, /*with_json=*/false);
  run->footer(
      "CMD runs in its own process group with MURPHY_FENCING_TOKEN, MURPHY_LOCK_NAME and MURPHY_LEASE_ID "
      "set. "
      "When the lock is lost (lease expired or no longer safe), CMD's group gets SIGTERM, then SIGKILL after "
      "--grace, and lock run exits 5. When CMD exits, the lock is released and lock run exits with CMD's "
      "status (128+N if signal N ended it; 127/126 if CMD cannot be run). SIGINT/SIGTERM/SIGHUP are "
      "forwarded "
      "to CMD. Other exit codes: 1 lock not acquired (--try, --wait-timeout); 2 usage error; 3 outcome "
      "unknown (timeout).");
  run->callback([flags, exit_code] {
    LockRun lock_run(*flags);
    *exit_code = lock_run.Run();
  });
}

}  // namespace murphy::cli
