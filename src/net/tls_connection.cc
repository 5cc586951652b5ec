#include "net/tls_connection.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "net/endpoint.h"

namespace thunder::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// ALPN wire form: one length-prefixed protocol name.
constexpr unsigned char kAlpnWire[] = {9, 't', 'h', 'u', 'n', 'd', 'e', 'r', '/', '1'};
static_assert(sizeof kAlpnWire == kThunderAlpn.size() + 1);

// OpenSSL's read buffer: several records per recv() when data streams in.
constexpr size_t kReadBufferBytes = 64 * 1024;

// A fixed BIO type (BIO_get_new_index() hands out only ~128 indexes per process, and client
// contexts are made per connection). Not BIO_TYPE_DESCRIPTOR: SSL_get_fd() must not use it.
constexpr int kSocketBioType = BIO_TYPE_SOURCE_SINK | 0xc8;

TlsConnection::SocketState* socketState(BIO* bio) {
  return static_cast<TlsConnection::SocketState*>(BIO_get_data(bio));
}

int bioWrite(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  const ssize_t n = ::send(socketState(bio)->fd, data, static_cast<size_t>(length), MSG_NOSIGNAL);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_write(bio);
  return -1;
}

int bioRead(BIO* bio, char* data, int length) {
  BIO_clear_retry_flags(bio);
  if (data == nullptr) return 0;
  const ssize_t n = ::recv(socketState(bio)->fd, data, static_cast<size_t>(length), 0);
  if (n > 0) return static_cast<int>(n);
  if (n == 0) {
    socketState(bio)->eof = true;
    return 0;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) BIO_set_retry_read(bio);
  return -1;
}

long bioCtrl(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return socketState(bio)->eof ? 1 : 0;
    default: return 0;
  }
}

Result<BioMethodPtr> makeSocketBio() {
  BioMethodPtr method(BIO_meth_new(kSocketBioType, "thunder-socket"));
  if (!method || BIO_meth_set_write(method.get(), bioWrite) != 1 ||
      BIO_meth_set_read(method.get(), bioRead) != 1 ||
      BIO_meth_set_ctrl(method.get(), bioCtrl) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot create the socket BIO");
  }
  return method;
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kAlpnWire, sizeof kAlpnWire, in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Replaces CA chain verification on the client: the leaf certificate must be validly
// self-signed by exactly the Ed25519 key the client pinned.
int verifyPinnedKey(X509_STORE_CTX* store, void*) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* check = ssl == nullptr ? nullptr : static_cast<PinnedKeyCheck*>(SSL_get_app_data(ssl));
  X509* cert = X509_STORE_CTX_get0_cert(store);
  if (check == nullptr || cert == nullptr) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  auto presented = checkSelfSignedEd25519(cert);
  if (!presented) {
    check->failure = Error{ErrorCode::kCorruption, presented.error().message};
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_SIGNATURE_FAILURE);
    return 0;
  }
  if (*presented != check->expected) {
    check->failure =
        Error{ErrorCode::kPermissionDenied, fmt::format("node key mismatch: expected {}, got {}",
                                                        check->expected.hex(), presented->hex())};
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  return 1;
}

Result<SslCtxPtr> newContext(const SSL_METHOD* method) {
  SslCtxPtr ctx(SSL_CTX_new(method));
  if (!ctx || SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot create a TLS 1.3 context");
  }
  // Sessions resume at the Thunder layer (lane tokens), not with TLS tickets.
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx.get(), 0);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_read_ahead(ctx.get(), 1);
  SSL_CTX_set_default_read_buffer_len(ctx.get(), kReadBufferBytes);
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::forServer(const TlsIdentity& identity) {
  THUNDER_ASSIGN_OR_RETURN(SslCtxPtr ctx, newContext(TLS_server_method()));
  if (SSL_CTX_use_certificate(ctx.get(), identity.native().certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), identity.native().key.get()) != 1 ||
      SSL_CTX_check_private_key(ctx.get()) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot install the node certificate");
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), selectAlpn, nullptr);
  THUNDER_ASSIGN_OR_RETURN(BioMethodPtr bio, makeSocketBio());
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(ctx), std::move(bio)));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::forClient() {
  THUNDER_ASSIGN_OR_RETURN(SslCtxPtr ctx, newContext(TLS_client_method()));
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx.get(), verifyPinnedKey, nullptr);
  if (SSL_CTX_set_alpn_protos(ctx.get(), kAlpnWire, sizeof kAlpnWire) != 0) {  // 0 is success
    return failOpenssl(ErrorCode::kInternal, "cannot set ALPN");
  }
  THUNDER_ASSIGN_OR_RETURN(BioMethodPtr bio, makeSocketBio());
  return std::shared_ptr<const TlsContext>(new TlsContext(std::move(ctx), std::move(bio)));
}

