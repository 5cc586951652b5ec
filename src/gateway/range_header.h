// The HTTP Range header (RFC 9110 §14): parsing `bytes=` range sets, resolving them against a
// representation's size, and the Content-Range / X-Thunder-Ranges notations.
//
// Pure functions over untrusted text (thread-safe, no allocation beyond their results); they
// never abort. Fuzzed by tests/fuzz/gateway_range_fuzz.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "content/byte_ranges.h"

namespace thunder::gateway {

// More range-specs than this in one header make it malformed (ignored: the full body is sent),
// which bounds the work and the multipart overhead a client can ask for.
inline constexpr size_t kMaxRangeSpecs = 64;

// One range-spec of a `bytes=` Range header.
struct RangeSpec {
  enum class Kind : uint8_t {
    kFromTo,  // "first-last" (inclusive)
    kFrom,    // "first-"     (to the end)
    kSuffix,  // "-length"    (the last `length` bytes)
  };
  Kind kind = Kind::kFromTo;
  uint64_t first = 0;  // kFromTo, kFrom
  uint64_t last = 0;   // kFromTo: last byte (inclusive); kSuffix: the suffix length

  friend bool operator==(const RangeSpec&, const RangeSpec&) = default;
};

// Parses a Range header value: "bytes=" (unit case-insensitive) then a comma-separated list of
// range-specs with optional whitespace; empty list elements are skipped. kInvalidArgument, naming
// the problem, for anything else: another unit, a malformed number or one that does not fit in 64
// bits, first > last, no range at all, more than kMaxRangeSpecs. RFC 9110 says a server ignores
// such a header.
Result<std::vector<RangeSpec>> parseRangeHeader(std::string_view value);

enum class RangeOutcome { kSatisfiable, kUnsatisfiable };

struct ResolvedRanges {
  RangeOutcome outcome = RangeOutcome::kUnsatisfiable;
  // Half-open byte ranges within [0, size), non-empty, in the order to send them: the request's
  // order; when some overlap or touch, all are merged and sorted (RFC 9110 §14.2 allows it).
  std::vector<content::ByteRange> ranges;
};

// Resolves `specs` against a representation of `size` bytes: each satisfiable spec is clipped to
// the end; unsatisfiable specs (first >= size, a zero-length suffix) are dropped. kUnsatisfiable
// when none is left (the answer is then 416 with "Content-Range: bytes */size").
ResolvedRanges resolveRanges(std::span<const RangeSpec> specs, uint64_t size);

// "bytes 100-199/1000" for the half-open range [100, 200) of a 1000-byte representation.
std::string contentRange(const content::ByteRange& range, uint64_t size);

// The ranges a verified stream encodes, as sent in X-Thunder-Ranges: "bytes=0-" for everything
// (ByteRanges::all()), else "bytes=100-199,4096-8191" (inclusive, sorted).
std::string formatEncodedRanges(const content::ByteRanges& ranges);

// Inverse of formatEncodedRanges() (any valid `bytes=` header is accepted; "first-" means up to
// 2^64 - 1; suffix ranges are refused because they need the size). kInvalidArgument otherwise.
// A client feeds the result to content::RangeDecoder.
Result<content::ByteRanges> parseEncodedRanges(std::string_view value);

}  // namespace thunder::gateway
