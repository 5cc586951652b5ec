// The IPFS routes of the gateway (internal to the gateway module; docs/gateway.md "IPFS"):
//   GET|HEAD /ipfs/<cid>[/<path>]      Trustless Gateway (raw blocks, CARs) and UnixFS files and
//                                      directories for browsers, from ServerState::backends.ipfs
//   GET|HEAD /routing/v1/providers/<cid>  Delegated Routing V1: this gateway as the provider
// Run on the connection's loop; store work goes to the runtime's blocking pool.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "gateway/exchange.h"
#include "gateway/server_state.h"

namespace thunder::gateway {

// "/ipfs" or "/ipfs/…".
bool isIpfsRoute(std::string_view path);
boost::asio::awaitable<void> serveIpfs(ServerState& state, LoopState& loop, const Request& request,
                                       Response& response);

// "/routing/v1/…".
bool isRoutingRoute(std::string_view path);
boost::asio::awaitable<void> serveRouting(ServerState& state, const Request& request,
                                          Response& response);

}  // namespace thunder::gateway
