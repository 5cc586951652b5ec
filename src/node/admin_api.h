// AdminApi: the operator's HTTP endpoint (loopback by default).
//
//   GET /health   200 "ok" while the node runs
//   GET /metrics  Prometheus text format 0.0.4 from the node's MetricsRegistry
//   GET /status   JSON produced by the node (see docs/admin-api.md)
//
// Owned by the node as a component. Requests are served on the runtime's loops; the status
// callback must be thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "io/runtime.h"
#include "net/http_server.h"
#include "node/component.h"
#include "node/options.h"

namespace thunder::node {

class AdminApi : public Component {
 public:
  AdminApi(io::Runtime& runtime, AdminOptions options, MetricsRegistry& metrics,
           std::function<std::string()> status_json);
  ~AdminApi() override;

  std::string_view name() const override { return "admin"; }
  Result<void> start() override;
  void stop() override;

  // The bound address; valid after start().
  std::string localAddress() const;

 private:
  net::HttpResponse handle(const net::HttpRequest& request);

  io::Runtime& runtime_;
  AdminOptions options_;
  MetricsRegistry& metrics_;
  std::function<std::string()> status_json_;
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace thunder::node
