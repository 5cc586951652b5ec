#include "gateway/ipfs_unixfs_route.h"

#include <array>
#include <random>

#include "base/log.h"
#include "content/file_util.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_store.h"
#include "content/ipfs_unixfs.h"
#include "gateway/conditional.h"
#include "gateway/content_type.h"
#include "gateway/ipfs_file_range.h"
#include "gateway/ipfs_listing.h"
#include "gateway/ipfs_response.h"
#include "gateway/range_header.h"
#include "gateway/request_target.h"
#include "io/offload.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
namespace ipfs = content::ipfs;

// Part of the ETag of generated directory pages: change it when their HTML changes.
constexpr std::string_view kListingVersion = "thunder-1";
// Generated pages may change with the gateway version (their ETag says which), so they are not
// marked immutable.
constexpr std::string_view kListingCacheControl = "public, max-age=604800";

// The walk of a content path: the terminal element and one CID per segment (root first), for
// X-Ipfs-Roots.
struct PathWalk {
  ipfs::Resolved terminal;
  std::vector<ipfs::Cid> roots;
};

// Blocking: resolves `segments` one by one from `root`, so that every segment's CID is known.
Result<PathWalk> walkPath(ipfs::IpfsStore& store, const ipfs::Cid& root,
                          std::span<const std::string> segments) {
  PathWalk walk;
  walk.roots.reserve(segments.size() + 1);
  walk.roots.push_back(root);
  if (segments.empty()) {
    THUNDER_ASSIGN_OR_RETURN(walk.terminal, store.resolve(root, {}));
    return walk;
  }
  for (const auto& segment : segments) {
    const ipfs::Cid at = walk.roots.back();
    THUNDER_ASSIGN_OR_RETURN(walk.terminal, store.resolve(at, std::span(&segment, 1)));
    walk.roots.push_back(walk.terminal.cid);
  }
  return walk;
}

// Blocking: the content blob of `cid`, opened (the store records the access for its LRU).
Result<std::shared_ptr<const OpenBlob>> openContent(ipfs::IpfsStore& ipfs_store,
                                                    content::BlobStore& store,
                                                    const ipfs::Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(const BlobId id, ipfs_store.contentBlob(cid));
  THUNDER_ASSIGN_OR_RETURN(auto slice, store.openRange(id, 0, UINT64_MAX));
  auto blob = std::make_shared<OpenBlob>();
  blob->id = id;
  blob->size = slice.length;
  std::array<uint8_t, kSniffBytes> head{};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(blob->size, head.size()));
  THUNDER_TRY(content::preadAll(slice.fd.get(), std::span(head.data(), n), 0,
                                fmt::format("blob {}", id.hex())));
  blob->sniffed_type = sniffContentType(
      std::span(head.data(), n), n == blob->size ? SampleKind::kWholeBlob : SampleKind::kPrefix);
  blob->fd = std::move(slice.fd);
  blob->opened_at = std::chrono::steady_clock::now();
  return std::shared_ptr<const OpenBlob>(std::move(blob));
}

// Blocking: the target of symlink `cid`.
Result<std::string> symlinkTarget(ipfs::IpfsStore& store, const ipfs::Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(auto block, store.getBlock(cid));
  if (!block) return fail(ErrorCode::kNotFound, "block {} is not here", cid.toString());
  THUNDER_ASSIGN_OR_RETURN(auto node, ipfs::decodeDagPb(*block));
  if (!node.data) return fail(ErrorCode::kCorruption, "symlink {} has no data", cid.toString());
  THUNDER_ASSIGN_OR_RETURN(auto data, ipfs::decodeUnixfs(*node.data));
  if (!data.data) return std::string();
  return std::string(data.data->begin(), data.data->end());
}

std::string boundary() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("THUNDER{:016x}", random());
}

