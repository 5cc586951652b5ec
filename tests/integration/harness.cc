#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

extern char** environ;

namespace thunder::testing {

std::string thunderBinary() {
  return THUNDER_BINARY;
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "thunder_it.XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

Process::Process(std::vector<std::string> args, StdinMode stdin_mode) {
  int in[2] = {-1, -1}, out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  if (stdin_mode == StdinMode::kPipe && ::pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdin_mode == StdinMode::kPipe) {
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  } else {
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  args.insert(args.begin(), thunderBinary());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
    throw std::runtime_error("posix_spawn failed");
  }
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (in[0] >= 0) ::close(in[0]);
  in_fd_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  ::signal(SIGPIPE, SIG_IGN);  // a child that exits early must not kill the test writing to it
  if (pidfd_ < 0) throw std::runtime_error("pidfd_open failed");
}

Process::~Process() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  closeStdin();
  ::close(out_fd_);
  ::close(err_fd_);
  ::close(pidfd_);
}

bool Process::writeStdin(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(in_fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void Process::closeStdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

std::optional<std::string> Process::readLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = out_buffer_.find('\n'); nl != std::string::npos) {
      std::string line = out_buffer_.substr(0, nl);
      out_buffer_.erase(0, nl + 1);
      return line;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{out_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return std::nullopt;
    char buf[4096];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    out_buffer_.append(buf, static_cast<size_t>(n));
  }
}

void Process::signal(int signal_number) {
  ::kill(pid_, signal_number);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  pollfd pfd{pidfd_, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

namespace {
std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}
}  // namespace

std::string Process::stderrText() {
  return drain(err_fd_);
}

std::string Process::stdoutRest() {
  return out_buffer_ + drain(out_fd_);
}

RunResult runThunder(std::vector<std::string> args, std::chrono::milliseconds timeout,
                     std::optional<std::string> input) {
  Process p(std::move(args), input ? StdinMode::kPipe : StdinMode::kDevNull);
  size_t input_written = 0;
  if (input && input->empty()) p.closeStdin();
  // Drain both pipes while waiting so a chatty child cannot block on a full pipe.
  std::string out, err;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    std::vector<pollfd> fds;
    fds.push_back({out_open ? p.stdoutFd() : -1, POLLIN, 0});
    fds.push_back({err_open ? p.stderrFd() : -1, POLLIN, 0});
    fds.push_back({p.stdinFd(), POLLOUT, 0});
    if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) <= 0) break;
    char buf[65536];
    if (fds[0].revents) {
      const ssize_t n = ::read(fds[0].fd, buf, sizeof buf);
      if (n <= 0)
        out_open = false;
      else
        out.append(buf, static_cast<size_t>(n));
    }
    if (fds[1].revents) {
      const ssize_t n = ::read(fds[1].fd, buf, sizeof buf);
      if (n <= 0)
        err_open = false;
      else
        err.append(buf, static_cast<size_t>(n));
    }
    if (fds[2].fd >= 0 && fds[2].revents) {
      const size_t chunk = std::min<size_t>(input->size() - input_written, 65536);
      const ssize_t n = ::write(fds[2].fd, input->data() + input_written, chunk);
      if (n > 0) input_written += static_cast<size_t>(n);
      if (n < 0 || input_written == input->size()) p.closeStdin();
    }
  }
  auto code = p.wait(std::chrono::seconds(10));
  return RunResult{code.value_or(-1), std::move(out), std::move(err)};
}

}  // namespace thunder::testing
