#include "executor/sandbox_child.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace thunder::executor::internal {
namespace {

[[noreturn]] void die(ChildPlan& plan, ChildStep step) {
  ChildFailure failure{step, errno};
  [[maybe_unused]] ssize_t n = ::write(plan.report_fd, &failure, sizeof failure);
  ::_exit(127);
}

void check(ChildPlan& plan, ChildStep step, bool ok) {
  if (!ok) die(plan, step);
}

void runMountOp(ChildPlan& plan, const MountOp& op) {
  const char* target = op.target.c_str();
  switch (op.kind) {
    case MountOp::Kind::kMkdir:
      check(plan, ChildStep::kMkdir, ::mkdir(target, 0755) == 0 || errno == EEXIST);
      return;
    case MountOp::Kind::kTouch: {
      int fd = ::open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      check(plan, ChildStep::kTouch, fd >= 0);
      ::close(fd);
      return;
    }
    case MountOp::Kind::kSymlink:
      check(plan, ChildStep::kSymlink, ::symlink(op.source.c_str(), target) == 0);
      return;
    case MountOp::Kind::kBind:
      if (op.tree_fd >= 0) {
        check(plan, ChildStep::kBind,
              ::syscall(SYS_move_mount, op.tree_fd, "", AT_FDCWD, target,
                        MOVE_MOUNT_F_EMPTY_PATH) == 0);
      } else {
        check(plan, ChildStep::kBind,
              ::mount(op.source.c_str(), target, nullptr, MS_BIND | MS_REC, nullptr) == 0);
      }
      check(plan, ChildStep::kRemountBind,
            ::mount(nullptr, target, nullptr,
                    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | op.locked_flags,
                    nullptr) == 0);
      return;
  }
}

bool isTarget(ChildPlan& plan, int fd) {
  for (const auto& mapping : plan.fds) {
    if (mapping.target_fd == fd) return true;
  }
  return false;
}

// Moves inherited descriptors to their targets, /dev/null onto unmapped 0-2, and marks every other
// descriptor close-on-exec (the report pipe closes at execve, which tells the parent it worked).
void arrangeFds(ChildPlan& plan, int dev_null) {
  int first_free = 3;
  for (const auto& mapping : plan.fds) first_free = std::max(first_free, mapping.target_fd + 1);
  int stashed[64];
  for (size_t i = 0; i < plan.fds.size(); ++i) {
    stashed[i] = ::fcntl(plan.fds[i].source_fd, F_DUPFD_CLOEXEC, first_free);
    check(plan, ChildStep::kFds, stashed[i] >= 0);
  }
  for (size_t i = 0; i < plan.fds.size(); ++i) {
    check(plan, ChildStep::kFds, ::dup2(stashed[i], plan.fds[i].target_fd) >= 0);
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (!isTarget(plan, fd)) check(plan, ChildStep::kFds, ::dup2(dev_null, fd) >= 0);
  }
  if (plan.report_fd < first_free) {  // keep the report pipe, but out of the way
    int moved = ::fcntl(plan.report_fd, F_DUPFD_CLOEXEC, first_free);
    check(plan, ChildStep::kFds, moved >= 0);
    plan.report_fd = moved;  // the child's private copy of the plan
  }
  for (int fd = 3; fd < first_free; ++fd) {
    if (!isTarget(plan, fd)) ::close(fd);
  }
  check(plan, ChildStep::kFds,
        ::syscall(SYS_close_range, first_free, ~0u, CLOSE_RANGE_CLOEXEC) == 0);
}

}  // namespace

