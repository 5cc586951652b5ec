#include "net/ws_connection.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <random>

#include "net/endpoint.h"

namespace thunder::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kMaxUpgradeHeaderBytes = 8 * 1024;
constexpr uint16_t kCloseNormal = 1000;

// Clears a flag when a scope ends (also when a coroutine frame is destroyed mid-await).
class FlagScope {
 public:
  explicit FlagScope(bool& flag) : flag_(flag) { flag_ = true; }
  ~FlagScope() { flag_ = false; }
  FlagScope(const FlagScope&) = delete;
  FlagScope& operator=(const FlagScope&) = delete;

 private:
  bool& flag_;
};

Error cancelled(const std::string& remote) {
  return Error{ErrorCode::kCancelled, fmt::format("the connection to {} was closed", remote)};
}

// "host" of "host:port" or "[v6]:port", for SNI and certificate name checks.
std::string hostOf(std::string_view host_port) {
  if (host_port.starts_with('[')) {
    const size_t close = host_port.find(']');
    return std::string(host_port.substr(1, close == std::string_view::npos ? 0 : close - 1));
  }
  return std::string(host_port.substr(0, host_port.rfind(':')));
}

// Why a client's TLS handshake failed: a certificate that does not verify is named as such.
Error tlsHandshakeFailure(ssl::stream<tcp::socket>::native_handle_type native,
                          const boost::system::error_code& ec, const std::string& remote) {
  const long verify = SSL_get_verify_result(native);
  if (verify != X509_V_OK) {
    return Error{ErrorCode::kPermissionDenied,
                 fmt::format("the certificate of {} does not verify: {} (trust a private CA with "
                             "SSL_CERT_FILE=ca.pem)",
                             remote, X509_verify_cert_error_string(verify))};
  }
  return Error{ErrorCode::kUnavailable,
               fmt::format("TLS handshake with {} failed: {}", remote, ec.message())};
}

}  // namespace

// ---- WsConnection ----

template <typename Next>
std::unique_ptr<BasicWsConnection<Next>> BasicWsConnection<Next>::create(
    tcp::socket socket, WsRole role, size_t max_message_bytes,
    std::shared_ptr<ConnectionRegistry> registry, std::shared_ptr<ssl::context> tls) {
  return std::unique_ptr<BasicWsConnection>(new BasicWsConnection(
      std::move(socket), role, max_message_bytes, std::move(registry), std::move(tls)));
}

namespace {
template <typename Next>
websocket::stream<Next> makeStream(tcp::socket socket, ssl::context* tls) {
  if constexpr (std::is_same_v<Next, WsTlsStream>) {
    return websocket::stream<Next>(std::move(socket), *tls);
  } else {
    return websocket::stream<Next>(std::move(socket));
  }
}
}  // namespace

template <typename Next>
BasicWsConnection<Next>::BasicWsConnection(tcp::socket socket, WsRole role,
                                           size_t max_message_bytes,
                                           std::shared_ptr<ConnectionRegistry> registry,
                                           std::shared_ptr<ssl::context> tls)
    : tls_(std::move(tls)),
      ws_(makeStream<Next>(std::move(socket), tls_.get())),
      executor_(ws_.get_executor()),
      registry_(std::move(registry)),
      role_(role) {
  boost::system::error_code ec;
  auto& sock = beast::get_lowest_layer(ws_).socket();
  sock.set_option(tcp::no_delay(true), ec);
  const auto peer = sock.remote_endpoint(ec);
  remote_ = ec ? std::string("(unknown)") : formatEndpoint(peer);
  ws_.binary(true);
  ws_.auto_fragment(false);
  ws_.read_message_max(max_message_bytes);
  if (registry_ && !registry_->add(this)) {
    registry_.reset();
    closed_ = true;  // the listener is stopping
  }
}

template <typename Next>
BasicWsConnection<Next>::~BasicWsConnection() {
  if (registry_) registry_->remove(this);
  close();
}

template <typename Next>
void BasicWsConnection<Next>::close() {
  if (closed_) return;
  closed_ = true;
  if constexpr (!kTls) {
    if (open_ && !writing_ && !failed_) sendCloseFrame();
  }
  auto& sock = beast::get_lowest_layer(ws_).socket();
  boost::system::error_code ignored;
  sock.shutdown(tcp::socket::shutdown_both, ignored);
  sock.cancel(ignored);
}

