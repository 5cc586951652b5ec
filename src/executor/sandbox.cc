#include "executor/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <set>
#include <utility>

#include "executor/sandbox_child.h"
#include "executor/seccomp_policy.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace thunder::executor {
namespace {

namespace fs = std::filesystem;
using internal::ChildFailure;
using internal::ChildPlan;
using internal::MountOp;

// Host ids the namespace's 0..1000 map to when the node runs as root (an unused subordinate range:
// the service's uid 1000 is host uid 101000, which owns nothing on the host).
constexpr uid_t kHostIdBase = 100000;
constexpr size_t kMaxInheritedFds = 64;
constexpr int kDepthLimit = 16;  // symlink chains in allowlisted paths
// From the release of the child until its execve (a loaded machine may need seconds).
constexpr std::chrono::milliseconds kSetupTimeout{30'000};

// Flags of the source mount that a bind in a user namespace must keep (the kernel locks them).
unsigned long lockedFlags(const fs::path& path) {
  struct statvfs info {};
  if (::statvfs(path.c_str(), &info) != 0) return 0;
  unsigned long flags = 0;
  if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (info.f_flag & ST_NOATIME) {
    flags |= MS_NOATIME;
  } else if (info.f_flag & ST_RELATIME) {
    flags |= MS_RELATIME;
  } else {
    flags |= MS_STRICTATIME;
  }
  return flags;
}

// Turns the allowlist into mkdir/touch/symlink/bind steps below the staging directory.
class RootPlanner {
 public:
  explicit RootPlanner(std::string staging) : staging_(std::move(staging)) {}

  Result<void> add(const fs::path& path, int depth) {
    if (depth > kDepthLimit)
      return fail(ErrorCode::kInvalidArgument, "symlink loop at {}", path.string());
    if (!path.is_absolute()) {
      return fail(ErrorCode::kInvalidArgument, "sandbox path {} is not absolute", path.string());
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return failErrno(errno, "sandbox path " + path.string());
    std::error_code ec;
    if (S_ISLNK(info.st_mode)) {
      fs::path parent = fs::canonical(path.parent_path(), ec);
      if (ec) return failErrorCode(ec, "sandbox path " + path.string());
      fs::path link = parent / path.filename();
      if (!coveredByBind(link) && done_.insert(link.string()).second) {
        mkdirs(parent);
        ops_.push_back({MountOp::Kind::kSymlink, staging_ + link.string(),
                        fs::read_symlink(path, ec).string()});
        if (ec) return failErrorCode(ec, "readlink " + path.string());
      }
      fs::path target = fs::canonical(path, ec);
      if (ec) return failErrorCode(ec, "sandbox path " + path.string());
      return add(target, depth + 1);
    }
    fs::path real = fs::canonical(path, ec);
    if (ec) return failErrorCode(ec, "sandbox path " + path.string());
    if (coveredByBind(real) || !done_.insert(real.string()).second) return {};
    // A detached copy of the mount (open_tree), made here by the node and attached by the child
    // with move_mount: the child's unprivileged ids then need no search permission on the
    // path's parent folders (a data dir is 0700); only the service needs access to the file.
    UniqueFd tree(static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, real.c_str(),
                                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
    if (!tree.valid()) return failErrno(errno, "open_tree of sandbox path " + real.string());
    mkdirs(real.parent_path());
    bool directory = S_ISDIR(info.st_mode);
    ops_.push_back(
        {directory ? MountOp::Kind::kMkdir : MountOp::Kind::kTouch, staging_ + real.string(), {}});
    ops_.push_back({MountOp::Kind::kBind, staging_ + real.string(), real.string(),
                    lockedFlags(real), tree.get()});
    sources_.push_back(std::move(tree));
    if (directory) bound_dirs_.push_back(real);
    return {};
  }

  std::vector<MountOp> take() { return std::move(ops_); }
  // The detached mounts the binds attach; keep them open until the child has exec'd.
  std::vector<UniqueFd> takeSources() { return std::move(sources_); }

 private:
  bool coveredByBind(const fs::path& path) const {
    for (const auto& dir : bound_dirs_) {
      auto [dir_end, path_it] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
      if (dir_end == dir.end()) return true;
    }
    return false;
  }

  void mkdirs(const fs::path& dir) {
    fs::path prefix;
    for (const auto& part : dir) {
      prefix /= part;
      if (prefix == "/") continue;
      if (done_.insert(prefix.string()).second) {
        ops_.push_back({MountOp::Kind::kMkdir, staging_ + prefix.string(), {}});
      }
    }
  }

  std::string staging_;
  std::set<std::string> done_;
  std::vector<fs::path> bound_dirs_;
  std::vector<MountOp> ops_;
  std::vector<UniqueFd> sources_;
};

Result<void> writeProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return failErrno(errno, "writing " + path);
  }
  return {};
}

Result<void> writeIdMaps(pid_t pid, internal::IdMode mode) {
  if (mode == internal::IdMode::kMappedRange) {
    std::string map = fmt::format("0 {} {}\n", kHostIdBase, internal::kServiceId + 1);
    THUNDER_TRY(writeProcFile(pid, "uid_map", map));
    return writeProcFile(pid, "gid_map", map);
  }
  THUNDER_TRY(writeProcFile(pid, "setgroups", "deny"));
  THUNDER_TRY(writeProcFile(pid, "uid_map", fmt::format("0 {} 1\n", ::geteuid())));
  return writeProcFile(pid, "gid_map", fmt::format("0 {} 1\n", ::getegid()));
}

Result<void> validate(const SandboxSpec& spec) {
  if (!spec.executable.is_absolute()) {
    return fail(ErrorCode::kInvalidArgument, "service executable {} must be an absolute path",
                spec.executable.string());
  }
  if (::access(spec.executable.c_str(), X_OK) != 0) {
    return failErrno(errno, "service executable " + spec.executable.string());
  }
  struct stat info {};
  if (::geteuid() == 0 && ::stat(spec.executable.c_str(), &info) == 0 &&
      (info.st_mode & S_IXOTH) == 0) {  // the service runs as an unprivileged mapped user
    return fail(ErrorCode::kPermissionDenied,
                "service executable {} is not executable by the sandboxed user (mode {:o}; "
                "chmod o+rx it)",
                spec.executable.string(), info.st_mode & 07777);
  }
  if (spec.fds.size() > kMaxInheritedFds) {
    return fail(ErrorCode::kInvalidArgument, "at most {} inherited fds", kMaxInheritedFds);
  }
  std::set<int> targets;
  for (const auto& mapping : spec.fds) {
    if (mapping.source_fd < 0 || mapping.target_fd < 0 || mapping.target_fd > 1000 ||
        !targets.insert(mapping.target_fd).second) {
      return fail(ErrorCode::kInvalidArgument, "bad inherited fd mapping {} -> {}",
                  mapping.source_fd, mapping.target_fd);
    }
  }
  return {};
}

std::vector<char*> cStrings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

SandboxReport baseReport(const SandboxSpec& spec, const SeccompProgram& seccomp) {
  SandboxReport report;
  report.isolation = {"user-ns",
                      "pid-ns",
                      "mount-ns",
                      "net-ns",
                      "ipc-ns",
                      "uts-ns",
                      "pivot_root:read-only-tmpfs",
                      "no_new_privs",
                      "caps-dropped",
                      "seccomp:default=" + seccomp.default_action};
  const auto& l = spec.limits;
  if (l.address_space_bytes)
    report.limits.push_back(fmt::format("rlimit-as={}", *l.address_space_bytes));
  if (l.cpu_seconds) report.limits.push_back(fmt::format("rlimit-cpu={}s", *l.cpu_seconds));
  if (l.open_files) report.limits.push_back(fmt::format("rlimit-nofile={}", *l.open_files));
  if (l.processes) report.limits.push_back(fmt::format("rlimit-nproc={}", *l.processes));
  return report;
}

std::vector<std::pair<int, rlimit>> rlimitsFor(const SandboxLimits& limits) {
  std::vector<std::pair<int, rlimit>> out;
  auto add = [&](int resource, std::optional<uint64_t> soft, uint64_t extra_hard) {
    if (soft) out.push_back({resource, rlimit{*soft, *soft + extra_hard}});
  };
  add(RLIMIT_AS, limits.address_space_bytes, 0);
  add(RLIMIT_CPU, limits.cpu_seconds, 1);  // SIGXCPU at the soft limit, SIGKILL a second later
  add(RLIMIT_NOFILE, limits.open_files, 0);
  add(RLIMIT_NPROC, limits.processes, 0);
  add(RLIMIT_CORE, uint64_t{0}, 0);
  return out;
}

Result<ExitStatus> reap(int pidfd) {
  siginfo_t info{};
  rusage usage{};
  long rc;
  do {  // the raw system call: its fifth argument returns the child's resource usage
    rc = ::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &usage);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return failErrno(errno, "waitid on the service pidfd");
  ExitStatus status;
  status.kind =
      info.si_code == CLD_EXITED ? ExitStatus::Kind::kExited : ExitStatus::Kind::kSignaled;
  status.value = info.si_status;
  auto micros = [](const timeval& t) {
    return std::chrono::microseconds(int64_t{t.tv_sec} * 1'000'000 + t.tv_usec);
  };
  status.usage.cpu_user = micros(usage.ru_utime);
  status.usage.cpu_system = micros(usage.ru_stime);
  status.usage.max_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  return status;
}

void killAndReap(int pidfd) {
  ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  [[maybe_unused]] auto status = reap(pidfd);
}

}  // namespace

std::vector<fs::path> defaultLibraryPaths() {
  std::vector<fs::path> paths;
  for (const char* dir : {"/lib", "/lib64", "/usr/lib", "/usr/lib64"}) {
    std::error_code ec;
    if (fs::exists(dir, ec)) paths.emplace_back(dir);
  }
  return paths;
}

std::string ExitStatus::describe() const {
  if (kind == Kind::kExited) return fmt::format("exit {}", value);
  return fmt::format("signal {} ({})", value, ::strsignal(value));
}

Result<SandboxedProcess> spawnSandboxed(const SandboxSpec& spec) {
  THUNDER_TRY(validate(spec));
  THUNDER_ASSIGN_OR_RETURN(SeccompProgram seccomp, buildServiceSeccompProgram());
  SandboxReport report = baseReport(spec, seccomp);

  char staging_template[] = "/tmp/thunder-sandbox-XXXXXX";
  if (::mkdtemp(staging_template) == nullptr)
    return failErrno(errno, "mkdtemp for the sandbox root");
  std::string staging = staging_template;
  struct StagingGuard {
    std::string path;
    ~StagingGuard() { ::rmdir(path.c_str()); }  // the tmpfs lives only in the child's namespace
  } staging_guard{staging};
  ::chmod(staging.c_str(), 0755);

  RootPlanner planner(staging);
  THUNDER_TRY(planner.add(spec.executable, 0));
  for (const auto& path : spec.read_only_paths) THUNDER_TRY(planner.add(path, 0));

  ChildPlan plan;
  plan.staging = staging;
  plan.ops = planner.take();
  const std::vector<UniqueFd> bind_sources = planner.takeSources();
  std::error_code ec;
  plan.executable = fs::canonical(spec.executable, ec).string();
  if (ec) return failErrorCode(ec, "service executable " + spec.executable.string());
  std::vector<std::string> argv_strings{plan.executable};
  argv_strings.insert(argv_strings.end(), spec.args.begin(), spec.args.end());
  std::vector<std::string> env_strings = spec.env;
  plan.argv = cStrings(argv_strings);
  plan.envp = cStrings(env_strings);
  plan.fds = spec.fds;
  plan.rlimits = rlimitsFor(spec.limits);
  plan.seccomp.len = static_cast<unsigned short>(seccomp.instructions.size());
  plan.seccomp.filter = seccomp.instructions.data();
  plan.hostname = spec.hostname;
  plan.ids = ::geteuid() == 0 ? internal::IdMode::kMappedRange : internal::IdMode::kSelfOnly;

  std::optional<ServiceCgroup> cgroup;
  if (spec.limits.address_space_bytes || spec.limits.processes) {
    static std::atomic<uint64_t> counter{0};
    auto created = ServiceCgroup::create(
        fmt::format("thunder-sandbox-{}-{}", ::getpid(), counter.fetch_add(1)),
        spec.limits.address_space_bytes, spec.limits.processes);
    if (created) {
      cgroup.emplace(std::move(*created));
      for (const auto& limit : cgroup->limitsInForce()) report.limits.push_back(limit);
      report.cgroup = "cgroup v2 limits in force";
    } else {
      report.cgroup = "no cgroup limits: " + created.error().message;
    }
  }

  int go[2];
  int status_pipe[2];
  if (::pipe2(go, O_CLOEXEC) != 0) return failErrno(errno, "pipe2");
  UniqueFd go_read(go[0]), go_write(go[1]);
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) return failErrno(errno, "pipe2");
  UniqueFd report_read(status_pipe[0]), report_write(status_pipe[1]);
  plan.go_fd = go_read.get();
  plan.go_write_fd = go_write.get();
  plan.report_fd = report_write.get();

