// Sandbox: runs one service executable in its own Linux sandbox (user, PID, mount, network, IPC
// and UTS namespaces; an empty read-only root holding only allowlisted paths; no_new_privs; the
// seccomp allowlist of seccomp_policy.h; rlimits; cgroup v2 memory/pids limits when the cgroup tree
// is writable and delegates those controllers). Policy and rationale: docs/security/sandbox.md.
//
// spawnSandboxed() may be called from any thread (the child only runs async-signal-safe system
// calls between clone and execve). A SandboxedProcess owns its child through a pidfd; it is
// move-only and used by one thread at a time. Destroying it kills and reaps the child.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "executor/cgroup_limits.h"

namespace thunder::executor {

// A descriptor of the caller passed into the sandbox as target_fd (e.g. the IPC socket as 3).
struct InheritedFd {
  int source_fd = -1;
  int target_fd = -1;
};

struct SandboxLimits {
  std::optional<uint64_t> address_space_bytes = uint64_t{1} << 30;  // RLIMIT_AS, memory.max
  std::optional<uint64_t> cpu_seconds;       // RLIMIT_CPU (SIGXCPU, +1s SIGKILL)
  std::optional<uint64_t> open_files = 256;  // RLIMIT_NOFILE
  std::optional<uint64_t> processes = 64;    // RLIMIT_NPROC, pids.max
};

// The library directories bound read-only by default: those of /lib, /lib64, /usr/lib, /usr/lib64
// that exist (symlinks such as Debian's /lib -> usr/lib are reproduced as symlinks).
std::vector<std::filesystem::path> defaultLibraryPaths();

struct SandboxSpec {
  std::filesystem::path executable;  // absolute; bound read-only at the same path
  std::vector<std::string> args;     // argv[1..]; argv[0] is the executable path
  std::vector<std::string> env;      // the whole environment ("KEY=value"); empty by default
  // Further files or directories bound read-only at their own paths; nothing else is visible.
  std::vector<std::filesystem::path> read_only_paths = defaultLibraryPaths();
  // Descriptors kept open; fds 0-2 not listed here are /dev/null; every other fd is closed.
  std::vector<InheritedFd> fds;
  SandboxLimits limits;
  std::string hostname = "thunder-service";
};

// What the kernel accounted to a reaped child (and the descendants it reaped itself).
struct ResourceUsage {
  std::chrono::microseconds cpu_user{0};
  std::chrono::microseconds cpu_system{0};
  uint64_t max_rss_bytes = 0;  // peak resident set size
};

struct ExitStatus {
  enum class Kind { kExited, kSignaled };
  Kind kind = Kind::kExited;
  int value = 0;        // the exit code, or the signal number
  ResourceUsage usage;  // from the reaping waitid()

  bool exitedWith(int code) const { return kind == Kind::kExited && value == code; }
  bool killedBy(int signal) const { return kind == Kind::kSignaled && value == signal; }
  std::string describe() const;  // "exit 3", "signal 9 (Killed)"
};

// What is in force for one sandboxed process, for /status and logs.
struct SandboxReport {
  std::vector<std::string> isolation;  // "user-ns", "pid-ns", ..., "pivot_root", "seccomp:..."
  std::vector<std::string> limits;     // "rlimit-as=...", "cgroup memory.max=...", ...
  std::string cgroup;                  // why cgroup limits are (not) in force
};

class SandboxedProcess {
 public:
  SandboxedProcess(pid_t pid, UniqueFd pidfd, SandboxReport report,
                   std::optional<ServiceCgroup> cgroup);
  SandboxedProcess(SandboxedProcess&&) noexcept = default;
  SandboxedProcess& operator=(SandboxedProcess&&) noexcept = delete;
  ~SandboxedProcess();

  pid_t pid() const { return pid_; }          // in the caller's PID namespace
  int pidfd() const { return pidfd_.get(); }  // readable when the child exits (for an event loop)
  const SandboxReport& report() const { return report_; }

  // Sends `signal` to the child (which is PID 1 of its namespace: SIGKILL takes every process of
  // the sandbox with it). No-op once reaped. Errors: kIoError from pidfd_send_signal.
  Result<void> kill(int signal);

  // Waits until the child exits or `timeout` passes, then reaps it. Errors: kTimeout (the child
  // is still running and still owned), kIoError. After a successful wait, returns the same status.
  Result<ExitStatus> wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_;
  UniqueFd pidfd_;
  SandboxReport report_;
  std::optional<ServiceCgroup> cgroup_;
  std::optional<ExitStatus> status_;
};

// Starts spec.executable in a new sandbox. Errors: kInvalidArgument (relative or missing
// executable, bad fd mapping), kPermissionDenied / kIoError when the kernel refuses a step (the
// message names the step, e.g. "sandbox setup failed at pivot_root: Operation not permitted"),
// kInternal when the seccomp program cannot be built.
Result<SandboxedProcess> spawnSandboxed(const SandboxSpec& spec);

}  // namespace thunder::executor
