// ServiceComponent: the services the node runs (the [[services]] of its config) as a node
// component. It owns one executor::ServiceHost per configured service — sandboxed process,
// control channel, restart with back-off, metering — and gives the session layer an
// executor::ExecutedService for each, so that a client session for service id N reaches
// service N.
//
// The content service (id 0): a [[services]] table with id 0 replaces the built-in one. Without
// such a table, start() looks for thunder-service-cdn (findCdnProgram(): THUNDER_SERVICES_DIR, or
// the thunder program's install and build layouts) and runs it as service 0 ("cdn"); it logs
// which content service the node uses and why. If that default CDN has not started by the time
// the sessions register their services (it failed to start, or took longer than
// kContentServiceStartWait), it is stopped and the built-in content service stays, with a log
// line saying why. Services answer ResolveContent for CIDs through the store's IpfsStore
// (unavailable while it has none).
//
// Start after "store" (blob programs and blob requests use its BlobStore) and before
// "sessions", whose start() calls addSessionServices(). Stop after "sessions" (the reverse):
// every service gets End shutdown on its open connections, its control channel closed, SIGTERM,
// then SIGKILL after the grace; all in parallel. Per-service work dirs are
// <data-dir>/services/<id>-<name>/ (materialised blob programs, put-blob scratch files).
// Metrics: the thunder_service_* series of executor/service_metrics.h and service_host.h.
// start()/stop() on the node's control thread; the rest is thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#include "base/metrics.h"
#include "crypto/signing.h"
#include "executor/service_host.h"
#include "handshake/session_service.h"
#include "io/runtime.h"
#include "node/component.h"
#include "node/service_config.h"

namespace thunder::node {

class StoreComponent;

// How long addSessionServices() waits for the content service (id 0) to finish its start.
inline constexpr std::chrono::seconds kContentServiceStartWait{10};

// The executor's view of one [[services]] table.
executor::ServiceSpec toServiceSpec(const ServiceConfig& config);

class ServiceComponent : public Component {
 public:
  // Borrows everything; all must outlive the component. `node_version` is what NodeInfo
  // answers (thunderVersion()).
  ServiceComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                   std::vector<ServiceConfig> services, const crypto::SigningKey& node_key,
                   StoreComponent& store, MetricsRegistry& metrics, std::string node_version,
                   executor::SupervisorOptions supervisor = {});
  ~ServiceComponent() override;

  std::string_view name() const override { return "services"; }
  // Creates a host per service and starts supervising it (a service that fails to start is
  // retried with back-off: it does not fail the node). kInvalidArgument for a bad service
  // spec; kUnavailable if blob programs are configured and the store is not open.
  Result<void> start() override;
  void stop() override;

  // Adds an ExecutedService per host to `services` (the session layer's registry, filled before
  // it serves; add these before the built-in services, which fill the ids left free). Waits up to
  // kContentServiceStartWait for service 0 to be running first; the default CDN that did not
  // start is dropped here (see the file comment). kAlreadyExists if an id is taken.
  Result<void> addSessionServices(handshake::SessionServices& services);

  // [{"id", "name", "state", ...}] for /status (docs/services.md); empty when not started.
  nlohmann::json statusJson() const;

  // The host of service `id`, or null (not configured / not started). Valid until stop().
  executor::ServiceHost* host(ServiceId id) const;

 private:
  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  std::vector<ServiceConfig> services_;
  const crypto::SigningKey& node_key_;
  StoreComponent& store_;
  MetricsRegistry& metrics_;
  std::string node_version_;
  executor::SupervisorOptions supervisor_;

  // start(): the [[services]] tables plus the default CDN when one was found.
  Result<std::vector<ServiceConfig>> withContentService() const;

  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<executor::ServiceHost>> hosts_;  // GUARDED_BY(mutex_)
  bool default_cdn_ = false;  // GUARDED_BY(mutex_): the host of id 0 is the found CDN
};

// One service's status as /status JSON.
nlohmann::json serviceStatusJson(const executor::ServiceStatus& status);

}  // namespace thunder::node
