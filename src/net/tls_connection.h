// TLS 1.3 over TCP, the pieces behind net/tls_transport.h (internal to net/):
//
//   TlsContext          an SSL_CTX configured for Thunder (TLS 1.3 only, ALPN "thunder/1", no
//                       session tickets) plus the socket BIO the connections use. Immutable;
//                       shared (shared_ptr) by the connections made from it.
//   TlsConnection       a StreamConnection over OpenSSL on a non-blocking socket: OpenSSL reads
//                       and writes the socket itself (send() with MSG_NOSIGNAL, so a closed peer
//                       cannot raise SIGPIPE) and the loop only waits for readiness.
//   Deadline            cancels a socket's waits when a time point passes.
//   PinnedKeyCheck      what a client expects of the server certificate (its Ed25519 key).
//
// A TlsConnection, like every StreamConnection, is used and destroyed on its own loop.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"
#include "base/strong_types.h"
#include "net/listener_core.h"
#include "net/openssl_util.h"
#include "net/stream_transport.h"
#include "net/tls_identity.h"

namespace thunder::net {

// The ALPN protocol every Thunder TLS connection negotiates.
inline constexpr std::string_view kThunderAlpn = "thunder/1";

class TlsContext {
 public:
  // Server side: presents `identity`'s certificate. kInternal when OpenSSL refuses.
  static Result<std::shared_ptr<const TlsContext>> forServer(const TlsIdentity& identity);
  // Client side: verifies the server certificate against the PinnedKeyCheck attached to each
  // connection (SSL app data) instead of a CA chain.
  static Result<std::shared_ptr<const TlsContext>> forClient();

  SSL_CTX* get() const { return ctx_.get(); }
  const BIO_METHOD* socketBio() const { return socket_bio_.get(); }

 private:
  TlsContext(SslCtxPtr ctx, BioMethodPtr socket_bio)
      : ctx_(std::move(ctx)), socket_bio_(std::move(socket_bio)) {}
  SslCtxPtr ctx_;
  BioMethodPtr socket_bio_;
};

struct PinnedKeyCheck {
  PublicKey expected;
  std::optional<Error> failure;  // set by the verify callback when it refuses the certificate
};

class Deadline {
 public:
  // From now until destruction, cancels `socket`'s pending operations once `at` passes.
  Deadline(boost::asio::ip::tcp::socket& socket, std::chrono::steady_clock::time_point at);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  struct State {
    bool done = false;
    bool expired = false;
  };
  std::shared_ptr<State> state_;
  boost::asio::steady_timer timer_;
};

enum class TlsRole { kClient, kServer };

class TlsConnection final : public StreamConnection {
 public:
  // Wraps a connected socket (which stays on its executor). `registry` may be null (client).
  // kInternal when OpenSSL cannot allocate the connection.
  static Result<std::unique_ptr<TlsConnection>> create(
      boost::asio::ip::tcp::socket socket, std::shared_ptr<const TlsContext> context, TlsRole role,
      std::shared_ptr<ConnectionRegistry> registry);
  ~TlsConnection() override;

  // Runs the TLS 1.3 handshake and checks that ALPN "thunder/1" was negotiated. kTimeout when
  // `deadline` passes first; kCancelled after close(); kPermissionDenied or kCorruption from a
  // refused server certificate (client); kUnavailable for any other failure, with the reason.
  boost::asio::awaitable<Result<void>> handshake(std::chrono::steady_clock::time_point deadline);

  SSL* ssl() const { return ssl_.get(); }
  boost::asio::ip::tcp::socket& socket() { return socket_; }

  boost::asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer) override;
  boost::asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes) override;
  Result<ExportedKey> exportKeyingMaterial(std::string_view label) const override;
  std::string_view transportName() const override { return "tls"; }
  std::string remoteAddress() const override { return remote_; }
  boost::asio::any_io_executor executor() const override { return executor_; }
  void close() override;

  // What the socket BIO reads: the descriptor and whether recv() saw the end of the stream.
  struct SocketState {
    int fd = -1;
    bool eof = false;
  };

 private:
  TlsConnection(boost::asio::ip::tcp::socket socket, std::shared_ptr<const TlsContext> context,
                std::shared_ptr<ConnectionRegistry> registry);

  // Waits until OpenSSL's wish (SSL_ERROR_WANT_READ / _WRITE) can be met. kCancelled after
  // close(), kTimeout when `deadline` expired, kIoError otherwise.
  boost::asio::awaitable<Result<void>> waitFor(int ssl_error, const Deadline* deadline);
  // The Error for a failed SSL call (ssl_error from SSL_get_error, errno saved right after).
  // Marks the connection failed: OpenSSL forbids SSL_shutdown() after a fatal error.
  Error failure(int ssl_error, int saved_errno, std::string_view during);

  boost::asio::ip::tcp::socket socket_;  // declared first: destroyed after ssl_
  boost::asio::any_io_executor executor_;
  std::shared_ptr<const TlsContext> context_;  // keeps the BIO method alive for ssl_
  std::shared_ptr<ConnectionRegistry> registry_;
  SocketState socket_state_;
  SslPtr ssl_;
  std::string remote_;
  std::optional<Error> read_error_;  // an error met after a partial read, returned next time
  bool closed_ = false;
  bool failed_ = false;
};

}  // namespace thunder::net
