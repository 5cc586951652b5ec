#include "handshake/termination.h"

#include <array>

namespace thunder::handshake {

std::string_view terminationReasonName(TerminationReason reason) {
  static constexpr std::array<std::string_view, kMaxTerminationReason + 1> kNames = {
      "normal",
      "protocol_error",
      "frame_too_large",
      "unsupported_version",
      "bad_signature",
      "unknown_service",
      "lane_limit",
      "node_busy",
      "bad_token",
      "lane_busy",
      "replay",
      "clock_skew",
      "handshake_timeout",
      "idle_timeout",
      "bad_dack",
      "dack_not_monotonic",
      "service_error",
      "shutdown",
      "unexpected_node_key",
  };
  const auto index = static_cast<uint16_t>(reason);
  return index < kNames.size() ? kNames[index] : "unknown";
}

}  // namespace thunder::handshake
