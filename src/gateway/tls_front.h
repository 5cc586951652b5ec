// TlsFront: one https:// connection of the gateway (internal to the gateway module).
//
// Runs the server side of the TLS handshake (OpenSSL on the non-blocking socket) within
// options.tls_handshake_timeout, then serves the connection with an ordinary gateway Connection
// on one end of a Unix socketpair — exactly as over TCP, sendfile(2) included — and pumps bytes
// between the TLS stream and the other end: client → Connection in one coroutine, Connection →
// client in another, each through one bounded buffer that is refilled only once its bytes were
// written (back-pressure both ways). A client's close_notify (or FIN) half-closes the pair; the
// end of the Connection's stream ends TLS with close_notify, after which the socket lingers
// briefly (up to 2 s, discarding input; not while the server stops) so that late client bytes
// cannot reset the answer; an error on either side cuts both. A client that stops reading is cut
// after options.send_timeout. A plain HTTP request on the TLS port gets a plain-text 400 naming
// https://. OpenSSL writes to the socket itself: the server ignores SIGPIPE (gateway_server.h).
//
// Lives on the loop it was accepted on; every member is touched only there. Owned by shared_ptr
// (its coroutines and its timer handler hold it); ServerState::tls_fronts holds weak references.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <list>
#include <memory>

#include "gateway/connection.h"  // StopMode
#include "gateway/server_state.h"
#include "io/async_event.h"

struct ssl_st;  // OpenSSL's SSL

namespace thunder::gateway {

// On the acceptor's loop, for a server with ServerState::tls: admits `socket` under the limits
// (max_connections counting handshakes in progress, tls_max_handshakes in total and per client
// address; a refused socket is closed at once and counted in refused_connections) and starts its
// TlsFront on `context`. Returns false once the server is stopping (the acceptor then ends).
bool startTlsFront(const std::shared_ptr<ServerState>& state, boost::asio::io_context& context,
                   boost::asio::ip::tcp::socket socket);

class TlsFront final : public std::enable_shared_from_this<TlsFront> {
 public:
  TlsFront(std::shared_ptr<ServerState> state, LoopState& loop, boost::asio::ip::tcp::socket socket,
           boost::asio::ip::address peer);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Serves the connection until both sides are closed. Call once, on the connection's loop,
  // after startTlsFront() counted it (a handshake slot and a coroutine).
  static boost::asio::awaitable<void> run(std::shared_ptr<TlsFront> self);

  // On the connection's loop. kGraceful cuts a connection still in its handshake or lingering
  // (its Connection, if any, is stopped by the server like any other); kNow cuts it.
  void requestStop(StopMode mode);

  boost::asio::io_context& loopContext() { return loop_.context; }
  void setRegistryEntry(std::list<std::weak_ptr<TlsFront>>::iterator entry);

 private:
  using Clock = std::chrono::steady_clock;
  enum class Phase { kHandshake, kPumping, kLingering, kDone };

  boost::asio::awaitable<bool> handshake();
  void releaseHandshakeSlot();
  // Creates the socketpair and starts a Connection on one end. False (logged) when it cannot.
  bool startConnection();
  static boost::asio::awaitable<void> runUp(std::shared_ptr<TlsFront> self);
  boost::asio::awaitable<void> pumpUp();    // TLS → pair
  boost::asio::awaitable<void> pumpDown();  // pair → TLS
  boost::asio::awaitable<bool> writeTls(const char* data, size_t length);
  boost::asio::awaitable<bool> writePair(const char* data, size_t length);
  boost::asio::awaitable<void> sendCloseNotify();
  boost::asio::awaitable<void> linger();
  void answerPlainHttp();

  // Waits for readiness of the client socket / the pair. False when the wait failed or was
  // cancelled, or the connection is cut.
  boost::asio::awaitable<bool> waitTcp(boost::asio::socket_base::wait_type type);
  boost::asio::awaitable<bool> waitPair(boost::asio::socket_base::wait_type type);
  void cut();

  void setDeadline(Clock::time_point at);
  void onTimer();

  std::shared_ptr<ServerState> state_;
  LoopState& loop_;
  boost::asio::ip::tcp::socket socket_;
  int fd_;
  boost::asio::ip::address peer_;
  ssl_st* ssl_ = nullptr;                             // owned
  boost::asio::local::stream_protocol::socket pair_;  // our end; the Connection has the other
  int pair_fd_ = -1;
  boost::asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_for_ = Clock::time_point::max();
  bool timer_waiting_ = false;
  Phase phase_ = Phase::kHandshake;
  bool handshake_slot_ = true;  // counted in ServerState::tls_handshakes
  bool cut_ = false;
  bool closing_ = false;         // the Connection's stream ended: the up pump stops
  bool tls_failed_ = false;      // a fatal TLS error: no close_notify may follow
  bool stop_requested_ = false;  // the server is stopping: no lingering
  bool up_running_ = false;
  io::AsyncEvent up_done_;
  // Allocated once pumping starts, not zero-filled (only the bytes received are ever touched).
  std::unique_ptr<char[]> up_;
  std::unique_ptr<char[]> down_;
  std::list<std::weak_ptr<TlsFront>>::iterator registry_entry_;
};

}  // namespace thunder::gateway
