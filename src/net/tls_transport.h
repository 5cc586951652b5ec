// The TLS 1.3 over TCP transport: TlsListener (node side) and connectTls() (client side).
//
// Both ends speak TLS 1.3 only, with ALPN "thunder/1" and no TLS session resumption. The node
// presents the self-signed certificate of its Ed25519 key (net/tls_identity.h); a client
// authenticates the node by pinning that key: the certificate must carry exactly the expected
// public key and be validly self-signed by it. Nobody else is involved (no CA, no hostname).
// Clients are not authenticated by TLS; they prove their key inside the session handshake, bound
// to the connection with exportKeyingMaterial(label) (the session layer
// chooses the label: handshake::kTlsExporterLabel).
//
// TlsListener owns its listening socket, its half-open connections and the coroutines running
// the handler. The acceptor runs on one loop of the runtime; each accepted connection runs on
// the next loop in round-robin order and stays there. Connections still in the TLS handshake
// are bounded globally and per source IP address (excess ones are closed at once, before any
// TLS work) and each must finish within a deadline. start() and stop() are called by the owner
// (one thread, not a loop thread); stop() is also run by the destructor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "base/strong_types.h"
#include "io/runtime.h"
#include "net/stream_transport.h"
#include "net/tls_identity.h"

namespace thunder::net {

struct TlsListenerOptions {
  std::string listen = "127.0.0.1:0";
  // A connection must finish the TLS handshake within this time after it is accepted.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Connections accepted but not yet through the TLS handshake (half-open), in total and per
  // source IP address (IPv6: per address, not per prefix).
  size_t max_handshakes = 1024;
  size_t max_handshakes_per_ip = 32;
  // Connections in the handshake or running the handler, in total.
  size_t max_connections = 16 * 1024;
};

// Serves one established connection; runs on the connection's loop (conn->executor()), and
// may be called concurrently from several loops, so it must be thread-safe. It may keep the
// connection beyond its return by moving it elsewhere (the connection then still closes when
// the listener stops). It must return soon after the connection fails with kCancelled.
using StreamHandler =
    std::function<boost::asio::awaitable<void>(std::unique_ptr<StreamConnection>)>;

class TlsListener {
 public:
  // Binds and starts accepting. kInvalidArgument for a bad address or options; kUnavailable
  // when the port is in use; kPermissionDenied for a privileged port; kInternal when OpenSSL
  // refuses the identity.
  static Result<std::unique_ptr<TlsListener>> start(io::Runtime& runtime,
                                                    const TlsIdentity& identity,
                                                    TlsListenerOptions options,
                                                    StreamHandler handler);
  ~TlsListener();
  TlsListener(const TlsListener&) = delete;
  TlsListener& operator=(const TlsListener&) = delete;

  // The bound address (with the real port when the options asked for port 0).
  std::string localAddress() const;
  uint16_t localPort() const;
  // Connections accepted whose TLS handshake has not finished yet.
  size_t handshakesInProgress() const;
  // Connections open that came from this listener (in the handshake, or established).
  size_t openConnections() const;

  // Stops accepting, closes every connection it accepted (established ones too, wherever their
  // owner keeps them) and waits until the handler coroutines have returned. Idempotent.
  void stop();

  struct State;  // defined in tls_transport.cc; shared with the listener's coroutines

 private:
  explicit TlsListener(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// Client-side TLS settings (TLS 1.3, ALPN, pinned-key verification), reusable for any number
// of connections: building them costs about 0.1 ms of CPU with OpenSSL 3.0, and a client that
// connects often keeps one. Immutable; may be shared between threads.
class TlsConnector {
 public:
  // kInternal when OpenSSL refuses.
  static Result<std::shared_ptr<const TlsConnector>> create();
  ~TlsConnector();

  struct State;  // defined in tls_transport.cc
  const State& state() const { return *state_; }

 private:
  explicit TlsConnector(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Connects to the node at `address` ("host:port", net/endpoint.h), runs the TLS 1.3 handshake
// and authenticates the node by its pinned key. The connection lives on the coroutine's
// executor. Errors: kInvalidArgument for a bad address; kPermissionDenied ("node key mismatch:
// expected X, got Y") when the node presents another key; kCorruption when its certificate is
// not a valid Ed25519 self-signed one; kTimeout when connecting and the handshake together
// take longer than `timeout`; kUnavailable when the node cannot be reached or the handshake
// fails otherwise (the message names the reason, e.g. a TLS alert).
boost::asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectTls(
    std::shared_ptr<const TlsConnector> connector, std::string address, PublicKey expected_node_key,
    std::chrono::milliseconds timeout);

// The same with a connector made for this one connection.
boost::asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectTls(
    std::string address, PublicKey expected_node_key, std::chrono::milliseconds timeout);

// connectTls() run on one of `runtime`'s loops, waiting for the result: for the CLI and tests.
// The connection lives on that loop (use it from conn->executor()). Must not be called from a
// loop thread.
Result<std::unique_ptr<StreamConnection>> connectTlsBlocking(io::Runtime& runtime,
                                                             std::string address,
                                                             PublicKey expected_node_key,
                                                             std::chrono::milliseconds timeout);

}  // namespace thunder::net