// The bytes of `blob`: 200, 206 or 206 multipart (as /b3/ answers).
void respondBytes(Response& response, const OpenBlob& blob, std::string_view type,
                  const ResolvedRanges* ranges) {
  response.header("Accept-Ranges", "bytes");
  if (ranges == nullptr) {
    response.header("Content-Type", type);
    response.addFile(blob.fd.get(), 0, blob.size);
    return;
  }
  response.setStatus(206);
  if (ranges->ranges.size() == 1) {
    response.header("Content-Type", type);
    response.header("Content-Range", contentRange(ranges->ranges[0], blob.size));
    response.addFile(blob.fd.get(), ranges->ranges[0].start,
                     ranges->ranges[0].end - ranges->ranges[0].start);
    return;
  }
  const std::string separator = boundary();
  response.headerf("Content-Type", "multipart/byteranges; boundary={}", separator);
  for (const auto& range : ranges->ranges) {
    response.addText(fmt::format("\r\n--{}\r\nContent-Type: {}\r\nContent-Range: {}\r\n\r\n",
                                 separator, type, contentRange(range, blob.size)));
    response.addFile(blob.fd.get(), range.start, range.end - range.start);
  }
  response.addText(fmt::format("\r\n--{}--\r\n", separator));
}

// ?filename= and ?download=true → Content-Disposition; returns the filename ("" when none).
std::string dispositionFromQuery(const Request& request, Response& response) {
  const auto filename = queryParam(request.query, "filename");
  const auto download = queryParam(request.query, "download");
  const bool attachment = download && *download == "true";
  if (filename && !filename->empty()) {
    contentDisposition(response, attachment ? Disposition::kAttachment : Disposition::kInline,
                       *filename);
    return *filename;
  }
  if (attachment) contentDisposition(response, Disposition::kAttachment, {});
  return {};
}

// The Range header to honour: nullopt when absent, malformed (ignored, RFC 9110) or when
// If-Range does not match.
std::optional<std::vector<RangeSpec>> rangeSpecs(const Request& request, std::string_view etag) {
  if (request.range.empty()) return std::nullopt;
  if (!request.if_range.empty() && !ifRangeMatches(request.if_range, etag)) return std::nullopt;
  auto specs = parseRangeHeader(request.range);
  if (!specs) return std::nullopt;
  return std::move(*specs);
}

void unsatisfiable(Response& response, const ipfs::Cid& cid, uint64_t size) {
  response.errorf(416, "none of the requested ranges is within {} ({} bytes)", cid.toString(),
                  size);
  response.headerf("Content-Range", "bytes */{}", size);
}

// What a Range request gets from the blocks of a file whose content blob cannot be built.
struct BlockRange {
  uint64_t size = 0;
  std::optional<content::ByteRange> range;  // nullopt: unsatisfiable
  std::string bytes;
};

// Blocking: the one range `specs` selects in file `cid`, read from the blocks it covers.
// kInvalidArgument when the specs select several ranges (not served this way).
Result<BlockRange> readBlockRange(ipfs::IpfsStore& store, const ipfs::Cid& cid,
                                  const std::vector<RangeSpec>& specs) {
  BlockRange out;
  THUNDER_ASSIGN_OR_RETURN(out.size, unixfsFileSize(store, cid));
  const ResolvedRanges resolved = resolveRanges(specs, out.size);
  if (resolved.outcome == RangeOutcome::kUnsatisfiable) return out;
  if (resolved.ranges.size() != 1) {
    return fail(ErrorCode::kInvalidArgument, "several ranges of an incomplete file");
  }
  out.range = resolved.ranges[0];
  THUNDER_ASSIGN_OR_RETURN(out.bytes, readUnixfsRange(store, cid, *out.range));
  return out;
}

