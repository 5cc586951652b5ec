#include "gateway/gateway_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>

#include "base/check.h"
#include "base/log.h"
#include "crypto/blake3.h"
#include "gateway/connection.h"
#include "gateway/log_limit.h"
#include "gateway/tls_context.h"
#include "gateway/tls_front.h"
#include "net/endpoint.h"

namespace thunder::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

BlobId hashToken(std::string_view token) {
  return crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(token.data()), token.size()));
}

GatewayCounters makeCounters(MetricsRegistry* registry, std::array<Counter, 14>& local) {
  GatewayCounters c;
  size_t next = 0;
  auto counter = [&](const std::string& name, const std::string& help,
                     MetricLabels labels = {}) -> Counter* {
    if (registry != nullptr) return &registry->counter(name, help, std::move(labels));
    THUNDER_CHECK(next < local.size(), "too few local gateway counters");
    return &local[next++];
  };
  for (int i = 1; i <= 5; ++i) {
    c.responses[i] = counter("thunder_gateway_responses_total",
                             "HTTP responses of the gateway, by status class.",
                             {{"code", fmt::format("{}xx", i)}});
  }
  c.responses[0] = c.responses[5];
  c.bytes_sent = counter("thunder_gateway_sent_bytes_total",
                         "Bytes the gateway wrote to clients (headers and bodies).");
  c.cache_hits = counter("thunder_gateway_open_blob_cache_hits_total",
                         "Blob requests served from the gateway's cache of open blobs.");
  c.cache_misses = counter("thunder_gateway_open_blob_cache_misses_total",
                           "Blob requests that looked the blob up in the store.");
  c.uploads = counter("thunder_gateway_uploads_total", "Uploads stored through POST /b3.");
  c.upload_bytes = counter("thunder_gateway_upload_bytes_total", "Bytes stored through POST /b3.");
  c.timeouts = counter("thunder_gateway_timeouts_total",
                       "Connections closed by the idle, header or send timeout.");
  c.refused_connections = counter("thunder_gateway_refused_connections_total",
                                  "Connections closed at once because the limit was reached.");
  return c;
}

asio::awaitable<void> acceptLoop(std::shared_ptr<ServerState> state) {
  for (;;) {
    auto& context = state->runtime.nextLoop();
    auto [ec, socket] =
        co_await state->acceptor.async_accept(context, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      THUNDER_GATEWAY_WARN("accept failed on {}: {}", net::formatEndpoint(state->local),
                           ec.message());
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
        // Out of file descriptors: back off instead of spinning.
        asio::steady_timer pause(state->acceptor.get_executor(), std::chrono::milliseconds(50));
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      continue;
    }
    if (state->tls != nullptr) {  // https://: the handshake first (gateway/tls_front.h)
      if (!startTlsFront(state, context, std::move(socket))) break;
      continue;
    }
    LoopState& loop = state->loopFor(context);
    auto connection = std::make_shared<Connection>(state, loop, std::move(socket));
    {
      std::lock_guard lock(state->mutex);
      if (state->stopping) break;
      if (state->open_connections >= state->options.max_connections) {
        state->counters.refused_connections->add();
        THUNDER_LOG(debug, "gateway", "connection limit {} reached; closing a new connection",
                    state->options.max_connections);
        continue;  // the connection (and its socket) is dropped
      }
      ++state->open_connections;
      ++state->coroutines;
      connection->setRegistryEntry(state->connections.insert(state->connections.end(), connection));
    }
    asio::co_spawn(context, Connection::run(std::move(connection)), asio::detached);
  }
  state->coroutineDone();
}

}  // namespace

ServerState::ServerState(io::Runtime& rt, content::BlobStore& s, GatewayOptions opts,
                         GatewayBackends b, MetricsRegistry* metrics)
    : runtime(rt),
      store(s),
      options(std::move(opts)),
      backends(b),
      max_upload_bytes(options.max_upload_mb << 20),
      upload_token_hash(hashToken(options.upload_token)),
      resolver(s, options.manifest_cache_entries, options.manifest_cache_bytes),
      counters(makeCounters(metrics, local_counters)),
      acceptor(rt.nextLoop()) {
  for (size_t i = 0; i < runtime.loopCount(); ++i) {
    loops.push_back(std::make_unique<LoopState>(runtime.loop(i), options));
  }
}

