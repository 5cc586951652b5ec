#include "gateway/blob_route.h"

#include <array>
#include <atomic>
#include <random>

#include "base/log.h"
#include "content/file_util.h"
#include "content/range_walk.h"
#include "content/stored_blob_source.h"
#include "content/verified_stream.h"
#include "gateway/conditional.h"
#include "gateway/content_type.h"
#include "gateway/directory_listing.h"
#include "gateway/error_status.h"
#include "gateway/gateway_server.h"
#include "gateway/log_limit.h"
#include "gateway/range_header.h"
#include "gateway/request_target.h"
#include "io/offload.h"

namespace thunder::gateway {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kExposed = "Content-Range, Content-Length, ETag, X-Thunder-Ranges";

enum class Format { kRaw, kVerified };

// "\"<64 hex>\"" without allocating.
struct Etag {
  explicit Etag(const BlobId& id) {
    static constexpr char kHex[] = "0123456789abcdef";
    text[0] = '"';
    for (size_t i = 0; i < BlobId::kSize; ++i) {
      text[1 + 2 * i] = kHex[id.bytes()[i] >> 4];
      text[2 + 2 * i] = kHex[id.bytes()[i] & 15];
    }
    text[1 + 2 * BlobId::kSize] = '"';
  }
  std::string_view view() const { return {text.data(), text.size()}; }
  std::string_view hex() const { return view().substr(1, 2 * BlobId::kSize); }
  std::array<char, 2 * BlobId::kSize + 2> text{};
};

// A blob as found in the store: complete (cached or freshly opened), or partial.
struct Found {
  std::shared_ptr<const OpenBlob> complete;
  uint64_t size = 0;  // partial only
  uint64_t verified_bytes = 0;
};

// Blocking: opens blob `id` through the store (records the access for its LRU).
Result<Found> openInStore(content::BlobStore& store, const BlobId& id) {
  auto slice = store.openRange(id, 0, UINT64_MAX);
  if (slice) {
    auto blob = std::make_shared<OpenBlob>();
    blob->id = id;
    blob->size = slice->length;
    std::array<uint8_t, kSniffBytes> head{};
    const size_t n = static_cast<size_t>(std::min<uint64_t>(blob->size, head.size()));
    THUNDER_TRY(content::preadAll(slice->fd.get(), std::span(head.data(), n), 0,
                                  fmt::format("blob {}", id.hex())));
    blob->sniffed_type = sniffContentType(
        std::span(head.data(), n), n == blob->size ? SampleKind::kWholeBlob : SampleKind::kPrefix);
    blob->fd = std::move(slice->fd);
    blob->opened_at = std::chrono::steady_clock::now();
    return Found{std::move(blob)};
  }
  if (slice.error().code != ErrorCode::kNotFound) return fail(slice.error());
  THUNDER_ASSIGN_OR_RETURN(auto info, store.stat(id));
  if (info.state == content::BlobState::kComplete) return fail(slice.error());
  return Found{nullptr, info.size, info.verified_bytes};
}

// Blocking: checks that every range of partial blob `id` is verified; returns one fd of its file
// (the file offset of a byte is its blob offset).
Result<UniqueFd> openVerifiedRanges(content::BlobStore& store, const BlobId& id,
                                    const std::vector<content::ByteRange>& ranges) {
  UniqueFd fd;
  for (const auto& range : ranges) {
    THUNDER_ASSIGN_OR_RETURN(auto slice, store.openRange(id, range.start, range.end - range.start));
    if (!fd.valid()) fd = std::move(slice.fd);
  }
  return fd;
}

std::string boundary() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("THUNDER{:016x}", random());
}