// Serves file (or raw block) `cid` from its content blob. `type_hint`: the type by name ("" to
// sniff).
asio::awaitable<void> serveFile(ServerState& state, LoopState& loop, const Request& request,
                                Response& response, const IpfsPath& path, const PathWalk& walk,
                                ipfs::Cid cid, std::string_view type_hint) {
  const std::string etag = fmt::format("\"{}\"", cid.toString());
  ipfsCommonHeaders(request, response);
  ipfsRootsHeader(response, walk.roots);
  response.header("ETag", etag);
  response.header("Cache-Control", kIpfsImmutable);
  response.header("X-Content-Type-Options", "nosniff");
  const std::string filename = dispositionFromQuery(request, response);
  if (ipfsNotModified(request, response, etag)) co_return;
  std::string_view type = type_hint;
  if (!filename.empty()) {
    if (const std::string_view by_name = contentTypeForName(filename); !by_name.empty()) {
      type = by_name;
    }
  }
  const auto specs = rangeSpecs(request, etag);

  // The content blob: a remembered one may still be open on this loop.
  std::shared_ptr<const OpenBlob> blob;
  ipfs::IpfsStore* ipfs_store = state.backends.ipfs;
  const ipfs::Cid* wanted = &cid;
  auto lookup = [ipfs_store, wanted] { return ipfs_store->lookupContentBlob(*wanted); };
  auto remembered = co_await io::offload(state.runtime.blockingPool(), std::move(lookup));
  if (remembered && *remembered) {
    blob = loop.blobs.find(**remembered, std::chrono::steady_clock::now());
  }
  if (blob) {
    state.counters.cache_hits->add();
  } else {
    state.counters.cache_misses->add();
    content::BlobStore* store = &state.store;
    auto work = [ipfs_store, store, wanted] { return openContent(*ipfs_store, *store, *wanted); };
    auto opened = co_await io::offload(state.runtime.blockingPool(), std::move(work));
    if (!opened && opened.error().code == ErrorCode::kNotFound && specs) {
      // Some block is missing, so there is no content blob; a range may not need that block.
      const std::vector<RangeSpec>* wanted_specs = &*specs;
      auto read = [ipfs_store, wanted, wanted_specs] {
        return readBlockRange(*ipfs_store, *wanted, *wanted_specs);
      };
      auto part = co_await io::offload(state.runtime.blockingPool(), std::move(read));
      if (part && !part->range) {
        unsatisfiable(response, cid, part->size);
        co_return;
      }
      if (part) {
        response.setStatus(206);
        response.header("Accept-Ranges", "bytes");
        response.header("Content-Type", type.empty() ? kOctetStream : type);
        response.header("Content-Range", contentRange(*part->range, part->size));
        response.addText(part->bytes);
        co_return;
      }
    }
    if (!opened) {
      answerStoreError(response, path, opened.error());
      co_return;
    }
    blob = std::move(*opened);
    loop.blobs.insert(blob);
  }

  std::optional<ResolvedRanges> resolved;
  if (specs) {
    resolved = resolveRanges(*specs, blob->size);
    if (resolved->outcome == RangeOutcome::kUnsatisfiable) {
      unsatisfiable(response, cid, blob->size);
      co_return;
    }
  }
  if (type.empty()) type = blob->sniffed_type;
  response.hold(blob);
  respondBytes(response, *blob, type, resolved ? &*resolved : nullptr);
}

asio::awaitable<void> serveListing(ServerState& state, const Request& request, Response& response,
                                   const IpfsPath& path, const PathWalk& walk) {
  const ipfs::Cid& cid = walk.terminal.cid;
  const std::string etag = fmt::format("\"DirIndex-{}_CID-{}\"", kListingVersion, cid.toString());
  ipfsCommonHeaders(request, response);
  ipfsRootsHeader(response, walk.roots);
  response.header("ETag", etag);
  response.header("Cache-Control", kListingCacheControl);
  response.header("X-Content-Type-Options", "nosniff");
  if (ipfsNotModified(request, response, etag)) co_return;
  ipfs::IpfsStore* store = state.backends.ipfs;
  const ipfs::Cid* dir = &cid;
  const ipfs::NodeKind kind = walk.terminal.kind;
  auto work = [store, dir, kind] { return listIpfsDirectory(*store, *dir, kind); };
  auto listing = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!listing) {
    answerStoreError(response, path, listing.error());
    co_return;
  }
  response.header("Content-Type", "text/html; charset=utf-8");
  response.addText(renderIpfsListing(request.path, cid, *listing,
                                     path.segments.empty() ? ParentLink::kNo : ParentLink::kYes));
}

