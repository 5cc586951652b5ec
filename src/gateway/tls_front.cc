#include "gateway/tls_front.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "base/log.h"
#include "gateway/log_limit.h"
#include "gateway/tls_context.h"

namespace thunder::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// Connection → client: bytes read from the pair per SSL_write() (OpenSSL cuts them into 16 KiB
// records). Client → Connection: one record per SSL_read().
constexpr size_t kDownBuffer = 64 * 1024;
constexpr size_t kUpBuffer = 16 * 1024;
// The send buffer of the Connection's end of the pair (the kernel doubles it).
constexpr int kPairSendBuffer = 512 * 1024;
// How long a closed connection keeps discarding what the client still sends.
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr auto kNever = std::chrono::steady_clock::time_point::max();

constexpr std::string_view kPlainHttpBody =
    "this port serves HTTPS only: plain HTTP was sent to it; use an https:// URL\n";

std::string opensslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out.empty() ? std::string("connection closed or reset") : out;
}

}  // namespace

bool startTlsFront(const std::shared_ptr<ServerState>& state, asio::io_context& context,
                   tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return true;  // already gone
  auto front =
      std::make_shared<TlsFront>(state, state->loopFor(context), std::move(socket), peer.address());
  {
    std::lock_guard lock(state->mutex);
    if (state->stopping) return false;
    const GatewayOptions& options = state->options;
    const char* limit = nullptr;
    if (state->open_connections + state->tls_handshakes >= options.max_connections) {
      limit = "the connection limit";
    } else if (state->tls_handshakes >= options.tls_max_handshakes) {
      limit = "the limit of TLS handshakes in progress";
    } else if (auto it = state->tls_handshakes_by_ip.find(peer.address());
               it != state->tls_handshakes_by_ip.end() &&
               it->second >= options.tls_max_handshakes_per_ip) {
      limit = "the limit of TLS handshakes per address";
    }
    if (limit != nullptr) {
      state->counters.refused_connections->add();
      THUNDER_LOG(debug, "gateway", "{} is reached; closing a new connection from {}", limit,
                  peer.address().to_string());
      return true;  // the front, and with it the socket, is dropped
    }
    ++state->tls_handshakes;
    ++state->tls_handshakes_by_ip[peer.address()];
    ++state->coroutines;
    front->setRegistryEntry(state->tls_fronts.insert(state->tls_fronts.end(), front));
  }
  asio::co_spawn(context, TlsFront::run(std::move(front)), asio::detached);
  return true;
}

TlsFront::TlsFront(std::shared_ptr<ServerState> state, LoopState& loop, tcp::socket socket,
                   asio::ip::address peer)
    : state_(std::move(state)),
      loop_(loop),
      socket_(std::move(socket)),
      fd_(socket_.native_handle()),
      peer_(peer),
      pair_(loop.context),
      timer_(loop.context),
      up_done_(loop.context.get_executor()) {
  boost::system::error_code ignored;
  socket_.native_non_blocking(true, ignored);
  socket_.set_option(tcp::no_delay(true), ignored);
}

TlsFront::~TlsFront() {
  SSL_free(ssl_);
}

void TlsFront::setRegistryEntry(std::list<std::weak_ptr<TlsFront>>::iterator entry) {
  registry_entry_ = entry;
}

asio::awaitable<void> TlsFront::run(std::shared_ptr<TlsFront> self) {
  self->setDeadline(Clock::now() + self->state_->options.tls_handshake_timeout);
  const bool secured = co_await self->handshake();
  self->releaseHandshakeSlot();
  const bool serving = secured && !self->cut_ && self->startConnection();
  if (serving) {
    self->phase_ = Phase::kPumping;
    self->setDeadline(kNever);
    self->up_running_ = true;
    asio::co_spawn(self->loop_.context, runUp(self), asio::detached);
    co_await self->pumpDown();
    // The Connection's stream ended (or the connection was cut): stop reading the client.
    self->closing_ = true;
    boost::system::error_code ignored;
    self->socket_.cancel(ignored);
    self->pair_.cancel(ignored);
    if (self->up_running_) co_await self->up_done_.wait();
    if (!self->cut_) co_await self->sendCloseNotify();
  }
  // After an answer (TLS or the plain-HTTP 400), linger so that unread input cannot reset it.
  if (!self->cut_ && !self->stop_requested_ && (serving || self->phase_ == Phase::kLingering)) {
    co_await self->linger();
  }

  self->phase_ = Phase::kDone;
  self->timer_.cancel();
  boost::system::error_code ignored;
  self->pair_.close(ignored);
  self->socket_.close(ignored);
  ServerState& state = *self->state_;
  {
    std::lock_guard lock(state.mutex);
    state.tls_fronts.erase(self->registry_entry_);
  }
  state.coroutineDone();
}

void TlsFront::requestStop(StopMode mode) {
  if (phase_ == Phase::kDone) return;
  stop_requested_ = true;
  if (mode == StopMode::kNow || phase_ == Phase::kHandshake || phase_ == Phase::kLingering) cut();
}