bool wantsVerified(const Request& request, Format* format, Response& response) {
  *format = Format::kRaw;
  if (const auto value = queryParam(request.query, "format")) {
    if (*value == "verified") {
      *format = Format::kVerified;
    } else if (*value != "raw" && !value->empty()) {
      response.errorf(400, "unknown format \"{}\" (use format=raw or format=verified)",
                      value->substr(0, 100));
      return false;
    }
  }
  if (request.accept.find(kVerifiedStreamType) != std::string_view::npos) {
    *format = Format::kVerified;
  }
  return true;
}

void commonHeaders(Response& response, const Etag& etag) {
  response.header("ETag", etag.view());
  response.header("Cache-Control", kImmutable);
  response.header("Vary", "Accept");
  response.header("X-Content-Type-Options", "nosniff");
  response.header("Access-Control-Allow-Origin", "*");
}

// Applies If-None-Match; true when the answer is 304.
bool notModified(const Request& request, Response& response, const Etag& etag) {
  if (request.if_none_match.empty() || !ifNoneMatchMatches(request.if_none_match, etag.view())) {
    return false;
  }
  response.setStatus(304);
  return true;
}

// The Range to honour: nullopt for none (absent, malformed, or If-Range not matching).
std::optional<std::vector<RangeSpec>> rangeSpecs(const Request& request, const Etag& etag) {
  if (request.range.empty()) return std::nullopt;
  if (!request.if_range.empty() && !ifRangeMatches(request.if_range, etag.view())) {
    return std::nullopt;
  }
  auto specs = parseRangeHeader(request.range);
  if (!specs) {
    THUNDER_LOG(debug, "gateway", "ignoring Range \"{}\": {}", request.range.substr(0, 200),
                specs.error().message);
    return std::nullopt;
  }
  return std::move(*specs);
}

void unsatisfiable(Response& response, uint64_t size, std::string_view what) {
  response.errorf(416, "none of the requested ranges is within {} ({} bytes)", what, size);
  response.headerf("Content-Range", "bytes */{}", size);
}

// The bytes of `blob` (all verified): 200, 206 or 206 multipart.
void respondBytes(Response& response, int fd, uint64_t size, std::string_view type,
                  const ResolvedRanges* ranges) {
  response.header("Accept-Ranges", "bytes");
  if (ranges == nullptr) {
    response.header("Content-Type", type);
    response.addFile(fd, 0, size);
    return;
  }
  response.setStatus(206);
  response.header("Access-Control-Expose-Headers", kExposed);
  if (ranges->ranges.size() == 1) {
    const auto& range = ranges->ranges[0];
    response.header("Content-Type", type);
    response.headerf("Content-Range", "bytes {}-{}/{}", range.start, range.end - 1, size);
    response.addFile(fd, range.start, range.end - range.start);
    return;
  }
  const std::string separator = boundary();
  response.headerf("Content-Type", "multipart/byteranges; boundary={}", separator);
  for (const auto& range : ranges->ranges) {
    response.addText(
        fmt::format("\r\n--{}\r\nContent-Type: {}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
                    separator, type, range.start, range.end - 1, size));
    response.addFile(fd, range.start, range.end - range.start);
  }
  response.addText(fmt::format("\r\n--{}--\r\n", separator));
}

// The verified range stream of a complete blob, read by a RangeEncoder.
class VerifiedBody final : public StreamBody {
 public:
  VerifiedBody(std::unique_ptr<content::StoredBlobSource> source, const content::ByteRanges& ranges)
      : source_(std::move(source)), encoder_(*source_, ranges) {}
  Result<size_t> read(std::span<uint8_t> out) override { return encoder_.read(out); }

 private:
  std::unique_ptr<content::StoredBlobSource> source_;
  content::RangeEncoder encoder_;
};

