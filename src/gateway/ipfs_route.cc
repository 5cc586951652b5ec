#include "gateway/ipfs_route.h"

#include <boost/beast/http/fields.hpp>

#include "content/ipfs_car.h"
#include "content/ipfs_store.h"
#include "crypto/blake3.h"
#include "fetcher/ipfs_origin.h"
#include "gateway/content_type.h"
#include "gateway/ipfs_request.h"
#include "gateway/ipfs_response.h"
#include "gateway/ipfs_unixfs_route.h"
#include "gateway/range_header.h"
#include "io/offload.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
namespace ipfs = content::ipfs;

// Part of every CAR ETag: change it when the blocks chosen for a request change.
constexpr std::string_view kCarEtagVersion = "thunder-car-1";

// A CAR export read on the blocking pool, slice by slice, as the connection sends it. An error
// (kNotFound: a block of the DAG is not stored) cuts the response: the client sees a truncated
// transfer (no final chunk).
class CarBody final : public AsyncBody {
 public:
  CarBody(asio::thread_pool& pool, std::unique_ptr<ipfs::CarStream> stream)
      : pool_(pool), stream_(std::move(stream)) {}

  asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) override {
    ipfs::CarStream* stream = stream_.get();
    uint8_t* data = out.data();
    const size_t size = out.size();
    auto work = [stream, data, size] { return stream->read(std::span(data, size)); };
    auto n = co_await io::offload(pool_, std::move(work));
    co_return n;
  }

 private:
  asio::thread_pool& pool_;
  std::unique_ptr<ipfs::CarStream> stream_;
};

// W/"<cid>.car.<16 hex>": weak (the CAR is what this gateway version chooses to send), unique per
// path, dag-scope, entity-bytes and dups.
std::string carEtag(const IpfsPath& path, const ipfs::CarExportOptions& options) {
  std::string key = fmt::format("{}|{}|", kCarEtagVersion, ipfs::dagScopeName(options.scope));
  if (options.bytes) {
    key += fmt::format("{}:", options.bytes->from);
    key += options.bytes->to ? std::to_string(*options.bytes->to) : std::string("*");
  }
  key += options.dups ? "|y|" : "|n|";
  for (const auto& segment : path.segments) {
    key += std::to_string(segment.size());
    key += ':';
    key += segment;
  }
  const BlobId digest =
      crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
  return fmt::format("W/\"{}.car.{}\"", path.cid.toString(), digest.hex().substr(0, 16));
}

// Content-Location for a format negotiated by Accept: the same URL with ?format=.
void contentLocation(const Request& request, Response& response, const IpfsNegotiation& negotiation,
                     std::string_view format) {
  if (!negotiation.from_accept) return;
  if (request.query.empty()) {
    response.headerf("Content-Location", "{}?format={}", request.path, format);
  } else {
    response.headerf("Content-Location", "{}?format={}&{}", request.path, format, request.query);
  }
}

// The headers of a raw block answer (and of a 304 for one).
void rawHeaders(const Request& request, Response& response, const IpfsNegotiation& negotiation,
                const ipfs::Cid& cid, std::string_view etag) {
  ipfsCommonHeaders(request, response);
  response.header("ETag", etag);
  response.header("Cache-Control", kIpfsImmutable);
  response.header("X-Content-Type-Options", "nosniff");
  const auto filename = queryParam(request.query, "filename");
  contentDisposition(response, Disposition::kAttachment,
                     filename && !filename->empty() ? *filename : cid.toString() + ".bin");
  contentLocation(request, response, negotiation, "raw");
}

void carHeaders(const Request& request, Response& response, const IpfsPath& path,
                const IpfsNegotiation& negotiation, std::string_view etag) {
  ipfsCommonHeaders(request, response);
  if (path.segments.empty()) ipfsRootsHeader(response, std::span(&path.cid, 1));
  response.header("ETag", etag);
  response.header("Cache-Control", kIpfsImmutable);
  response.header("X-Content-Type-Options", "nosniff");
  response.header("Accept-Ranges", "none");
  const auto filename = queryParam(request.query, "filename");
  contentDisposition(response, Disposition::kAttachment,
                     filename && !filename->empty() ? *filename : path.cid.toString() + ".car");
  contentLocation(request, response, negotiation, "car");
}

