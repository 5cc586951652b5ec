#include "gateway/delegated_routing.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/fields.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"
#include "crypto/blake3.h"
#include "gateway/error_status.h"
#include "gateway/ipfs_route.h"
#include "gateway/log_limit.h"
#include "gateway/request_target.h"
#include "io/offload.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
namespace ipfs = content::ipfs;

constexpr std::string_view kPrefix = "/routing/v1/";
constexpr std::string_view kNdjson = "application/x-ndjson";

// A DNS name as a multiaddr /dns component accepts it (letters, digits, '-', '.').
bool isDnsName(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string ipComponent(const asio::ip::address& address) {
  return fmt::format("/{}/{}", address.is_v4() ? "ip4" : "ip6", address.to_string());
}

// Splits a comma-separated IPIP-484 filter into its items.
std::vector<std::string> splitFilter(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty() && out.size() < 32) {
    const size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

// IPIP-484 filter-protocols: the record passes when one listed protocol is ours ("unknown" only
// matches records without protocols; ours has one).
bool passesProtocolFilter(std::string_view query) {
  const auto value = queryParam(query, "filter-protocols");
  if (!value || value->empty()) return true;
  for (const auto& item : splitFilter(*value)) {
    if (item == kGatewayHttpProtocol) return true;
  }
  return false;
}

// IPIP-484 filter-addrs: our one address passes when no negative item ("!name") names one of its
// protocols and, if there are positive items, one of them does.
bool passesAddressFilter(std::string_view query, std::string_view multiaddr) {
  const auto value = queryParam(query, "filter-addrs");
  if (!value || value->empty()) return true;
  // Our addresses are "/<ip4|ip6|dns>/<host>/tcp/<port>/http".
  const std::string_view family = multiaddr.substr(1, multiaddr.find('/', 1) - 1);
  const std::array<std::string_view, 3> ours = {family, "tcp", "http"};
  auto isOurs = [&](std::string_view name) {
    return std::find(ours.begin(), ours.end(), name) != ours.end();
  };
  bool positive = false;
  bool matched = false;
  for (const auto& item : splitFilter(*value)) {
    if (item.starts_with('!')) {
      if (isOurs(std::string_view(item).substr(1))) return false;
    } else {
      positive = true;
      if (isOurs(item)) matched = true;
    }
  }
  return !positive || matched;
}

void routingHeaders(Response& response) {
  response.header("Vary", "Accept");
  response.header("Access-Control-Allow-Origin", "*");
  response.header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
}

}  // namespace

std::string libp2pPeerId(const PublicKey& key) {
  // Multihash(identity, protobuf PublicKey{Type = 1 (Ed25519), Data = key}).
  std::vector<uint8_t> bytes = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  bytes.insert(bytes.end(), key.bytes().begin(), key.bytes().end());
  std::string text = ipfs::multibaseEncode(ipfs::Multibase::kBase58Btc, bytes);
  return text.substr(1);  // bare base58btc, without the multibase prefix 'z'
}

std::string gatewayPeerId(const std::optional<PublicKey>& node_key,
                          const asio::ip::tcp::endpoint& bound) {
  if (node_key) return libp2pPeerId(*node_key);
  crypto::Blake3Hasher hasher;
  const std::string seed =
      fmt::format("thunder-gateway-peer-id:{}:{}", bound.address().to_string(), bound.port());
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  const BlobId digest = hasher.finalize();
  return libp2pPeerId(PublicKey(digest.bytes()));
}

std::string gatewayMultiaddr(const asio::ip::tcp::endpoint& bound, std::string_view host) {
  const asio::ip::address address = bound.address();
  if (!address.is_unspecified()) {
    return fmt::format("{}/tcp/{}/http", ipComponent(address), bound.port());
  }
  // Bound to every address: the one the client used, from its Host header.
  std::string_view name = host;
  std::string_view port_text;
  if (name.starts_with('[')) {
    const size_t close = name.find(']');
    if (close != std::string_view::npos) {
      if (close + 1 < name.size() && name[close + 1] == ':') port_text = name.substr(close + 2);
      name = name.substr(1, close - 1);
    } else {
      name = {};
    }
  } else if (const size_t colon = name.rfind(':');
             colon != std::string_view::npos && name.find(':') == colon) {
    port_text = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  unsigned port = 80;
  if (!port_text.empty()) {
    port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        port = 0;
        break;
      }
      port = port * 10 + static_cast<unsigned>(c - '0');
    }
    if (port == 0 || port > 65535) name = {};
  }
  boost::system::error_code ec;
  const auto literal = asio::ip::make_address(std::string(name), ec);
  if (!name.empty() && !ec) return fmt::format("{}/tcp/{}/http", ipComponent(literal), port);
  if (isDnsName(name)) return fmt::format("/dns/{}/tcp/{}/http", name, port);
  const auto loopback = address.is_v4() ? asio::ip::address(asio::ip::address_v4::loopback())
                                        : asio::ip::address(asio::ip::address_v6::loopback());
  return fmt::format("{}/tcp/{}/http", ipComponent(loopback), bound.port());
}

