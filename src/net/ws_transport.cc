#include "net/ws_transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <vector>

#include "base/log.h"
#include "net/endpoint.h"
#include "net/listener_core.h"
#include "net/tls_connection.h"  // Deadline
#include "net/ws_connection.h"

namespace thunder::net {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};
constexpr std::string_view kWsScheme = "ws://";
constexpr std::string_view kWssScheme = "wss://";
// What a client accepts per received message (the node sends at most kWsMaxSentMessageBytes).
constexpr size_t kClientMaxMessageBytes = 1024 * 1024;
}  // namespace

struct WsListener::State {
  io::Runtime& runtime;
  WsListenerOptions options;
  StreamHandler handler;
  std::shared_ptr<ConnectionRegistry> registry = std::make_shared<ConnectionRegistry>();
  std::shared_ptr<ssl::context> tls;  // wss://; null for ws://
  tcp::acceptor acceptor;
  tcp::endpoint local;

  ListenerAdmission admission;

  State(io::Runtime& rt, WsListenerOptions opts, StreamHandler h)
      : runtime(rt),
        options(std::move(opts)),
        handler(std::move(h)),
        acceptor(rt.nextLoop()),
        admission(ListenerLimits{options.max_connections, options.max_handshakes,
                                 options.max_handshakes_per_ip}) {}
};

namespace {

template <typename Connection>
asio::awaitable<void> serveConnection(std::shared_ptr<WsListener::State> state, tcp::socket socket,
                                      asio::ip::address ip) {
  const auto deadline = Clock::now() + state->options.handshake_timeout;
  auto connection =
      Connection::create(std::move(socket), WsRole::kServer, state->options.max_message_bytes,
                         state->registry, state->tls);
  Result<void> accepted = co_await connection->accept(state->options.path, deadline);
  state->admission.handshakeDone(ip);  // before the connection closes: its peer may then reconnect
  if (accepted) {
    co_await state->handler(std::move(connection));
  } else {
    THUNDER_LOG(debug, "net", "WebSocket connection refused: {}", accepted.error().message);
    connection.reset();
  }
  state->admission.coroutineDone();
}

asio::awaitable<void> acceptLoop(std::shared_ptr<WsListener::State> state) {
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
    if (state->tls) {
      asio::co_spawn(loop, serveConnection<WssConnection>(state, std::move(socket), peer.address()),
                     asio::detached);
    } else {
      asio::co_spawn(loop, serveConnection<WsConnection>(state, std::move(socket), peer.address()),
                     asio::detached);
    }
  }
  state->admission.coroutineDone();
}

Result<void> checkOptions(const WsListenerOptions& options) {
  if (options.max_handshakes == 0 || options.max_handshakes_per_ip == 0 ||
      options.max_connections == 0 || options.handshake_timeout.count() <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                "WebSocket listener limits and the handshake timeout must be positive");
  }
  if (options.max_message_bytes < kWsMaxSentMessageBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "the WebSocket message limit must be at least {} bytes, not {}",
                kWsMaxSentMessageBytes, options.max_message_bytes);
  }
  if (options.path.empty() || options.path.front() != '/') {
    return fail(ErrorCode::kInvalidArgument, "the WebSocket path must start with '/', not \"{}\"",
                options.path);
  }
  if (options.tls_certificate_file.empty() != options.tls_key_file.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "wss:// needs both a certificate chain file and its key file, or neither");
  }
  return {};
}

std::string opensslReason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown reason";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

// The server context of a wss:// listener: the operator's chain and key, TLS 1.2 or later.
Result<std::shared_ptr<ssl::context>> serverTlsContext(const WsListenerOptions& options) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, options.tls_certificate_file.c_str()) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: not a usable PEM certificate chain ({}); give the leaf certificate first, "
                "then its intermediates",
                options.tls_certificate_file, opensslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(native, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(ErrorCode::kInvalidArgument, "{}: not a usable PEM private key ({})",
                options.tls_key_file, opensslReason());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return fail(ErrorCode::kInvalidArgument, "{} is not the key of the certificate in {} ({})",
                options.tls_key_file, options.tls_certificate_file, opensslReason());
  }
  return context;
}

}  // namespace

Result<std::unique_ptr<WsListener>> WsListener::start(io::Runtime& runtime,
                                                      WsListenerOptions options,
                                                      StreamHandler handler) {
  THUNDER_TRY(checkOptions(options));
  THUNDER_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, parseEndpoint(options.listen));
  std::shared_ptr<ssl::context> tls;
  if (!options.tls_certificate_file.empty()) {
    THUNDER_ASSIGN_OR_RETURN(tls, serverTlsContext(options));
  }
  auto state = std::make_shared<State>(runtime, std::move(options), std::move(handler));
  state->tls = std::move(tls);
  THUNDER_TRY(bindAndListen(state->acceptor, endpoint));
  boost::system::error_code ec;
  state->local = state->acceptor.local_endpoint(ec);
  state->admission.acceptorStarted();
  asio::co_spawn(state->acceptor.get_executor(), acceptLoop(state), asio::detached);
  return std::unique_ptr<WsListener>(new WsListener(std::move(state)));
}

WsListener::WsListener(std::shared_ptr<State> state) : state_(std::move(state)) {}

WsListener::~WsListener() {
  stop();
}

std::string WsListener::localAddress() const {
  return formatEndpoint(state_->local);
}

uint16_t WsListener::localPort() const {
  return state_->local.port();
}

