// Internal to the executor: the plan the sandbox child executes between clone() and execve().
// Everything is computed (and allocated) by the parent in sandbox.cc; runSandboxChild() only
// issues system calls, so it is safe in the child of a multithreaded process.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "executor/sandbox.h"

namespace thunder::executor::internal {

// Reported by the child over the report pipe when a step fails (then it exits with 127).
enum class ChildStep : int {
  kWaitForParent = 1,
  kIds,
  kMountPrivate,
  kMountTmpfs,
  kMkdir,
  kTouch,
  kSymlink,
  kBind,
  kRemountBind,
  kOpenDevNull,
  kRemountRoot,
  kPivotRoot,
  kUnmountOldRoot,
  kHostname,
  kFds,
  kRlimit,
  kDropIds,
  kNoNewPrivs,
  kSeccomp,
  kExec,
};
const char* childStepName(ChildStep step);

struct ChildFailure {
  ChildStep step;
  int error;
};

struct MountOp {
  enum class Kind { kMkdir, kTouch, kSymlink, kBind };
  Kind kind;
  std::string target;              // absolute path below the staging root
  std::string source;              // bind source, or the symlink's contents
  unsigned long locked_flags = 0;  // MS_NOEXEC etc. of the source mount (must be kept)
  int tree_fd = -1;                // kBind: a detached mount (open_tree) to attach at target
};

enum class IdMode {
  kMappedRange,  // parent is root: inside 0 and 1000 map to two unprivileged host ids
  kSelfOnly,     // parent is not root: inside 0 maps to the parent's own ids
};

struct ChildPlan {
  std::string staging;  // an empty host directory the new root's tmpfs is mounted on
  std::vector<MountOp> ops;
  std::string executable;
  std::vector<char*> argv;  // null-terminated, pointing into the parent's strings
  std::vector<char*> envp;
  std::vector<InheritedFd> fds;
  std::vector<std::pair<int, rlimit>> rlimits;
  sock_fprog seccomp{};
  std::string hostname;
  IdMode ids = IdMode::kMappedRange;
  int go_fd = -1;        // read end: one byte when the id maps are written
  int go_write_fd = -1;  // the parent's end, closed first so a dead parent means EOF
  int report_fd = -1;    // write end, close-on-exec: ChildFailure on error, EOF on execve
};

constexpr uid_t kServiceId = 1000;  // uid and gid of the service inside its user namespace

[[noreturn]] void runSandboxChild(ChildPlan& plan);

}  // namespace thunder::executor::internal
