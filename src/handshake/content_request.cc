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

bool printableCid(std::string_view cid) {
  return std::all_of(cid.begin(), cid.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

bool isZero(const BlobId& id) {
  return std::all_of(id.bytes().begin(), id.bytes().end(), [](uint8_t b) { return b == 0; });
}

}  // namespace

std::vector<uint8_t> encodeContentRequest(const ContentRequest& request) {
  THUNDER_CHECK(request.ranges.size() <= kMaxContentRequestRanges, "too many ranges");
  THUNDER_CHECK(request.cid.size() <= kMaxContentRequestCid, "cid too long");
  THUNDER_CHECK(request.cid.empty() == !isZero(request.id),
                "a request names a non-zero blob id or a cid, not both");
  THUNDER_CHECK(request.ranges.empty() || !allEmpty(request.ranges), "only empty ranges");
  ByteWriter out;
  out.bytes(request.id.bytes());
  out.u32(static_cast<uint32_t>(request.ranges.size()));
  for (const auto& range : request.ranges) {
    THUNDER_CHECK(range.start <= range.end, "inverted content range");
    out.u64(range.start);
    out.u64(range.end);
  }
  if (!request.cid.empty()) out.str16(request.cid);
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
  const bool cid_form = isZero(request.id);
  if (!cid_form && bytes.size() != expected) {
    return fail(ErrorCode::kCorruption, "bad_request: {} bytes, a request with {} ranges has {}",
                bytes.size(), count, expected);
  }
  if (cid_form && bytes.size() < expected + 2) {
    return fail(ErrorCode::kCorruption,
                "bad_request: {} bytes, a CID request (zero blob id) with {} ranges has at least "
                "{}",
                bytes.size(), count, expected + 2);
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
  if (cid_form) {
    THUNDER_ASSIGN_OR_RETURN(const uint16_t length, in.u16("cid_length"));
    if (length == 0 || length > kMaxContentRequestCid) {
      return fail(ErrorCode::kCorruption, "bad_request: a CID of {} bytes (1..{})", length,
                  kMaxContentRequestCid);
    }
    if (in.remaining() != length) {
      return fail(ErrorCode::kCorruption,
                  "bad_request: {} bytes, a CID request with {} ranges and a {}-byte CID has {}",
                  bytes.size(), count, length, expected + 2 + length);
    }
    THUNDER_ASSIGN_OR_RETURN(const auto text, in.view("cid", length));
    request.cid.assign(text.begin(), text.end());
    if (!printableCid(request.cid)) {
      return fail(ErrorCode::kCorruption,
                  "bad_request: the CID has bytes outside printable ASCII (send its text form)");
    }
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