// The child of a multithreaded parent, made by a raw clone(): glibc still believes other threads
// exist, so its set*id wrappers would broadcast to them (__nptl_setxid) and may wait on a lock
// another parent thread held at clone time. Every id change here is therefore a raw system call,
// which changes this (only) thread's credentials.
void runSandboxChild(ChildPlan& plan) {
  ::close(plan.go_write_fd);
  char go = 0;
  check(plan, ChildStep::kWaitForParent, ::read(plan.go_fd, &go, 1) == 1);
  ::close(plan.go_fd);
  if (plan.ids == IdMode::kMappedRange) {
    // drop the host's groups
    check(plan, ChildStep::kIds, ::syscall(SYS_setgroups, 0, nullptr) == 0);
  }
  check(plan, ChildStep::kIds,
        ::syscall(SYS_setresgid, 0, 0, 0) == 0 && ::syscall(SYS_setresuid, 0, 0, 0) == 0);

  check(plan, ChildStep::kMountPrivate,
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  const char* root = plan.staging.c_str();
  check(plan, ChildStep::kMountTmpfs,
        ::mount("thunder-sandbox", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=64k") == 0);
  for (const auto& op : plan.ops) runMountOp(plan, op);
  int dev_null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  check(plan, ChildStep::kOpenDevNull, dev_null >= 0);
  check(plan, ChildStep::kRemountRoot,
        ::mount(nullptr, root, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                nullptr) == 0);
  check(plan, ChildStep::kPivotRoot, ::chdir(root) == 0);
  check(plan, ChildStep::kPivotRoot, ::syscall(SYS_pivot_root, ".", ".") == 0);
  check(plan, ChildStep::kUnmountOldRoot, ::umount2(".", MNT_DETACH) == 0);
  check(plan, ChildStep::kPivotRoot, ::chdir("/") == 0);
  check(plan, ChildStep::kHostname, ::sethostname(plan.hostname.data(), plan.hostname.size()) == 0);

  arrangeFds(plan, dev_null);
  for (const auto& [resource, limit] : plan.rlimits) {
    check(plan, ChildStep::kRlimit,
          ::setrlimit(static_cast<__rlimit_resource>(resource), &limit) == 0);
  }
  if (plan.ids == IdMode::kMappedRange) {  // leaving uid 0 drops every capability
    check(plan, ChildStep::kDropIds,
          ::syscall(SYS_setresgid, kServiceId, kServiceId, kServiceId) == 0);
    check(plan, ChildStep::kDropIds,
          ::syscall(SYS_setresuid, kServiceId, kServiceId, kServiceId) == 0);
  }
  check(plan, ChildStep::kDropIds, ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == 0);
  check(plan, ChildStep::kNoNewPrivs, ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0);
  check(plan, ChildStep::kSeccomp,
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &plan.seccomp, 0, 0) == 0);
  ::execve(plan.executable.c_str(), plan.argv.data(), plan.envp.data());
  die(plan, ChildStep::kExec);
}

const char* childStepName(ChildStep step) {
  switch (step) {
    case ChildStep::kWaitForParent: return "waiting for the id maps";
    case ChildStep::kIds: return "becoming root of the user namespace";
    case ChildStep::kMountPrivate: return "making mounts private";
    case ChildStep::kMountTmpfs: return "mounting the root tmpfs";
    case ChildStep::kMkdir: return "mkdir in the new root";
    case ChildStep::kTouch: return "creating a file mount point";
    case ChildStep::kSymlink: return "symlink in the new root";
    case ChildStep::kBind: return "bind-mounting an allowlisted path";
    case ChildStep::kRemountBind: return "remounting a bind read-only";
    case ChildStep::kOpenDevNull: return "opening /dev/null";
    case ChildStep::kRemountRoot: return "remounting the new root read-only";
    case ChildStep::kPivotRoot: return "pivot_root";
    case ChildStep::kUnmountOldRoot: return "unmounting the old root";
    case ChildStep::kHostname: return "sethostname";
    case ChildStep::kFds: return "arranging inherited descriptors";
    case ChildStep::kRlimit: return "setrlimit";
    case ChildStep::kDropIds: return "switching to the service uid/gid";
    case ChildStep::kNoNewPrivs: return "PR_SET_NO_NEW_PRIVS";
    case ChildStep::kSeccomp: return "installing the seccomp filter";
    case ChildStep::kExec: return "execve";
  }
  return "unknown step";
}

}  // namespace thunder::executor::internal
