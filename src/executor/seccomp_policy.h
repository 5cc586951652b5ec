// SeccompPolicy: the seccomp-bpf allowlist every sandboxed service runs under, compiled with
// libseccomp into a classic BPF program in the parent (the forked child only installs the
// ready-made program, so it never allocates between clone and execve).
//
// Policy (docs/security/sandbox.md): syscalls on the allowlist run; a short list of
// dangerous-but-expected calls (socket creation, connect/bind/listen/accept, ptrace, mount,
// namespaces, keyrings, modules, bpf, ...) fail with EPERM so the service sees a clean refusal;
// everything else kills the whole process (SIGSYS). Value type; any thread.
#pragma once

#include <linux/filter.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace thunder::executor {

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  // The default action for syscalls that are neither allowed nor refused, e.g. "kill-process".
  std::string default_action;
};

// Compiles the service policy for the native architecture. Errors: kInternal when libseccomp
// rejects a rule (a bug or an unsupported libseccomp), kIoError when exporting fails.
Result<SeccompProgram> buildServiceSeccompProgram();

}  // namespace thunder::executor