asio::awaitable<void> serveRawBlock(ServerState& state, const Request& request, Response& response,
                                    const IpfsPath& path, const IpfsNegotiation& negotiation) {
  ipfs::IpfsStore* store = state.backends.ipfs;
  ipfs::Cid cid = path.cid;
  if (!path.segments.empty()) {  // the block at the end of the path
    const IpfsPath* p = &path;
    auto work = [store, p] { return store->resolve(p->cid, p->segments); };
    auto resolved = co_await io::offload(state.runtime.blockingPool(), std::move(work));
    if (!resolved) {
      answerStoreError(response, path, resolved.error());
      co_return;
    }
    cid = resolved->cid;
  }
  const ipfs::Cid* wanted = &cid;
  auto work = [store, wanted] { return store->getBlock(*wanted); };
  auto block = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!block) {
    answerStoreError(response, path, block.error());
    co_return;
  }
  if (!*block) {
    answerStoreError(response, path,
                     Error{ErrorCode::kNotFound,
                           fmt::format("block {} is not stored on this node", cid.toString())});
    co_return;
  }
  const std::string etag = fmt::format("\"{}.raw\"", cid.toString());
  rawHeaders(request, response, negotiation, cid, etag);
  if (path.segments.empty()) ipfsRootsHeader(response, std::span(&cid, 1));
  if (ipfsNotModified(request, response, etag)) co_return;
  response.header("Content-Type", kIpldRawType);
  const auto& bytes = **block;
  response.addText(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

asio::awaitable<void> serveCar(ServerState& state, const Request& request, Response& response,
                               const IpfsPath& path, const IpfsNegotiation& negotiation) {
  ipfs::IpfsStore* store = state.backends.ipfs;
  const IpfsPath* p = &path;
  const ipfs::CarExportOptions* options = &negotiation.car;
  auto work = [store, p, options] { return store->exportCar(p->cid, p->segments, *options); };
  auto stream = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!stream) {  // the root or a block of the path is missing: nothing sent yet
    answerStoreError(response, path, stream.error());
    co_return;
  }
  const std::string etag = carEtag(path, negotiation.car);
  carHeaders(request, response, path, negotiation, etag);
  if (ipfsNotModified(request, response, etag)) co_return;
  response.header("Content-Type", carContentType(negotiation.car));
  response.setAsyncBody(std::make_unique<CarBody>(state.runtime.blockingPool(), std::move(*stream)),
                        std::nullopt);
}

// An identity CID without a path: its data is in the CID (the probe /ipfs/bafkqaaa is one).
void serveIdentity(const Request& request, Response& response, const IpfsPath& path,
                   const IpfsNegotiation& negotiation) {
  const std::vector<uint8_t>& data = path.cid.hash().digest;
  const std::string_view bytes(reinterpret_cast<const char*>(data.data()), data.size());
  if (negotiation.format == IpfsFormat::kRaw) {
    const std::string etag = fmt::format("\"{}.raw\"", path.cid.toString());
    rawHeaders(request, response, negotiation, path.cid, etag);
    ipfsRootsHeader(response, std::span(&path.cid, 1));
    if (ipfsNotModified(request, response, etag)) return;
    response.header("Content-Type", kIpldRawType);
    response.addText(bytes);
    return;
  }
  if (negotiation.format == IpfsFormat::kCar) {
    // The header names the CID; identity blocks are never sent (Trustless Gateway spec).
    const std::string etag = carEtag(path, negotiation.car);
    carHeaders(request, response, path, negotiation, etag);
    if (ipfsNotModified(request, response, etag)) return;
    response.header("Content-Type", carContentType(negotiation.car));
    const std::vector<uint8_t> header = ipfs::encodeCarHeader(std::span(&path.cid, 1));
    response.addText(std::string_view(reinterpret_cast<const char*>(header.data()), header.size()));
    return;
  }
  // Deserialized raw data: the bytes, as a file.
  const std::string etag = fmt::format("\"{}\"", path.cid.toString());
  ipfsCommonHeaders(request, response);
  ipfsRootsHeader(response, std::span(&path.cid, 1));
  response.header("ETag", etag);
  response.header("Cache-Control", kIpfsImmutable);
  response.header("X-Content-Type-Options", "nosniff");
  if (ipfsNotModified(request, response, etag)) return;
  response.header("Accept-Ranges", "bytes");
  const std::string_view type = sniffContentType(data, SampleKind::kWholeBlob);
  if (!request.range.empty()) {
    if (auto specs = parseRangeHeader(request.range)) {
      const ResolvedRanges resolved = resolveRanges(*specs, data.size());
      if (resolved.outcome == RangeOutcome::kUnsatisfiable) {
        response.errorf(416, "none of the requested ranges is within {} ({} bytes)",
                        path.cid.toString(), data.size());
        response.headerf("Content-Range", "bytes */{}", data.size());
        return;
      }
      if (resolved.ranges.size() == 1) {  // several ranges of ≤ 128 bytes: the whole instead
        const auto& range = resolved.ranges[0];
        response.setStatus(206);
        response.header("Content-Type", type);
        response.header("Content-Range", contentRange(range, data.size()));
        response.addText(bytes.substr(range.start, range.end - range.start));
        return;
      }
    }
  }
  response.header("Content-Type", type);
  response.addText(bytes);
}

