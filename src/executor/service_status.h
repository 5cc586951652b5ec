// ServiceStatus: a snapshot of one supervised service for /status, logs and tests, and the
// per-connection usage the DACK proposals are built from. Plain values, safe to copy across
// threads; ServiceHost::status() makes them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/strong_types.h"
#include "executor/sandbox.h"

namespace thunder::executor {

enum class ServiceState {
  kStarting,  // materialising / spawning, or waiting for the control-channel Hello
  kRunning,   // Hello done: serving requests and client connections
  kBackoff,   // the last instance ended; waiting to restart it
  kStopping,  // stop() requested: SIGTERM sent, waiting for the exit
  kStopped,   // not running and not going to restart
};
std::string_view serviceStateName(ServiceState state);  // "starting", "running", ...

// Why the last instance ended.
enum class ExitKind {
  kExited,         // exit code in `value`
  kSignaled,       // died of signal `value`
  kCpuLimit,       // killed by the CPU time limit (SIGXCPU / SIGKILL past RLIMIT_CPU)
  kMemoryLimit,    // died at its memory limit (allocation refused or OOM-killed)
  kProtocolError,  // killed: garbage, an oversized frame or a request flood on the control channel
  kHelloTimeout,   // killed: no control-channel Hello in time
  kChannelClosed,  // killed: closed its control channel but kept running
  kSpawnFailed,    // never started (bad program, sandbox setup failed, blob hash mismatch)
  kStopped,        // stopped with the node
};
std::string_view exitKindName(ExitKind kind);  // "exited", "signaled", "cpu_limit", ...

struct ExitReason {
  ExitKind kind = ExitKind::kExited;
  int value = 0;       // exit code or signal number, where meaningful
  std::string detail;  // one line for operators
  // "exit 3", "signal 6 (Aborted)", "cpu_limit: signal 24 ...", "protocol_error: ..."
  std::string describe() const;
};

// Usage of one client connection (data channel) of a service.
struct ConnectionUsage {
  uint64_t connection_id = 0;
  PublicKey client_key;
  uint32_t lane = 0;
  uint64_t bytes_in = 0;   // client → service payload bytes
  uint64_t bytes_out = 0;  // service → client bytes, streamed blob bytes included
  uint64_t wall_ms = 0;    // since the connection opened (until it closed)
  bool active = true;
  // What the service proposed over ProposeUsage (billable only once the client signs a DACK).
  uint64_t proposed_bandwidth_bytes = 0;
  uint64_t proposed_compute_ms = 0;
};

struct ServiceStatus {
  ServiceId id;
  std::string name;
  std::string program;  // the executable path, or "blob:<hex>"
  ServiceState state = ServiceState::kStopped;
  std::optional<pid_t> pid;  // of the running instance, in the node's PID namespace
  uint64_t starts = 0;       // instances started
  uint64_t restarts = 0;     // starts after the first
  std::optional<ExitReason> last_exit;
  std::chrono::milliseconds backoff{0};  // the delay before the pending restart (kBackoff)
  std::chrono::milliseconds uptime{0};   // of the running instance
  uint64_t cpu_ms = 0;                   // CPU time of every instance so far
  uint64_t memory_bytes = 0;             // resident memory of the running instance (last sample)
  uint64_t peak_memory_bytes = 0;        // highest VmHWM / max RSS of any instance
  uint64_t connections_active = 0;
  uint64_t connections_total = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t requests = 0;  // control requests received
  uint64_t protocol_errors = 0;
  uint64_t usage_rejected = 0;  // ProposeUsage for a connection the service does not own
  uint64_t log_dropped = 0;     // Log lines over the rate limit
  std::map<std::string, uint64_t> custom_metrics;  // from MetricsRequest, by name
  SandboxReport sandbox;                           // of the running (or last) instance
};

}  // namespace thunder::executor
