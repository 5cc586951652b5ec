#include "net/quic_transport.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>

#include "base/log.h"
#include "net/endpoint.h"
#include "net/quic_connection.h"
#include "net/quic_endpoint.h"
#include "net/quic_tls.h"

namespace thunder::net {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {
// A client drops a connection that hears nothing from the node for this long.
constexpr std::chrono::milliseconds kClientIdleTimeout{120'000};
}  // namespace

struct QuicListener::State {
  QuicListenerOptions options;
  StreamHandler handler;
  std::shared_ptr<const QuicTlsContext> tls;
  std::shared_ptr<QuicEndpoint> endpoint;
  udp::endpoint local;

  mutable std::mutex mutex;
  std::condition_variable idle;
  size_t coroutines = 0;  // GUARDED_BY(mutex): the receive loop + handlers
  size_t handshakes = 0;  // GUARDED_BY(mutex)
  std::map<asio::ip::address, size_t> handshakes_by_ip;  // GUARDED_BY(mutex)
  bool stopping = false;                                 // GUARDED_BY(mutex)

  void coroutineDone() {
    std::lock_guard lock(mutex);
    if (--coroutines == 0) idle.notify_all();
  }

  // Admits a new connection from `ip`, or returns why not. REQUIRES(mutex)
  const char* admit(const asio::ip::address& ip) {
    if (endpoint->connectionCount() >= options.max_connections) return "the connection limit";
    if (handshakes >= options.max_handshakes) return "the half-open handshake limit";
    auto it = handshakes_by_ip.find(ip);
    if (it != handshakes_by_ip.end() && it->second >= options.max_handshakes_per_ip) {
      return "the per-address half-open handshake limit";
    }
    ++handshakes;
    ++handshakes_by_ip[ip];
    return nullptr;
  }

  void handshakeDone(const asio::ip::address& ip) {
    std::lock_guard lock(mutex);
    --handshakes;
    auto it = handshakes_by_ip.find(ip);
    if (--it->second == 0) handshakes_by_ip.erase(it);
  }
};

namespace {

asio::awaitable<void> serveConnection(std::shared_ptr<QuicListener::State> state,
                                      std::unique_ptr<StreamConnection> connection) {
  co_await state->handler(std::move(connection));
  state->coroutineDone();
}

void onEstablished(const std::shared_ptr<QuicListener::State>& state, QuicConnection& connection) {
  bool stopping = false;
  {
    std::lock_guard lock(state->mutex);
    stopping = state->stopping;
    if (!stopping) ++state->coroutines;
  }
  if (stopping) {  // stop() is closing everything; this one too
    connection.abort();
    return;
  }
  asio::co_spawn(
      connection.executor(),
      serveConnection(state, std::make_unique<QuicStreamConnection>(connection.shared_from_this())),
      asio::detached);
}

// A client Initial for no known connection (on the listener's loop).
void acceptConnection(const std::shared_ptr<QuicListener::State>& state,
                      const ngtcp2_pkt_hd& header, std::span<const uint8_t> datagram,
                      const udp::endpoint& from) {
  const asio::ip::address ip = from.address();
  {
    std::lock_guard lock(state->mutex);
    if (state->stopping) return;
    if (const char* limit = state->admit(ip)) {
      THUNDER_LOG(debug, "net", "dropping a QUIC Initial from {}: {} is reached", ip.to_string(),
                  limit);
      return;
    }
  }
  QuicConnectionOptions options{.handshake_timeout = state->options.handshake_timeout,
                                .idle_timeout = state->options.idle_timeout};
  auto connection = QuicConnection::accept(*state->endpoint, state->tls, header, from, options);
  if (!connection) {
    state->handshakeDone(ip);
    THUNDER_LOG(debug, "net", "cannot accept a QUIC connection from {}: {}", ip.to_string(),
                connection.error().message);
    return;
  }
  // The half-open slot is freed exactly once: when the handshake completes or the connection
  // goes, whichever comes first.
  auto half_open = std::make_shared<bool>(true);
  auto free_slot = [state, ip, half_open] {
    if (std::exchange(*half_open, false)) state->handshakeDone(ip);
  };
  (*connection)
      ->setHooks(
          [state, free_slot](QuicConnection& c) {
            free_slot();
            onEstablished(state, c);
          },
          [free_slot](QuicConnection&) { free_slot(); });
  state->endpoint->adopt(*connection);
  (*connection)->onDatagram(datagram, from);
}

Result<void> checkOptions(const QuicListenerOptions& options) {
  if (options.max_handshakes == 0 || options.max_handshakes_per_ip == 0 ||
      options.max_connections == 0 || options.handshake_timeout.count() <= 0 ||
      options.idle_timeout.count() <= 0) {
    return fail(
        ErrorCode::kInvalidArgument,
        "QUIC listener limits, the handshake timeout and the idle timeout must be positive");
  }
  return {};
}

Result<std::shared_ptr<const QuicTlsContext>> clientContext() {
  // Immutable and shared by every client connection of the process.
  static const Result<std::shared_ptr<const QuicTlsContext>> context = QuicTlsContext::forClient();
  return context;
}

}  // namespace

Result<std::unique_ptr<QuicListener>> QuicListener::start(io::Runtime& runtime,
                                                          const crypto::SigningKey& node_key,
                                                          QuicListenerOptions options,
                                                          StreamHandler handler) {
  THUNDER_TRY(checkOptions(options));
  THUNDER_ASSIGN_OR_RETURN(const asio::ip::tcp::endpoint address, parseEndpoint(options.listen));
  THUNDER_ASSIGN_OR_RETURN(auto tls, QuicTlsContext::forServer(node_key));
  auto& loop = runtime.nextLoop();
  THUNDER_ASSIGN_OR_RETURN(
      auto endpoint,
      QuicEndpoint::bind(loop.get_executor(), udp::endpoint(address.address(), address.port())));
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  state->handler = std::move(handler);
  state->tls = std::move(tls);
  state->endpoint = std::move(endpoint);
  state->local = state->endpoint->localEndpoint();
  state->coroutines = 1;
  // The endpoint's hooks hold the state until shutdown() and the end of the receive loop.
  state->endpoint->start(
      [state](const ngtcp2_pkt_hd& header, std::span<const uint8_t> datagram,
              const udp::endpoint& from) { acceptConnection(state, header, datagram, from); },
      [state] { state->coroutineDone(); });
  return std::unique_ptr<QuicListener>(new QuicListener(std::move(state)));
}

QuicListener::QuicListener(std::shared_ptr<State> state) : state_(std::move(state)) {}

QuicListener::~QuicListener() {
  stop();
}

std::string QuicListener::localAddress() const {
  return formatEndpoint(asio::ip::tcp::endpoint(state_->local.address(), state_->local.port()));
}

uint16_t QuicListener::localPort() const {
  return state_->local.port();
}

std::string QuicListener::url() const {
  return fmt::format("{}{}", kQuicScheme, localAddress());
}

size_t QuicListener::handshakesInProgress() const {
  std::lock_guard lock(state_->mutex);
  return state_->handshakes;
}

size_t QuicListener::openConnections() const {
  return state_->endpoint->connectionCount();
}

void QuicListener::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
  }
  asio::post(state_->endpoint->executor(), [state = state_] { state->endpoint->shutdown(); });
  std::unique_lock lock(state_->mutex);
  state_->idle.wait(lock, [&] { return state_->coroutines == 0; });
}