bool isServiceWorkerScript(const Request& request) {
  if (request.fields == nullptr) return false;
  const auto it = request.fields->find("Service-Worker");
  return it != request.fields->end() && it->value() == "script";
}

}  // namespace

bool isIpfsRoute(std::string_view path) {
  return path == "/ipfs" || path.starts_with("/ipfs/");
}

asio::awaitable<void> serveIpfs(ServerState& state, LoopState& loop, const Request& request,
                                Response& response) {
  if (state.backends.ipfs == nullptr) {
    response.error(404, "this gateway serves no IPFS content");
    co_return;
  }
  auto parsed = parseIpfsPath(request.path);
  if (!parsed) {
    response.error(400, parsed.error().message);
    co_return;
  }
  const IpfsPath& path = *parsed;
  auto negotiated = negotiateIpfs(request.query, request.accept);
  if (!negotiated) {
    response.error(400, negotiated.error().message);
    co_return;
  }
  const IpfsNegotiation& negotiation = *negotiated;
  if (negotiation.format == IpfsFormat::kUnsupported) {
    response.errorf(501,
                    "format={} is not supported by this gateway: it serves format=raw (a block), "
                    "format=car and deserialized UnixFS files and directories",
                    negotiation.unsupported.substr(0, 50));
    co_return;
  }
  if (isServiceWorkerScript(request) && path.segments.empty() &&
      path.trailing_slash == TrailingSlash::kNo) {
    // A service worker registered at /ipfs/<cid> would control every CID on this origin.
    response.error(400,
                   "a service worker may only be registered under /ipfs/<cid>/ (with the slash)");
    co_return;
  }
  if (path.cid.hash().code == ipfs::kIdentity && path.segments.empty() &&
      (negotiation.format != IpfsFormat::kDeserialized || path.cid.codec() == ipfs::kRaw)) {
    serveIdentity(request, response, path, negotiation);
    co_return;
  }
  if (state.backends.ipfs_origin != nullptr && state.backends.ipfs_origin->enabled()) {
    // A root the store lacks is fetched from the IPFS gateways first (verified, then imported).
    const bool have = state.backends.ipfs->hasBlock(path.cid).value_or(false);
    if (!have) {
      auto fetching = state.backends.ipfs_origin->fetch(path.cid);
      const auto fetched = co_await std::move(fetching);
      if (!fetched && fetched.error().code != ErrorCode::kNotFound) {
        const unsigned status = fetched.error().code == ErrorCode::kTimeout ? 504 : 502;
        response.errorf(status, "/ipfs/{}: {}", path.cid_text.substr(0, 120),
                        fetched.error().message);
        co_return;
      }
    }
  }
  switch (negotiation.format) {
    case IpfsFormat::kRaw:
      co_await serveRawBlock(state, request, response, path, negotiation);
      co_return;
    case IpfsFormat::kCar:
      co_await serveCar(state, request, response, path, negotiation);
      co_return;
    case IpfsFormat::kDeserialized:
    case IpfsFormat::kUnsupported: break;
  }
  co_await serveUnixfs(state, loop, request, response, path);
}

}  // namespace thunder::gateway
