#include "executor/cgroup_limits.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "base/unique_fd.h"

namespace thunder::executor {
namespace {

namespace fs = std::filesystem;

std::optional<std::string> readSmallFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<void> writeSmallFile(const fs::path& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return failErrno(errno, "open " + path.string());
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return failErrno(errno, "write " + path.string());
  }
  return {};
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  for (const auto& entry : list) {
    if (entry == item) return true;
  }
  return false;
}

}  // namespace

CgroupProbe probeCgroupV2() {
  CgroupProbe probe;
  fs::path mount_root;
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (fs::exists(fs::path(candidate) / "cgroup.controllers")) {
      mount_root = candidate;
      break;
    }
  }
  if (mount_root.empty()) {
    probe.summary = "no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified";
    return probe;
  }
  std::string relative;
  std::istringstream lines(readSmallFile("/proc/self/cgroup").value_or(""));
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) == 0) relative = line.substr(3);
  }
  probe.directory = mount_root / fs::path(relative).relative_path();
  std::istringstream controllers(
      readSmallFile(probe.directory / "cgroup.controllers").value_or(""));
  for (std::string name; controllers >> name;) probe.available.push_back(name);
  std::string list;
  for (const auto& name : probe.available) list += (list.empty() ? "" : " ") + name;
  probe.summary = "cgroup v2 at " + probe.directory.string() + " with controllers [" + list + "]";
  return probe;
}

Result<ServiceCgroup> ServiceCgroup::create(const std::string& name,
                                            std::optional<uint64_t> memory_max_bytes,
                                            std::optional<uint64_t> pids_max) {
  CgroupProbe probe = probeCgroupV2();
  if (probe.directory.empty()) return fail(ErrorCode::kUnavailable, "{}", probe.summary);
  std::vector<std::pair<std::string, std::string>> wanted;  // controller, file=value
  if (memory_max_bytes) wanted.emplace_back("memory", std::to_string(*memory_max_bytes));
  if (pids_max) wanted.emplace_back("pids", std::to_string(*pids_max));
  for (const auto& [controller, value] : wanted) {
    if (!contains(probe.available, controller)) {
      return fail(ErrorCode::kUnavailable, "{}: controller '{}' not delegated", probe.summary,
                  controller);
    }
  }
  if (::access(probe.directory.c_str(), W_OK) != 0) {
    return fail(ErrorCode::kUnavailable, "{}: not writable", probe.summary);
  }
  for (const auto& [controller, value] : wanted) {
    auto enabled = writeSmallFile(probe.directory / "cgroup.subtree_control", "+" + controller);
    if (!enabled)
      return fail(ErrorCode::kUnavailable, "{}: {}", probe.summary, enabled.error().message);
  }
  fs::path directory = probe.directory / name;
  std::error_code ec;
  fs::create_directory(directory, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "mkdir {}: {}", directory.string(), ec.message());
  ServiceCgroup cgroup(directory, {});
  for (const auto& [controller, value] : wanted) {
    std::string file = controller + ".max";
    auto written = writeSmallFile(directory / file, value);
    if (!written) return fail(ErrorCode::kUnavailable, "{}", written.error().message);
    cgroup.limits_.push_back("cgroup " + file + "=" + value);
  }
  return cgroup;
}

ServiceCgroup::ServiceCgroup(fs::path directory, std::vector<std::string> limits)
    : directory_(std::move(directory)), limits_(std::move(limits)) {}

ServiceCgroup::ServiceCgroup(ServiceCgroup&& other) noexcept
    : directory_(std::exchange(other.directory_, {})), limits_(std::move(other.limits_)) {}

ServiceCgroup::~ServiceCgroup() {
  if (!directory_.empty()) ::rmdir(directory_.c_str());  // fails harmlessly while still populated
}

Result<void> ServiceCgroup::attach(pid_t pid) const {
  return writeSmallFile(directory_ / "cgroup.procs", std::to_string(pid));
}

}  // namespace thunder::executor
