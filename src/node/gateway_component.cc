#include "node/gateway_component.h"

namespace thunder::node {

GatewayComponent::GatewayComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                   gateway::GatewayOptions options, StoreComponent& store,
                                   MetricsRegistry& metrics)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      store_(store),
      metrics_(metrics) {}

GatewayComponent::~GatewayComponent() {
  stop();
}

Result<void> GatewayComponent::start() {
  if (store_.store() == nullptr) {
    return fail(ErrorCode::kUnavailable, "the blob store is not open (start the store first)");
  }
  gateway::GatewayOptions options = options_;
  if (options.spool_dir.empty()) options.spool_dir = content::storeDirIn(data_dir_) / "tmp";
  THUNDER_ASSIGN_OR_RETURN(server_, gateway::GatewayServer::start(runtime_, *store_.store(),
                                                                  std::move(options), &metrics_));
  return {};
}

void GatewayComponent::stop() {
  if (server_) server_->stop();
  server_.reset();
}

std::string GatewayComponent::localAddress() const {
  return server_ ? server_->localAddress() : std::string();
}

std::string GatewayComponent::url() const {
  return server_ ? server_->url() : std::string();
}

}  // namespace thunder::node