LoopState& ServerState::loopFor(const asio::io_context& context) {
  for (auto& loop : loops) {
    if (&loop->context == &context) return *loop;
  }
  THUNDER_CHECK(false, "a gateway connection on a loop that is not the runtime's");
  return *loops.front();
}

void ServerState::coroutineDone() {
  std::lock_guard lock(mutex);
  --coroutines;
  if (coroutines == 0) idle.notify_all();
}

Result<std::unique_ptr<GatewayServer>> GatewayServer::start(io::Runtime& runtime,
                                                            content::BlobStore& store,
                                                            GatewayOptions options,
                                                            MetricsRegistry* metrics,
                                                            GatewayBackends backends) {
  THUNDER_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, net::parseEndpoint(options.listen));
  std::shared_ptr<const TlsServerContext> tls;
  if (!options.tls_certificate_file.empty() || !options.tls_key_file.empty()) {
    THUNDER_ASSIGN_OR_RETURN(tls, TlsServerContext::load(options));
  }
  std::signal(SIGPIPE, SIG_IGN);  // sendfile(2) has no MSG_NOSIGNAL
  auto state = std::make_shared<ServerState>(runtime, store, std::move(options), backends, metrics);
  state->tls = std::move(tls);
  THUNDER_TRY(net::bindAndListen(state->acceptor, endpoint));
  boost::system::error_code ec;
  state->local = state->acceptor.local_endpoint(ec);
  state->coroutines = 1;
  asio::co_spawn(state->acceptor.get_executor(), acceptLoop(state), asio::detached);
  THUNDER_LOG(info, "gateway", "HTTP gateway listening on {}://{}", state->tls ? "https" : "http",
              net::formatEndpoint(state->local));
  return std::unique_ptr<GatewayServer>(new GatewayServer(std::move(state)));
}

GatewayServer::GatewayServer(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}

GatewayServer::~GatewayServer() {
  stop();
}

std::string GatewayServer::localAddress() const {
  return net::formatEndpoint(state_->local);
}

uint16_t GatewayServer::localPort() const {
  return state_->local.port();
}

std::string GatewayServer::url() const {
  return (state_->tls ? "https://" : "http://") + localAddress();
}

size_t GatewayServer::activeConnections() const {
  std::lock_guard lock(state_->mutex);
  return state_->open_connections;
}

void GatewayServer::stop() {
  std::vector<std::weak_ptr<Connection>> connections;
  std::vector<std::weak_ptr<TlsFront>> fronts;
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
    connections.assign(state_->connections.begin(), state_->connections.end());
    fronts.assign(state_->tls_fronts.begin(), state_->tls_fronts.end());
  }
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  auto signal = [&](StopMode mode) {
    for (const auto& weak : connections) {
      if (auto connection = weak.lock()) {
        auto& context = connection->loopContext();
        asio::post(context, [weak, mode] {
          if (auto c = weak.lock()) c->requestStop(mode);
        });
      }
    }
    for (const auto& weak : fronts) {
      if (auto front = weak.lock()) {
        asio::post(front->loopContext(), [weak, mode] {
          if (auto f = weak.lock()) f->requestStop(mode);
        });
      }
    }
  };
  signal(StopMode::kGraceful);
  std::unique_lock lock(state_->mutex);
  if (!state_->idle.wait_for(lock, state_->options.stop_grace,
                             [&] { return state_->coroutines == 0; })) {
    THUNDER_LOG(info, "gateway", "cutting {} connections still busy after {} ms",
                state_->open_connections, state_->options.stop_grace.count());
    lock.unlock();
    signal(StopMode::kNow);
    lock.lock();
  }
  state_->idle.wait(lock, [&] { return state_->coroutines == 0; });
}

}  // namespace thunder::gateway