// A close frame written straight to the socket (Beast's async_close would wait for the
// peer's answer): FIN + opcode 8, the 2-byte status code; masked when we are the client.
template <typename Next>
void BasicWsConnection<Next>::sendCloseFrame() {
  std::array<uint8_t, 8> frame{};
  size_t size = 0;
  const std::array<uint8_t, 2> code{static_cast<uint8_t>(kCloseNormal >> 8),
                                    static_cast<uint8_t>(kCloseNormal & 0xff)};
  frame[size++] = 0x88;
  if (role_ == WsRole::kClient) {
    std::random_device random;
    const uint32_t mask_word = random();
    frame[size++] = 0x80 | 2;
    const std::array<uint8_t, 4> mask{
        static_cast<uint8_t>(mask_word), static_cast<uint8_t>(mask_word >> 8),
        static_cast<uint8_t>(mask_word >> 16), static_cast<uint8_t>(mask_word >> 24)};
    for (uint8_t b : mask) frame[size++] = b;
    frame[size++] = code[0] ^ mask[0];
    frame[size++] = code[1] ^ mask[1];
  } else {
    frame[size++] = 2;
    frame[size++] = code[0];
    frame[size++] = code[1];
  }
  const int fd = beast::get_lowest_layer(ws_).socket().native_handle();
  [[maybe_unused]] const ssize_t sent = ::send(fd, frame.data(), size, MSG_DONTWAIT | MSG_NOSIGNAL);
}

template <typename Next>
asio::awaitable<Result<void>> BasicWsConnection<Next>::accept(std::string_view path,
                                                              Clock::time_point deadline) {
  beast::get_lowest_layer(ws_).expires_at(deadline);
  if constexpr (kTls) {
    auto [tls_ec] = co_await ws_.next_layer().async_handshake(ssl::stream_base::server,
                                                              asio::as_tuple(asio::use_awaitable));
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    if (tls_ec == beast::error::timeout) {
      co_return fail(ErrorCode::kTimeout, "the TLS handshake with {} did not finish in time",
                     remote_);
    }
    if (tls_ec) {
      failed_ = true;
      co_return fail(ErrorCode::kUnavailable, "TLS handshake with {} failed: {}", remote_,
                     tls_ec.message());
    }
  }
  auto& stream = ws_.next_layer();
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(kMaxUpgradeHeaderBytes);
  auto [read_ec, n] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (closed_) co_return tl::unexpected(cancelled(remote_));
  if (read_ec == beast::error::timeout) {
    co_return fail(ErrorCode::kTimeout, "the WebSocket upgrade from {} did not arrive in time",
                   remote_);
  }
  if (read_ec) {
    co_return fail(ErrorCode::kUnavailable, "reading the WebSocket upgrade from {}: {}", remote_,
                   read_ec.message());
  }
  http::request<http::empty_body> request = parser.release();
  std::optional<http::status> refusal;
  if (!websocket::is_upgrade(request)) refusal = http::status::upgrade_required;
  if (!refusal && request.target() != path) refusal = http::status::not_found;
  if (refusal) {
    http::response<http::string_body> response{*refusal, request.version()};
    response.set(http::field::content_type, "text/plain");
    response.body() = *refusal == http::status::not_found
                          ? fmt::format("Thunder sessions are at {}\n", path)
                          : std::string("expected a WebSocket upgrade\n");
    response.keep_alive(false);
    response.prepare_payload();
    co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
    failed_ = true;
    if (*refusal == http::status::not_found) {
      co_return fail(ErrorCode::kNotFound, "{} asked for WebSocket path {}, not {}", remote_,
                     std::string_view(request.target()), path);
    }
    co_return fail(ErrorCode::kInvalidArgument, "{} sent an HTTP request without an upgrade",
                   remote_);
  }
  auto [accept_ec] = co_await ws_.async_accept(request, asio::as_tuple(asio::use_awaitable));
  if (closed_) co_return tl::unexpected(cancelled(remote_));
  if (accept_ec == beast::error::timeout) {
    co_return fail(ErrorCode::kTimeout, "the WebSocket upgrade with {} did not finish in time",
                   remote_);
  }
  if (accept_ec) {
    failed_ = true;
    co_return fail(ErrorCode::kUnavailable, "WebSocket upgrade with {} failed: {}", remote_,
                   accept_ec.message());
  }
  beast::get_lowest_layer(ws_).expires_never();
  open_ = true;
  co_return Result<void>{};
}

