// WebSocket (RFC 6455, Boost.Beast) connections, the pieces behind net/ws_transport.h (internal
// to net/):
//
//   BasicWsConnection<Next>  a StreamConnection over one WebSocket: each writeAll() sends binary
//                 messages, readSome() returns the bytes of received binary messages in order,
//                 so the session layer sees one byte stream (message boundaries carry no
//                 meaning). Text messages are refused. Two instances: WsConnection (ws://, plain
//                 TCP) and WssConnection (wss://, TLS with an operator's CA certificate). Neither
//                 offers keying material to the session (keyingMaterial() is kNone): browsers
//                 cannot reach a TLS exporter, so wss:// sessions use the unbound binding too.
//
// A connection, like every StreamConnection, is used and destroyed on its own loop.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "base/result.h"
#include "net/listener_core.h"
#include "net/stream_transport.h"

namespace thunder::net {

// writeAll() splits its bytes into binary messages of at most this size, so a peer with the
// default receive limit (or any limit >= this) accepts everything we send.
inline constexpr size_t kWsMaxSentMessageBytes = 64 * 1024;

enum class WsRole { kClient, kServer };

// The layer under the WebSocket: plain TCP (ws://) or TLS over TCP (wss://).
using WsPlainStream = boost::beast::tcp_stream;
using WsTlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

template <typename Next>
class BasicWsConnection final : public StreamConnection {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr bool kTls = std::is_same_v<Next, WsTlsStream>;

  // Wraps a connected socket (which stays on its executor). Received messages above
  // `max_message_bytes` fail the connection. `registry` may be null (client). `tls` is the
  // OpenSSL context for wss:// (kept alive by the connection) and must be null for ws://.
  static std::unique_ptr<BasicWsConnection> create(boost::asio::ip::tcp::socket socket, WsRole role,
                                                   size_t max_message_bytes,
                                                   std::shared_ptr<ConnectionRegistry> registry,
                                                   std::shared_ptr<boost::asio::ssl::context> tls);
  ~BasicWsConnection() override;

  // Server: (wss: runs the TLS handshake, then) reads the HTTP Upgrade request (headers up to
  // 8 KiB) and accepts it if its target is `path`; otherwise answers 404 (other path) or 426
  // (not a WebSocket upgrade) and fails with kNotFound / kInvalidArgument. kTimeout when
  // `deadline` passes first; kCancelled after close(); kUnavailable when the peer goes away,
  // fails the TLS handshake or sends a malformed request.
  boost::asio::awaitable<Result<void>> accept(std::string_view path, Clock::time_point deadline);

  // Client: (wss: runs the TLS handshake with SNI `host` and verifies the server's certificate
  // chain against the context's trust store and its name against `host`, then) sends the
  // Upgrade request for `host` (Host header) and `path`. kTimeout when `deadline` passes
  // first; kPermissionDenied when the certificate does not verify; kUnavailable when the
  // server declines (the message names its HTTP status) or the connection fails.
  boost::asio::awaitable<Result<void>> handshake(std::string_view host, std::string_view path,
                                                 Clock::time_point deadline);

  boost::asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer) override;
  boost::asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes) override;
  // Always kUnavailable: the session does not bind to a WebSocket's transport.
  Result<ExportedKey> exportKeyingMaterial(std::string_view label) const override;
  KeyingMaterial keyingMaterial() const override { return KeyingMaterial::kNone; }
  std::string_view transportName() const override { return kTls ? "wss" : "ws"; }
  std::string remoteAddress() const override { return remote_; }
  boost::asio::any_io_executor executor() const override { return executor_; }
  // ws://: sends a WebSocket close frame (code 1000) if the socket takes it at once and no
  // message write is in progress. wss://: no close frame (it would need a TLS write, which
  // cannot be done without waiting). Then shuts the socket down. Never waits.
  void close() override;

 private:
  BasicWsConnection(boost::asio::ip::tcp::socket socket, WsRole role, size_t max_message_bytes,
                    std::shared_ptr<ConnectionRegistry> registry,
                    std::shared_ptr<boost::asio::ssl::context> tls);

  Error readFailure(const boost::system::error_code& ec);
  void sendCloseFrame();

  std::shared_ptr<boost::asio::ssl::context> tls_;  // before ws_: the stream refers to it
  boost::beast::websocket::stream<Next> ws_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<ConnectionRegistry> registry_;
  WsRole role_;
  std::string remote_;
  std::optional<Error> read_error_;
  bool open_ = false;     // the upgrade completed
  bool writing_ = false;  // a message write is in progress
  bool failed_ = false;   // the stream is broken or already closing: no close frame from us
  bool closed_ = false;
};

using WsConnection = BasicWsConnection<WsPlainStream>;
using WssConnection = BasicWsConnection<WsTlsStream>;
extern template class BasicWsConnection<WsPlainStream>;
extern template class BasicWsConnection<WsTlsStream>;

}  // namespace thunder::net
