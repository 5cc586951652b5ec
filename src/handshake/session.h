// What the session state machines (server_session.h, client_session.h) ask their driver to do.
//
// A state machine never touches a socket or a timer: each call returns Actions, which the
// driver performs in order (write bytes, hand a payload to the service, persist a DACK, ...).
// After a Terminated action the driver writes any SendBytes that precede it, then closes the
// connection; the machine ignores everything afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/strong_types.h"
#include "handshake/clock.h"
#include "handshake/dack.h"
#include "handshake/termination.h"
#include "handshake/types.h"

namespace thunder::handshake {

// Write these bytes to the transport.
struct SendBytes {
  std::vector<uint8_t> bytes;
};

// Service bytes received from the peer (server: for the service; client: for the application).
struct DeliverPayload {
  std::vector<uint8_t> payload;
};

// The handshake succeeded. Server: start (or resume) the service for this client, sending
// from byte `resume_offset` of its output (the last acknowledged offset; 0 for a new lane).
// Client: the service stream continues from `resume_offset`.
struct SessionOpened {
  PublicKey client_pk;
  PublicKey node_pk;
  ServiceId service;
  LaneId lane = 0;
  uint64_t resume_offset = 0;
};

// Server: a verified DACK; persist it (it supersedes earlier ones of its lane and commodity).
struct StoreDack {
  Dack dack;
};

// Client: the token to resume `lane` with, from a Welcome or a TokenRefresh.
struct TokenUpdated {
  LaneId lane = 0;
  SessionToken token;
  TimePoint expires_at;
};

enum class TerminationOrigin : uint8_t {
  kLocal,  // this side decided (and sent a Termination frame)
  kPeer,   // the peer sent a Termination frame
};

// The session is over: close the connection after writing the preceding SendBytes.
struct Terminated {
  TerminationReason reason = TerminationReason::kNormal;
  TerminationOrigin origin = TerminationOrigin::kLocal;
  std::string message;
};

using Action =
    std::variant<SendBytes, DeliverPayload, SessionOpened, StoreDack, TokenUpdated, Terminated>;
using Actions = std::vector<Action>;

enum class SessionState : uint8_t {
  kHandshaking,  // waiting for Hello (server) / Welcome (client)
  kOpen,
  kClosed,
};

// The node's services, as the server session needs them. Implemented by the node (later the
// executor); must be callable from the loop that runs the sessions.
class ServiceRegistry {
 public:
  virtual ~ServiceRegistry() = default;
  virtual bool hasService(ServiceId service) const = 0;
};

// Receivers accept payload frames of at least this size; senders never send larger ones.
inline constexpr size_t kMaxSendChunk = 64 * 1024;

}  // namespace thunder::handshake
