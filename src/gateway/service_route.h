// ANY /services/<id>/<path>: HTTP answered by a service (internal to the gateway module;
// docs/gateway.md "Services"), and GET|HEAD /origin/<name>/<path>: a configured origin's
// content through the fetcher. Run on the connection's loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "gateway/exchange.h"
#include "gateway/server_state.h"
#include "gateway/upload_route.h"

namespace thunder::gateway {

// Implemented by the node: opens a connection to a running service for one HTTP exchange.
class ServiceRouter {
 public:
  virtual ~ServiceRouter() = default;
};

// "/services/…".
bool isServiceRoute(std::string_view path);
boost::asio::awaitable<void> serveService(ServerState& state, const Request& request,
                                          BodyReader& body, Response& response);

// "/origin/…".
bool isOriginRoute(std::string_view path);
boost::asio::awaitable<void> serveOrigin(ServerState& state, const Request& request,
                                         Response& response);

}  // namespace thunder::gateway
