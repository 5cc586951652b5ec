#include "executor/process_meter.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <string>

#include "base/unique_fd.h"

namespace thunder::executor {
namespace {

Result<std::string> readSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ESRCH) {
      return fail(ErrorCode::kNotFound, "{}: the process is gone", path);
    }
    return failErrno(errno, path);
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == ESRCH) return fail(ErrorCode::kNotFound, "{}: the process is gone", path);
      return failErrno(errno, path);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > (64u << 10)) break;
  }
  return text;
}

uint64_t kibLine(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return 0;
  size_t pos = at + key.size();
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  uint64_t value = 0;
  std::from_chars(text.data() + pos, text.data() + text.size(), value);
  return value * 1024;
}

}  // namespace

Result<uint64_t> parseStatCpuTicks(std::string_view line) {
  // "pid (comm) state ppid ..." — comm may hold anything, so parse after the last ')'.
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos) {
    return fail(ErrorCode::kCorruption, "/proc stat line without a command field");
  }
  std::string_view rest = line.substr(close + 1);
  // Fields after comm: 3 state, 4 ppid, ... 14 utime, 15 stime, 16 cutime, 17 cstime.
  uint64_t total = 0;
  int field = 2;
  size_t pos = 0;
  while (field < 17) {
    while (pos < rest.size() && rest[pos] == ' ') ++pos;
    if (pos >= rest.size()) return fail(ErrorCode::kCorruption, "/proc stat line is too short");
    const size_t end = std::min(rest.find(' ', pos), rest.size());
    ++field;
    if (field >= 14) {
      int64_t value = 0;  // cutime/cstime are signed in the kernel's format
      auto [ptr, ec] = std::from_chars(rest.data() + pos, rest.data() + end, value);
      if (ec != std::errc() || ptr != rest.data() + end) {
        return fail(ErrorCode::kCorruption, "/proc stat field {} is not a number", field);
      }
      if (value > 0) total += static_cast<uint64_t>(value);
    }
    pos = end;
  }
  return total;
}

ProcessSample parseStatusMemory(std::string_view text) {
  ProcessSample sample;
  sample.rss_bytes = kibLine(text, "VmRSS:");
  sample.peak_rss_bytes = kibLine(text, "VmHWM:");
  sample.peak_virtual_bytes = kibLine(text, "VmPeak:");
  return sample;
}

Result<ProcessSample> sampleProcess(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  THUNDER_ASSIGN_OR_RETURN(std::string stat, readSmallFile(base + "/stat"));
  THUNDER_ASSIGN_OR_RETURN(std::string status, readSmallFile(base + "/status"));
  THUNDER_ASSIGN_OR_RETURN(uint64_t ticks, parseStatCpuTicks(stat));
  ProcessSample sample = parseStatusMemory(status);
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  sample.cpu_ms =
      ticks * 1000 / static_cast<uint64_t>(ticks_per_second > 0 ? ticks_per_second : 100);
  return sample;
}

}  // namespace thunder::executor
