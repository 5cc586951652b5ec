// ByteRanges: a normalized set of half-open byte ranges [start, end) of a blob — the request of
// a verified range stream (content/verified_stream.h).
//
// Normalized means sorted, non-empty, non-overlapping and non-adjacent (touching ranges are
// merged). Construction checks arithmetic: a start + length that overflows u64 is an error, never
// a wrap. A plain value; not synchronized.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"

namespace thunder::content {

struct ByteRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive

  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};

class ByteRanges {
 public:
  // The empty set.
  ByteRanges() = default;

  // Every byte of any blob: [0, 2^64 - 1).
  static ByteRanges all();

  // [start, end). kInvalidArgument if start > end. An empty range gives the empty set.
  static Result<ByteRanges> fromStartEnd(uint64_t start, uint64_t end);

  // [start, start + length). kInvalidArgument if start + length overflows u64.
  static Result<ByteRanges> fromStartLength(uint64_t start, uint64_t length);

  // Adds [start, end), merging with overlapping or adjacent ranges. kInvalidArgument if
  // start > end; an empty range is ignored.
  Result<void> add(uint64_t start, uint64_t end);

  // Adds [start, start + length). kInvalidArgument if start + length overflows u64.
  Result<void> addLength(uint64_t start, uint64_t length);

  bool empty() const { return ranges_.empty(); }
  std::span<const ByteRange> ranges() const { return ranges_; }

  // Whether any byte of [start, end) is in the set.
  bool intersects(uint64_t start, uint64_t end) const;

  // Total bytes covered (saturates at 2^64 - 1).
  uint64_t totalBytes() const;

  // "[0, 10) [20, 30)" for logs and test failures.
  std::string toString() const;

  friend bool operator==(const ByteRanges&, const ByteRanges&) = default;

 private:
  std::vector<ByteRange> ranges_;
};

}  // namespace thunder::content
