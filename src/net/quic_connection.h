// QuicConnection: one QUIC connection (ngtcp2 + GnuTLS) carrying one Thunder byte stream on the
// first client-initiated bidirectional stream (id 0). Internal to net/; the public face is
// QuicStreamConnection (a net::StreamConnection) and net/quic_transport.h.
//
// What it does: feeds received datagrams to ngtcp2 (onDatagram), writes packets (flush) through
// its QuicEndpoint, follows ngtcp2's timer (loss recovery, ACK delay, pacing, idle timeout) with
// one steady_timer, enforces the handshake deadline, and turns the stream into readSome() /
// writeAll() with flow control: received bytes wait in a QuicReceiveBuffer and the window grows
// only as the application reads them; written bytes wait in a QuicSendBuffer until acknowledged,
// and writeAll() suspends while that buffer is full. Other streams a client opens are refused
// with RESET_STREAM/STOP_SENDING (kQuicStreamRefused).
//
// Closing: close() ends the stream with a FIN and keeps the connection (without its
// application) until the peer has acknowledged everything or kLingerTimeout passes, then sends
// CONNECTION_CLOSE (no error). abort() does the FIN and the CONNECTION_CLOSE at once (listener
// stop). A peer's CONNECTION_CLOSE after its FIN is a clean end of stream.
//
// Ownership: shared_ptr. The endpoint holds its connections until they are released (closed,
// failed, timed out); the application's QuicStreamConnection holds its one for as long as it
// lives. Threads: everything runs on the endpoint's loop (executor()).
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "net/quic_buffers.h"
#include "net/quic_tls.h"
#include "net/stream_transport.h"

namespace thunder::net {

class QuicEndpoint;

// Application error codes (CONNECTION_CLOSE, RESET_STREAM, STOP_SENDING).
inline constexpr uint64_t kQuicNoError = 0x0;
inline constexpr uint64_t kQuicStreamRefused = 0x101;  // a stream other than the session's

struct QuicConnectionOptions {
  std::chrono::milliseconds handshake_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};  // 0: no idle timeout from this side
};

// A one-waiter wake-up on one loop: wait() suspends until notify() (or returns at once if
// notified since the last wait()).
class QuicWakeup {
 public:
  explicit QuicWakeup(const boost::asio::any_io_executor& executor);
  boost::asio::awaitable<void> wait();
  void notify();

 private:
  boost::asio::steady_timer timer_;
  bool pending_ = false;
};

class QuicConnection : public std::enable_shared_from_this<QuicConnection> {
 public:
  using Hook = std::function<void(QuicConnection&)>;

  // Node side, for the client Initial whose header ngtcp2_accept() decoded. The connection is
  // not yet registered at the endpoint (QuicEndpoint::adopt() does that).
  static Result<std::shared_ptr<QuicConnection>> accept(
      QuicEndpoint& endpoint, std::shared_ptr<const QuicTlsContext> tls,
      const ngtcp2_pkt_hd& initial, const boost::asio::ip::udp::endpoint& remote,
      QuicConnectionOptions options);
  // Client side, to the node at `remote` whose certificate must carry `expected_node_key`.
  static Result<std::shared_ptr<QuicConnection>> connect(
      QuicEndpoint& endpoint, std::shared_ptr<const QuicTlsContext> tls,
      const boost::asio::ip::udp::endpoint& remote, PublicKey expected_node_key,
      QuicConnectionOptions options);
  ~QuicConnection();
  QuicConnection(const QuicConnection&) = delete;
  QuicConnection& operator=(const QuicConnection&) = delete;

  // Called once when the handshake completes (ALPN and, on a client, the pinned key checked),
  // and once when the connection is released, whatever happened before. Set before adoption.
  void setHooks(Hook on_established, Hook on_released);

  // ---- endpoint side ----
  void onDatagram(std::span<const uint8_t> datagram, const boost::asio::ip::udp::endpoint& from);
  // The socket failed for this connection (a client's ICMP unreachable): released with `error`.
  void onSocketError(Error error);
  // Writes every packet ngtcp2 has ready (up to its pacing quantum) and re-arms the timer.
  void flush();
  // FIN and CONNECTION_CLOSE now; released. Pending and later operations fail with kCancelled.
  void abort();
  // The connection ids this connection registered at its endpoint.
  const std::vector<std::string>& connectionIds() const { return cids_; }

