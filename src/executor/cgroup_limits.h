// ServiceCgroup: a cgroup v2 directory for one sandboxed service with memory.max and pids.max, made
// only when the cgroup tree is writable and delegates those controllers; otherwise create()
// explains why no cgroup limits are in force. Owns (removes) the directory. Move-only; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace thunder::executor {

struct CgroupProbe {
  std::filesystem::path directory;     // this process's cgroup v2 directory ("" when none)
  std::vector<std::string> available;  // controllers listed in its cgroup.controllers
  std::string summary;                 // one line for the report
};

// Finds this process's cgroup v2 directory (unified or hybrid mount) and its controllers.
CgroupProbe probeCgroupV2();

class ServiceCgroup {
 public:
  // Creates <own cgroup>/<name> with the limits that are set and supported. Errors:
  // kUnavailable (no cgroup v2, controllers missing or tree not writable: the message says which).
  static Result<ServiceCgroup> create(const std::string& name,
                                      std::optional<uint64_t> memory_max_bytes,
                                      std::optional<uint64_t> pids_max);
  ServiceCgroup(ServiceCgroup&& other) noexcept;
  ServiceCgroup& operator=(ServiceCgroup&&) = delete;
  ~ServiceCgroup();

  // Moves `pid` into the cgroup. Errors: kIoError.
  Result<void> attach(pid_t pid) const;
  const std::vector<std::string>& limitsInForce() const { return limits_; }

 private:
  ServiceCgroup(std::filesystem::path directory, std::vector<std::string> limits);
  std::filesystem::path directory_;
  std::vector<std::string> limits_;
};

}  // namespace thunder::executor