asio::awaitable<void> serveVerified(ServerState& state, const Request& request, Response& response,
                                    const BlobId& id, uint64_t size, const Etag& etag) {
  content::ByteRanges ranges = content::ByteRanges::all();
  if (auto specs = rangeSpecs(request, etag)) {
    const ResolvedRanges resolved = resolveRanges(*specs, size);
    if (resolved.outcome == RangeOutcome::kUnsatisfiable) {
      unsatisfiable(response, size, fmt::format("blob {}", etag.hex()));
      co_return;
    }
    ranges = content::ByteRanges();
    for (const auto& range : resolved.ranges) (void)ranges.add(range.start, range.end);
  }
  std::unique_ptr<content::StoredBlobSource> source;
  if (!request.head()) {
    content::BlobStore* store = &state.store;
    const BlobId blob = id;
    auto work = [store, blob] { return content::StoredBlobSource::open(*store, blob); };
    auto opened = co_await io::offload(state.runtime.blockingPool(), std::move(work));
    if (!opened) {
      response.error(statusForError(opened.error().code), opened.error().message);
      co_return;
    }
    source = std::move(*opened);
  }
  response.header("Content-Type", kVerifiedStreamType);
  response.header("X-Thunder-Ranges", formatEncodedRanges(ranges));
  response.header("Cache-Control", kImmutable);
  response.header("Vary", "Accept, Range");
  response.header("X-Content-Type-Options", "nosniff");
  response.header("Access-Control-Allow-Origin", "*");
  response.header("Access-Control-Expose-Headers", kExposed);
  const uint64_t length = content::encodedSize(size, ranges);
  if (source) {
    response.setStream(std::make_unique<VerifiedBody>(std::move(source), ranges), length);
  } else {
    response.setStream(nullptr, length);  // HEAD: the length only
  }
}

// Serves blob `id` (its bytes, a range of them, or its verified stream). `type_hint` is the
// type by the directory entry's name ("" to sniff).
asio::awaitable<void> serveBlobBytes(ServerState& state, LoopState& loop, const Request& request,
                                     Response& response, BlobId id, std::string_view type_hint,
                                     Format format) {
  const Etag etag(id);
  std::shared_ptr<const OpenBlob> blob = loop.blobs.find(id, std::chrono::steady_clock::now());
  Found found;
  if (blob) {
    state.counters.cache_hits->add();
  } else {
    state.counters.cache_misses->add();
    content::BlobStore* store = &state.store;
    auto work = [store, id] { return openInStore(*store, id); };
    auto opened = co_await io::offload(state.runtime.blockingPool(), std::move(work));
    if (!opened) {
      if (opened.error().code == ErrorCode::kNotFound) {
        response.errorf(404, "blob {} is not stored on this node", etag.hex());
      } else {
        THUNDER_GATEWAY_WARN("cannot open blob {}: {}", etag.hex(), opened.error().message);
        response.error(statusForError(opened.error().code), opened.error().message);
      }
      co_return;
    }
    found = std::move(*opened);
    blob = found.complete;
    if (blob) loop.blobs.insert(blob);
  }

  if (format == Format::kVerified) {
    if (!blob) {
      response.errorf(404,
                      "blob {} is only partially stored on this node ({} of {} bytes verified); "
                      "verified streams are served from complete blobs only",
                      etag.hex(), found.verified_bytes, found.size);
      co_return;
    }
    co_await serveVerified(state, request, response, id, blob->size, etag);
    co_return;
  }

  commonHeaders(response, etag);
  if (notModified(request, response, etag)) co_return;
  const uint64_t size = blob ? blob->size : found.size;
  const auto specs = rangeSpecs(request, etag);
  std::optional<ResolvedRanges> resolved;
  if (specs) {
    resolved = resolveRanges(*specs, size);
    if (resolved->outcome == RangeOutcome::kUnsatisfiable) {
      unsatisfiable(response, size, fmt::format("blob {}", etag.hex()));
      co_return;
    }
  }
  if (blob) {
    response.hold(blob);
    const std::string_view type = type_hint.empty() ? blob->sniffed_type : type_hint;
    respondBytes(response, blob->fd.get(), size, type, resolved ? &*resolved : nullptr);
    co_return;
  }
  // A partial blob: only ranges whose bytes are all verified.
  if (!resolved) {
    response.errorf(404,
                    "blob {} is only partially stored on this node ({} of {} bytes verified): "
                    "request verified bytes with a Range header",
                    etag.hex(), found.verified_bytes, found.size);
    co_return;
  }
  content::BlobStore* store = &state.store;
  const std::vector<content::ByteRange>* ranges = &resolved->ranges;
  auto work = [store, id, ranges] { return openVerifiedRanges(*store, id, *ranges); };
  auto fd = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!fd) {
    response.error(statusForError(fd.error().code), fd.error().message);
    co_return;
  }
  const int raw_fd = fd->get();
  response.own(std::move(*fd));
  respondBytes(response, raw_fd, size, type_hint.empty() ? kOctetStream : type_hint, &*resolved);
}

}  // namespace

