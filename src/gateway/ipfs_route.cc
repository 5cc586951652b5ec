#include "gateway/ipfs_route.h"

namespace thunder::gateway {

bool isIpfsRoute(std::string_view path) { return path == "/ipfs" || path.starts_with("/ipfs/"); }

boost::asio::awaitable<void> serveIpfs(ServerState& state, LoopState&, const Request&,
                                       Response& response) {
  if (state.backends.ipfs == nullptr) {
    response.error(404, "this gateway serves no IPFS content");
    co_return;
  }
  response.error(501, "IPFS routes are not implemented yet");
  co_return;
}

bool isRoutingRoute(std::string_view path) { return path.starts_with("/routing/v1/"); }

boost::asio::awaitable<void> serveRouting(ServerState&, const Request&, Response& response) {
  response.error(501, "delegated routing is not implemented yet");
  co_return;
}

}  // namespace thunder::gateway
