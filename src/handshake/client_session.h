// ClientSession: the client side of one session, as a pure state machine.
//
// start() produces the signed Hello; onBytes() verifies the Welcome (pinned node key, signature
// over the same transport binding) and then delivers payloads, tracks token refreshes and signs
// bandwidth DACKs automatically every `dack_every_bytes` received bytes (cumulative amounts,
// increasing counters, continuing from the Welcome's acknowledged state on a resume). A node's
// UsageProposal is acknowledged within the client's policy: compute up to max_compute_ms,
// bandwidth up to the payload bytes actually received (docs/protocol/handshake.md §4.1). Errors
// send a Termination frame and close. One ClientSession per connection, used on one thread; it
// borrows the signing key and the clock, which must outlive it.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "crypto/signing.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "handshake/session.h"

namespace thunder::handshake {

struct ClientOptions {
  FrameLimits frames;                                     // max_payload must be >= kMaxSendChunk
  Duration handshake_timeout = std::chrono::seconds(10);  // start() → Welcome
  // Sign a bandwidth DACK whenever this many payload bytes arrived since the last one
  // (0: only explicit acknowledge() calls).
  uint64_t dack_every_bytes = 1024 * 1024;
  // The most compute (ms, cumulative over the lane session) this client signs for when the node
  // proposes compute usage: a proposal is acknowledged up to min(proposal, max_compute_ms).
  // 0: never sign compute proposals.
  uint64_t max_compute_ms = 0;
};

// Who to talk to and how.
struct ClientTarget {
  PublicKey node_pk;  // pinned: a Welcome from any other key is refused
  ServiceId service;
  LaneRequest lane = LaneRequest::newLane();
};

class ClientSession {
 public:
  // Precondition (checked): options.frames.max_payload >= kMaxSendChunk.
  ClientSession(const crypto::SigningKey& client_key, ClientTarget target, TransportBinding binding,
                const Clock& clock, ClientOptions options = {});

  // The Hello frame to send first (fresh nonce, current time). Call once, before onBytes().
  Actions start();

  // Bytes received from the node, in order; any split is fine. Ignored once closed.
  Actions onBytes(std::span<const uint8_t> bytes);

  // Application bytes for the service, split into payload frames. Ignored unless open.
  Actions sendPayload(std::span<const uint8_t> payload);

  // Signs and sends a DACK for `amount` (cumulative) of `commodity` now. Ignored unless open.
  // Precondition: amount is not below the last acknowledged amount of the commodity.
  Actions acknowledge(Commodity commodity, uint64_t amount, const Commitment& commitment);

  // The commitment put in automatic bandwidth DACKs (default: request hash of zeros).
  void setCommitment(const Commitment& commitment) { commitment_ = commitment; }

  // Ends the session: sends a Termination frame. No-op once closed.
  Actions terminate(TerminationReason reason, std::string_view message);

  // The transport closed: the session is closed (resume later with the last TokenUpdated).
  void onTransportClosed() { state_ = SessionState::kClosed; }

  // The handshake deadline while handshaking; nullopt otherwise.
  std::optional<TimePoint> nextDeadline() const;
  Actions onTimer(TimePoint now);

  SessionState state() const { return state_; }
  // The verified Welcome, once open.
  const std::optional<Welcome>& welcome() const { return welcome_; }
  // Payload bytes received in this lane session (including those acknowledged before a resume).
  uint64_t receivedBytes() const { return received_bytes_; }
  // The highest compute amount (ms) acknowledged in this lane session.
  uint64_t dackedComputeMs() const { return dacked_compute_ms_; }

 private:
  void handleFrame(Frame frame, Actions& out);
  void handleWelcome(std::span<const uint8_t> payload, Actions& out);
  void handleUsageProposal(std::span<const uint8_t> payload, Actions& out);
  void sendDack(Commodity commodity, uint64_t amount, const Commitment& commitment, Actions& out);
  void fail(TerminationReason reason, std::string message, Actions& out);

  const crypto::SigningKey& client_key_;
  ClientTarget target_;
  TransportBinding binding_;
  const Clock& clock_;
  ClientOptions options_;
  FrameDecoder decoder_;
  SessionState state_ = SessionState::kHandshaking;
  Hash32 hello_transcript_;
  TimePoint handshake_deadline_;
  std::optional<Welcome> welcome_;
  DackScope scope_;
  Commitment commitment_;
  uint64_t counter_ = 0;
  uint64_t received_bytes_ = 0;
  uint64_t dacked_bytes_ = 0;
  uint64_t dacked_compute_ms_ = 0;
};

}  // namespace thunder::handshake
