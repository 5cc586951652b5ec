#include "node/node.h"

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/check.h"
#include "base/log.h"
#include "crypto/keystore.h"
#include "io/shutdown_signal.h"
#include "node/admin_api.h"
#include "node/fetcher_component.h"
#include "node/gateway_component.h"
#include "node/ledger_component.h"
#include "node/service_component.h"
#include "node/session_component.h"
#include "node/store_component.h"

namespace thunder::node {

std::string_view thunderVersion() {
  return THUNDER_VERSION;
}

Result<std::unique_ptr<Node>> Node::create(NodeOptions options) {
  THUNDER_TRY(validateOptions(options));
  options.data_dir = resolveDataDir(options.data_dir);
  THUNDER_ASSIGN_OR_RETURN(auto data_dir, DataDir::open(options.data_dir));

  bool key_created = false;
  auto key = crypto::readKeyFile(data_dir->keyFile());
  if (!key && key.error().code == ErrorCode::kNotFound) {
    auto fresh = crypto::SigningKey::generate();
    THUNDER_TRY(crypto::writeNewKeyFile(data_dir->keyFile(), fresh));
    key = std::move(fresh);
    key_created = true;
  }
  if (!key) return fail(key.error());
  return std::unique_ptr<Node>(
      new Node(std::move(options), std::move(data_dir), std::move(key).value(), key_created));
}

Node::Node(NodeOptions options, std::unique_ptr<DataDir> data_dir, crypto::SigningKey key,
           bool key_created)
    : options_(std::move(options)),
      data_dir_(std::move(data_dir)),
      key_(std::move(key)),
      key_created_(key_created),
      created_at_(std::chrono::steady_clock::now()),
      runtime_(std::make_unique<io::Runtime>(options_.runtime)) {
  // Start order: the store, the sandboxed services, then the sessions, the origin fetcher and the
  // gateway that read the store and reach the services and origins, the ledger that settles the
  // sessions' DACKs, and last the admin API that serves everyone's routes and status.
  auto admin = std::make_unique<AdminApi>(*runtime_, options_.admin, metrics_,
                                          [this] { return statusJson(); });
  auto store = std::make_unique<StoreComponent>(*runtime_, options_.data_dir, options_.store,
                                                metrics_, *admin);
  auto services =
      std::make_unique<ServiceComponent>(*runtime_, options_.data_dir, options_.services, key_,
                                         *store, metrics_, std::string(thunderVersion()));
  auto sessions = std::make_unique<SessionComponent>(
      *runtime_, options_.data_dir, options_.sessions, key_, *store, *services, metrics_);
  options_.gateway.node_key = key_.publicKey();  // names this node in /routing/v1 answers
  auto fetcher = std::make_unique<FetcherComponent>(*runtime_, options_.data_dir, options_.fetcher,
                                                    options_.ipfs_gateways, *store, metrics_);
  auto gateway =
      std::make_unique<GatewayComponent>(*runtime_, options_.data_dir, options_.gateway, *store,
                                         metrics_, services.get(), fetcher.get());
  admin_ = admin.get();
  store_ = store.get();
  sessions_ = sessions.get();
  auto ledger = std::make_unique<LedgerComponent>(*runtime_, options_.data_dir, options_.ledger,
                                                  key_, *sessions, metrics_, *admin);
  gateway_ = gateway.get();
  ledger_ = ledger.get();
  services_ = services.get();
  components_.push_back(std::move(store));
  components_.push_back(std::move(services));
  components_.push_back(std::move(sessions));
  components_.push_back(std::move(fetcher));
  components_.push_back(std::move(gateway));
  components_.push_back(std::move(ledger));
  components_.push_back(std::move(admin));
  registerMetrics();
}

Node::~Node() {
  stop();
}

void Node::registerMetrics() {
  metrics_.gauge("thunder_build_info", "Build information; the value is always 1.",
                 {{"version", std::string(thunderVersion())}}, [] { return 1.0; });
  metrics_.gauge("thunder_uptime_seconds", "Seconds since the node started.", {}, [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - created_at_).count();
  });
  for (size_t i = 0; i < components_.size(); ++i) {
    metrics_.gauge("thunder_component_up", "1 while the component is running, else 0.",
                   {{"component", std::string(components_[i]->name())}},
                   [this, i] { return started_count_.load() > i ? 1.0 : 0.0; });
  }
}