std::string WsListener::url() const {
  return fmt::format("{}{}{}", state_->tls ? kWssScheme : kWsScheme, localAddress(),
                     state_->options.path);
}

size_t WsListener::handshakesInProgress() const {
  return state_->admission.handshakes();
}

size_t WsListener::openConnections() const {
  return state_->registry->size();
}

void WsListener::stop() {
  if (!state_->admission.beginStop()) return;
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  // Connections accepted from now on are closed as they register (the registry is closing).
  state_->registry->closeAll();
  state_->admission.waitIdle();
}

namespace {

// Where to connect: an IP literal as is; for wss://, a host name through the resolver.
asio::awaitable<Result<std::vector<tcp::endpoint>>> resolveAddress(const std::string& address,
                                                                   WsScheme scheme) {
  if (auto literal = parseEndpoint(address))
    co_return std::vector<tcp::endpoint>{*literal};
  else if (scheme == WsScheme::kWs)
    co_return tl::unexpected(literal.error());
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    co_return fail(ErrorCode::kInvalidArgument, "\"{}\" is not HOST:PORT", address);
  }
  tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [ec, results] = co_await resolver.async_resolve(
      address.substr(0, colon), address.substr(colon + 1), asio::as_tuple(asio::use_awaitable));
  if (ec || results.empty()) {
    co_return fail(ErrorCode::kUnavailable, "cannot resolve {}: {}", address,
                   ec ? ec.message() : std::string("no address"));
  }
  std::vector<tcp::endpoint> out;
  for (const auto& entry : results) out.push_back(entry.endpoint());
  co_return out;
}

Result<std::shared_ptr<ssl::context>> clientTlsContext() {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) {
    return fail(ErrorCode::kInternal, "cannot load the system's trusted certificates: {}",
                ec.message());
  }
  return context;
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectWs(
    std::string address, std::string path, WsScheme scheme, std::chrono::milliseconds timeout) {
  const auto deadline_at = Clock::now() + timeout;
  THUNDER_CO_ASSIGN_OR_RETURN(const std::vector<tcp::endpoint> endpoints,
                              co_await resolveAddress(address, scheme));
  tcp::socket socket(co_await asio::this_coro::executor);
  {
    Deadline deadline(socket, deadline_at);
    auto [ec, used] =
        co_await asio::async_connect(socket, endpoints, asio::as_tuple(asio::use_awaitable));
    if (deadline.expired()) {
      co_return fail(ErrorCode::kTimeout, "connecting to {} took longer than {} ms", address,
                     timeout.count());
    }
    if (ec) {
      co_return fail(ErrorCode::kUnavailable, "cannot connect to {}: {}", address, ec.message());
    }
  }
  if (scheme == WsScheme::kWss) {
    THUNDER_CO_ASSIGN_OR_RETURN(auto tls, clientTlsContext());
    auto connection = WssConnection::create(std::move(socket), WsRole::kClient,
                                            kClientMaxMessageBytes, nullptr, std::move(tls));
    THUNDER_CO_TRY(co_await connection->handshake(address, path, deadline_at));
    co_return std::unique_ptr<StreamConnection>(std::move(connection));
  }
  auto connection = WsConnection::create(std::move(socket), WsRole::kClient, kClientMaxMessageBytes,
                                         nullptr, nullptr);
  THUNDER_CO_TRY(co_await connection->handshake(address, path, deadline_at));
  co_return std::unique_ptr<StreamConnection>(std::move(connection));
}

bool isWsUrl(std::string_view text) {
  return text.starts_with(kWsScheme) || text.starts_with(kWssScheme);
}

Result<WsUrl> parseWsUrl(std::string_view text) {
  WsUrl url;
  std::string_view rest;
  if (text.starts_with(kWssScheme)) {
    url.scheme = WsScheme::kWss;
    rest = text.substr(kWssScheme.size());
  } else if (text.starts_with(kWsScheme)) {
    rest = text.substr(kWsScheme.size());
  } else {
    return fail(ErrorCode::kInvalidArgument, "\"{}\" is not a ws[s]://HOST:PORT[/PATH] URL", text);
  }
  const size_t slash = rest.find('/');
  url.address = std::string(rest.substr(0, slash));
  url.path = slash == std::string_view::npos ? std::string(kDefaultWsPath)
                                             : std::string(rest.substr(slash));
  if (url.scheme == WsScheme::kWss) {
    const size_t colon = url.address.rfind(':');
    uint32_t port = 0;
    const std::string_view port_text = colon == std::string::npos
                                           ? std::string_view()
                                           : std::string_view(url.address).substr(colon + 1);
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (colon == std::string::npos || colon == 0 || port_text.empty() || ec != std::errc() ||
        end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      return fail(ErrorCode::kInvalidArgument, "{}: expected wss://HOST:PORT[/PATH]", text);
    }
  } else if (auto endpoint = parseEndpoint(url.address); !endpoint) {
    return fail(endpoint.error().withContext(text));
  }
  return url;
}

asio::awaitable<Result<std::unique_ptr<StreamConnection>>> connectWsUrl(
    std::string url, std::chrono::milliseconds timeout) {
  THUNDER_CO_ASSIGN_OR_RETURN(WsUrl parsed, parseWsUrl(url));
  co_return co_await connectWs(std::move(parsed.address), std::move(parsed.path), parsed.scheme,
                               timeout);
}

}  // namespace thunder::net
