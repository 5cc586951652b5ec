// AdminApi: the operator's HTTP endpoint (loopback by default).
//
//   GET /health   200 "ok" while the node runs
//   GET /metrics  Prometheus text format 0.0.4 from the node's MetricsRegistry
//   GET /status   JSON produced by the node (see docs/admin-api.md)
//   ...           routes other components add with addRoute() (e.g. the blob store's)
//
// Owned by the node as a component. Routes are added before start(); requests are served on the
// runtime's loops, so handlers must be thread-safe and offload blocking work.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/metrics.h"
#include "io/runtime.h"
#include "net/http_server.h"
#include "node/component.h"
#include "node/options.h"

namespace thunder::node {

// Who may call a route. Routes that change state or read local files are loopback-only, even
// when the operator exposes the admin API on another address.
enum class RouteAccess { kAnyone, kLoopbackOnly };

using AdminHandler = std::function<boost::asio::awaitable<net::HttpResponse>(net::HttpRequest)>;

// An error as an admin API response: an HTTP status for its code and the JSON body
// {"error": {"code": "not_found", "message": "..."}} (docs/admin-api.md).
net::HttpResponse errorResponse(const Error& error);
// The Error an admin API error response carries (kUnavailable for an unexpected answer).
Error errorFromResponse(const net::HttpResponse& response);

class AdminApi : public Component {
 public:
  AdminApi(io::Runtime& runtime, AdminOptions options, MetricsRegistry& metrics,
           std::function<std::string()> status_json);
  ~AdminApi() override;

  std::string_view name() const override { return "admin"; }
  Result<void> start() override;
  void stop() override;

  // Adds a route for an exact path. Must be called before start().
  void addRoute(std::string method, std::string path, RouteAccess access, AdminHandler handler);

  // The bound address; valid after start().
  std::string localAddress() const;

 private:
  struct Route {
    std::string method;
    std::string path;
    RouteAccess access;
    AdminHandler handler;
  };

  boost::asio::awaitable<net::HttpResponse> handle(net::HttpRequest request);

  io::Runtime& runtime_;
  AdminOptions options_;
  MetricsRegistry& metrics_;
  std::vector<Route> routes_;  // immutable after start()
  std::unique_ptr<net::HttpServer> server_;
};

}  // namespace thunder::node
