// Process metering from /proc: CPU time and memory of a running service process, read by the
// supervisor every metering interval (the exit rusage covers the end). Blocking reads of two
// small procfs files; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "base/result.h"

namespace thunder::executor {

struct ProcessSample {
  uint64_t cpu_ms = 0;              // utime + stime, plus those of reaped children
  uint64_t rss_bytes = 0;           // VmRSS
  uint64_t peak_rss_bytes = 0;      // VmHWM
  uint64_t peak_virtual_bytes = 0;  // VmPeak (what RLIMIT_AS bounds)
};

// Reads /proc/<pid>/stat and /proc/<pid>/status. kNotFound once the process is gone.
Result<ProcessSample> sampleProcess(pid_t pid);

// The parsers, for tests: the CPU fields of a /proc/<pid>/stat line (the command may contain
// spaces and parentheses), and the Vm* lines of /proc/<pid>/status. kCorruption if malformed.
Result<uint64_t> parseStatCpuTicks(std::string_view stat_line);
ProcessSample parseStatusMemory(std::string_view status_text);

}  // namespace thunder::executor
