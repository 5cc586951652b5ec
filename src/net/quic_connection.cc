#include "net/quic_connection.h"

#include <gnutls/gnutls.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "base/log.h"
#include "net/endpoint.h"
#include "net/quic_endpoint.h"

namespace thunder::net {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// After close(), how long the connection may stay to get its last bytes and FIN acknowledged.
constexpr std::chrono::milliseconds kLingerTimeout{3'000};
constexpr size_t kMaxPacketBytes = NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE;
// STREAM data offered to ngtcp2 per packet: at most this many buffer blocks.
constexpr size_t kMaxVecs = 16;

ngtcp2_tstamp toTs(Clock::time_point t) {
  return static_cast<ngtcp2_tstamp>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

std::string describeClose(const ngtcp2_connection_close_error& ccerr) {
  const char* kind = ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
                         ? "application"
                         : "transport";
  std::string out = fmt::format("{} error 0x{:x}", kind, ccerr.error_code);
  if (ccerr.reason != nullptr && ccerr.reasonlen > 0) {
    out += fmt::format(": {}", std::string_view(reinterpret_cast<const char*>(ccerr.reason),
                                                std::min<size_t>(ccerr.reasonlen, 200)));
  }
  return out;
}

}  // namespace

QuicWakeup::QuicWakeup(const asio::any_io_executor& executor) : timer_(executor) {
  timer_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> QuicWakeup::wait() {
  if (!pending_) {
    boost::system::error_code ignored;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  pending_ = false;
}

void QuicWakeup::notify() {
  pending_ = true;
  timer_.cancel();
}

void QuicConnection::setHooks(Hook on_established, Hook on_released) {
  on_established_ = std::move(on_established);
  on_released_ = std::move(on_released);
}

std::string QuicConnection::remoteAddress() const {
  return formatEndpoint(asio::ip::tcp::endpoint(remote_.address(), remote_.port()));
}

// ---- packets in ----

void QuicConnection::onDatagram(std::span<const uint8_t> datagram,
                                const asio::ip::udp::endpoint& from) {
  if (released_) return;
  auto self = shared_from_this();
  asio::ip::udp::endpoint peer = from;
  const ngtcp2_path path{endpoint_->localAddr(),
                         ngtcp2_addr{peer.data(), static_cast<ngtcp2_socklen>(peer.size())},
                         nullptr};
  const ngtcp2_pkt_info info{};
  const int rv = ngtcp2_conn_read_pkt(conn_, &path, &info, datagram.data(), datagram.size(),
                                      toTs(Clock::now()));
  if (rv == 0) {
    afterNgtcp2Call();
    scheduleFlush();
    return;
  }
  switch (rv) {
    case NGTCP2_ERR_DRAINING: {  // the peer sent CONNECTION_CLOSE
      ngtcp2_connection_close_error ccerr;
      ngtcp2_conn_get_connection_close_error(conn_, &ccerr);
      release(Error{ErrorCode::kUnavailable, fmt::format("{} closed the QUIC connection ({})",
                                                         remoteAddress(), describeClose(ccerr))});
      return;
    }
    case NGTCP2_ERR_DROP_CONN:
    case NGTCP2_ERR_RETRY:
      release(Error{ErrorCode::kUnavailable,
                    fmt::format("the QUIC connection with {} was dropped", remoteAddress())});
      return;
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION:
      release(Error{ErrorCode::kUnavailable,
                    fmt::format("{} does not speak QUIC version 1", remoteAddress())});
      return;
    case NGTCP2_ERR_CRYPTO:
    case NGTCP2_ERR_CALLBACK_FAILURE: {
      if (pin_.failure) {
        failConnection(*pin_.failure, rv);
        return;
      }
      const uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
      const char* name = gnutls_alert_get_name(static_cast<gnutls_alert_description_t>(alert));
      failConnection(Error{ErrorCode::kUnavailable,
                           fmt::format("the TLS handshake with {} failed ({})", remoteAddress(),
                                       alert != 0 && name != nullptr ? name : ngtcp2_strerror(rv))},
                     rv);
      return;
    }
    default:
      failConnection(
          Error{ErrorCode::kUnavailable,
                fmt::format("QUIC error with {}: {}", remoteAddress(), ngtcp2_strerror(rv))},
          rv);
  }
}

void QuicConnection::onSocketError(Error error) {
  release(std::move(error));
}

bool QuicConnection::onHandshakeCompleted() {
  if (!tls_->negotiatedThunderAlpn()) {
    conn_error_ =
        Error{ErrorCode::kUnavailable,
              fmt::format("{} did not negotiate the ALPN protocol thunder/1", remoteAddress())};
    return false;
  }
  if (role_ == QuicRole::kClient && pin_.presented != pin_.expected) {
    conn_error_ = Error{ErrorCode::kPermissionDenied, "node key mismatch after the handshake"};
    return false;
  }
  established_ = true;
  return true;
}

void QuicConnection::afterNgtcp2Call() {
  if (released_) return;
  for (const int64_t id : std::exchange(refused_streams_, {})) {
    ngtcp2_conn_shutdown_stream(conn_, id, kQuicStreamRefused);
  }
  if (established_ && !established_reported_) {
    established_reported_ = true;
    established_wakeup_.notify();
    if (on_established_) {
      const Hook hook = on_established_;
      hook(*this);  // may close or abort this connection
      if (released_) return;
    }
  }
  if (lingering_ && (fin_acked_ || stream_closed_ || tx_error_)) closeWithNoError();
}

// ---- packets out ----

void QuicConnection::scheduleFlush() {
  if (flush_posted_ || released_) return;
  flush_posted_ = true;
  asio::post(executor_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->flush();
  });
}

void QuicConnection::flush() {
  flush_posted_ = false;
  if (released_) return;
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) return;
  auto self = shared_from_this();
  const ngtcp2_tstamp ts = toTs(Clock::now());
  // Pacing: write what ngtcp2 allows now; the timer (ngtcp2's expiry) releases the rest.
  const size_t quantum = std::max(ngtcp2_conn_get_send_quantum(conn_), kMaxPacketBytes);
  std::array<uint8_t, kMaxPacketBytes> packet;
  std::array<ngtcp2_vec, kMaxVecs> vecs;
  bool stream_blocked = false;
  size_t written = 0;
  while (written + kMaxPacketBytes <= quantum) {
    size_t count = 0;
    uint64_t offered = 0;
    int64_t stream = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_NONE;
    if (stream_id_ >= 0 && !stream_blocked && !tx_error_ && !fin_sent_) {
      count = tx_.unsent(vecs);
      for (size_t i = 0; i < count; ++i) offered += vecs[i].len;
      if (fin_requested_ && offered == tx_.unsentBytes()) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
      if (count > 0 || (flags & NGTCP2_WRITE_STREAM_FLAG_FIN) != 0) stream = stream_id_;
    }
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info info{};
    ngtcp2_ssize accepted = -1;
    const ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(conn_, &ps.path, &info, packet.data(), packet.size(), &accepted,
                                  flags, stream, vecs.data(), count, ts);
    if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {  // the peer's window is full: other frames only
      stream_blocked = true;
      continue;
    }
    if (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND) {
      if (!tx_error_) {
        tx_error_ = Error{ErrorCode::kUnavailable,
                          fmt::format("{} stopped reading the stream", remoteAddress())};
      }
      tx_wakeup_.notify();
      continue;
    }
    if (n < 0) {
      failConnection(
          Error{ErrorCode::kUnavailable, fmt::format("QUIC error with {}: {}", remoteAddress(),
                                                     ngtcp2_strerror(static_cast<int>(n)))},
          static_cast<int>(n));
      return;
    }
    if (stream >= 0 && accepted >= 0) {
      tx_.markSent(static_cast<uint64_t>(accepted));
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) != 0 &&
          static_cast<uint64_t>(accepted) == offered) {
        fin_sent_ = true;
      }
    }
    if (n == 0) break;  // nothing to send, or congestion limited
    endpoint_->send(ps.path.remote,
                    std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
    written += static_cast<size_t>(n);
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  afterNgtcp2Call();
  armTimer();
}

void QuicConnection::armTimer() {
  if (released_) return;
  Clock::time_point at = Clock::time_point::max();
  if (const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_); expiry != UINT64_MAX) {
    at = Clock::time_point(std::chrono::duration_cast<Clock::duration>(
        std::chrono::nanoseconds(static_cast<int64_t>(expiry))));
  }
  if (!established_) at = std::min(at, handshake_deadline_);
  if (lingering_) at = std::min(at, linger_deadline_);
  if (at == timer_at_) return;
  timer_at_ = at;
  timer_.expires_at(at);
  timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->onTimer();
  });
}

