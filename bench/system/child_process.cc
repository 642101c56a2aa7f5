#include "bench/system/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace murphy::bench {

Result<std::unique_ptr<ChildProcess>> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                          const std::string& log_path) {
  if (argv.empty()) return InvalidArgumentError("no command");
  std::vector<char*> pointers;
  for (const std::string& argument : argv) pointers.push_back(const_cast<char*>(argument.c_str()));
  pointers.push_back(nullptr);
  // A close-on-exec pipe: EOF means the exec happened, a byte means it failed.
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe failed");
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(exec_pipe[0]);
    ::close(exec_pipe[1]);
    return UnavailableError("fork failed");
  }
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::close(exec_pipe[0]);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the benchmark died before prctl
    ::setpgid(0, 0);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null_fd < 0 || log_fd < 0) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execvp(pointers[0], pointers.data());
    const char failed = 1;
    [[maybe_unused]] const ssize_t ignored = ::write(exec_pipe[1], &failed, 1);
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  char byte = 0;
  ssize_t got = 0;
  do {
    got = ::read(exec_pipe[0], &byte, 1);
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (got != 0) {
    ::waitpid(pid, nullptr, 0);
    return UnavailableError("cannot exec " + argv[0]);
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid));
}

ChildProcess::~ChildProcess() { Kill(); }

bool ChildProcess::Running() {
  if (reaped_) return false;
  const pid_t result = ::waitpid(pid_, nullptr, WNOHANG);
  if (result == pid_) reaped_ = true;
  return !reaped_;
}

void ChildProcess::Signal(int signal_number) {
  if (!reaped_) ::kill(pid_, signal_number);
}

void ChildProcess::Kill() {
  if (reaped_) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
}

Result<double> ChildProcess::CpuSeconds() const {
  if (reaped_) return UnavailableError("process gone");
  std::ifstream file("/proc/" + std::to_string(pid_) + "/stat");
  std::stringstream text;
  text << file.rdbuf();
  const std::string stat = text.str();
  // Fields after the command (which may hold spaces) start after the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return UnavailableError("cannot read /proc/PID/stat");
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  unsigned long long user_ticks = 0;
  unsigned long long system_ticks = 0;
  // Field 3 (state) is the first after ')'; utime is field 14, stime field 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) user_ticks = std::stoull(field);
    if (index == 15) system_ticks = std::stoull(field);
  }
  return static_cast<double>(user_ticks + system_ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

Result<std::vector<uint16_t>> PickFreeLoopbackPorts(int count) {
  std::vector<int> sockets;
  std::vector<uint16_t> ports;
  Status failure;
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (fd >= 0) ::close(fd);
      failure = UnavailableError("cannot pick a free loopback port");
      break;
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
  }
  for (const int fd : sockets) ::close(fd);
  if (!failure.ok()) return failure;
  return ports;
}

}  // namespace murphy::bench