void TlsFront::cut() {
  if (cut_) return;
  cut_ = true;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
  pair_.cancel(ignored);
}

// ---- handshake ----

asio::awaitable<bool> TlsFront::handshake() {
  ERR_clear_error();
  ssl_ = SSL_new(state_->tls->native());
  if (ssl_ == nullptr || SSL_set_fd(ssl_, fd_) != 1) {
    THUNDER_GATEWAY_WARN("cannot create a TLS connection: {}", opensslErrors());
    co_return false;
  }
  SSL_set_accept_state(ssl_);
  for (;;) {
    if (cut_) co_return false;
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    if (result == 1) co_return true;
    const int error = SSL_get_error(ssl_, result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      const bool ready = co_await waitTcp(error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read
                                                                       : tcp::socket::wait_write);
      if (!ready) co_return false;
      continue;
    }
    tls_failed_ = true;
    const unsigned long code = ERR_peek_error();
    if (ERR_GET_LIB(code) == ERR_LIB_SSL && ERR_GET_REASON(code) == SSL_R_HTTP_REQUEST) {
      answerPlainHttp();
    }
    THUNDER_LOG(debug, "gateway", "TLS handshake with {} failed: {}", peer_.to_string(),
                opensslErrors());
    co_return false;
  }
}

void TlsFront::answerPlainHttp() {
  const std::string answer = fmt::format(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
      "Cache-Control: no-store\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{}",
      kPlainHttpBody.size(), kPlainHttpBody);
  (void)!::send(fd_, answer.data(), answer.size(), MSG_NOSIGNAL);
  state_->counters.response(400);
  phase_ = Phase::kLingering;
}

void TlsFront::releaseHandshakeSlot() {
  if (!handshake_slot_) return;
  handshake_slot_ = false;
  std::lock_guard lock(state_->mutex);
  --state_->tls_handshakes;
  auto it = state_->tls_handshakes_by_ip.find(peer_);
  if (it != state_->tls_handshakes_by_ip.end() && --it->second == 0) {
    state_->tls_handshakes_by_ip.erase(it);
  }
}

bool TlsFront::startConnection() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    THUNDER_GATEWAY_WARN("cannot create a socket pair for an HTTPS connection: {}",
                         std::strerror(errno));
    return false;
  }
  // Room for the Connection's sendfile(2) slices ahead of the pump: fewer wake-ups per byte
  // (the kernel caps it at net.core.wmem_max).
  const int send_buffer = kPairSendBuffer;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer);
  boost::system::error_code ec;
  tcp::socket inner(loop_.context);
  // The Connection takes a tcp::socket; Asio only keeps the descriptor, which may be any stream
  // socket (the Connection's TCP_NODELAY then fails harmlessly).
  inner.assign(tcp::v4(), fds[0], ec);
  if (ec) {
    ::close(fds[0]);
    ::close(fds[1]);
    THUNDER_GATEWAY_WARN("cannot use a socket pair for an HTTPS connection: {}", ec.message());
    return false;
  }
  pair_.assign(asio::local::stream_protocol(), fds[1], ec);
  if (ec) {
    ::close(fds[1]);
    THUNDER_GATEWAY_WARN("cannot use a socket pair for an HTTPS connection: {}", ec.message());
    return false;
  }
  pair_fd_ = fds[1];
  auto connection = std::make_shared<Connection>(state_, loop_, std::move(inner));
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return false;
    ++state_->open_connections;
    ++state_->coroutines;
    connection->setRegistryEntry(state_->connections.insert(state_->connections.end(), connection));
  }
  asio::co_spawn(loop_.context, Connection::run(std::move(connection)), asio::detached);
  return true;
}

// ---- pumps ----

asio::awaitable<void> TlsFront::runUp(std::shared_ptr<TlsFront> self) {
  co_await self->pumpUp();
  self->up_running_ = false;
  self->up_done_.notify();
}

asio::awaitable<void> TlsFront::pumpUp() {
  up_.reset(new char[kUpBuffer]);
  for (;;) {
    if (cut_ || closing_) co_return;
    ERR_clear_error();
    const int n = SSL_read(ssl_, up_.get(), static_cast<int>(kUpBuffer));
    if (n > 0) {
      const bool written = co_await writePair(up_.get(), static_cast<size_t>(n));
      if (!written) co_return;  // the Connection closed its end: pumpDown() sees it too
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      const bool ready = co_await waitTcp(error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read
                                                                       : tcp::socket::wait_write);
      if (!ready) co_return;
      continue;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      // close_notify, or a FIN (SSL_OP_IGNORE_UNEXPECTED_EOF): the client sends no more; its
      // last request is still answered.
      ::shutdown(pair_fd_, SHUT_WR);
      co_return;
    }
    tls_failed_ = true;
    THUNDER_LOG(debug, "gateway", "TLS connection from {} failed: {}", peer_.to_string(),
                opensslErrors());
    cut();
    co_return;
  }
}