  // ---- application side (QuicStreamConnection) ----
  // Client: waits until the handshake completed (OK) or the connection failed: kTimeout after
  // the handshake deadline, kPermissionDenied / kCorruption for a refused node certificate,
  // kUnavailable otherwise.
  boost::asio::awaitable<Result<void>> waitEstablished();
  boost::asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer);
  boost::asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes);
  Result<ExportedKey> exportKeyingMaterial(std::string_view label) const;
  void close();

  bool established() const { return established_; }
  bool released() const { return released_; }
  std::string remoteAddress() const;
  boost::asio::any_io_executor executor() const { return executor_; }

  struct Callbacks;  // the ngtcp2 callbacks (quic_connection_setup.cc)

 private:
  friend class QuicConnectionTestPeer;  // quic_transport_test.cc: streams beside the session's

  QuicConnection(QuicEndpoint& endpoint, QuicRole role,
                 const boost::asio::ip::udp::endpoint& remote, QuicConnectionOptions options);
  Result<void> startTls(std::shared_ptr<const QuicTlsContext> tls);

  // Work deferred out of ngtcp2 callbacks, run after each ngtcp2 call: refusing streams,
  // reporting establishment, finishing a linger.
  void afterNgtcp2Call();
  void scheduleFlush();
  void armTimer();
  void onTimer();
  // From the ngtcp2 callback: false (with conn_error_ set) when ALPN or the pinned key is wrong.
  bool onHandshakeCompleted();
  // An error of ngtcp2 `liberr`: CONNECTION_CLOSE (unless the peer is gone or the connection
  // idled out) and release with `error`.
  void failConnection(Error error, int liberr);
  void sendConnectionClose(const ngtcp2_connection_close_error& ccerr);
  void closeWithNoError();  // CONNECTION_CLOSE(no error) and release
  void release(std::optional<Error> error);
  void wakeAll();
  Result<void> streamUsable() const;  // the error a read or write fails with, if any

  QuicEndpoint* endpoint_;  // null once released
  boost::asio::any_io_executor executor_;
  QuicRole role_;
  boost::asio::ip::udp::endpoint remote_;
  QuicConnectionOptions options_;
  QuicTlsRef tls_ref_;
  QuicPinnedKey pin_;
  std::optional<QuicTlsSession> tls_;
  ngtcp2_conn* conn_ = nullptr;
  std::vector<std::string> cids_;

  Hook on_established_;
  Hook on_released_;

  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point timer_at_ = std::chrono::steady_clock::time_point::max();
  std::chrono::steady_clock::time_point handshake_deadline_;
  std::chrono::steady_clock::time_point linger_deadline_;
  bool flush_posted_ = false;

  QuicWakeup rx_wakeup_;
  QuicWakeup tx_wakeup_;
  QuicWakeup established_wakeup_;
  QuicReceiveBuffer rx_;
  QuicSendBuffer tx_;
  int64_t stream_id_ = -1;  // the session stream, once open
  std::vector<int64_t> refused_streams_;
  std::vector<std::pair<int64_t, uint64_t>> other_resets_;  // other streams the peer reset, code

  bool established_ = false;
  bool established_reported_ = false;
  bool rx_fin_ = false;            // the peer ended the stream (all of it is in rx_)
  std::optional<Error> rx_error_;  // the peer reset the stream
  std::optional<Error> tx_error_;  // the peer stopped reading
  bool fin_requested_ = false;     // close(): end the stream after the buffered bytes
  bool fin_sent_ = false;
  bool fin_acked_ = false;
  bool stream_closed_ = false;  // ngtcp2 closed the stream (both directions done)
  bool app_closed_ = false;     // close() or abort(): the application is gone
  bool lingering_ = false;
  bool released_ = false;
  std::optional<Error> conn_error_;  // why the connection ended (reads/writes fail with it)
};

// The net::StreamConnection of an established QuicConnection. Destroying it closes the stream.
class QuicStreamConnection final : public StreamConnection {
 public:
  explicit QuicStreamConnection(std::shared_ptr<QuicConnection> connection)
      : connection_(std::move(connection)) {}
  QuicConnection& connection() const { return *connection_; }
  ~QuicStreamConnection() override { connection_->close(); }

  boost::asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer) override {
    return connection_->readSome(buffer);
  }
  boost::asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes) override {
    return connection_->writeAll(bytes);
  }
  Result<ExportedKey> exportKeyingMaterial(std::string_view label) const override {
    return connection_->exportKeyingMaterial(label);
  }
  std::string_view transportName() const override { return "quic"; }
  std::string remoteAddress() const override { return connection_->remoteAddress(); }
  boost::asio::any_io_executor executor() const override { return connection_->executor(); }
  void close() override { connection_->close(); }

 private:
  std::shared_ptr<QuicConnection> connection_;
};

}  // namespace thunder::net