asio::awaitable<void> serveBlob(ServerState& state, LoopState& loop, const Request& request,
                                Response& response) {
  auto parsed = parseBlobPath(request.path);
  if (!parsed) {
    response.error(400, parsed.error().message);
    co_return;
  }
  Format format = Format::kRaw;
  if (!wantsVerified(request, &format, response)) co_return;
  const BlobPath& path = *parsed;
  if (path.segments.empty() && path.trailing_slash == TrailingSlash::kNo) {
    co_await serveBlobBytes(state, loop, request, response, path.id, {}, format);
    co_return;
  }

  // A path inside directory path.id.
  auto resolved = state.resolver.resolve(path.id, path.segments, Lookup::kCachedOnly);
  if (resolved && !*resolved) {
    DirectoryResolver* resolver = &state.resolver;
    const BlobId root = path.id;
    const std::vector<std::string>* segments = &path.segments;
    auto work = [resolver, root, segments] {
      return resolver->resolve(root, *segments, Lookup::kMayBlock);
    };
    resolved = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  }
  if (!resolved) {
    response.error(statusForError(resolved.error().code), resolved.error().message);
    co_return;
  }
  const ResolvedEntry& entry = **resolved;
  if (entry.entry.kind == content::EntryKind::kFile) {
    if (path.trailing_slash == TrailingSlash::kYes) {
      response.errorf(404, "{} is a file, not a directory (remove the trailing '/')",
                      request.path.substr(0, 300));
      co_return;
    }
    co_await serveBlobBytes(state, loop, request, response, entry.entry.id,
                            contentTypeForName(path.segments.back()), format);
    co_return;
  }
  if (path.trailing_slash == TrailingSlash::kNo) {
    // Relative links in a directory page need the trailing slash.
    response.setStatus(301);
    if (request.query.empty()) {
      response.headerf("Location", "{}/", request.path);
    } else {
      response.headerf("Location", "{}/?{}", request.path, request.query);
    }
    response.header("Content-Type", "text/plain; charset=utf-8");
    response.addText("this is a directory: its address ends with '/'\n");
    co_return;
  }
  if (format == Format::kVerified) {  // the manifest itself, for clients that verify
    co_await serveBlobBytes(state, loop, request, response, entry.entry.id, {}, format);
    co_return;
  }
  if (const auto* index = entry.manifest->find("index.html");
      index != nullptr && index->kind == content::EntryKind::kFile) {
    co_await serveBlobBytes(state, loop, request, response, index->id,
                            contentTypeForName("index.html"), format);
    co_return;
  }
  response.header("Content-Type", "text/html; charset=utf-8");
  response.header("Cache-Control", "public, max-age=3600");
  response.header("X-Content-Type-Options", "nosniff");
  response.header("Access-Control-Allow-Origin", "*");
  response.addText(
      renderListing(request.path, entry.entry.id, *entry.manifest,
                    path.segments.empty() ? ListingLevel::kRoot : ListingLevel::kSubdirectory));
}

}  // namespace thunder::gateway
