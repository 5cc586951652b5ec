// HTTP requests to the CDN service (services/cdn/README.md): which content a path names, which
// bytes a Range header asks for, whether an If-None-Match matches, and what Content-Type the
// first bytes suggest. Pure functions; any thread.
//
//   GET|HEAD /b3/<blob id>   a blob by its BLAKE3 id (64 hex digits)
//   GET|HEAD /ipfs/<cid>     the content of a CID (a trailing '/' is allowed)
#pragma once

#include <thunder/sdk/types.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace thunder::cdn {

struct HttpTarget {
  enum class Kind { kBlob, kCid };
  Kind kind = Kind::kBlob;
  sdk::BlobId blob;  // kBlob
  std::string cid;   // kCid
};

// The content `path` names. kNotFound with the message for a 404 body ("no such route …",
// "paths inside a CID are not served …"); kInvalidArgument for a malformed blob id or CID (400).
sdk::Result<HttpTarget> parseTarget(std::string_view path);

// A Range header against a blob of `size` bytes (RFC 9110 §14): a single "bytes=" range.
struct ByteSpan {
  uint64_t offset = 0;
  uint64_t length = 0;
};
enum class RangeKind {
  kWhole,          // no usable Range (absent, not "bytes", several ranges, malformed): 200
  kPartial,        // one satisfiable range: 206 with `span`
  kUnsatisfiable,  // 416
};
struct RangeRequest {
  RangeKind kind = RangeKind::kWhole;
  ByteSpan span;
};
RangeRequest parseRange(std::optional<std::string_view> header, uint64_t size);

// Whether an If-None-Match value ("*", or a list of entity tags, weak or strong) matches `etag`
// (a quoted strong tag), by the weak comparison RFC 9110 §13.1.2 prescribes.
bool noneMatchHits(std::string_view if_none_match, std::string_view etag);

// A Content-Type for content starting with `head` (its first bytes, up to 512): well-known
// signatures (PNG, JPEG, GIF, WebP, PDF, ZIP, gzip, WebAssembly, MP4, MP3, Ogg), HTML and SVG
// markup, JSON, UTF-8 text; else application/octet-stream.
std::string_view sniffContentType(std::span<const uint8_t> head);

}  // namespace thunder::cdn
