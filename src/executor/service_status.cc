#include "executor/service_status.h"

#include <fmt/format.h>

#include <cstring>

namespace thunder::executor {

std::string_view serviceStateName(ServiceState state) {
  switch (state) {
    case ServiceState::kStarting: return "starting";
    case ServiceState::kRunning: return "running";
    case ServiceState::kBackoff: return "backoff";
    case ServiceState::kStopping: return "stopping";
    case ServiceState::kStopped: return "stopped";
  }
  return "unknown";
}

std::string_view exitKindName(ExitKind kind) {
  switch (kind) {
    case ExitKind::kExited: return "exited";
    case ExitKind::kSignaled: return "signaled";
    case ExitKind::kCpuLimit: return "cpu_limit";
    case ExitKind::kMemoryLimit: return "memory_limit";
    case ExitKind::kProtocolError: return "protocol_error";
    case ExitKind::kHelloTimeout: return "hello_timeout";
    case ExitKind::kChannelClosed: return "channel_closed";
    case ExitKind::kSpawnFailed: return "spawn_failed";
    case ExitKind::kStopped: return "stopped";
  }
  return "unknown";
}

std::string ExitReason::describe() const {
  switch (kind) {
    case ExitKind::kExited: return fmt::format("exit {}", value);
    case ExitKind::kSignaled: return fmt::format("signal {} ({})", value, ::strsignal(value));
    default: break;
  }
  if (detail.empty()) return std::string(exitKindName(kind));
  return fmt::format("{}: {}", exitKindName(kind), detail);
}

}  // namespace thunder::executor