bool isQuicUrl(std::string_view text) {
  return text.starts_with(kQuicScheme);
}

Result<std::string> parseQuicUrl(std::string_view text) {
  if (!isQuicUrl(text)) {
    return fail(ErrorCode::kInvalidArgument, "\"{}\" is not a quic://HOST:PORT address", text);
  }
  const std::string_view rest = text.substr(kQuicScheme.size());
  if (auto endpoint = parseEndpoint(rest); !endpoint) {
    return fail(endpoint.error().withContext(text));
  }
  return std::string(rest);
}

asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectQuic(
    std::string address, PublicKey expected_node_key, std::chrono::milliseconds timeout) {
  std::string host_port = address;
  if (isQuicUrl(address)) {
    THUNDER_CO_ASSIGN_OR_RETURN(host_port, parseQuicUrl(address));
  }
  THUNDER_CO_ASSIGN_OR_RETURN(const asio::ip::tcp::endpoint target, parseEndpoint(host_port));
  const udp::endpoint remote(target.address(), target.port());
  THUNDER_CO_ASSIGN_OR_RETURN(auto tls, clientContext());
  auto executor = co_await asio::this_coro::executor;
  THUNDER_CO_ASSIGN_OR_RETURN(auto endpoint, QuicEndpoint::connectTo(executor, remote));
  QuicConnectionOptions options{.handshake_timeout = timeout, .idle_timeout = kClientIdleTimeout};
  auto connection = QuicConnection::connect(*endpoint, tls, remote, expected_node_key, options);
  if (!connection) co_return fail(connection.error().withContext(address));
  endpoint->adopt(*connection);
  endpoint->start(nullptr, nullptr);  // runs until its connection is released
  (*connection)->flush();             // the client Initial
  auto established = co_await (*connection)->waitEstablished();
  if (!established) {
    (*connection)->abort();
    const Error& error = established.error();
    if (error.code == ErrorCode::kTimeout) {
      co_return fail(ErrorCode::kTimeout,
                     "the QUIC handshake with {} did not finish within {} ms (is a node "
                     "listening for QUIC there?)",
                     address, timeout.count());
    }
    if (error.code == ErrorCode::kPermissionDenied || error.code == ErrorCode::kCorruption) {
      co_return fail(error.withContext(address));
    }
    co_return fail(ErrorCode::kUnavailable, "{}", error.message);
  }
  co_return std::unique_ptr<StreamConnection>(
      std::make_unique<QuicStreamConnection>(std::move(*connection)));
}

Result<std::unique_ptr<StreamConnection>> connectQuicBlocking(io::Runtime& runtime,
                                                              std::string address,
                                                              PublicKey expected_node_key,
                                                              std::chrono::milliseconds timeout) {
  try {
    return asio::co_spawn(runtime.nextLoop(),
                          connectQuic(std::move(address), expected_node_key, timeout),
                          asio::use_future)
        .get();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, "connecting failed: {}", e.what());
  }
}

}  // namespace thunder::net