  int pidfd = -1;
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |
                        CLONE_NEWUTS | CLONE_PIDFD | SIGCHLD;
  long pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, 0);
  if (pid < 0) {
    return failErrno(errno,
                     "clone with new user/pid/mount/net/ipc/uts namespaces (are user "
                     "namespaces disabled? see docs/security/sandbox.md)");
  }
  if (pid == 0) internal::runSandboxChild(plan);

  go_read.reset();
  report_write.reset();
  UniqueFd child_pidfd(pidfd);
  auto child = static_cast<pid_t>(pid);
  if (cgroup) {
    if (auto attached = cgroup->attach(child); !attached) {
      killAndReap(child_pidfd.get());
      return fail(attached.error().withContext("moving the service into its cgroup"));
    }
  }
  if (auto mapped = writeIdMaps(child, plan.ids); !mapped) {
    killAndReap(child_pidfd.get());
    return fail(mapped.error().withContext("user namespace id maps"));
  }
  char go_byte = 1;
  if (::write(go_write.get(), &go_byte, 1) != 1) {
    int saved = errno;
    killAndReap(child_pidfd.get());
    return failErrno(saved, "releasing the sandbox child");
  }
  // The report pipe closes at execve (or carries the failed step). A child that neither execs
  // nor fails in time is killed, so a broken setup never holds the calling thread forever.
  pollfd report_wait{report_read.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&report_wait, 1, static_cast<int>(kSetupTimeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) {
    killAndReap(child_pidfd.get());
    return fail(ErrorCode::kTimeout, "sandbox setup did not finish within {} ms",
                kSetupTimeout.count());
  }
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != 0) {  // the child failed before execve (or the pipe broke: treat alike)
    killAndReap(child_pidfd.get());
    if (n != static_cast<ssize_t>(sizeof failure)) return failErrno(errno, "sandbox report pipe");
    ErrorCode code = (failure.error == EPERM || failure.error == EACCES)
                         ? ErrorCode::kPermissionDenied
                         : ErrorCode::kIoError;
    return fail(code, "sandbox setup failed at {}: {}", internal::childStepName(failure.step),
                std::strerror(failure.error));
  }
  return SandboxedProcess(child, std::move(child_pidfd), std::move(report), std::move(cgroup));
}

