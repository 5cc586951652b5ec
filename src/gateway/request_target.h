// Request targets of the gateway: splitting "/b3/<id>/a/b.txt?format=verified" into the blob id,
// the percent-decoded path inside a directory and the query, refusing anything that could walk
// out of a directory or be read two ways.
//
// Pure functions over untrusted text; thread-safe; never abort. Fuzzed by
// tests/fuzz/gateway_range_fuzz.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::gateway {

enum class TrailingSlash { kNo, kYes };

// "/b3/<id>[/<segment>...][/]".
struct BlobPath {
  BlobId id;
  // Decoded path segments inside the directory `id` (empty: the blob itself, or with a trailing
  // slash the directory's root). Each is a valid manifest entry name.
  std::vector<std::string> segments;
  TrailingSlash trailing_slash = TrailingSlash::kNo;
};

// The path and query parts of an origin-form target ("/b3/x?y" → "/b3/x", "y").
struct SplitTarget {
  std::string_view path;
  std::string_view query;
};
SplitTarget splitTarget(std::string_view target);

// Whether `path` is under the /b3/ route ("/b3", "/b3/", "/b3/..."; not "/b3x").
bool isBlobRoute(std::string_view path);

// Parses the path part of a /b3/ target. kInvalidArgument naming the problem: no id, an id that
// is not 64 hex digits, a bad %-escape, a segment that is empty ("a//b"), "." or "..", or that
// decodes to one containing '/' or NUL, or is longer than 255 bytes.
Result<BlobPath> parseBlobPath(std::string_view path);

// The path below a content address: `rest` is what follows "<id>/" in `path` (the whole path,
// for messages). Appends its percent-decoded segments to `segments` — each must pass `check`
// (a directory entry name rule), at most `max_segments` in all — and sets `trailing_slash`.
// kInvalidArgument naming the problem: an empty segment ("a//b"), a bad %-escape, a segment
// `check` refuses, too many segments.
using SegmentCheck = Result<void> (*)(std::string_view name);
Result<void> parsePathSegments(std::string_view rest, std::string_view path, SegmentCheck check,
                               size_t max_segments, std::vector<std::string>& segments,
                               TrailingSlash& trailing_slash);

// Decodes %XX escapes (either case; '+' stays '+'). kInvalidArgument on a truncated or non-hex
// escape.
Result<std::string> percentDecode(std::string_view text);

// Percent-encodes a path segment for a URL (keeps RFC 3986 unreserved characters).
std::string percentEncodeSegment(std::string_view segment);

// The value of the first `name=value` query parameter, percent-decoded; "" for a bare `name`;
// nullopt when absent or undecodable.
std::optional<std::string> queryParam(std::string_view query, std::string_view name);

}  // namespace thunder::gateway
