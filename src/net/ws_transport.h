// The WebSocket transport (RFC 6455 over Boost.Beast), for browsers: WsListener (node side) and
// connectWs() (client side).
//
// A client upgrades an HTTP/1.1 request on the listener's path (kDefaultWsPath) and then sends
// and receives binary messages; each connection is a StreamConnection whose byte stream is the
// concatenation of the binary messages (message boundaries carry no meaning; text messages are
// refused). Two forms: plain ws:// (loopback and tests) and wss://, TLS (1.2 or 1.3) with a
// certificate chain the operator supplies (from a CA browsers trust: the node key is not in
// it). Either way the connection offers no keying material (keyingMaterial() == kNone; a
// browser cannot reach a TLS exporter), so the session layer uses an unbound transport binding
// and the node proves its key by the Welcome signature (docs/protocol/handshake.md §2.1).
// A wss:// client verifies the certificate chain against OpenSSL's default trust store (the
// system's; SSL_CERT_FILE / SSL_CERT_DIR override it) and the name against the URL's host.
//
// WsListener owns its listening socket, its connections still in the upgrade and the coroutines
// running the handler. Like TlsListener: the acceptor runs on one loop of the runtime, each
// accepted connection on the next loop in round-robin order; connections still in the upgrade
// are bounded globally and per source IP address (excess ones are closed at once) and must
// finish it within a deadline. start() and stop() are called by the owner (one thread, not a
// loop thread); stop() is also run by the destructor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"
#include "io/runtime.h"
#include "net/stream_transport.h"
#include "net/tls_transport.h"  // StreamHandler

namespace thunder::net {

inline constexpr std::string_view kDefaultWsPath = "/thunder/v1";

struct WsListenerOptions {
  std::string listen = "127.0.0.1:0";
  // The HTTP request target that upgrades to a session; other targets get 404.
  std::string path = std::string(kDefaultWsPath);
  // A connection must send its upgrade request and get it accepted within this time.
  std::chrono::milliseconds handshake_timeout{10'000};
  // A received message above this size ends the connection (kResourceExhausted on the read).
  // At least kWsMaxSentMessageBytes (65536), what our own writers send at most per message.
  size_t max_message_bytes = 1024 * 1024;
  // Connections accepted but not yet upgraded, in total and per source IP address.
  size_t max_handshakes = 1024;
  size_t max_handshakes_per_ip = 32;
  // Connections in the upgrade or running the handler, in total.
  size_t max_connections = 16 * 1024;
  // wss://: PEM files of the certificate chain (leaf first) and its private key. Both empty:
  // plain ws://. Both or neither.
  std::string tls_certificate_file;
  std::string tls_key_file;
};

class WsListener {
 public:
  // Binds and starts accepting. kInvalidArgument for a bad address, path or options, or a
  // certificate or key file OpenSSL refuses (named, with OpenSSL's reason); kUnavailable when
  // the port is in use; kPermissionDenied for a privileged port.
  static Result<std::unique_ptr<WsListener>> start(io::Runtime& runtime, WsListenerOptions options,
                                                   StreamHandler handler);
  ~WsListener();
  WsListener(const WsListener&) = delete;
  WsListener& operator=(const WsListener&) = delete;

  // The bound address (with the real port when the options asked for port 0).
  std::string localAddress() const;
  uint16_t localPort() const;
  // "ws://127.0.0.1:4201/thunder/v1" (wss:// with TLS): what a client passes to
  // connectWsUrl(). With wss:// a client must name the host its certificate is for instead.
  std::string url() const;
  // Connections accepted whose upgrade has not finished yet.
  size_t handshakesInProgress() const;
  // Connections open that came from this listener (in the upgrade, or established).
  size_t openConnections() const;

  // Stops accepting, closes every connection it accepted (wherever their owner keeps them) and
  // waits until the handler coroutines have returned. Idempotent.
  void stop();

  struct State;  // defined in ws_transport.cc; shared with the listener's coroutines

 private:
  explicit WsListener(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

enum class WsScheme { kWs, kWss };

// Connects to `address` ("host:port"; for wss:// the host may be a DNS name, resolved here) and
// upgrades to a WebSocket on `path`; wss:// first runs TLS and verifies the server certificate
// (chain and host name). The connection lives on the coroutine's executor. It does not
// authenticate the node: the session layer must (Welcome signature by the pinned key). Errors:
// kInvalidArgument for a bad address; kTimeout when connecting and the upgrade together take
// longer than `timeout`; kPermissionDenied when a wss:// certificate does not verify;
// kUnavailable when the node cannot be reached or declines the upgrade (e.g. HTTP 404).
boost::asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectWs(
    std::string address, std::string path, WsScheme scheme, std::chrono::milliseconds timeout);

// A parsed "ws://host:port/path" or "wss://host:port/path" (path defaults to kDefaultWsPath).
struct WsUrl {
  WsScheme scheme = WsScheme::kWs;
  std::string address;  // "host:port"
  std::string path;
};
// True for "ws://..." and "wss://..." addresses (everything else is a TLS "host:port").
bool isWsUrl(std::string_view text);
// kInvalidArgument for anything but "ws[s]://host:port[/path]". ws:// hosts are IP literals
// (no DNS); wss:// hosts may be names (a certificate is for names).
Result<WsUrl> parseWsUrl(std::string_view text);

// connectWs() for a "ws[s]://host:port[/path]" URL.
boost::asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectWsUrl(
    std::string url, std::chrono::milliseconds timeout);

}  // namespace thunder::net
