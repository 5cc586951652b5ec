#include "delay_relay.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "net/endpoint.h"

namespace thunder::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

struct DelayRelay::State {
  asio::io_context io;
  RelayProtocol protocol;
  std::chrono::microseconds delay;
  tcp::endpoint target_tcp;
  udp::endpoint target_udp;
  tcp::acceptor acceptor{io};
  udp::socket listen_udp{io};
  uint16_t port = 0;
  std::thread thread;
};

namespace {

// One direction of a TCP connection: chunks are written `delay` after they were read.
struct DelayedPipe {
  std::deque<std::pair<Clock::time_point, std::vector<uint8_t>>> queue;
  bool reading_done = false;
};

asio::awaitable<void> pumpTcp(std::shared_ptr<tcp::socket> from, std::shared_ptr<tcp::socket> to,
                              std::chrono::microseconds delay) {
  auto pipe = std::make_shared<DelayedPipe>();
  auto wake = std::make_shared<asio::steady_timer>(from->get_executor());
  wake->expires_at(Clock::time_point::max());
  // Writer: delivers each chunk at its time.
  auto writer = [](std::shared_ptr<DelayedPipe> pipe, std::shared_ptr<asio::steady_timer> wake,
                   std::shared_ptr<tcp::socket> to) -> asio::awaitable<void> {
    for (;;) {
      if (pipe->queue.empty()) {
        if (pipe->reading_done) break;
        wake->expires_at(Clock::time_point::max());
        co_await wake->async_wait(kAwait);
        continue;
      }
      const auto at = pipe->queue.front().first;
      if (Clock::now() < at) {
        asio::steady_timer timer(to->get_executor(), at);
        co_await timer.async_wait(kAwait);
      }
      auto chunk = std::move(pipe->queue.front().second);
      pipe->queue.pop_front();
      auto buffer = asio::buffer(chunk);
      auto [ec, n] = co_await asio::async_write(*to, buffer, kAwait);
      if (ec) break;
    }
    boost::system::error_code ignored;
    to->shutdown(tcp::socket::shutdown_send, ignored);
  };
  asio::co_spawn(from->get_executor(), writer(pipe, wake, to), asio::detached);
  std::vector<uint8_t> buffer(64 * 1024);
  for (;;) {
    auto view = asio::buffer(buffer);
    auto [ec, n] = co_await from->async_read_some(view, kAwait);
    if (ec) break;
    pipe->queue.emplace_back(Clock::now() + delay,
                             std::vector<uint8_t>(buffer.begin(), buffer.begin() + n));
    wake->cancel();
  }
  pipe->reading_done = true;
  wake->cancel();
}

// One relayed TCP connection. The client's connect completed at once (the relay accepted it);
// a real path would have cost the SYN / SYN-ACK round trip, so the relay connects upstream only
// after 2 × delay, and what the client sent meanwhile waits in the socket as it would have
// waited for the handshake: the first bytes reach the node 3 × delay after the connect began.
asio::awaitable<void> relayTcpConnection(DelayRelay::State& state,
                                         std::shared_ptr<tcp::socket> client) {
  asio::steady_timer handshake(state.io, 2 * state.delay);
  co_await handshake.async_wait(kAwait);
  auto upstream = std::make_shared<tcp::socket>(state.io);
  auto [connect_ec] = co_await upstream->async_connect(state.target_tcp, kAwait);
  if (connect_ec) co_return;
  boost::system::error_code ignored;
  client->set_option(tcp::no_delay(true), ignored);
  upstream->set_option(tcp::no_delay(true), ignored);
  asio::co_spawn(state.io, pumpTcp(client, upstream, state.delay), asio::detached);
  asio::co_spawn(state.io, pumpTcp(upstream, client, state.delay), asio::detached);
}

asio::awaitable<void> acceptTcp(DelayRelay::State& state) {
  for (;;) {
    auto [ec, socket] = co_await state.acceptor.async_accept(kAwait);
    if (ec) co_return;
    auto client = std::make_shared<tcp::socket>(std::move(socket));
    asio::co_spawn(state.io, relayTcpConnection(state, client), asio::detached);
  }
}

// Sends `datagram` on `socket` to `to` once `delay` has passed.
void sendLater(udp::socket& socket, udp::endpoint to, std::vector<uint8_t> datagram,
               std::chrono::microseconds delay) {
  auto timer = std::make_shared<asio::steady_timer>(socket.get_executor(), delay);
  auto data = std::make_shared<std::vector<uint8_t>>(std::move(datagram));
  timer->async_wait([timer, data, &socket, to](const boost::system::error_code& ec) {
    if (ec) return;
    boost::system::error_code ignored;
    socket.send_to(asio::buffer(*data), to, 0, ignored);
  });
}

// Datagrams from the node back to one client.
asio::awaitable<void> pumpUdpBack(DelayRelay::State& state, std::shared_ptr<udp::socket> upstream,
                                  udp::endpoint client) {
  std::vector<uint8_t> buffer(65536);
  for (;;) {
    auto view = asio::buffer(buffer);
    auto [ec, n] = co_await upstream->async_receive(view, kAwait);
    if (ec) co_return;
    sendLater(state.listen_udp, client, std::vector<uint8_t>(buffer.begin(), buffer.begin() + n),
              state.delay);
  }
}

asio::awaitable<void> relayUdp(DelayRelay::State& state) {
  std::map<udp::endpoint, std::shared_ptr<udp::socket>> upstreams;
  std::vector<uint8_t> buffer(65536);
  for (;;) {
    udp::endpoint from;
    auto view = asio::buffer(buffer);
    auto [ec, n] = co_await state.listen_udp.async_receive_from(view, from, kAwait);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    auto& upstream = upstreams[from];
    if (!upstream) {
      upstream = std::make_shared<udp::socket>(state.io, udp::endpoint(udp::v4(), 0));
      upstream->connect(state.target_udp);
      asio::co_spawn(state.io, pumpUdpBack(state, upstream, from), asio::detached);
    }
    sendLater(*upstream, state.target_udp, std::vector<uint8_t>(buffer.begin(), buffer.begin() + n),
              state.delay);
  }
}

}  // namespace

