#include "net/quic_endpoint.h"

#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <vector>

#include "base/log.h"
#include "crypto/random.h"
#include "net/endpoint.h"
#include "net/quic_connection.h"

namespace thunder::net {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

// Datagrams read per wake-up before yielding to the loop's other work.
constexpr size_t kMaxDatagramsPerWakeup = 64;
// Socket buffers asked for (the kernel caps them at net.core.{r,w}mem_max).
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;

std::string describe(const udp::endpoint& endpoint) {
  return formatEndpoint(asio::ip::tcp::endpoint(endpoint.address(), endpoint.port()));
}

void enlargeBuffers(udp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::receive_buffer_size(kSocketBufferBytes), ignored);
  socket.set_option(asio::socket_base::send_buffer_size(kSocketBufferBytes), ignored);
}

}  // namespace

QuicEndpoint::QuicEndpoint(asio::any_io_executor executor, udp::socket socket, bool client)
    : executor_(std::move(executor)), socket_(std::move(socket)), client_(client) {}

QuicEndpoint::~QuicEndpoint() = default;

Result<std::shared_ptr<QuicEndpoint>> QuicEndpoint::bind(asio::any_io_executor executor,
                                                         const udp::endpoint& local) {
  udp::socket socket(executor);
  boost::system::error_code ec;
  socket.open(local.protocol(), ec);
  if (!ec) socket.bind(local, ec);
  if (ec == asio::error::address_in_use) {
    return fail(ErrorCode::kUnavailable,
                "cannot listen on {} (UDP): the address is already in use (is another node "
                "running? choose another port)",
                describe(local));
  }
  if (!ec) socket.non_blocking(true, ec);
  if (ec) {
    return failErrorCode(std::error_code(ec.value(), std::system_category()),
                         fmt::format("cannot listen on {} (UDP)", describe(local)));
  }
  enlargeBuffers(socket);
  std::shared_ptr<QuicEndpoint> endpoint(
      new QuicEndpoint(std::move(executor), std::move(socket), false));
  endpoint->local_ = endpoint->socket_.local_endpoint(ec);
  return endpoint;
}

Result<std::shared_ptr<QuicEndpoint>> QuicEndpoint::connectTo(asio::any_io_executor executor,
                                                              const udp::endpoint& remote) {
  udp::socket socket(executor);
  boost::system::error_code ec;
  socket.open(remote.protocol(), ec);
  if (!ec) socket.connect(remote, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable, "cannot connect to {} (UDP): {}", describe(remote),
                ec.message());
  }
  enlargeBuffers(socket);
  std::shared_ptr<QuicEndpoint> endpoint(
      new QuicEndpoint(std::move(executor), std::move(socket), true));
  endpoint->local_ = endpoint->socket_.local_endpoint(ec);
  return endpoint;
}

void QuicEndpoint::start(AcceptHook on_accept, std::function<void()> on_exit) {
  on_accept_ = std::move(on_accept);
  on_exit_ = std::move(on_exit);
  asio::co_spawn(executor_, receiveLoop(shared_from_this()), asio::detached);
}

