// Test harness for integration tests: runs the real `thunder` binary as a child process, as a
// user would, and talks to it through its stdout/stderr, exit status and network endpoints.
//
// No sleeps: reads block on poll() with a deadline, and exits are awaited through a pidfd.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace thunder::testing {

// Path of the thunder binary under test (set by CMake).
std::string thunderBinary();

// A fresh temporary directory, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Where a child's standard input comes from.
enum class StdinMode { kDevNull, kPipe };

class Process {
 public:
  // Starts `thunder args...` with stdout and stderr piped and stdin from /dev/null or a pipe.
  explicit Process(std::vector<std::string> args, StdinMode stdin_mode = StdinMode::kDevNull);
  ~Process();  // SIGKILLs the child if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  int pid() const { return pid_; }
  // The next stdout line (without '\n'), or nullopt on EOF or when the deadline passes.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void signal(int signal_number);
  // Writes all of `bytes` to the child's stdin (StdinMode::kPipe); false if the child closed it.
  // When this returns, the child has read all but at most one pipe buffer (64 KiB) of them.
  bool writeStdin(std::string_view bytes);
  void closeStdin();
  // Waits for exit; the exit code (128+signal if killed), or nullopt when the deadline passed.
  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Everything the child wrote to stderr (call after wait()).
  std::string stderrText();
  // The rest of stdout after the lines already read (call after wait()).
  std::string stdoutRest();
  int stdinFd() const { return in_fd_; }
  int stdoutFd() const { return out_fd_; }
  int stderrFd() const { return err_fd_; }

 private:
  int pid_ = -1;
  int pidfd_ = -1;
  int in_fd_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_buffer_;
  std::optional<int> exit_code_;
};

struct RunResult {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs `thunder args...` to completion, with `input` on its stdin when given.
RunResult runThunder(std::vector<std::string> args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60),
                     std::optional<std::string> input = std::nullopt);

}  // namespace thunder::testing
