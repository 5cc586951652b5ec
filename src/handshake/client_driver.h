// ClientDriver: runs one client session (ClientSession) over a StreamConnection, and the
// blocking convenience API the CLI uses.
//
// runClientSession() is a coroutine on the connection's loop: it sends the Hello, reads bytes
// into the state machine and performs its actions (writes, payload delivery to a
// SessionHandler, the handshake timer) until the session terminates, then flushes the last
// frames and closes the connection. DACKs are signed by ClientSession automatically every
// ClientOptions::dack_every_bytes received payload bytes; a handler that wants to acknowledge
// only verified bytes sets dack_every_bytes = 0 and calls SessionControl::acknowledge().
// connectAndRunBlocking() connects with net::connectTls (pinned node key, transport binding
// from the TLS exporter with handshake::kTlsExporterLabel), with net::connectQuic for a
// "quic://" address (pinned node key, the same exporter of the QUIC handshake), or with
// net::connectWsUrl for a "ws://" address (unbound binding: the node is authenticated only by
// its Welcome signature, which ClientSession checks against the pinned key), and runs the session
// on a private io_context on the calling thread. Ownership: the caller owns the handler and the
// key; both must outlive the call. Everything (handler callbacks included) runs on one thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "crypto/signing.h"
#include "handshake/client_session.h"
#include "handshake/clock.h"
#include "net/stream_transport.h"

namespace thunder::handshake {

// What a handler may do with its open session. Valid only during handler callbacks and while
// SessionHandler::produce() runs; used on the session's loop only.
class SessionControl {
 public:
  virtual ~SessionControl() = default;
  // Queues application bytes for the service (split into payload frames). Ignored unless open.
  virtual void send(std::span<const uint8_t> payload) = 0;
  // Ends the session with a Termination frame. No-op once closed.
  virtual void end(TerminationReason reason, std::string_view message) = 0;
  // The commitment of later automatic DACKs.
  virtual void setCommitment(const Commitment& commitment) = 0;
  // Signs and sends a bandwidth DACK for `amount` cumulative payload bytes now, unless that
  // amount is already acknowledged. Ignored unless open.
  virtual void acknowledgeBandwidth(uint64_t amount, const Commitment& commitment) = 0;
  // Suspends while more than `limit` bytes wait to be written (back-pressure for producers).
  virtual boost::asio::awaitable<void> waitWritable(size_t limit) = 0;
  virtual bool isOpen() const = 0;
  virtual uint64_t receivedBytes() const = 0;
  virtual boost::asio::any_io_executor executor() const = 0;
};

// The application side of a client session. Callbacks run on the session's loop.
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  // The Welcome was verified; `resume_offset` is where the service stream continues.
  virtual void onOpen(SessionControl& control, uint64_t resume_offset) = 0;
  // A payload arrived. An error ends the session locally (Termination `service_error` with the
  // error's message) and is returned as SessionOutcome::local_error.
  virtual Result<void> onPayload(SessionControl& control, std::span<const uint8_t> payload) = 0;
  // The node ended the session normally: last chance to check completeness (e.g. a decoder's
  // finish()). An error becomes SessionOutcome::local_error.
  virtual Result<void> onNormalEnd() { return {}; }
  // The node issued a resumption token (with the Welcome, then with each refresh): what a
  // client keeps to resume the lane after a dropped connection (LaneRequest::resume).
  virtual void onToken(const TokenUpdated& /*token*/) {}
  // Runs concurrently with the session once open (e.g. pumping stdin into send()); must return
  // soon after stop() is called or the session closes. Default: nothing to produce.
  virtual boost::asio::awaitable<void> produce(SessionControl& control);
  // The session is closing: make produce() return.
  virtual void stop() {}
};

// How a session ended (it did end: the Termination was sent or received).
struct SessionOutcome {
  TerminationReason reason = TerminationReason::kNormal;
  TerminationOrigin origin = TerminationOrigin::kLocal;
  std::string message;                // from the Termination frame
  std::optional<Error> local_error;   // the handler error that ended the session, if any
  std::optional<Welcome> welcome;     // the verified Welcome, if the handshake completed
  std::optional<TokenUpdated> token;  // the latest resumption token
  uint64_t received_bytes = 0;        // payload bytes received
  uint64_t dacks_sent = 0;
  uint64_t dacked_bytes = 0;       // the amount of the last bandwidth DACK sent
  uint64_t dacked_compute_ms = 0;  // the amount of the last compute DACK sent

  bool normal() const { return reason == TerminationReason::kNormal && !local_error; }
  // One line for humans: "normal", "node ended the session: lane_limit (...)", ...
  std::string describe() const;
};

// Runs a session over `conn` (on conn->executor()) to its end. Errors: the transport's
// (kUnavailable when the node drops the connection without a Termination, kCancelled, ...).
// A Termination, whatever its reason, is a SessionOutcome, not an error.
boost::asio::awaitable<Result<SessionOutcome>> runClientSession(
    std::unique_ptr<net::StreamConnection> conn, const crypto::SigningKey& client_key,
    ClientTarget target, const Clock& clock, SessionHandler& handler, ClientOptions options);

struct ConnectOptions {
  std::string address;  // "host:port" (TLS), "quic://host:port" or "ws://host:port[/path]"
  ClientTarget target;  // pinned node key, service, lane
  std::chrono::milliseconds connect_timeout{10'000};
  ClientOptions session;
};

// Connects (TLS 1.3, pinned key; QUIC for a quic:// address, pinned key; or WebSocket for a
// ws:// address) and runs the session. Connection errors are connectTls()'s / connectQuic()'s /
// connectWs()'s: kPermissionDenied for a node key mismatch over TLS or QUIC (over ws:// the
// Welcome is checked instead: a SessionOutcome with reason
// kUnexpectedNodeKey or kBadSignature, ended by the client), kUnavailable/kTimeout when
// unreachable, kInvalidArgument for a bad address.
boost::asio::awaitable<Result<SessionOutcome>> connectAndRun(ConnectOptions options,
                                                             const crypto::SigningKey& client_key,
                                                             const Clock& clock,
                                                             SessionHandler& handler);

// connectAndRun() on a private io_context run by the calling thread (not a loop thread).
Result<SessionOutcome> connectAndRunBlocking(ConnectOptions options,
                                             const crypto::SigningKey& client_key,
                                             const Clock& clock, SessionHandler& handler);

}  // namespace thunder::handshake