bool isRoutingRoute(std::string_view path) {
  return path.starts_with(kPrefix);
}

asio::awaitable<void> serveRouting(ServerState& state, const Request& request, Response& response) {
  std::string_view rest = request.path.substr(kPrefix.size());
  const size_t slash = rest.find('/');
  const std::string_view kind = rest.substr(0, slash);
  if (kind == "peers" || kind == "ipns") {
    response.errorf(501,
                    "/routing/v1/{} is not supported by this node: it answers "
                    "/routing/v1/providers/<cid> for the content it stores",
                    kind);
    routingHeaders(response);
    co_return;
  }
  if (kind != "providers") {
    response.errorf(400, "unknown routing path {}: this node answers /routing/v1/providers/<cid>",
                    request.path.substr(0, 200));
    routingHeaders(response);
    co_return;
  }
  const std::string_view cid_text =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (cid_text.empty() || cid_text.find('/') != std::string_view::npos) {
    response.error(400, "use /routing/v1/providers/<cid> (one CID, no path)");
    routingHeaders(response);
    co_return;
  }
  auto cid = ipfs::Cid::parse(cid_text);
  if (!cid) {
    response.errorf(400, "malformed CID \"{}\": {}", cid_text.substr(0, 120), cid.error().message);
    routingHeaders(response);
    co_return;
  }
  if (state.backends.ipfs == nullptr) {
    response.errorf(404, "no providers: this gateway serves no IPFS content");
    routingHeaders(response);
    co_return;
  }

  bool have = cid->hash().code == ipfs::kIdentity;  // the CID holds its own data
  if (!have) {
    ipfs::IpfsStore* store = state.backends.ipfs;
    const ipfs::Cid* wanted = &*cid;
    auto work = [store, wanted] { return store->hasBlock(*wanted); };
    auto found = co_await io::offload(state.runtime.blockingPool(), std::move(work));
    if (!found) {
      THUNDER_GATEWAY_WARN("cannot look up block {}: {}", cid_text, found.error().message);
      response.error(statusForError(found.error().code), found.error().message);
      co_return;
    }
    have = *found;
  }
  std::string_view host;
  if (request.fields != nullptr) host = (*request.fields)[boost::beast::http::field::host];
  const std::string address = gatewayMultiaddr(state.local, host);
  if (!have || !passesProtocolFilter(request.query) ||
      !passesAddressFilter(request.query, address)) {
    if (have) {
      response.errorf(404, "no providers of {} pass the filters", cid_text.substr(0, 120));
    } else {
      response.errorf(404, "no providers: this node does not have {}", cid_text.substr(0, 120));
    }
    routingHeaders(response);
    co_return;
  }

  nlohmann::json record = {
      {"Schema", "peer"},
      {"ID", gatewayPeerId(state.options.node_key, state.local)},
      {"Addrs", nlohmann::json::array({address})},
      {"Protocols", nlohmann::json::array({std::string(kGatewayHttpProtocol)})},
  };
  const bool ndjson = request.accept.find(kNdjson) != std::string_view::npos;
  response.header("Content-Type", ndjson ? kNdjson : "application/json");
  response.header("Cache-Control", "public, max-age=300");
  routingHeaders(response);
  if (ndjson) {
    response.addText(record.dump() + "\n");
  } else {
    response.addText(nlohmann::json{{"Providers", nlohmann::json::array({record})}}.dump() + "\n");
  }
}

}  // namespace thunder::gateway
