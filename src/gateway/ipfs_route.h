// The IPFS routes of the gateway (internal to the gateway module; docs/gateway.md "IPFS" and
// "Delegated routing"):
//   GET|HEAD /ipfs/<cid>[/<path>]      Trustless Gateway (raw blocks, CAR streams) and, for
//                                      browsers, UnixFS files and directories
//                                      (ipfs_unixfs_route.h), from ServerState::backends.ipfs
//   GET|HEAD /routing/v1/providers/<cid>  Delegated Routing V1: this gateway as the provider of
//                                      the blocks it stores (implemented in delegated_routing.cc)
// Without backends.ipfs both answer 404. Run on the connection's loop; IpfsStore work goes to
// the runtime's blocking pool. The references must stay valid until the coroutine ends (the
// connection awaits it directly).
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