void QuicEndpoint::shutdown() {
  if (closed_) return;
  std::vector<std::shared_ptr<QuicConnection>> all;
  all.reserve(connections_.size());
  for (auto& [raw, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->abort();
  closed_ = true;
  on_accept_ = nullptr;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void QuicEndpoint::adopt(std::shared_ptr<QuicConnection> connection) {
  QuicConnection* raw = connection.get();
  for (const std::string& cid : raw->connectionIds()) by_cid_[cid] = raw;
  connections_.emplace(raw, std::move(connection));
  count_.store(connections_.size());
}

void QuicEndpoint::addConnectionId(std::string cid, QuicConnection* connection) {
  if (connections_.contains(connection)) by_cid_[std::move(cid)] = connection;
}

void QuicEndpoint::removeConnectionId(const std::string& cid) {
  by_cid_.erase(cid);
}

void QuicEndpoint::remove(QuicConnection* connection) {
  for (const std::string& cid : connection->connectionIds()) {
    auto it = by_cid_.find(cid);
    if (it != by_cid_.end() && it->second == connection) by_cid_.erase(it);
  }
  // Keep the connection alive until this function returns: the caller may be it.
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  std::shared_ptr<QuicConnection> keep = std::move(it->second);
  connections_.erase(it);
  count_.store(connections_.size());
  if (client_ && connections_.empty() && !closed_) {
    closed_ = true;
    boost::system::error_code ignored;
    socket_.close(ignored);
  }
}

ngtcp2_addr QuicEndpoint::localAddr() {
  return ngtcp2_addr{local_.data(), static_cast<ngtcp2_socklen>(local_.size())};
}

void QuicEndpoint::send(const ngtcp2_addr& to, std::span<const uint8_t> datagram) {
  if (closed_) return;
  const int fd = socket_.native_handle();
  const ssize_t n =
      client_ ? ::send(fd, datagram.data(), datagram.size(), MSG_DONTWAIT)
              : ::sendto(fd, datagram.data(), datagram.size(), MSG_DONTWAIT, to.addr, to.addrlen);
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
    THUNDER_LOG(debug, "net", "QUIC send from {} failed: {}", describe(local_),
                std::strerror(errno));
  }
}

void QuicEndpoint::dispatch(std::span<const uint8_t> datagram, const udp::endpoint& from) {
  if (datagram.empty()) return;  // legal UDP, not QUIC (and ngtcp2 asserts on it)
  ngtcp2_version_cid header{};
  const int rv =
      ngtcp2_pkt_decode_version_cid(&header, datagram.data(), datagram.size(), kQuicCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (!client_ && datagram.size() >= NGTCP2_MAX_UDP_PAYLOAD_SIZE) {
      sendVersionNegotiation(header, from);
    }
    return;
  }
  if (rv != 0) return;  // not QUIC
  const std::string cid(reinterpret_cast<const char*>(header.dcid), header.dcidlen);
  if (auto it = by_cid_.find(cid); it != by_cid_.end()) {
    auto found = connections_.find(it->second);
    if (found == connections_.end()) return;  // (the table keeps only live connections' ids)
    std::shared_ptr<QuicConnection> connection = found->second;
    connection->onDatagram(datagram, from);
    return;
  }
  if (!on_accept_) return;
  ngtcp2_pkt_hd initial{};
  if (ngtcp2_accept(&initial, datagram.data(), datagram.size()) != 0) return;  // not an Initial
  on_accept_(initial, datagram, from);
}

void QuicEndpoint::sendVersionNegotiation(const ngtcp2_version_cid& header,
                                          const udp::endpoint& to) {
  std::array<uint8_t, 1024> packet;
  uint8_t unused = 0;
  crypto::randomBytes(std::span<uint8_t>(&unused, 1));
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  const ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(
      packet.data(), packet.size(), unused, header.scid, header.scidlen, header.dcid,
      header.dcidlen, versions, 1);
  if (n <= 0) return;
  udp::endpoint peer = to;
  send(ngtcp2_addr{peer.data(), static_cast<ngtcp2_socklen>(peer.size())},
       std::span<const uint8_t>(packet.data(), static_cast<size_t>(n)));
}

void QuicEndpoint::failConnections(const Error& error) {
  std::vector<std::shared_ptr<QuicConnection>> all;
  for (auto& [raw, connection] : connections_) all.push_back(connection);
  for (auto& connection : all) connection->onSocketError(error);
}

asio::awaitable<void> QuicEndpoint::receiveLoop(std::shared_ptr<QuicEndpoint> self) {
  std::vector<uint8_t> buffer(64 * 1024);
  while (!self->closed_) {
    auto [ec] = co_await self->socket_.async_wait(udp::socket::wait_read,
                                                  asio::as_tuple(asio::use_awaitable));
    if (self->closed_ || ec == asio::error::operation_aborted) break;
    if (ec) {
      THUNDER_LOG(warn, "net", "QUIC socket {} failed: {}", describe(self->local_), ec.message());
      break;
    }
    for (size_t i = 0; i < kMaxDatagramsPerWakeup && !self->closed_; ++i) {
      udp::endpoint from;
      boost::system::error_code receive_ec;
      const size_t n = self->socket_.receive_from(asio::buffer(buffer), from, 0, receive_ec);
      if (receive_ec == asio::error::would_block || receive_ec == asio::error::try_again) break;
      if (receive_ec) {
        // A client's connected socket reports ICMP errors here (nothing listens there).
        if (self->client_) {
          boost::system::error_code ignored;
          const udp::endpoint peer = self->socket_.remote_endpoint(ignored);
          self->failConnections(
              Error{ErrorCode::kUnavailable,
                    fmt::format("cannot reach {}: {}", describe(peer), receive_ec.message())});
        }
        break;
      }
      self->dispatch(std::span<const uint8_t>(buffer.data(), n), from);
    }
  }
  auto on_exit = std::move(self->on_exit_);
  self->on_exit_ = nullptr;
  if (on_exit) on_exit();
}

}  // namespace thunder::net
