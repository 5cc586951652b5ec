#include "node/gateway_component.h"

namespace thunder::node {

GatewayComponent::GatewayComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                   gateway::GatewayOptions options, StoreComponent& store,
                                   MetricsRegistry& metrics, ServiceComponent* services,
                                   FetcherComponent* fetcher)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      store_(store),
      metrics_(metrics),
      services_(services),
      fetcher_(fetcher) {}

GatewayComponent::~GatewayComponent() {
  stop();
}

Result<void> GatewayComponent::start() {
  if (store_.store() == nullptr) {
    return fail(ErrorCode::kUnavailable, "the blob store is not open (start the store first)");
  }
  gateway::GatewayOptions options = options_;
  if (options.spool_dir.empty()) options.spool_dir = content::storeDirIn(data_dir_) / "tmp";
  gateway::GatewayBackends backends;
  backends.ipfs = store_.ipfs();
  if (fetcher_ != nullptr) {
    backends.fetcher = fetcher_->fetcher();
    backends.ipfs_origin = fetcher_->ipfsOrigin();
  }
  if (services_ != nullptr) {
    router_ = std::make_unique<ExecutedServiceRouter>(*services_);
    backends.services = router_.get();
  }
  auto server = gateway::GatewayServer::start(runtime_, *store_.store(), std::move(options),
                                              &metrics_, backends);
  if (!server) {
    router_.reset();
    return fail(server.error());
  }
  server_ = std::move(server).value();
  return {};
}

void GatewayComponent::stop() {
  if (server_) server_->stop();
  server_.reset();
  // After the server: no new exchange can start; the open ones end with their connections.
  if (router_) router_->stop();
  router_.reset();
}

std::string GatewayComponent::localAddress() const {
  return server_ ? server_->localAddress() : std::string();
}

std::string GatewayComponent::url() const {
  return server_ ? server_->url() : std::string();
}

}  // namespace thunder::node
