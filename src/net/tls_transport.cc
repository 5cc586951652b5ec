#include "net/tls_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>

#include "base/log.h"
#include "net/endpoint.h"
#include "net/listener_core.h"
#include "net/tls_connection.h"

namespace thunder::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
}  // namespace

struct TlsListener::State {
  io::Runtime& runtime;
  TlsListenerOptions options;
  StreamHandler handler;
  std::shared_ptr<const TlsContext> tls;
  std::shared_ptr<ConnectionRegistry> registry = std::make_shared<ConnectionRegistry>();
  tcp::acceptor acceptor;
  tcp::endpoint local;

  ListenerAdmission admission;

  State(io::Runtime& rt, TlsListenerOptions opts, StreamHandler h,
        std::shared_ptr<const TlsContext> context)
      : runtime(rt),
        options(std::move(opts)),
        handler(std::move(h)),
        tls(std::move(context)),
        acceptor(rt.nextLoop()),
        admission(ListenerLimits{options.max_connections, options.max_handshakes,
                                 options.max_handshakes_per_ip}) {}
};

namespace {

asio::awaitable<void> serveConnection(std::shared_ptr<TlsListener::State> state, tcp::socket socket,
                                      asio::ip::address ip) {
  const auto deadline = Clock::now() + state->options.handshake_timeout;
  auto connection =
      TlsConnection::create(std::move(socket), state->tls, TlsRole::kServer, state->registry);
  Result<void> handshake = connection ? Result<void>{} : tl::unexpected(connection.error());
  if (connection) handshake = co_await (*connection)->handshake(deadline);
  state->admission.handshakeDone(ip);  // before the connection closes: its peer may then reconnect
  if (handshake) {
    co_await state->handler(std::move(*connection));
  } else {
    THUNDER_LOG(debug, "net", "TLS connection refused: {}", handshake.error().message);
    if (connection) connection->reset();
  }
  state->admission.coroutineDone();
}

asio::awaitable<void> acceptLoop(std::shared_ptr<TlsListener::State> state) {
  for (;;) {
    auto& loop = state->runtime.nextLoop();
    auto [ec, socket] =
        co_await state->acceptor.async_accept(loop, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      THUNDER_LOG(warn, "net", "accept failed on {}: {}", formatEndpoint(state->local),
                  ec.message());
      asio::steady_timer pause(state->acceptor.get_executor(), kAcceptRetryDelay);
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code peer_ec;
    const tcp::endpoint peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;  // already gone
    {
      bool stopping = false;
      const char* limit = state->admission.admit(peer.address(), &stopping);
      if (stopping) break;
      if (limit != nullptr) {
        THUNDER_LOG(debug, "net", "closing connection from {}: {} is reached", formatEndpoint(peer),
                    limit);
        continue;  // the socket closes as it goes out of scope
      }
    }
    asio::co_spawn(loop, serveConnection(state, std::move(socket), peer.address()), asio::detached);
  }
  state->admission.coroutineDone();
}

Result<void> checkOptions(const TlsListenerOptions& options) {
  if (options.max_handshakes == 0 || options.max_handshakes_per_ip == 0 ||
      options.max_connections == 0 || options.handshake_timeout.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                "TLS listener limits and the handshake timeout must be positive");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<TlsListener>> TlsListener::start(io::Runtime& runtime,
                                                        const TlsIdentity& identity,
                                                        TlsListenerOptions options,
                                                        StreamHandler handler) {
  THUNDER_TRY(checkOptions(options));
  THUNDER_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, parseEndpoint(options.listen));
  THUNDER_ASSIGN_OR_RETURN(auto context, TlsContext::forServer(identity));
  auto state =
      std::make_shared<State>(runtime, std::move(options), std::move(handler), std::move(context));
  THUNDER_TRY(bindAndListen(state->acceptor, endpoint));
  boost::system::error_code ec;
  state->local = state->acceptor.local_endpoint(ec);
  state->admission.acceptorStarted();
  asio::co_spawn(state->acceptor.get_executor(), acceptLoop(state), asio::detached);
  return std::unique_ptr<TlsListener>(new TlsListener(std::move(state)));
}

TlsListener::TlsListener(std::shared_ptr<State> state) : state_(std::move(state)) {}

TlsListener::~TlsListener() {
  stop();
}

std::string TlsListener::localAddress() const {
  return formatEndpoint(state_->local);
}

uint16_t TlsListener::localPort() const {
  return state_->local.port();
}

size_t TlsListener::handshakesInProgress() const {
  return state_->admission.handshakes();
}

size_t TlsListener::openConnections() const {
  return state_->registry->size();
}

void TlsListener::stop() {
  if (!state_->admission.beginStop()) return;
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  // Connections accepted from now on are closed as they register (the registry is closing).
  state_->registry->closeAll();
  state_->admission.waitIdle();
}

struct TlsConnector::State {
  std::shared_ptr<const TlsContext> context;
};

Result<std::shared_ptr<const TlsConnector>> TlsConnector::create() {
  THUNDER_ASSIGN_OR_RETURN(auto context, TlsContext::forClient());
  auto state = std::make_unique<State>(State{.context = std::move(context)});
  return std::shared_ptr<const TlsConnector>(new TlsConnector(std::move(state)));
}

TlsConnector::TlsConnector(std::unique_ptr<State> state) : state_(std::move(state)) {}
TlsConnector::~TlsConnector() = default;

asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectTls(
    std::string address, PublicKey expected_node_key, std::chrono::milliseconds timeout) {
  THUNDER_CO_ASSIGN_OR_RETURN(auto connector, TlsConnector::create());
  co_return co_await connectTls(std::move(connector), std::move(address), expected_node_key,
                                timeout);
}

asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectTls(
    std::shared_ptr<const TlsConnector> connector, std::string address, PublicKey expected_node_key,
    std::chrono::milliseconds timeout) {
  THUNDER_CO_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, parseEndpoint(address));
  std::shared_ptr<const TlsContext> context = connector->state().context;
  const auto deadline_at = Clock::now() + timeout;
  tcp::socket socket(co_await asio::this_coro::executor);
  {
    Deadline deadline(socket, deadline_at);
    auto [ec] = co_await socket.async_connect(endpoint, asio::as_tuple(asio::use_awaitable));
    if (deadline.expired()) {
      co_return fail(ErrorCode::kTimeout, "connecting to {} took longer than {} ms", address,
                     timeout.count());
    }
    if (ec)
      co_return fail(ErrorCode::kUnavailable, "cannot connect to {}: {}", address, ec.message());
  }
  THUNDER_CO_ASSIGN_OR_RETURN(
      auto connection,
      TlsConnection::create(std::move(socket), std::move(context), TlsRole::kClient, nullptr));

  PinnedKeyCheck check{.expected = expected_node_key, .failure = std::nullopt};
  SSL_set_app_data(connection->ssl(), &check);
  Result<void> handshake = co_await connection->handshake(deadline_at);
  SSL_set_app_data(connection->ssl(), nullptr);
  if (check.failure) co_return tl::unexpected(check.failure->withContext(address));
  if (!handshake && handshake.error().code == ErrorCode::kTimeout) {
    co_return fail(ErrorCode::kTimeout, "the TLS handshake with {} took longer than {} ms", address,
                   timeout.count());
  }
  if (!handshake) co_return tl::unexpected(handshake.error());

  // The verify callback ran on this certificate; check again that it is the pinned one.
  X509* cert = SSL_get0_peer_certificate(connection->ssl());
  auto presented = cert == nullptr ? fail(ErrorCode::kPermissionDenied, "no certificate")
                                   : checkSelfSignedEd25519(cert);
  if (!presented || *presented != expected_node_key) {
    co_return fail(ErrorCode::kPermissionDenied, "{}: node key mismatch after the handshake",
                   address);
  }
  co_return std::unique_ptr<StreamConnection>(std::move(connection));
}

Result<std::unique_ptr<StreamConnection>> connectTlsBlocking(io::Runtime& runtime,
                                                             std::string address,
                                                             PublicKey expected_node_key,
                                                             std::chrono::milliseconds timeout) {
  try {
    return asio::co_spawn(runtime.nextLoop(),
                          connectTls(std::move(address), expected_node_key, timeout),
                          asio::use_future)
        .get();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, "connecting failed: {}", e.what());
  }
}

}  // namespace thunder::net
