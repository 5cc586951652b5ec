// QuicEndpoint: one UDP socket and the QUIC connections behind it (internal to net/).
//
// It receives datagrams, routes each by its destination connection id to its QuicConnection,
// and hands a datagram that belongs to no connection to the server's accept hook (a node) or
// drops it (a client). Garbage never reaches ngtcp2's connection code: a datagram must parse as
// a QUIC header (ngtcp2_pkt_decode_version_cid), and a new connection must start with a valid
// client Initial (ngtcp2_accept, checked by the hook). A long-header datagram of another QUIC
// version (at least 1200 bytes, so no amplification) gets a Version Negotiation packet.
//
// Server endpoints (bind()) run until shutdown(); a client endpoint (connectTo()) carries one
// connection and closes its socket once that connection is released.
//
// Ownership: shared_ptr, held by its owner (QuicListener, or the client connection's receive
// loop) and by the receive loop while it runs. Connections hold a plain pointer to it, cleared
// when they are released, which happens before the endpoint goes away. Threads: everything on
// the endpoint's loop (executor()), except connectionCount(), which any thread may call.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>

#include "base/result.h"

namespace thunder::net {

class QuicConnection;

// Length of the connection ids this implementation issues.
inline constexpr size_t kQuicCidLength = 16;

class QuicEndpoint : public std::enable_shared_from_this<QuicEndpoint> {
 public:
  // A datagram that opens no known connection, with its header as ngtcp2_accept() decoded it.
  using AcceptHook =
      std::function<void(const ngtcp2_pkt_hd& header, std::span<const uint8_t> datagram,
                         const boost::asio::ip::udp::endpoint& from)>;

  // A node's endpoint bound to `local`. kUnavailable when the port is in use, kPermissionDenied
  // for a privileged one.
  static Result<std::shared_ptr<QuicEndpoint>> bind(boost::asio::any_io_executor executor,
                                                    const boost::asio::ip::udp::endpoint& local);
  // A client's endpoint: an ephemeral port connected to `remote` (so ICMP errors are reported).
  static Result<std::shared_ptr<QuicEndpoint>> connectTo(
      boost::asio::any_io_executor executor, const boost::asio::ip::udp::endpoint& remote);
  ~QuicEndpoint();

  // Starts the receive loop. `on_accept` is null for a client. `on_exit` runs (on the loop) when
  // the receive loop has ended.
  void start(AcceptHook on_accept, std::function<void()> on_exit);
  // Aborts every connection (FIN and CONNECTION_CLOSE) and closes the socket. Idempotent.
  void shutdown();

  // Registers a new connection under the ids it already has (connectionIds()).
  void adopt(std::shared_ptr<QuicConnection> connection);
  // Routing table changes, from the connection's ngtcp2 callbacks.
  void addConnectionId(std::string cid, QuicConnection* connection);
  void removeConnectionId(const std::string& cid);
  // Forgets a released connection and all its ids.
  void remove(QuicConnection* connection);

  // Sends one datagram now (non-blocking; dropped when the socket buffer is full: QUIC
  // recovers lost packets).
  void send(const ngtcp2_addr& to, std::span<const uint8_t> datagram);

  size_t connectionCount() const { return count_.load(); }
  const boost::asio::ip::udp::endpoint& localEndpoint() const { return local_; }
  // The local address in ngtcp2's form (the same for every packet of a connection).
  ngtcp2_addr localAddr();
  boost::asio::any_io_executor executor() const { return executor_; }

 private:
  QuicEndpoint(boost::asio::any_io_executor executor, boost::asio::ip::udp::socket socket,
               bool client);
  static boost::asio::awaitable<void> receiveLoop(std::shared_ptr<QuicEndpoint> self);
  void dispatch(std::span<const uint8_t> datagram, const boost::asio::ip::udp::endpoint& from);
  void sendVersionNegotiation(const ngtcp2_version_cid& header,
                              const boost::asio::ip::udp::endpoint& to);
  void failConnections(const Error& error);

  boost::asio::any_io_executor executor_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint local_;
  bool client_;
  bool closed_ = false;
  AcceptHook on_accept_;
  std::function<void()> on_exit_;
  std::unordered_map<std::string, QuicConnection*> by_cid_;
  std::unordered_map<QuicConnection*, std::shared_ptr<QuicConnection>> connections_;
  std::atomic<size_t> count_{0};
};

}  // namespace thunder::net
