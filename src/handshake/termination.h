// Termination reason codes: why a session ended. Sent in a Termination frame (u16 LE, see
// docs/protocol/handshake.md) and reported to the driver in a Terminated action. The numeric
// values are part of the wire protocol: never renumber, only append.
#pragma once

#include <cstdint>
#include <string_view>

namespace thunder::handshake {

enum class TerminationReason : uint16_t {
  kNormal = 0,              // the session ended on purpose (client or service done)
  kProtocolError = 1,       // malformed frame, unknown frame type, frame unexpected in this state
  kFrameTooLarge = 2,       // a frame length above the receiver's limit
  kUnsupportedVersion = 3,  // Hello/Welcome/DACK version this peer does not speak
  kBadSignature = 4,        // Hello or Welcome signature invalid (incl. wrong transport binding)
  kUnknownService = 5,      // the Hello names a service this node does not run
  kLaneLimit = 6,           // the client key already holds its maximum number of lanes
  kNodeBusy = 7,            // a node-wide limit (total lanes, replay cache) is reached
  kBadToken = 8,            // resume with a wrong, unknown or expired token
  kLaneBusy = 9,            // resume of a lane that another connection is using
  kReplay = 10,             // a Hello nonce already seen within the replay window
  kClockSkew = 11,          // a Hello timestamp too far from the node's clock
  kHandshakeTimeout = 12,   // no complete Hello/Welcome before the handshake deadline
  kIdleTimeout = 13,        // no frame received before the idle deadline
  kBadDack = 14,            // DACK signature invalid or fields not matching the session
  kDackNotMonotonic = 15,   // DACK counter not increasing or amount decreasing (incl. replays)
  kServiceError = 16,       // the service failed or refused the session
  kShutdown = 17,           // the node is shutting down
  kUnexpectedNodeKey = 18,  // (client side) the Welcome names a node key other than the pinned one
};

inline constexpr uint16_t kMaxTerminationReason = 18;

// The stable snake_case name of a reason, e.g. "lane_limit"; "unknown" for values out of range.
std::string_view terminationReasonName(TerminationReason reason);

}  // namespace thunder::handshake
