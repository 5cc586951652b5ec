#include "node/session_component.h"

#include "base/log.h"
#include "handshake/builtin_services.h"
#include "node/service_component.h"
#include "node/store_component.h"

namespace thunder::node {

namespace {
constexpr int64_t kLaneExpiryIntervalMs = 60'000;
constexpr std::chrono::milliseconds kQuicIdleMargin{10'000};
}  // namespace

SessionComponent::SessionComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                   SessionOptions options, const crypto::SigningKey& node_key,
                                   StoreComponent& store, ServiceComponent& executed,
                                   MetricsRegistry& metrics)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      node_key_(node_key),
      store_(store),
      executed_(executed),
      metrics_(metrics) {
  metrics_.gauge(
      "thunder_sessions_active", "Client connections whose session driver is running.", {},
      [this] {
        std::lock_guard lock(mutex_);
        return hub_ ? static_cast<double>(hub_->activeSessionCount()) : 0.0;
      },
      this);
  // Created here so that it is exported (as 0) before the first DACK.
  metrics_.counter("thunder_dacks_stored_total", "Verified DACKs written to the DACK queue.");
}

SessionComponent::~SessionComponent() {
  stop();
  metrics_.removeMetrics(this);
}

Result<void> SessionComponent::start() {
  content::FsBlobStore* store = store_.store();
  if (!store) return fail(ErrorCode::kUnavailable, "the blob store is not open");

  handshake::DackQueueOptions dack_options;
  dack_options.path = handshake::dackQueueDirIn(data_dir_);
  THUNDER_ASSIGN_OR_RETURN(auto dacks, handshake::DackQueue::open(dack_options));
  auto services = std::make_unique<handshake::SessionServices>();
  // The sandboxed services first: a [[services]] service 0 (thunder-service-cdn) takes the
  // content service's id; the built-in services take the ids left free.
  THUNDER_TRY(executed_.addSessionServices(*services));
  THUNDER_TRY(handshake::addBuiltinServices(*services, *store, runtime_.blockingPool()));

  handshake::SessionHubOptions hub_options;
  hub_options.lanes.max_lanes_per_client = options_.lanes_per_client;
  hub_options.server.handshake_timeout = options_.handshake_timeout;
  hub_options.server.idle_timeout = options_.idle_timeout;
  auto hub = std::make_unique<handshake::SessionHub>(node_key_, *services, clock_, hub_options);
  auto context = std::make_unique<handshake::SessionDriverContext>(
      handshake::SessionDriverContext{*hub, *services, *dacks, runtime_.blockingPool(), metrics_});
  THUNDER_ASSIGN_OR_RETURN(auto identity, net::TlsIdentity::fromSigningKey(node_key_));

  {
    std::lock_guard lock(mutex_);
    dacks_ = std::move(dacks);
    services_ = std::move(services);
    hub_ = std::move(hub);
    context_ = std::move(context);
    identity_.emplace(std::move(identity));
  }
  net::TlsListenerOptions listener_options;
  listener_options.listen = options_.listen;
  listener_options.handshake_timeout = options_.handshake_timeout;
  listener_options.max_handshakes_per_ip = options_.max_handshakes_per_ip;
  net::StreamHandler serve = [this](std::unique_ptr<net::StreamConnection> conn) {
    maybeExpireLanes();
    return handshake::serveSession(std::move(conn), *context_);
  };
  auto listener = net::TlsListener::start(runtime_, *identity_, listener_options, serve);
  if (!listener) {
    stop();
    return fail(listener.error().withContext(fmt::format("sessions.listen {}", options_.listen)));
  }
  {
    std::lock_guard lock(mutex_);
    listener_ = std::move(listener).value();
    address_ = listener_->localAddress();
  }
  THUNDER_LOG(info, "node", "client sessions on {} (service 0 serves content)", localAddress());
  if (auto ok = startWsListener(serve); !ok) {
    stop();
    return ok;
  }
  if (auto ok = startQuicListener(serve); !ok) {
    stop();
    return ok;
  }
  return {};
}

Result<void> SessionComponent::startWsListener(const net::StreamHandler& serve) {
  if (options_.ws_listen.empty()) return {};
  net::WsListenerOptions ws_options;
  ws_options.listen = options_.ws_listen;
  ws_options.handshake_timeout = options_.handshake_timeout;
  ws_options.max_handshakes_per_ip = options_.max_handshakes_per_ip;
  ws_options.tls_certificate_file = options_.ws_certificate;
  ws_options.tls_key_file = options_.ws_key;
  auto ws_listener = net::WsListener::start(runtime_, ws_options, serve);
  if (!ws_listener) {
    return fail(
        ws_listener.error().withContext(fmt::format("sessions.ws_listen {}", options_.ws_listen)));
  }
  std::lock_guard lock(mutex_);
  ws_listener_ = std::move(ws_listener).value();
  ws_url_ = ws_listener_->url();
  THUNDER_LOG(info, "node", "client sessions over {} on {}",
              options_.ws_certificate.empty() ? "plain WebSocket" : "WebSocket over TLS", ws_url_);
  return {};
}

Result<void> SessionComponent::startQuicListener(const net::StreamHandler& serve) {
  if (options_.quic_listen.empty()) return {};
  net::QuicListenerOptions quic_options;
  quic_options.listen = options_.quic_listen;
  quic_options.handshake_timeout = options_.handshake_timeout;
  quic_options.max_handshakes_per_ip = options_.max_handshakes_per_ip;
  // Longer than the session's idle timeout, so that an idle session ends with its Termination
  // rather than a silently dropped connection.
  quic_options.idle_timeout = options_.idle_timeout + kQuicIdleMargin;
  auto quic_listener = net::QuicListener::start(runtime_, node_key_, quic_options, serve);
  if (!quic_listener) {
    return fail(quic_listener.error().withContext(
        fmt::format("sessions.quic_listen {}", options_.quic_listen)));
  }
  std::lock_guard lock(mutex_);
  quic_listener_ = std::move(quic_listener).value();
  quic_url_ = quic_listener_->url();
  THUNDER_LOG(info, "node", "client sessions over QUIC on {}", quic_url_);
  return {};
}

void SessionComponent::stop() {
  std::unique_ptr<net::TlsListener> listener;
  std::unique_ptr<net::WsListener> ws_listener;
  std::unique_ptr<net::QuicListener> quic_listener;
  {
    std::lock_guard lock(mutex_);
    listener = std::move(listener_);
    ws_listener = std::move(ws_listener_);
    quic_listener = std::move(quic_listener_);
    address_.clear();
    ws_url_.clear();
    quic_url_.clear();
  }
  // Closes every session and waits for their drivers; they use the state released below.
  if (quic_listener) quic_listener->stop();
  if (ws_listener) ws_listener->stop();
  if (listener) listener->stop();
  quic_listener.reset();
  ws_listener.reset();
  listener.reset();
  std::lock_guard lock(mutex_);
  context_.reset();
  hub_.reset();
  services_.reset();
  identity_.reset();
  dacks_.reset();
}

std::string SessionComponent::localAddress() const {
  std::lock_guard lock(mutex_);
  return address_;
}

std::string SessionComponent::wsUrl() const {
  std::lock_guard lock(mutex_);
  return ws_url_;
}

std::string SessionComponent::quicUrl() const {
  std::lock_guard lock(mutex_);
  return quic_url_;
}

nlohmann::json SessionComponent::statusJson() const {
  std::lock_guard lock(mutex_);
  uint64_t pending = 0;
  if (dacks_) {
    if (auto count = dacks_->count(); count) pending = *count;
  }
  return {{"active", hub_ ? hub_->activeSessionCount() : 0},
          {"lanes", hub_ ? hub_->laneCount() : 0},
          {"dacks_pending", pending}};
}

void SessionComponent::maybeExpireLanes() {
  const int64_t now = static_cast<int64_t>(handshake::toUnixMs(clock_.now()));
  int64_t last = last_expiry_ms_.load();
  if (now - last < kLaneExpiryIntervalMs) return;
  if (!last_expiry_ms_.compare_exchange_strong(last, now)) return;
  if (size_t freed = hub_->expireLanes(); freed > 0) {
    THUNDER_LOG(debug, "node", "freed {} expired session lanes", freed);
  }
}

}  // namespace thunder::node