Result<std::unique_ptr<DelayRelay>> DelayRelay::start(RelayProtocol protocol, std::string target,
                                                      std::chrono::microseconds one_way_delay) {
  THUNDER_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, net::parseEndpoint(target));
  auto state = std::make_shared<State>();
  state->protocol = protocol;
  state->delay = one_way_delay;
  state->target_tcp = endpoint;
  state->target_udp = udp::endpoint(endpoint.address(), endpoint.port());
  boost::system::error_code ec;
  const auto loopback = asio::ip::make_address("127.0.0.1");
  if (protocol == RelayProtocol::kTcp) {
    state->acceptor.open(tcp::v4(), ec);
    if (!ec) state->acceptor.bind(tcp::endpoint(loopback, 0), ec);
    if (!ec) state->acceptor.listen(128, ec);
    if (!ec) state->port = state->acceptor.local_endpoint(ec).port();
  } else {
    state->listen_udp.open(udp::v4(), ec);
    if (!ec) state->listen_udp.bind(udp::endpoint(loopback, 0), ec);
    if (!ec) state->port = state->listen_udp.local_endpoint(ec).port();
  }
  if (ec) return fail(ErrorCode::kUnavailable, "relay: cannot listen: {}", ec.message());
  if (protocol == RelayProtocol::kTcp) {
    asio::co_spawn(state->io, acceptTcp(*state), asio::detached);
  } else {
    asio::co_spawn(state->io, relayUdp(*state), asio::detached);
  }
  state->thread = std::thread([state = state.get()] { state->io.run(); });
  return std::unique_ptr<DelayRelay>(new DelayRelay(std::move(state)));
}

DelayRelay::DelayRelay(std::shared_ptr<State> state) : state_(std::move(state)) {}

DelayRelay::~DelayRelay() {
  state_->io.stop();
  state_->thread.join();
}

uint16_t DelayRelay::port() const {
  return state_->port;
}

}  // namespace thunder::bench
