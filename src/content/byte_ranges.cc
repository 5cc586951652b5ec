#include "content/byte_ranges.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace thunder::content {

ByteRanges ByteRanges::all() {
  ByteRanges out;
  out.ranges_.push_back(ByteRange{0, std::numeric_limits<uint64_t>::max()});
  return out;
}

Result<ByteRanges> ByteRanges::fromStartEnd(uint64_t start, uint64_t end) {
  ByteRanges out;
  THUNDER_TRY(out.add(start, end));
  return out;
}

Result<ByteRanges> ByteRanges::fromStartLength(uint64_t start, uint64_t length) {
  ByteRanges out;
  THUNDER_TRY(out.addLength(start, length));
  return out;
}

Result<void> ByteRanges::addLength(uint64_t start, uint64_t length) {
  if (length > std::numeric_limits<uint64_t>::max() - start) {
    return fail(ErrorCode::kInvalidArgument,
                "byte range start {} + length {} overflows a 64-bit offset", start, length);
  }
  return add(start, start + length);
}

Result<void> ByteRanges::add(uint64_t start, uint64_t end) {
  if (start > end) {
    return fail(ErrorCode::kInvalidArgument, "byte range [{}, {}) ends before it starts", start,
                end);
  }
  if (start == end) return {};
  // First range that ends at or after `start` (touching ranges merge).
  auto first = std::lower_bound(ranges_.begin(), ranges_.end(), start,
                                [](const ByteRange& r, uint64_t s) { return r.end < s; });
  auto last = first;
  while (last != ranges_.end() && last->start <= end) {
    start = std::min(start, last->start);
    end = std::max(end, last->end);
    ++last;
  }
  first = ranges_.erase(first, last);
  ranges_.insert(first, ByteRange{start, end});
  return {};
}

bool ByteRanges::intersects(uint64_t start, uint64_t end) const {
  if (start >= end) return false;
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), start,
                             [](uint64_t s, const ByteRange& r) { return s < r.end; });
  return it != ranges_.end() && it->start < end;
}

uint64_t ByteRanges::totalBytes() const {
  uint64_t total = 0;
  for (const ByteRange& r : ranges_) {
    const uint64_t len = r.end - r.start;
    if (len > std::numeric_limits<uint64_t>::max() - total) {
      return std::numeric_limits<uint64_t>::max();
    }
    total += len;
  }
  return total;
}

std::string ByteRanges::toString() const {
  std::string out;
  for (const ByteRange& r : ranges_) {
    if (!out.empty()) out += ' ';
    out += fmt::format("[{}, {})", r.start, r.end);
  }
  return out.empty() ? "(empty)" : out;
}

}  // namespace thunder::content
