#include "content_request.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace thunder::cdn {
namespace {

constexpr size_t kHeaderSize = 32 + 4;

// Little-endian reads from a span the caller has sized.
uint64_t readLe(std::span<const uint8_t> bytes, size_t at, int width) {
  uint64_t value = 0;
  for (int i = 0; i < width; ++i) value |= static_cast<uint64_t>(bytes[at + i]) << (8 * i);
  return value;
}

sdk::Error badRequest(std::string message) {
  return sdk::Error{sdk::ErrorCode::kInvalidArgument, "bad_request: " + std::move(message)};
}

}  // namespace

sdk::Result<ContentRequest> parseContentRequest(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) {
    return tl::unexpected(
        badRequest(fmt::format("{} bytes, a request has at least {}", bytes.size(), kHeaderSize)));
  }
  ContentRequest request;
  std::copy(bytes.begin(), bytes.begin() + 32, request.id.mutableBytes().begin());
  const bool cid_form =
      std::all_of(bytes.begin(), bytes.begin() + 32, [](uint8_t b) { return b == 0; });
  const auto count = static_cast<uint32_t>(readLe(bytes, 32, 4));
  if (count > kMaxRequestRanges) {
    return tl::unexpected(
        badRequest(fmt::format("{} ranges (at most {})", count, kMaxRequestRanges)));
  }
  const size_t ranges_end = kHeaderSize + 16 * static_cast<size_t>(count);
  if (!cid_form && bytes.size() != ranges_end) {
    return tl::unexpected(badRequest(
        fmt::format("{} bytes, a request with {} ranges has {}", bytes.size(), count, ranges_end)));
  }
  if (cid_form && bytes.size() < ranges_end + 2) {
    return tl::unexpected(badRequest(
        fmt::format("{} bytes, a CID request (zero blob id) with {} ranges has at least {}",
                    bytes.size(), count, ranges_end + 2)));
  }
  bool any_nonempty = false;
  for (uint32_t i = 0; i < count; ++i) {
    const ContentRange range{readLe(bytes, kHeaderSize + 16 * i, 8),
                             readLe(bytes, kHeaderSize + 16 * i + 8, 8)};
    if (range.start > range.end) {
      return tl::unexpected(badRequest(
          fmt::format("range {} is [{}, {}): start above end", i, range.start, range.end)));
    }
    any_nonempty = any_nonempty || range.start < range.end;
    request.ranges.push_back(range);
  }
  if (count > 0 && !any_nonempty) {
    return tl::unexpected(badRequest(fmt::format("all {} ranges are empty", count)));
  }
  if (cid_form) {
    const auto length = static_cast<size_t>(readLe(bytes, ranges_end, 2));
    if (length == 0 || length > kMaxRequestCid) {
      return tl::unexpected(
          badRequest(fmt::format("a CID of {} bytes (1..{})", length, kMaxRequestCid)));
    }
    if (bytes.size() != ranges_end + 2 + length) {
      return tl::unexpected(
          badRequest(fmt::format("{} bytes, a CID request with {} ranges and a {}-byte CID has {}",
                                 bytes.size(), count, length, ranges_end + 2 + length)));
    }
    request.cid.assign(bytes.begin() + static_cast<std::ptrdiff_t>(ranges_end + 2), bytes.end());
    if (!std::all_of(request.cid.begin(), request.cid.end(),
                     [](char c) { return c > ' ' && c < 0x7f; })) {
      return tl::unexpected(
          badRequest("the CID has bytes outside printable ASCII (send its text form)"));
    }
  }
  return request;
}

sdk::Result<std::vector<sdk::ByteRange>> streamRanges(const ContentRequest& request) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (request.ranges.empty()) return std::vector<sdk::ByteRange>{{0, kMax}};
  std::vector<ContentRange> sorted;
  for (const ContentRange& r : request.ranges) {
    if (r.start < r.end) sorted.push_back(r);
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const ContentRange& a, const ContentRange& b) { return a.start < b.start; });
  std::vector<ContentRange> merged;
  for (const ContentRange& r : sorted) {
    if (!merged.empty() && r.start <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, r.end);
    } else {
      merged.push_back(r);
    }
  }
  if (merged.size() > sdk::kMaxStreamRangesPerFrame) {
    return tl::unexpected(badRequest(
        fmt::format("{} disjoint ranges; this content service serves at most {} per request",
                    merged.size(), sdk::kMaxStreamRangesPerFrame)));
  }
  std::vector<sdk::ByteRange> out;
  for (const ContentRange& r : merged) out.push_back({r.start, r.end - r.start});
  return out;
}

uint64_t coveredBytes(std::span<const sdk::ByteRange> ranges, uint64_t size) {
  uint64_t total = 0;
  for (const sdk::ByteRange& r : ranges) {
    if (r.offset >= size) continue;
    total += std::min(r.length, size - r.offset);
  }
  return total;
}

}  // namespace thunder::cdn
