// Fuzz target: the gateway's parsers of untrusted request text (gateway/range_header.h,
// gateway/request_target.h, gateway/conditional.h, gateway/content_type.h).
// Input: 8 bytes (u64 LE, a blob size), then text used as a Range header, as the path after
// "/b3/<id>/" and as a whole target. Must never crash, and what is accepted must be consistent:
// resolved ranges lie inside the blob, are non-empty and pairwise disjoint (not touching); encoded
// ranges round-trip; accepted path segments are valid entry names and survive percent-encoding and
// parsing again.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "content/directory.h"
#include "gateway/conditional.h"
#include "gateway/content_type.h"
#include "gateway/range_header.h"
#include "gateway/request_target.h"

namespace {

using namespace thunder;

void check(bool ok) {
  if (!ok) std::abort();
}

void fuzzRanges(std::string_view text, uint64_t size) {
  auto specs = gateway::parseRangeHeader(text);
  if (!specs) {
    check(specs.error().code == ErrorCode::kInvalidArgument);
    return;
  }
  check(!specs->empty() && specs->size() <= gateway::kMaxRangeSpecs);
  const auto resolved = gateway::resolveRanges(*specs, size);
  if (resolved.outcome == gateway::RangeOutcome::kUnsatisfiable) {
    check(resolved.ranges.empty());
    return;
  }
  check(!resolved.ranges.empty() && resolved.ranges.size() <= specs->size());
  auto sorted = resolved.ranges;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.start < b.start; });
  for (size_t i = 0; i < sorted.size(); ++i) {
    check(sorted[i].start < sorted[i].end && sorted[i].end <= size);
    if (i > 0) check(sorted[i - 1].end < sorted[i].start);  // disjoint, not even touching
  }
  content::ByteRanges set;
  for (const auto& r : resolved.ranges) check(set.add(r.start, r.end).has_value());
  check(std::equal(sorted.begin(), sorted.end(), set.ranges().begin(), set.ranges().end()));
  auto back = gateway::parseEncodedRanges(gateway::formatEncodedRanges(set));
  check(back.has_value() && *back == set);
  for (const auto& r : resolved.ranges) (void)gateway::contentRange(r, size);
}

void fuzzPaths(std::string_view text) {
  const std::string prefix =
      "/b3/ccd32b4544a24c50fbefb249e10a8fcedc26e2794c79eb8a44ad0631bf07f53f/";
  const std::string target = prefix + std::string(text);
  const auto split = gateway::splitTarget(target);
  auto path = gateway::parseBlobPath(split.path);
  if (path) {
    std::string again = prefix;
    for (size_t i = 0; i < path->segments.size(); ++i) {
      check(content::validateEntryName(path->segments[i]).has_value());
      if (i > 0) again += "/";
      again += gateway::percentEncodeSegment(path->segments[i]);
    }
    if (path->trailing_slash == gateway::TrailingSlash::kYes && !path->segments.empty()) {
      again += "/";
    }
    auto reparsed = gateway::parseBlobPath(again);
    check(reparsed.has_value() && reparsed->segments == path->segments &&
          reparsed->trailing_slash == path->trailing_slash);
  }
  (void)gateway::parseBlobPath(text);
  (void)gateway::queryParam(split.query, "format");
  (void)gateway::percentDecode(text);
  (void)gateway::ifNoneMatchMatches(text, "\"abc\"");
  (void)gateway::ifRangeMatches(text, "\"abc\"");
  (void)gateway::contentTypeForName(text);
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  (void)gateway::sniffContentType(std::span(bytes, text.size()), gateway::SampleKind::kPrefix);
  (void)gateway::sniffContentType(std::span(bytes, text.size()), gateway::SampleKind::kWholeBlob);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  uint64_t blob_size = 0;
  if (size >= 8) {
    std::memcpy(&blob_size, input, 8);
    input += 8;
    size -= 8;
  }
  const std::string_view text(reinterpret_cast<const char*>(input), input == nullptr ? 0 : size);
  fuzzRanges(text, blob_size);
  fuzzRanges(text, blob_size % 100'000);  // small sizes too, where most ranges land
  fuzzPaths(text);
  return 0;
}
