// RangeWalk: the pre-order walk of a blob's tree restricted to requested byte ranges — the order
// in which a verified range stream carries parents and groups (docs/formats/verified-stream.md).
// Shared by RangeEncoder and RangeDecoder so that both sides agree on the shape by construction.
//
// Range rule: each byte range is widened to whole 16 KiB groups; a non-empty range that starts at
// or past the end of the blob selects the last group (so the size can be proved, as in bao).
// Memory is O(log n): a stack of at most 64 pending nodes. A plain value; not synchronized.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "content/byte_ranges.h"
#include "crypto/blake3_tree.h"

namespace thunder::content {

// One node of the walk: a parent (count > 1) or a group (count == 1).
struct WalkNode {
  uint64_t first_group = 0;
  uint64_t count = 1;      // groups under this node
  uint64_t pre_index = 0;  // pre-order index among parents (outboard offset / 64), parents only
  crypto::NodeRole role = crypto::NodeRole::kInner;
  crypto::ChainingValue expected{};  // CV the node must hash to (set by the decoder)

  bool isGroup() const { return count == 1; }
};

class RangeWalk {
 public:
  // The walk over a blob of `size` bytes for `ranges`; empty when `ranges` is empty.
  // `root` is the expected CV of the root node (zeros when not verifying).
  RangeWalk(uint64_t size, const ByteRanges& ranges, const crypto::ChainingValue& root);

  // The next node in pre-order, or nullopt when the walk is over.
  std::optional<WalkNode> next();

  // After next() returned the parent `node`: queues its selected children, with the CVs the
  // parent carries (left, right) as their expected values.
  void descend(const WalkNode& node, const crypto::ChainingValue& left,
               const crypto::ChainingValue& right);

  // The selected groups, as ranges of group indices.
  const ByteRanges& groups() const { return groups_; }

 private:
  ByteRanges groups_;
  std::vector<WalkNode> stack_;
};

// Exact number of bytes of the verified range stream for a blob of `size` bytes and `ranges`:
// 8 + 64 * (parents walked) + bytes of the groups walked.
uint64_t encodedSize(uint64_t size, const ByteRanges& ranges);

}  // namespace thunder::content