asio::awaitable<void> serveDirectory(ServerState& state, LoopState& loop, const Request& request,
                                     Response& response, const IpfsPath& path,
                                     const PathWalk& walk) {
  if (path.trailing_slash == TrailingSlash::kNo) {
    // Relative links in the directory's pages need the slash (Path Gateway spec: 301).
    response.setStatus(301);
    if (request.query.empty()) {
      response.headerf("Location", "{}/", request.path);
    } else {
      response.headerf("Location", "{}/?{}", request.path, request.query);
    }
    ipfsCommonHeaders(request, response);
    response.header("Cache-Control", kIpfsImmutable);
    response.header("Content-Type", "text/plain; charset=utf-8");
    response.addText("this is a directory: its address ends with '/'\n");
    co_return;
  }
  static const std::string kIndex = "index.html";
  ipfs::IpfsStore* store = state.backends.ipfs;
  const ipfs::Cid* dir = &walk.terminal.cid;
  auto work = [store, dir] { return store->resolve(*dir, std::span(&kIndex, 1)); };
  auto index = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (index && (index->kind == ipfs::NodeKind::kFile || index->kind == ipfs::NodeKind::kRaw)) {
    co_await serveFile(state, loop, request, response, path, walk, index->cid,
                       contentTypeForName(kIndex));
    co_return;
  }
  if (!index && index.error().code != ErrorCode::kNotFound) {
    answerStoreError(response, path, index.error());
    co_return;
  }
  co_await serveListing(state, request, response, path, walk);
}

asio::awaitable<void> serveSymlink(ServerState& state, const Request& request, Response& response,
                                   const IpfsPath& path, const PathWalk& walk) {
  const std::string etag = fmt::format("\"{}\"", walk.terminal.cid.toString());
  ipfsCommonHeaders(request, response);
  ipfsRootsHeader(response, walk.roots);
  response.header("ETag", etag);
  response.header("Cache-Control", kIpfsImmutable);
  response.header("X-Content-Type-Options", "nosniff");
  if (ipfsNotModified(request, response, etag)) co_return;
  ipfs::IpfsStore* store = state.backends.ipfs;
  const ipfs::Cid* cid = &walk.terminal.cid;
  auto work = [store, cid] { return symlinkTarget(*store, *cid); };
  auto target = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!target) {
    answerStoreError(response, path, target.error());
    co_return;
  }
  response.header("Content-Type", "text/plain; charset=utf-8");
  response.addText(*target);
}

std::string_view codecName(uint64_t codec) {
  switch (codec) {
    case ipfs::kRaw: return "raw";
    case ipfs::kDagPb: return "dag-pb";
    case ipfs::kDagCbor: return "dag-cbor";
    case ipfs::kDagJson: return "dag-json";
    case ipfs::kLibp2pKey: return "libp2p-key";
    default: return "";
  }
}

void notDeserializable(Response& response, const ipfs::Cid& cid, std::string_view what) {
  const std::string_view name = codecName(cid.codec());
  response.errorf(501,
                  "{} is {} ({}): this gateway deserializes UnixFS only (dag-pb and raw); ask for "
                  "the verifiable block or CAR with ?format=raw or ?format=car",
                  cid.toString(), what,
                  name.empty() ? fmt::format("codec 0x{:x}", cid.codec()) : std::string(name));
}

}  // namespace

asio::awaitable<void> serveUnixfs(ServerState& state, LoopState& loop, const Request& request,
                                  Response& response, const IpfsPath& path) {
  if (path.cid.codec() != ipfs::kDagPb && path.cid.codec() != ipfs::kRaw) {
    notDeserializable(response, path.cid, "not UnixFS");
    co_return;
  }
  ipfs::IpfsStore* store = state.backends.ipfs;
  const IpfsPath* p = &path;
  auto work = [store, p] { return walkPath(*store, p->cid, p->segments); };
  auto walk = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!walk) {
    answerStoreError(response, path, walk.error());
    co_return;
  }
  switch (walk->terminal.kind) {
    case ipfs::NodeKind::kRaw:
    case ipfs::NodeKind::kFile: {
      const std::string_view type =
          path.segments.empty() ? std::string_view() : contentTypeForName(path.segments.back());
      co_await serveFile(state, loop, request, response, path, *walk, walk->terminal.cid, type);
      co_return;
    }
    case ipfs::NodeKind::kDirectory:
    case ipfs::NodeKind::kHamtDirectory:
      co_await serveDirectory(state, loop, request, response, path, *walk);
      co_return;
    case ipfs::NodeKind::kSymlink:
      co_await serveSymlink(state, request, response, path, *walk);
      co_return;
    case ipfs::NodeKind::kOther: break;
  }
  notDeserializable(response, walk->terminal.cid, "neither a UnixFS file nor a directory");
}

}  // namespace thunder::gateway