Result<ReadyInfo> Node::start() {
  THUNDER_CHECK(state_.load() == State::kCreated, "Node::start called twice");
  state_ = State::kStarting;
  runtime_->start();
  for (auto& component : components_) {
    THUNDER_LOG(debug, "node", "starting {}", component->name());
    if (auto ok = component->start(); !ok) {
      state_ = State::kFailed;
      Error error = ok.error().withContext(fmt::format("cannot start {}", component->name()));
      THUNDER_LOG(error, "node", "{}", error.message);
      stop();
      return fail(std::move(error));
    }
    started_count_.fetch_add(1);
  }
  state_ = State::kRunning;

  ReadyInfo info{std::string(thunderVersion()),
                 key_.publicKey().hex(),
                 data_dir_->path().string(),
                 admin_->localAddress(),
                 sessions_->localAddress(),
                 sessions_->quicUrl(),
                 sessions_->wsUrl(),
                 gateway_->url(),
                 key_created_};
  nlohmann::json runtime_file = {{"pid", ::getpid()},
                                 {"version", info.version},
                                 {"node_key", info.node_key},
                                 {"admin", info.admin_address},
                                 {"sessions", info.sessions_address},
                                 {"quic", info.quic_url},
                                 {"ws", info.ws_url},
                                 {"gateway", info.gateway_url}};
  if (auto ok = writeFileAtomically(data_dir_->runtimeFile(), runtime_file.dump() + "\n", 0600);
      !ok) {
    THUNDER_LOG(warn, "node", "cannot write {}: {}", data_dir_->runtimeFile().string(),
                ok.error().message);
  }
  THUNDER_LOG(info, "node", "node {} running; admin API on http://{}; sessions on {}",
              info.node_key, info.admin_address, info.sessions_address);
  return info;
}

void Node::stop() {
  const State state = state_.load();
  if (state == State::kStopped || state == State::kCreated) {
    state_ = State::kStopped;
    return;
  }
  state_ = State::kStopping;
  for (size_t i = started_count_.load(); i > 0; --i) {
    THUNDER_LOG(debug, "node", "stopping {}", components_[i - 1]->name());
    components_[i - 1]->stop();
    started_count_.fetch_sub(1);
  }
  runtime_->stop();
  std::error_code ignored;
  std::filesystem::remove(data_dir_->runtimeFile(), ignored);
  state_ = State::kStopped;
}

void Node::requestStop() {
  std::lock_guard lock(stop_mutex_);
  stop_requested_ = true;
  stop_requested_cv_.notify_all();
}

Result<void> Node::run(const std::function<void(const ReadyInfo&)>& on_ready) {
  // Catch signals before anything starts so an early SIGTERM still stops the node cleanly.
  io::ShutdownSignal signal(runtime_->loop(0), [this](int signal_number) {
    THUNDER_LOG(info, "node", "received signal {}; shutting down", signal_number);
    requestStop();
  });
  THUNDER_ASSIGN_OR_RETURN(const ReadyInfo info, start());
  on_ready(info);
  {
    std::unique_lock lock(stop_mutex_);
    stop_requested_cv_.wait(lock, [this] { return stop_requested_; });
  }

  // Bound the shutdown: a component that hangs must not keep the process alive forever.
  std::mutex watchdog_mutex;
  std::condition_variable watchdog_cv;
  bool stopped = false;
  std::thread watchdog([&] {
    std::unique_lock lock(watchdog_mutex);
    if (!watchdog_cv.wait_for(lock, options_.shutdown_grace, [&] { return stopped; })) {
      THUNDER_LOG(error, "node", "shutdown did not finish within {} ms; exiting now",
                  options_.shutdown_grace.count());
      std::fflush(nullptr);
      ::_exit(1);
    }
  });
  stop();
  {
    std::lock_guard lock(watchdog_mutex);
    stopped = true;
  }
  watchdog_cv.notify_all();
  watchdog.join();
  THUNDER_LOG(info, "node", "stopped");
  return {};
}

std::string_view Node::componentState(size_t index) const {
  if (started_count_.load() > index) return "running";
  switch (state_.load()) {
    case State::kFailed: return "failed";
    case State::kStarting: return "starting";
    default: return "stopped";
  }
}

std::string Node::statusJson() const {
  nlohmann::json components = nlohmann::json::array();
  for (size_t i = 0; i < components_.size(); ++i) {
    components.push_back({{"name", components_[i]->name()}, {"state", componentState(i)}});
  }
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - created_at_).count();
  nlohmann::json status = {
      {"version", thunderVersion()},
      {"node_key", key_.publicKey().hex()},
      {"pid", ::getpid()},
      {"data_dir", data_dir_->path().string()},
      {"uptime_seconds", uptime},
      {"endpoints",
       {{"admin", admin_->localAddress()},
        {"sessions", sessions_->localAddress()},
        {"ws", sessions_->wsUrl()},
        {"quic", sessions_->quicUrl()},
        {"gateway", gateway_->url()}}},
      {"components", components},
      {"store", store_->statusJson()},
      {"sessions", sessions_->statusJson()},
      {"ledger", ledger_->statusJson()},
      {"services", services_->statusJson()},
  };
  return status.dump();
}

}  // namespace thunder::node
