// ServiceSpec and SupervisorOptions: what the executor runs, and how it supervises it.
//
// A ServiceSpec names one configured service: its numeric id, its name, its program (a path,
// or the blob id of an executable in the node's blob store, verified and materialised before
// every start) and its sandbox limits. SupervisorOptions hold the supervisor's timeouts and
// bounds; every field has a production default. Plain values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/strong_types.h"
#include "executor/restart_backoff.h"
#include "executor/sandbox.h"

namespace thunder::executor {

struct ServiceSpec {
  ServiceId id;
  std::string name;  // for logs, /status and the `service` metric label
  // Exactly one of the two: an absolute executable path, or the blob id of an executable.
  std::filesystem::path executable;
  std::optional<BlobId> blob;
  std::vector<std::string> args;  // argv[1..]
  SandboxLimits limits;
  // Paths bound read-only into the sandbox (libraries by default).
  std::vector<std::filesystem::path> read_only_paths = defaultLibraryPaths();
};

struct SupervisorOptions {
  BackoffPolicy backoff;
  // The service must complete the control-channel Hello within this time of its start, and the
  // Hello of each data channel within this time of the connection's start.
  std::chrono::milliseconds hello_timeout{5'000};
  // On stop: SIGTERM, then SIGKILL after this grace.
  std::chrono::milliseconds stop_grace{2'000};
  // After the service closes its control channel, how long it has to exit by itself before it
  // is killed.
  std::chrono::milliseconds exit_grace{1'000};
  // CPU and memory samples from /proc.
  std::chrono::milliseconds metering_interval{1'000};
  // A data channel the service does not read for this long (while the client sends) ends the
  // session with service_error.
  std::chrono::milliseconds data_stall_timeout{10'000};
  // Control requests received and not yet answered; more closes the channel (ipc.md §3).
  size_t max_in_flight = 1024;
  size_t max_connections = 1024;  // concurrent client connections per service
  uint64_t max_put_bytes = uint64_t{1} << 30;
  size_t max_concurrent_puts = 4;
  std::chrono::milliseconds put_timeout{60'000};
  size_t max_custom_metrics = 64;  // distinct metric names one service may export
  double log_lines_per_second = 20;
  double log_burst = 100;
};

}  // namespace thunder::executor
