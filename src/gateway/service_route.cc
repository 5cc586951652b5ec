#include "gateway/service_route.h"

namespace thunder::gateway {

bool isServiceRoute(std::string_view path) { return path.starts_with("/services/"); }

boost::asio::awaitable<void> serveService(ServerState&, const Request&, BodyReader&,
                                          Response& response) {
  response.error(501, "service routes are not implemented yet");
  co_return;
}

bool isOriginRoute(std::string_view path) { return path.starts_with("/origin/"); }

boost::asio::awaitable<void> serveOrigin(ServerState&, const Request&, Response& response) {
  response.error(501, "origin routes are not implemented yet");
  co_return;
}

}  // namespace thunder::gateway
