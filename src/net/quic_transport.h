// The QUIC transport (RFC 9000, TLS 1.3 per RFC 9001 with GnuTLS, ngtcp2): QuicListener (node
// side) and connectQuic() (client side).
//
// One Thunder session per QUIC connection, carried on the first client-initiated bidirectional
// stream (stream id 0); each connection is a StreamConnection over that stream. A client may open
// a few more bidirectional streams (4 in total over the connection's life); each is refused with
// RESET_STREAM + STOP_SENDING (application error 0x101); unidirectional streams are not allowed
// (the limit is 0). Both ends speak QUIC version 1, TLS 1.3 only, ALPN "thunder/1", no session
// tickets and no 0-RTT. The node presents the self-signed certificate of its Ed25519 key
// (net/tls_identity.h); a client authenticates the node by pinning that key, exactly as over
// TLS/TCP. exportKeyingMaterial() is the TLS 1.3 exporter of the QUIC handshake, so the session
// binds to the QUIC connection as it does to a TLS one.
//
// Flow control: a connection buffers at most its receive window of unread stream bytes (1 MiB on
// the node; 1.5 MiB on a client, whose stream announcement adds half a window) and grows the
// window only as the application reads. writeAll() returns once its bytes are buffered and
// suspends while 2 MiB are written but not yet acknowledged (the peer's window and congestion
// control decide how fast they go). The client announces the session stream right after the
// handshake (a MAX_STREAM_DATA frame opens it at the node, RFC 9000 §3.2), so either side may
// write first, as over TLS. close() ends the stream with a FIN, lets the last bytes be
// acknowledged (up to 3 s, without the application) and then sends CONNECTION_CLOSE; a peer's
// CONNECTION_CLOSE after its FIN reads as a clean end of stream, before it as kUnavailable.
//
// Not done: Retry (address validation before the handshake), stateless resets, closing and
// draining periods (a connection's state goes as soon as it sends or receives CONNECTION_CLOSE;
// if that packet is lost the peer ends by its idle timeout), the node's own address migration
// and IP_PKTINFO (a node bound to a wildcard address on a multi-homed host answers from the
// kernel's chosen source address: bind a specific address there), 0-RTT, GSO/recvmmsg
// batching, ECN. The node answers datagrams of other QUIC versions with Version
// Negotiation and drops everything else that is not QUIC (garbage never creates lasting state).
//
// QuicListener owns its UDP socket and every connection it accepted. All of them run on one
// loop of the runtime (the socket's; chosen at start), and the handler runs there too. Half-open
// connections (Initial received, handshake not finished) are bounded globally and per source IP
// address: an Initial over a limit is dropped without an answer (the client retries and times
// out), and each must finish the handshake within a deadline. start() and stop() are called by
// the owner (one thread, not a loop thread); stop() is also run by the destructor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/signing.h"
#include "io/runtime.h"
#include "net/stream_transport.h"
#include "net/tls_transport.h"  // StreamHandler

namespace thunder::net {

inline constexpr std::string_view kQuicScheme = "quic://";

struct QuicListenerOptions {
  std::string listen = "127.0.0.1:0";  // a UDP address
  // A connection must finish the QUIC handshake within this time of its first Initial.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Connections whose handshake has not finished (half-open), in total and per source address.
  size_t max_handshakes = 1024;
  size_t max_handshakes_per_ip = 32;
  // Connections open (in the handshake, established, or closing), in total.
  size_t max_connections = 16 * 1024;
  // A connection that receives no packet for this long is dropped (QUIC max_idle_timeout; the
  // shorter of the two ends' values applies).
  std::chrono::milliseconds idle_timeout{120'000};
};

class QuicListener {
 public:
  // Binds the UDP address and starts serving. kInvalidArgument for a bad address or options;
  // kUnavailable when the port is in use; kPermissionDenied for a privileged port; kInternal
  // when GnuTLS refuses the node key.
  static Result<std::unique_ptr<QuicListener>> start(io::Runtime& runtime,
                                                     const crypto::SigningKey& node_key,
                                                     QuicListenerOptions options,
                                                     StreamHandler handler);
  ~QuicListener();
  QuicListener(const QuicListener&) = delete;
  QuicListener& operator=(const QuicListener&) = delete;

  // The bound address (with the real port when the options asked for port 0).
  std::string localAddress() const;
  uint16_t localPort() const;
  // "quic://127.0.0.1:4202": what a client passes to connectQuic() or the CLI.
  std::string url() const;
  // Connections whose handshake has not finished yet.
  size_t handshakesInProgress() const;
  // Connections open that came from this listener (in the handshake, established, or closing).
  size_t openConnections() const;

  // Stops receiving, closes every connection it accepted (established ones too, wherever their
  // owner keeps them: FIN, then CONNECTION_CLOSE) and waits until the handler coroutines have
  // returned. Idempotent.
  void stop();

  struct State;  // defined in quic_transport.cc; shared with the listener's loop

 private:
  explicit QuicListener(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// True for "quic://..." addresses.
bool isQuicUrl(std::string_view text);
// "quic://HOST:PORT" → "HOST:PORT". kInvalidArgument for anything else (no path allowed).
Result<std::string> parseQuicUrl(std::string_view text);

// Connects to the node at `address` ("host:port" or "quic://host:port"), runs the QUIC handshake
// and authenticates the node by its pinned key. The connection lives on the coroutine's
// executor. Errors: kInvalidArgument for a bad address; kPermissionDenied ("node key mismatch:
// expected X, got Y") when the node presents another key; kCorruption when its certificate is
// not a valid Ed25519 self-signed one; kTimeout when the handshake does not finish within
// `timeout` (nothing answers on a UDP port looks like this too); kUnavailable when the node
// refuses (ICMP unreachable, a TLS alert, CONNECTION_CLOSE).
boost::asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectQuic(
    std::string address, PublicKey expected_node_key, std::chrono::milliseconds timeout);

// connectQuic() run on one of `runtime`'s loops, waiting for the result: for the CLI and tests.
// The connection lives on that loop. Must not be called from a loop thread.
Result<std::unique_ptr<StreamConnection>> connectQuicBlocking(io::Runtime& runtime,
                                                              std::string address,
                                                              PublicKey expected_node_key,
                                                              std::chrono::milliseconds timeout);

}  // namespace thunder::net
