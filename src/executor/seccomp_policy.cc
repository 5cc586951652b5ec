#include "executor/seccomp_policy.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <memory>

#include "base/unique_fd.h"

namespace thunder::executor {
namespace {

// What a dynamically linked C/C++ program, an Asio event loop and a thread pool need, working only
// on descriptors it was given or opened below its read-only root.
constexpr std::array kAllowed = {
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "dup",
    "dup2",
    "dup3",
    "fcntl",
    "openat",
    "open",
    "access",
    "faccessat",
    "faccessat2",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "readlink",
    "readlinkat",
    "getdents64",
    "getcwd",
    "chdir",
    "fchdir",
    "pipe",
    "pipe2",
    "mmap",
    "munmap",
    "mremap",
    "mprotect",
    "madvise",
    "brk",
    "msync",
    "mincore",
    "futex",
    "futex_waitv",
    "set_robust_list",
    "get_robust_list",
    "set_tid_address",
    "rseq",
    "arch_prctl",
    "prctl",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "getpriority",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "clock_getres",
    "gettimeofday",
    "time",
    "getrandom",
    "getpid",
    "getppid",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "getpgid",
    "getsid",
    "setsid",
    "uname",
    "sysinfo",
    "getrusage",
    "getrlimit",
    "prlimit64",
    "times",
    "capget",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigpending",
    "sigaltstack",
    "kill",
    "tgkill",
    "tkill",
    "pause",
    "alarm",
    "setitimer",
    "getitimer",
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_delete",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "eventfd",
    "eventfd2",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "epoll_pwait2",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "sendto",
    "recvfrom",
    "shutdown",
    "getsockopt",
    "setsockopt",
    "getsockname",
    "getpeername",
    "sendfile",
    "splice",
    "tee",
    "fork",
    "vfork",
    "execve",
    "wait4",
    "waitid",
    "exit",
    "exit_group",
    "memfd_create",
    "ftruncate",
    "fallocate",
    "fsync",
    "fdatasync",
    "membarrier",
    "umask",
    "restart_syscall",
    "flock",
    "fadvise64",
    "mlock",
    "munlock",
};

// Refused with EPERM (the caller sees a clean error instead of dying).
constexpr std::array kRefused = {
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "unshare",
    "setns",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "open_by_handle_at",
    "name_to_handle_at",
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setgroups",
    "sethostname",
    "setdomainname",
    "personality",
    "seccomp",
    "pidfd_open",
    "pidfd_getfd",
};

// Namespace-creating clone flags a service may not pass to clone().
constexpr unsigned long kNamespaceFlags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID |
                                          CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
                                          CLONE_NEWCGROUP | CLONE_NEWTIME;

// ioctl requests a service may issue (non-blocking mode, readable bytes, close-on-exec, isatty).
constexpr std::array<unsigned long, 5> kIoctls = {FIONBIO, FIONREAD, FIOCLEX, FIONCLEX, TCGETS};

struct CtxDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<void> addRule(scmp_filter_ctx ctx, uint32_t action, const char* name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return {};  // not on this architecture (e.g. "time" on arm64)
  int rc = seccomp_rule_add(ctx, action, nr, 0);
  if (rc != 0)
    return fail(ErrorCode::kInternal, "seccomp rule for {}: {}", name, std::strerror(-rc));
  return {};
}

Result<void> addCloneRules(scmp_filter_ctx ctx) {
  int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, kNamespaceFlags, 0));
  for (unsigned long flag = 1; rc == 0 && flag != 0; flag <<= 1) {
    if ((kNamespaceFlags & flag) == 0) continue;
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
  }
  // clone3 passes its flags in memory BPF cannot read: ENOSYS makes libc fall back to clone.
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return fail(ErrorCode::kInternal, "seccomp clone rules: {}", std::strerror(-rc));
  return {};
}

Result<void> addIoctlRules(scmp_filter_ctx ctx) {
  for (unsigned long request : kIoctls) {
    int rc =
        seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, request));
    if (rc != 0) return fail(ErrorCode::kInternal, "seccomp ioctl rule: {}", std::strerror(-rc));
  }
  return {};
}

}  // namespace

Result<SeccompProgram> buildServiceSeccompProgram() {
  Ctx ctx(seccomp_init(SCMP_ACT_KILL_PROCESS));
  if (!ctx) return fail(ErrorCode::kInternal, "seccomp_init failed");
  for (const char* name : kAllowed) THUNDER_TRY(addRule(ctx.get(), SCMP_ACT_ALLOW, name));
  for (const char* name : kRefused) THUNDER_TRY(addRule(ctx.get(), SCMP_ACT_ERRNO(EPERM), name));
  THUNDER_TRY(addCloneRules(ctx.get()));
  THUNDER_TRY(addIoctlRules(ctx.get()));

  UniqueFd memfd(::memfd_create("thunder-seccomp", MFD_CLOEXEC));
  if (!memfd.valid()) return failErrno(errno, "memfd_create for the seccomp program");
  if (int rc = seccomp_export_bpf(ctx.get(), memfd.get()); rc != 0) {
    return fail(ErrorCode::kIoError, "seccomp_export_bpf: {}", std::strerror(-rc));
  }
  off_t size = ::lseek(memfd.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    return fail(ErrorCode::kInternal, "seccomp program has odd size {}", size);
  }
  SeccompProgram program;
  program.default_action = "kill-process";
  program.instructions.resize(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(memfd.get(), program.instructions.data(), static_cast<size_t>(size), 0) != size) {
    return failErrno(errno, "reading the seccomp program back");
  }
  return program;
}

}  // namespace thunder::executor