// ---- Deadline ----

Deadline::Deadline(tcp::socket& socket, std::chrono::steady_clock::time_point at)
    : state_(std::make_shared<State>()), timer_(socket.get_executor()) {
  timer_.expires_at(at);
  // The handler may run after this Deadline is gone; it touches `socket` only while not done,
  // which means the coroutine waiting on the socket (and so the socket) is still alive.
  timer_.async_wait([state = state_, &socket](const boost::system::error_code& ec) {
    if (ec || state->done) return;
    state->expired = true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
  });
}

Deadline::~Deadline() {
  state_->done = true;
  timer_.cancel();
}

// ---- TlsConnection ----

Result<std::unique_ptr<TlsConnection>> TlsConnection::create(
    tcp::socket socket, std::shared_ptr<const TlsContext> context, TlsRole role,
    std::shared_ptr<ConnectionRegistry> registry) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) {
    return failErrorCode(std::error_code(ec.value(), std::system_category()),
                         "cannot configure a TCP socket");
  }
  std::unique_ptr<TlsConnection> connection(
      new TlsConnection(std::move(socket), std::move(context), std::move(registry)));
  connection->ssl_.reset(SSL_new(connection->context_->get()));
  BIO* bio = BIO_new(connection->context_->socketBio());
  if (!connection->ssl_ || bio == nullptr) {
    BIO_free(bio);
    return failOpenssl(ErrorCode::kInternal, "cannot create a TLS connection");
  }
  BIO_set_data(bio, &connection->socket_state_);
  BIO_set_init(bio, 1);
  SSL_set_bio(connection->ssl_.get(), bio, bio);  // one reference, owned by the SSL
  if (role == TlsRole::kServer) {
    SSL_set_accept_state(connection->ssl_.get());
  } else {
    SSL_set_connect_state(connection->ssl_.get());
  }
  return connection;
}

TlsConnection::TlsConnection(tcp::socket socket, std::shared_ptr<const TlsContext> context,
                             std::shared_ptr<ConnectionRegistry> registry)
    : socket_(std::move(socket)),
      executor_(socket_.get_executor()),
      context_(std::move(context)),
      registry_(std::move(registry)) {
  socket_state_.fd = socket_.native_handle();
  boost::system::error_code ec;
  const auto peer = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("(unknown)") : formatEndpoint(peer);
  if (registry_ && !registry_->add(this)) {
    registry_.reset();
    closed_ = true;  // the listener is stopping
  }
}

TlsConnection::~TlsConnection() {
  if (registry_) registry_->remove(this);
  close();
}

void TlsConnection::close() {
  if (closed_) return;
  closed_ = true;
  if (ssl_ && !failed_ && SSL_is_init_finished(ssl_.get())) {
    SSL_shutdown(ssl_.get());  // sends close_notify if the socket takes it now; never waits
    ERR_clear_error();
  }
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.cancel(ignored);
}

asio::awaitable<Result<void>> TlsConnection::waitFor(int ssl_error, const Deadline* deadline) {
  const auto type =
      ssl_error == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
  auto [ec] = co_await socket_.async_wait(type, asio::as_tuple(asio::use_awaitable));
  if (closed_) co_return fail(ErrorCode::kCancelled, "the connection to {} was closed", remote_);
  if (deadline != nullptr && deadline->expired()) {
    co_return fail(ErrorCode::kTimeout, "the TLS handshake with {} did not finish in time",
                   remote_);
  }
  if (ec) co_return fail(ErrorCode::kIoError, "waiting on {} failed: {}", remote_, ec.message());
  co_return Result<void>{};
}