void QuicConnection::onTimer() {
  timer_at_ = Clock::time_point::max();
  if (released_) return;
  auto self = shared_from_this();
  const Clock::time_point now = Clock::now();
  if (!established_ && now >= handshake_deadline_) {
    failConnection(Error{ErrorCode::kTimeout,
                         fmt::format("the QUIC handshake with {} did not finish within {} ms",
                                     remoteAddress(), options_.handshake_timeout.count())},
                   NGTCP2_ERR_HANDSHAKE_TIMEOUT);
    return;
  }
  if (lingering_ && now >= linger_deadline_) {
    closeWithNoError();
    return;
  }
  if (const int rv = ngtcp2_conn_handle_expiry(conn_, toTs(now)); rv != 0) {
    if (rv == NGTCP2_ERR_IDLE_CLOSE) {
      release(Error{ErrorCode::kUnavailable,
                    fmt::format("the QUIC connection with {} was idle for {} ms", remoteAddress(),
                                options_.idle_timeout.count())});
    } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
      failConnection(Error{ErrorCode::kTimeout,
                           fmt::format("the QUIC handshake with {} did not finish within {} ms",
                                       remoteAddress(), options_.handshake_timeout.count())},
                     rv);
    } else {
      failConnection(
          Error{ErrorCode::kUnavailable,
                fmt::format("QUIC error with {}: {}", remoteAddress(), ngtcp2_strerror(rv))},
          rv);
    }
    return;
  }
  flush();
}

