// GatewayComponent: the node's public HTTP gateway (gateway/gateway_server.h, docs/gateway.md)
// as a node component.
//
// Starts a GatewayServer on options.listen (default "127.0.0.1:4280": loopback, like every
// listener of a default node) over the store of the StoreComponent, which must be started
// first (the node starts the store before this and stops this before the store). With a
// ServiceComponent, /services/<id>/… reaches the node's services through an
// ExecutedServiceRouter (node/service_router.h); the services must start before and stop after
// this component. /ipfs/… and /routing/v1/… serve the store component's IpfsStore. With a
// FetcherComponent (started before this), /origin/<name>/… serves the configured origins and
// CIDs missing from the IPFS store are fetched from the configured IPFS gateways. Upload bodies are
// spooled in <data-dir>/store/tmp unless options.spool_dir says otherwise. Metrics:
// thunder_gateway_* in the node's registry. start()/stop() on the node's control thread.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "gateway/gateway_options.h"
#include "gateway/gateway_server.h"
#include "io/runtime.h"
#include "node/component.h"
#include "node/fetcher_component.h"
#include "node/service_router.h"
#include "node/store_component.h"

namespace thunder::node {

class GatewayComponent : public Component {
 public:
  // `store`, `metrics`, `services` (optional: without it /services/… answers 404) and
  // `fetcher` (optional: without it /origin/… answers 404 and missing CIDs are not fetched) are
  // borrowed and must outlive the component.
  GatewayComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                   gateway::GatewayOptions options, StoreComponent& store, MetricsRegistry& metrics,
                   ServiceComponent* services = nullptr, FetcherComponent* fetcher = nullptr);
  ~GatewayComponent() override;

  std::string_view name() const override { return "gateway"; }
  // kUnavailable if the store is not open; the server's errors (address in use, ...).
  Result<void> start() override;
  void stop() override;

  // "127.0.0.1:4280" once started (the real port when the options asked for port 0), else "".
  std::string localAddress() const;
  // "http://127.0.0.1:4280" once started, else "" (for the ready line and /status).
  std::string url() const;

 private:
  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  gateway::GatewayOptions options_;
  StoreComponent& store_;
  MetricsRegistry& metrics_;
  ServiceComponent* services_;
  FetcherComponent* fetcher_;
  std::unique_ptr<ExecutedServiceRouter> router_;  // outlives server_ (stopped after it)
  std::unique_ptr<gateway::GatewayServer> server_;
};

}  // namespace thunder::node