SandboxedProcess::SandboxedProcess(pid_t pid, UniqueFd pidfd, SandboxReport report,
                                   std::optional<ServiceCgroup> cgroup)
    : pid_(pid), pidfd_(std::move(pidfd)), report_(std::move(report)), cgroup_(std::move(cgroup)) {}

SandboxedProcess::~SandboxedProcess() {
  if (pidfd_.valid() && !status_) killAndReap(pidfd_.get());
}

Result<void> SandboxedProcess::kill(int signal) {
  if (status_ || !pidfd_.valid()) return {};
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), signal, nullptr, 0) != 0 && errno != ESRCH) {
    return failErrno(errno, "pidfd_send_signal");
  }
  return {};
}

Result<ExitStatus> SandboxedProcess::wait(std::chrono::milliseconds timeout) {
  if (status_) return *status_;
  if (!pidfd_.valid()) return fail(ErrorCode::kInternal, "wait on a moved-from SandboxedProcess");
  pollfd entry{pidfd_.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&entry, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return failErrno(errno, "poll on the service pidfd");
  if (ready == 0) {
    return fail(ErrorCode::kTimeout, "service pid {} still running after {} ms", pid_,
                timeout.count());
  }
  THUNDER_ASSIGN_OR_RETURN(ExitStatus status, reap(pidfd_.get()));
  status_ = status;
  return status;
}

}  // namespace thunder::executor