// ---- closing ----

void QuicConnection::sendConnectionClose(const ngtcp2_connection_close_error& ccerr) {
  if (released_ || ngtcp2_conn_is_in_closing_period(conn_) ||
      ngtcp2_conn_is_in_draining_period(conn_)) {
    return;
  }
  std::array<uint8_t, kMaxPacketBytes> packet;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info info{};
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
      conn_, &ps.path, &info, packet.data(), packet.size(), &ccerr, toTs(Clock::now()));
  if (n > 0) {
    endpoint_->send(ps.path.remote,
                    std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
  }
}

void QuicConnection::failConnection(Error error, int liberr) {
  if (released_) return;
  if (liberr != NGTCP2_ERR_IDLE_CLOSE && liberr != NGTCP2_ERR_DROP_CONN &&
      liberr != NGTCP2_ERR_DRAINING) {
    ngtcp2_connection_close_error ccerr;
    ngtcp2_connection_close_error_default(&ccerr);
    const uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
    if (liberr == NGTCP2_ERR_CRYPTO && alert != 0) {
      ngtcp2_connection_close_error_set_transport_error_tls_alert(&ccerr, alert, nullptr, 0);
    } else {
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr, liberr, nullptr, 0);
    }
    sendConnectionClose(ccerr);
  }
  release(std::move(error));
}

void QuicConnection::closeWithNoError() {
  if (released_) return;
  ngtcp2_connection_close_error ccerr;
  ngtcp2_connection_close_error_default(&ccerr);
  ngtcp2_connection_close_error_set_application_error(&ccerr, kQuicNoError, nullptr, 0);
  sendConnectionClose(ccerr);
  release(Error{ErrorCode::kCancelled,
                fmt::format("the connection to {} was closed", remoteAddress())});
}

void QuicConnection::close() {
  if (app_closed_) return;
  app_closed_ = true;
  wakeAll();
  if (released_) return;
  auto self = shared_from_this();
  if (!established_ || stream_id_ < 0) {
    closeWithNoError();  // nothing was exchanged on the stream: no FIN to wait for
    return;
  }
  // End the stream after what is buffered; CONNECTION_CLOSE once the peer has it all.
  fin_requested_ = true;
  lingering_ = true;
  linger_deadline_ = Clock::now() + kLingerTimeout;
  flush();
}

