// Fuzz target: the /ipfs/ and /routing/v1/ request parsers (gateway/ipfs_request.h,
// gateway/delegated_routing.h). Input: text split at the first two NUL bytes into a path (after
// "/ipfs/"), a query and an Accept header; the whole input is also used as a Host header. Must
// never crash, and what is accepted must be consistent: path segments are valid UnixFS entry
// names that survive percent-encoding and parsing again; a negotiated CAR has a valid scope and
// entity-bytes only with dag-scope=entity; multiaddrs are /ip4, /ip6 or /dns with /tcp/<port>/http.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "content/ipfs_unixfs.h"
#include "gateway/delegated_routing.h"
#include "gateway/ipfs_request.h"
#include "gateway/request_target.h"

namespace {

using namespace thunder;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzzPath(std::string_view text) {
  std::string target = "/ipfs/";
  target += text;
  auto path = gateway::parseIpfsPath(target);
  if (!path) {
    check(path.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  check(path->segments.size() <= gateway::kMaxIpfsSegments);
  std::string again = "/ipfs/";
  again += path->cid_text;
  for (const auto& segment : path->segments) {
    check(content::ipfs::checkEntryName(segment).has_value());
    again += '/';
    again += gateway::percentEncodeSegment(segment);
  }
  if (path->trailing_slash == gateway::TrailingSlash::kYes) again += "/";
  auto reparsed = gateway::parseIpfsPath(again);
  check(reparsed.has_value() && reparsed->cid == path->cid &&
        reparsed->segments == path->segments && reparsed->trailing_slash == path->trailing_slash);
}

void fuzzNegotiation(std::string_view query, std::string_view accept) {
  auto negotiated = gateway::negotiateIpfs(query, accept);
  if (!negotiated) {
    check(negotiated.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  if (negotiated->format == gateway::IpfsFormat::kCar) {
    const auto& car = negotiated->car;
    if (car.bytes) check(car.scope == content::ipfs::DagScope::kEntity);
    check(gateway::carContentType(car).starts_with("application/vnd.ipld.car; version=1;"));
  }
  check((negotiated->format == gateway::IpfsFormat::kUnsupported) ==
        !negotiated->unsupported.empty());
}

void fuzzHost(std::string_view host) {
  for (const char* bound : {"0.0.0.0", "::"}) {
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address(bound), 4280);
    const std::string address = gateway::gatewayMultiaddr(endpoint, host);
    check(address.starts_with("/ip4/") || address.starts_with("/ip6/") ||
          address.starts_with("/dns/"));
    check(address.ends_with("/http") && address.find("/tcp/") != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(input), input == nullptr ? 0 : size);
  const size_t first = text.find('\0');
  const std::string_view path = text.substr(0, first);
  std::string_view query;
  std::string_view accept;
  if (first != std::string_view::npos) {
    const std::string_view rest = text.substr(first + 1);
    const size_t second = rest.find('\0');
    query = rest.substr(0, second);
    if (second != std::string_view::npos) accept = rest.substr(second + 1);
  }
  fuzzPath(path);
  fuzzNegotiation(query, accept);
  fuzzNegotiation(text, text);
  fuzzHost(text);
  return 0;
}
