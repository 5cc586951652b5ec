// The [[services]] tables of the node's TOML configuration: the services the executor runs.
//
//   [[services]]
//   id = 7                      # numeric service id clients ask for (0, or 2..4294967295)
//   name = "hello"              # [a-z0-9_-], 1..64 bytes: logs, /status, metric labels
//   executable = "/opt/hello"   # an absolute path ... (exactly one of executable / blob)
//   blob = "<64 hex>"           # ... or the BLAKE3 id of the program in the blob store
//   memory_mb = 1024            # address space limit (RLIMIT_AS; memory.max with cgroup v2)
//   cpu_seconds = 3600          # CPU time limit per process run; absent or 0: none
//   max_files = 256             # RLIMIT_NOFILE
//   max_processes = 64          # RLIMIT_NPROC (and pids.max)
//
// Id 1 belongs to the built-in echo service. Id 0 is the content service: a table with id 0
// (normally thunder-service-cdn) replaces the built-in one; without such a table the node runs
// thunder-service-cdn as service 0 when findCdnProgram() finds it, else the built-in service
// (docs/services.md "The CDN service"). Errors name the file, line, table index and key. Plain
// functions and values; any thread (findCdnProgram() reads the file system).
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::node {

struct ServiceConfig {
  uint32_t id = 0;
  std::string name;
  std::filesystem::path executable;  // exactly one of executable / blob
  std::optional<BlobId> blob;
  uint64_t memory_mb = 1024;
  std::optional<uint64_t> cpu_seconds;  // none: no CPU time limit
  uint64_t max_files = 256;
  uint64_t max_processes = 64;

  friend bool operator==(const ServiceConfig&, const ServiceConfig&) = default;
};

// Parses the value of the top-level key `services` (an array of tables) and validates the
// result. `source` names the file in errors. kInvalidArgument.
Result<std::vector<ServiceConfig>> parseServicesConfig(const toml::node& services,
                                                       std::string_view source);

// Parses a TOML document and returns its [[services]] (other keys are ignored). For tests and
// tools. kInvalidArgument.
Result<std::vector<ServiceConfig>> parseServicesToml(std::string_view toml_text,
                                                     std::string_view source);

// Checks ids (not 1, unique), names (charset, unique), program (exactly one of an absolute
// executable path and a blob id) and limits. kInvalidArgument naming services[i].key.
Result<void> validateServicesConfig(const std::vector<ServiceConfig>& services);

// [[services]] tables for renderConfig(): parse back to the same list. Empty for no services
// (then a commented example).
std::string renderServicesConfig(const std::vector<ServiceConfig>& services);

// The CDN service's program: the node's default content service (id 0).
inline constexpr std::string_view kCdnProgramName = "thunder-service-cdn";
// The environment variable naming the folder to take thunder-service-cdn from ("none": run the
// built-in content service).
inline constexpr std::string_view kServicesDirVariable = "THUNDER_SERVICES_DIR";

struct CdnProgramSearch {
  std::optional<std::filesystem::path> program;  // absolute, when found
  std::string detail;  // where it was found, or why none is used (names the places looked at)
};

// Where the default content service's program is. `services_dir` is the value of
// THUNDER_SERVICES_DIR (nullopt when unset): "none" turns the search off; any other value is the
// only folder searched. When unset, and only when `self_exe` (the running program,
// /proc/self/exe) is named `thunder`, its install and build layouts are searched, in order:
// <exe dir>/, <exe dir>/../lib/thunder/services/, <exe dir>/../../services/ (the build tree:
// build/apps/thunder/thunder next to build/services/). A candidate counts when it is a regular
// file executable by everyone (the sandbox runs it as an unprivileged user).
CdnProgramSearch findCdnProgram(const std::filesystem::path& self_exe,
                                std::optional<std::string_view> services_dir);

// The [[services]] table of the default content service running `program`: id 0, name "cdn"
// (or "cdn-0" when "cdn" is taken in `configured`), default limits.
ServiceConfig defaultCdnService(const std::filesystem::path& program,
                                const std::vector<ServiceConfig>& configured);

}  // namespace thunder::node