Error TlsConnection::failure(int ssl_error, int saved_errno, std::string_view during) {
  failed_ = true;
  const unsigned long first = ERR_peek_error();
  const bool peer_vanished =
      socket_state_.eof ||
      (ssl_error == SSL_ERROR_SSL && ERR_GET_REASON(first) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
  if (peer_vanished) {
    ERR_clear_error();
    return Error{ErrorCode::kUnavailable,
                 fmt::format("{} {}: the peer closed the connection without ending the TLS "
                             "stream",
                             during, remote_)};
  }
  if (ssl_error == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    return Error{ErrorCode::kUnavailable,
                 fmt::format("{} {}: {}", during, remote_,
                             saved_errno == 0 ? "connection lost" : std::strerror(saved_errno))};
  }
  return Error{ErrorCode::kCorruption,
               fmt::format("{} {}: {}", during, remote_, drainOpensslErrors())};
}

asio::awaitable<Result<void>> TlsConnection::handshake(
    std::chrono::steady_clock::time_point deadline_at) {
  Deadline deadline(socket_, deadline_at);
  for (;;) {
    if (closed_) co_return fail(ErrorCode::kCancelled, "the connection to {} was closed", remote_);
    if (deadline.expired()) {
      co_return fail(ErrorCode::kTimeout, "the TLS handshake with {} did not finish in time",
                     remote_);
    }
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl_.get());
    if (ret == 1) break;
    const int saved_errno = errno;
    const int ssl_error = SSL_get_error(ssl_.get(), ret);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      THUNDER_CO_TRY(co_await waitFor(ssl_error, &deadline));
      continue;
    }
    Error error = failure(ssl_error, saved_errno, "TLS handshake with");
    error.code = ErrorCode::kUnavailable;
    co_return tl::unexpected(std::move(error));
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl_.get(), &alpn, &alpn_length);
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_length) != kThunderAlpn) {
    co_return fail(ErrorCode::kUnavailable, "{} did not negotiate the ALPN protocol {}", remote_,
                   kThunderAlpn);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<size_t>> TlsConnection::readSome(std::span<uint8_t> buffer) {
  if (buffer.empty()) co_return fail(ErrorCode::kInvalidArgument, "readSome needs a buffer");
  for (;;) {
    if (closed_) co_return fail(ErrorCode::kCancelled, "the connection to {} was closed", remote_);
    if (read_error_) co_return tl::unexpected(*read_error_);
    size_t total = 0;
    int ret = 1;
    // Drain what OpenSSL already holds (several records when data streams in), then return.
    while (total < buffer.size()) {
      ERR_clear_error();
      size_t n = 0;
      ret = SSL_read_ex(ssl_.get(), buffer.data() + total, buffer.size() - total, &n);
      if (ret != 1) break;
      total += n;
    }
    if (ret == 1) co_return total;
    const int saved_errno = errno;
    const int ssl_error = SSL_get_error(ssl_.get(), ret);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      if (total > 0) co_return total;
      THUNDER_CO_TRY(co_await waitFor(ssl_error, nullptr));
      continue;
    }
    if (ssl_error == SSL_ERROR_ZERO_RETURN) {  // the peer's close_notify
      ERR_clear_error();
      co_return total;
    }
    read_error_ = failure(ssl_error, saved_errno, "reading from");
    if (total > 0) co_return total;
    co_return tl::unexpected(*read_error_);
  }
}

asio::awaitable<Result<void>> TlsConnection::writeAll(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    if (closed_) co_return fail(ErrorCode::kCancelled, "the connection to {} was closed", remote_);
    ERR_clear_error();
    size_t n = 0;
    const int ret = SSL_write_ex(ssl_.get(), bytes.data() + done, bytes.size() - done, &n);
    if (ret == 1) {
      done += n;
      continue;
    }
    const int saved_errno = errno;
    const int ssl_error = SSL_get_error(ssl_.get(), ret);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      THUNDER_CO_TRY(co_await waitFor(ssl_error, nullptr));
      continue;
    }
    co_return tl::unexpected(failure(ssl_error, saved_errno, "writing to"));
  }
  co_return Result<void>{};
}

Result<ExportedKey> TlsConnection::exportKeyingMaterial(std::string_view label) const {
  if (label.empty()) return fail(ErrorCode::kInvalidArgument, "the exporter label is empty");
  ExportedKey out{};
  ERR_clear_error();
  if (!SSL_is_init_finished(ssl_.get()) ||
      SSL_export_keying_material(ssl_.get(), out.data(), out.size(), label.data(), label.size(),
                                 nullptr, 0, 0) != 1) {
    return failOpenssl(ErrorCode::kInternal,
                       fmt::format("cannot export keying material from {}", remote_));
  }
  return out;
}

}  // namespace thunder::net
