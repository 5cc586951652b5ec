// Delegated Routing V1 (internal to the gateway module; docs/gateway.md "Delegated routing"):
// the pieces of GET /routing/v1/providers/<cid> that name this gateway as a provider — its
// libp2p peer id and the /http multiaddr clients reach it at. The route itself is serveRouting()
// (gateway/ipfs_route.h), implemented in delegated_routing.cc.
//
// Pure functions; thread-safe.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "base/strong_types.h"

namespace thunder::gateway {

// The protocol id of a Trustless Gateway provider record.
inline constexpr std::string_view kGatewayHttpProtocol = "transport-ipfs-gateway-http";

// The libp2p peer id of an Ed25519 public key, as text: base58btc of the identity multihash of
// the protobuf PublicKey {Type: Ed25519, Data: key} ("12D3KooW…", 52 characters).
std::string libp2pPeerId(const PublicKey& key);

// The gateway's peer id: of options.node_key when set, else of a stand-in key derived from the
// bound address (BLAKE3 of "thunder-gateway-peer-id:" + address), which no one holds.
std::string gatewayPeerId(const std::optional<PublicKey>& node_key,
                          const boost::asio::ip::tcp::endpoint& bound);

// The multiaddr clients reach the gateway at: "/ip4/127.0.0.1/tcp/4280/http" or
// "/ip6/::1/tcp/4280/http" for the bound address; when bound to a wildcard (0.0.0.0, ::) the
// request's Host header says where the client reached it ("/ip4/…", "/ip6/…" or
// "/dns/<name>/tcp/<port>/http"; port 80 when Host names none); with no usable Host, loopback of
// the bound family.
std::string gatewayMultiaddr(const boost::asio::ip::tcp::endpoint& bound, std::string_view host);

}  // namespace thunder::gateway