void QuicConnection::abort() {
  app_closed_ = true;
  wakeAll();
  if (released_) return;
  auto self = shared_from_this();
  if (established_ && stream_id_ >= 0 && !fin_sent_ && !tx_error_) {
    fin_requested_ = true;
    flush();  // the FIN goes out now if the window takes what is still buffered
  }
  closeWithNoError();
}

void QuicConnection::release(std::optional<Error> error) {
  if (released_) return;
  auto self = shared_from_this();
  released_ = true;
  if (!conn_error_) {
    conn_error_ = error ? std::move(*error)
                        : Error{ErrorCode::kUnavailable,
                                fmt::format("the QUIC connection to {} ended", remoteAddress())};
  }
  THUNDER_LOG(debug, "net", "QUIC connection with {} released: {}", remoteAddress(),
              conn_error_->message);
  timer_.cancel();
  wakeAll();
  if (QuicEndpoint* endpoint = std::exchange(endpoint_, nullptr)) endpoint->remove(this);
  Hook on_released = std::move(on_released_);
  on_released_ = nullptr;
  on_established_ = nullptr;
  if (on_released) on_released(*this);
}

void QuicConnection::wakeAll() {
  rx_wakeup_.notify();
  tx_wakeup_.notify();
  established_wakeup_.notify();
}

// ---- application side ----

asio::awaitable<Result<void>> QuicConnection::waitEstablished() {
  auto self = shared_from_this();
  for (;;) {
    if (released_) co_return tl::unexpected(*conn_error_);
    if (established_reported_) co_return Result<void>{};
    co_await established_wakeup_.wait();
  }
}

asio::awaitable<Result<size_t>> QuicConnection::readSome(std::span<uint8_t> buffer) {
  auto self = shared_from_this();
  if (buffer.empty())
    co_return thunder::fail(ErrorCode::kInvalidArgument, "readSome needs a buffer");
  for (;;) {
    if (app_closed_) {
      co_return thunder::fail(ErrorCode::kCancelled, "the connection to {} was closed",
                              remoteAddress());
    }
    if (!rx_.empty()) {
      const size_t n = rx_.read(buffer);
      if (!released_) {  // the peer may send as much again
        ngtcp2_conn_extend_max_stream_offset(conn_, stream_id_, n);
        ngtcp2_conn_extend_max_offset(conn_, n);
        scheduleFlush();
      }
      co_return n;
    }
    if (rx_fin_) co_return size_t{0};
    if (rx_error_) co_return tl::unexpected(*rx_error_);
    if (released_) co_return tl::unexpected(*conn_error_);
    co_await rx_wakeup_.wait();
  }
}

asio::awaitable<Result<void>> QuicConnection::writeAll(std::span<const uint8_t> bytes) {
  auto self = shared_from_this();
  size_t done = 0;
  while (done < bytes.size()) {
    if (app_closed_) {
      co_return thunder::fail(ErrorCode::kCancelled, "the connection to {} was closed",
                              remoteAddress());
    }
    if (released_) co_return tl::unexpected(*conn_error_);
    if (tx_error_) co_return tl::unexpected(*tx_error_);
    if (stream_id_ >= 0 && tx_.space() > 0) {
      done += tx_.append(bytes.subspan(done));
      scheduleFlush();
      continue;
    }
    co_await tx_wakeup_.wait();  // the stream opens, or the peer acknowledges bytes
  }
  co_return Result<void>{};
}

Result<ExportedKey> QuicConnection::exportKeyingMaterial(std::string_view label) const {
  if (label.empty())
    return thunder::fail(ErrorCode::kInvalidArgument, "the exporter label is empty");
  if (!established_) {
    return thunder::fail(ErrorCode::kInternal,
                         "cannot export keying material before the QUIC handshake completed");
  }
  return tls_->exportKeyingMaterial(label);
}

}  // namespace thunder::net
