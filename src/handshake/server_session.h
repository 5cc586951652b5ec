// ServerSession: the node side of one connection's session, as a pure state machine.
//
// Bytes from the transport go in (onBytes), Actions come out (session.h). It verifies the Hello
// (version, signature over the transport binding, timestamp and nonce, service, lane limit or
// resume token) before any service work, answers with a signed Welcome, then relays payload
// frames and verifies DACKs. Every error sends a Termination frame with its reason, frees the
// lane, and closes the session. Timeouts are deadlines: the driver calls onTimer(now) at
// nextDeadline(). One ServerSession per connection, used on that connection's loop only; it
// borrows the ServerContext, which must outlive it.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "crypto/signing.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "handshake/lane_table.h"
#include "handshake/replay_cache.h"
#include "handshake/session.h"

namespace thunder::handshake {

struct ServerOptions {
  FrameLimits frames;                                     // max_payload must be >= kMaxSendChunk
  Duration handshake_timeout = std::chrono::seconds(10);  // connection start → Hello
  Duration idle_timeout = std::chrono::seconds(60);       // last frame received → now
};

// What every server session of a node borrows. Owned by the node (or the driver).
struct ServerContext {
  const crypto::SigningKey& node_key;
  LaneTable& lanes;
  HelloReplayCache& replay;
  const ServiceRegistry& services;
  const Clock& clock;
  ServerOptions options;
};

class ServerSession {
 public:
  // A session for a new connection whose transport gave `binding`. The handshake deadline
  // starts now. Precondition (checked): context.options.frames.max_payload >= kMaxSendChunk.
  ServerSession(const ServerContext& context, TransportBinding binding);
  // Detaches the lane if the session is still open (as onTransportClosed()).
  ~ServerSession();
  ServerSession(const ServerSession&) = delete;
  ServerSession& operator=(const ServerSession&) = delete;

  // Bytes received from the client, in order; any split is fine. Ignored once closed.
  Actions onBytes(std::span<const uint8_t> bytes);

  // Service output for the client: split into payload frames, counted as delivered bandwidth.
  // Ignored (no actions) unless the session is open.
  Actions sendPayload(std::span<const uint8_t> payload);

  // Adds service compute time spent for this client to the lane's delivered compute.
  void recordCompute(uint64_t ms);

  // The service proposes `connection_amount` of `commodity` as its cumulative usage on this
  // connection (since the session opened). Sends a UsageProposal frame with the lane-session
  // cumulative amount (what the lane had acknowledged when the session opened plus
  // `connection_amount`, saturating) if that is above both the last proposal of this session and
  // the acknowledged amount; otherwise, or unless open, no actions. A compute proposal also raises
  // the lane's delivered compute to the proposed amount. The client decides what it signs.
  Actions proposeUsage(Commodity commodity, uint64_t connection_amount,
                       const Commitment& commitment);

  // Ends the session from the node side (service done, shutdown): sends a Termination frame and
  // frees the lane. No-op once closed.
  Actions terminate(TerminationReason reason, std::string_view message);

  // The transport closed without a Termination: an open lane is detached (resumable with its
  // token until it expires). The session is closed afterwards.
  void onTransportClosed();

  // When the driver must call onTimer(): the handshake, idle or token refresh deadline.
  // nullopt once closed.
  std::optional<TimePoint> nextDeadline() const;

  // Handles the deadlines that passed at `now`: handshake/idle timeouts terminate; the token
  // refresh deadline sends a TokenRefresh frame.
  Actions onTimer(TimePoint now);

  SessionState state() const { return state_; }
  // The attached lane while open.
  std::optional<LaneId> lane() const { return lane_; }
  const PublicKey& clientKey() const { return client_pk_; }

 private:
  void handleFrame(Frame frame, Actions& out);
  void handleHello(std::span<const uint8_t> payload, Actions& out);
  void handleDack(std::span<const uint8_t> payload, Actions& out);
  void fail(TerminationReason reason, std::string message, Actions& out);
  void close();

  const ServerContext& context_;
  TransportBinding binding_;
  FrameDecoder decoder_;
  SessionState state_ = SessionState::kHandshaking;
  PublicKey client_pk_;
  std::optional<LaneId> lane_;
  DackScope scope_;
  DackProgress opened_acked_;        // the lane's acknowledged state when the session opened
  uint64_t proposed_bandwidth_ = 0;  // the last UsageProposal amounts of this session
  uint64_t proposed_compute_ms_ = 0;
  TimePoint handshake_deadline_;
  TimePoint idle_deadline_;
  TimePoint refresh_deadline_;
};

}  // namespace thunder::handshake
