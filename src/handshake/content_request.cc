#include "handshake/content_request.h"

#include <algorithm>
#include <limits>

#include "base/check.h"
#include "handshake/wire.h"

namespace thunder::handshake {
namespace {

bool allEmpty(const std::vector<ContentRange>& ranges) {
  return std::all_of(ranges.begin(), ranges.end(),
                     [](const ContentRange& r) { return r.start == r.end; });
}

}  // namespace

std::vector<uint8_t> encodeContentRequest(const ContentRequest& request) {
  THUNDER_CHECK(request.ranges.size() <= kMaxContentRequestRanges, "too many ranges");
  THUNDER_CHECK(request.ranges.empty() || !allEmpty(request.ranges), "only empty ranges");
  ByteWriter out;
  out.bytes(request.id.bytes());
  out.u32(static_cast<uint32_t>(request.ranges.size()));
  for (const auto& range : request.ranges) {
    THUNDER_CHECK(range.start <= range.end, "inverted content range");
    out.u64(range.start);
    out.u64(range.end);
  }
  return out.take();
}

Result<ContentRequest> parseContentRequest(std::span<const uint8_t> bytes) {
  if (bytes.size() < kContentRequestHeaderSize) {
    return fail(ErrorCode::kCorruption, "bad_request: {} bytes, a request has at least {}",
                bytes.size(), kContentRequestHeaderSize);
  }
  ByteReader in(bytes, "content request");
  ContentRequest request;
  THUNDER_TRY(in.bytes("blob_id", request.id.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint32_t count, in.u32("range_count"));
  if (count > kMaxContentRequestRanges) {
    return fail(ErrorCode::kCorruption, "bad_request: {} ranges (at most {})", count,
                kMaxContentRequestRanges);
  }
  const size_t expected = kContentRequestHeaderSize + 16 * static_cast<size_t>(count);
  if (bytes.size() != expected) {
    return fail(ErrorCode::kCorruption, "bad_request: {} bytes, a request with {} ranges has {}",
                bytes.size(), count, expected);
  }
  request.ranges.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    ContentRange range;
    THUNDER_ASSIGN_OR_RETURN(range.start, in.u64("range_start"));
    THUNDER_ASSIGN_OR_RETURN(range.end, in.u64("range_end"));
    if (range.start > range.end) {
      return fail(ErrorCode::kCorruption, "bad_request: range {} is [{}, {}): start above end", i,
                  range.start, range.end);
    }
    request.ranges.push_back(range);
  }
  THUNDER_TRY(in.expectEnd());
  if (count > 0 && allEmpty(request.ranges)) {
    return fail(ErrorCode::kCorruption, "bad_request: all {} ranges are empty", count);
  }
  return request;
}

Commitment contentCommitment(const ContentRequest& request, uint64_t claimed_size) {
  const Hash32 root(request.id.bytes());
  if (request.ranges.empty()) return Commitment::contentRange(root, 0, claimed_size);
  uint64_t start = std::numeric_limits<uint64_t>::max();
  uint64_t end = 0;
  for (const auto& range : request.ranges) {
    start = std::min(start, range.start);
    end = std::max(end, range.end);
  }
  return Commitment::contentRange(root, start, end);
}

}  // namespace thunder::handshake