template <typename Next>
asio::awaitable<Result<void>> BasicWsConnection<Next>::handshake(std::string_view host,
                                                                 std::string_view path,
                                                                 Clock::time_point deadline) {
  auto& stream = beast::get_lowest_layer(ws_);
  stream.expires_at(deadline);
  if constexpr (kTls) {
    const std::string name = hostOf(host);
    auto& tls = ws_.next_layer();
    if (SSL_set_tlsext_host_name(tls.native_handle(), name.c_str()) != 1) {
      co_return fail(ErrorCode::kInvalidArgument, "\"{}\" cannot be sent as a TLS server name",
                     name);
    }
    tls.set_verify_mode(ssl::verify_peer);
    tls.set_verify_callback(ssl::host_name_verification(name));
    auto [tls_ec] =
        co_await tls.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    if (tls_ec == beast::error::timeout) {
      co_return fail(ErrorCode::kTimeout, "the TLS handshake with {} did not finish in time",
                     remote_);
    }
    if (tls_ec) {
      failed_ = true;
      co_return tl::unexpected(tlsHandshakeFailure(tls.native_handle(), tls_ec, remote_));
    }
  }
  websocket::response_type response;
  auto [ec] =
      co_await ws_.async_handshake(response, host, path, asio::as_tuple(asio::use_awaitable));
  if (closed_) co_return tl::unexpected(cancelled(remote_));
  if (ec == beast::error::timeout) {
    co_return fail(ErrorCode::kTimeout, "the WebSocket upgrade with {} did not finish in time",
                   remote_);
  }
  if (ec == websocket::error::upgrade_declined) {
    failed_ = true;
    co_return fail(ErrorCode::kUnavailable, "{} declined the WebSocket upgrade on {}: HTTP {} {}",
                   remote_, path, response.result_int(), std::string_view(response.reason()));
  }
  if (ec) {
    failed_ = true;
    co_return fail(ErrorCode::kUnavailable, "WebSocket upgrade with {} failed: {}", remote_,
                   ec.message());
  }
  stream.expires_never();
  open_ = true;
  co_return Result<void>{};
}

template <typename Next>
Error BasicWsConnection<Next>::readFailure(const boost::system::error_code& ec) {
  failed_ = true;
  if (ec == websocket::error::message_too_big) {
    return Error{
        ErrorCode::kResourceExhausted,
        fmt::format("{} sent a WebSocket message above {} bytes", remote_, ws_.read_message_max())};
  }
  if (ec == websocket::condition::protocol_violation) {
    return Error{ErrorCode::kCorruption,
                 fmt::format("{} broke the WebSocket protocol: {}", remote_, ec.message())};
  }
  if (ec == asio::error::eof || ec == beast::error::timeout) {
    return Error{ErrorCode::kUnavailable,
                 fmt::format("{} closed the connection without a WebSocket close frame", remote_)};
  }
  return Error{ErrorCode::kUnavailable, fmt::format("reading from {}: {}", remote_, ec.message())};
}

template <typename Next>
asio::awaitable<Result<size_t>> BasicWsConnection<Next>::readSome(std::span<uint8_t> buffer) {
  if (buffer.empty()) co_return fail(ErrorCode::kInvalidArgument, "readSome needs a buffer");
  for (;;) {
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    if (read_error_) co_return tl::unexpected(*read_error_);
    auto [ec, n] = co_await ws_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                asio::as_tuple(asio::use_awaitable));
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    // The peer's close frame. Beast answers it; the answer may fail when the peer already shut
    // the socket down (as our own close() does), which is still a clean end.
    if (ec == websocket::error::closed ||
        (ec && ws_.reason().code != websocket::close_code::none)) {
      failed_ = true;
      co_return 0;
    }
    if (ec) {
      read_error_ = readFailure(ec);
      co_return tl::unexpected(*read_error_);
    }
    if (ws_.got_text()) {
      failed_ = true;
      read_error_ = Error{ErrorCode::kCorruption,
                          fmt::format("{} sent a text message; Thunder sessions use binary "
                                      "WebSocket messages",
                                      remote_)};
      co_return tl::unexpected(*read_error_);
    }
    if (n > 0) co_return n;
    // An empty message or frame: nothing for the stream, keep reading.
  }
}

template <typename Next>
asio::awaitable<Result<void>> BasicWsConnection<Next>::writeAll(std::span<const uint8_t> bytes) {
  FlagScope writing(writing_);
  size_t done = 0;
  while (done < bytes.size()) {
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    const size_t chunk = std::min(kWsMaxSentMessageBytes, bytes.size() - done);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(bytes.data() + done, chunk),
                                            asio::as_tuple(asio::use_awaitable));
    if (closed_) co_return tl::unexpected(cancelled(remote_));
    if (ec) {
      failed_ = true;
      co_return fail(ErrorCode::kUnavailable, "writing to {}: {}", remote_, ec.message());
    }
    done += chunk;
  }
  co_return Result<void>{};
}

template <typename Next>
Result<ExportedKey> BasicWsConnection<Next>::exportKeyingMaterial(std::string_view) const {
  return fail(ErrorCode::kUnavailable,
              "the WebSocket connection with {} has no TLS keying material (use an unbound "
              "transport binding)",
              remote_);
}

template class BasicWsConnection<WsPlainStream>;
template class BasicWsConnection<WsTlsStream>;

}  // namespace thunder::net