asio::awaitable<void> TlsFront::pumpDown() {
  down_.reset(new char[kDownBuffer]);
  for (;;) {
    if (cut_) co_return;
    // Asio tries the read at once and waits only if it would block (no epoll_ctl, unlike an
    // explicit wait for readability).
    auto [ec, n] = co_await pair_.async_read_some(asio::buffer(down_.get(), kDownBuffer),
                                                  asio::as_tuple(asio::use_awaitable));
    if (cut_) co_return;
    if (ec) co_return;  // the end of the stream (or a reset after input the Connection left)
    const bool sent = co_await writeTls(down_.get(), n);
    if (!sent) {
      cut();
      co_return;
    }
    // Nothing more to send for now: the Connection's own timeouts apply until it sends again.
    setDeadline(kNever);
  }
}

asio::awaitable<bool> TlsFront::writeTls(const char* data, size_t length) {
  size_t done = 0;
  while (done < length) {
    if (cut_) co_return false;
    ERR_clear_error();
    const int n = SSL_write(ssl_, data + done, static_cast<int>(length - done));
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      // A client that accepts nothing for send_timeout is cut.
      setDeadline(Clock::now() + state_->options.send_timeout);
      const bool ready = co_await waitTcp(error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read
                                                                       : tcp::socket::wait_write);
      if (!ready) co_return false;
      continue;
    }
    tls_failed_ = true;
    THUNDER_LOG(debug, "gateway", "sending to {} over TLS failed: {}", peer_.to_string(),
                opensslErrors());
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> TlsFront::writePair(const char* data, size_t length) {
  size_t done = 0;
  while (done < length) {
    if (cut_ || closing_) co_return false;
    const ssize_t n = ::send(pair_fd_, data + done, length - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const bool ready = co_await waitPair(tcp::socket::wait_write);
      if (!ready) co_return false;
      continue;
    }
    co_return false;  // EPIPE: the Connection is gone
  }
  co_return true;
}

asio::awaitable<void> TlsFront::sendCloseNotify() {
  if (tls_failed_) co_return;  // OpenSSL forbids SSL_shutdown() after a fatal error
  for (;;) {
    ERR_clear_error();
    const int result = SSL_shutdown(ssl_);
    if (result >= 0) co_return;  // ours is sent; the client's is not awaited
    const int error = SSL_get_error(ssl_, result);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      co_return;
    }
    setDeadline(Clock::now() + state_->options.send_timeout);
    const bool ready = co_await waitTcp(error == SSL_ERROR_WANT_READ ? tcp::socket::wait_read
                                                                     : tcp::socket::wait_write);
    if (!ready) co_return;
  }
}

asio::awaitable<void> TlsFront::linger() {
  phase_ = Phase::kLingering;  // a graceful stop cuts it at once
  ::shutdown(fd_, SHUT_WR);
  setDeadline(Clock::now() + kLingerTime);
  std::array<char, 4096> sink;
  for (;;) {
    const ssize_t n = ::recv(fd_, sink.data(), sink.size(), 0);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const bool ready = co_await waitTcp(tcp::socket::wait_read);
      if (!ready) co_return;
      continue;
    }
    co_return;  // the client closed (or reset) its side
  }
}

// ---- waits and the deadline ----

asio::awaitable<bool> TlsFront::waitTcp(asio::socket_base::wait_type type) {
  if (cut_) co_return false;
  auto [ec] = co_await socket_.async_wait(type, asio::as_tuple(asio::use_awaitable));
  co_return !ec && !cut_;
}

asio::awaitable<bool> TlsFront::waitPair(asio::socket_base::wait_type type) {
  if (cut_) co_return false;
  auto [ec] = co_await pair_.async_wait(type, asio::as_tuple(asio::use_awaitable));
  co_return !ec && !cut_;
}

void TlsFront::setDeadline(Clock::time_point at) {
  deadline_ = at;
  if (at >= armed_for_) return;  // the pending wait ends earlier; onTimer() re-arms
  armed_for_ = at;
  timer_.expires_at(at);  // cancels a pending wait, whose handler re-arms
  if (!timer_waiting_) {
    timer_waiting_ = true;
    timer_.async_wait(
        [self = shared_from_this()](const boost::system::error_code&) { self->onTimer(); });
  }
}

void TlsFront::onTimer() {
  timer_waiting_ = false;
  if (phase_ == Phase::kDone || cut_) return;
  if (Clock::now() >= deadline_) {
    if (phase_ == Phase::kHandshake) {
      THUNDER_LOG(debug, "gateway", "closing {}: no TLS handshake within {} ms", peer_.to_string(),
                  state_->options.tls_handshake_timeout.count());
    }
    if (phase_ != Phase::kLingering) state_->counters.timeouts->add();
    cut();
    return;
  }
  armed_for_ = deadline_;
  if (deadline_ == kNever) return;
  timer_.expires_at(deadline_);
  timer_waiting_ = true;
  timer_.async_wait(
      [self = shared_from_this()](const boost::system::error_code&) { self->onTimer(); });
}

}  // namespace thunder::gateway
