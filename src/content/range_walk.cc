#include "content/range_walk.h"

#include "base/check.h"

namespace thunder::content {

using crypto::groupCount;
using crypto::kGroupSize;

RangeWalk::RangeWalk(uint64_t size, const ByteRanges& ranges, const crypto::ChainingValue& root) {
  const uint64_t groups = groupCount(size);
  for (const ByteRange& r : ranges.ranges()) {
    uint64_t first = r.start / kGroupSize;
    uint64_t end = r.end / kGroupSize + (r.end % kGroupSize != 0 ? 1 : 0);
    if (first >= groups) {  // past the end: the last group proves the size
      first = groups - 1;
      end = groups;
    }
    if (end > groups) end = groups;
    auto added = groups_.add(first, end);
    THUNDER_CHECK(added.has_value(), "group range derived from a normalized byte range");
  }
  stack_.reserve(66);
  if (!groups_.empty()) {
    stack_.push_back(WalkNode{0, groups, 0, crypto::NodeRole::kRoot, root});
  }
}

std::optional<WalkNode> RangeWalk::next() {
  if (stack_.empty()) return std::nullopt;
  WalkNode node = stack_.back();
  stack_.pop_back();
  return node;
}

void RangeWalk::descend(const WalkNode& node, const crypto::ChainingValue& left,
                        const crypto::ChainingValue& right) {
  THUNDER_CHECK(!node.isGroup(), "only a parent has children");
  const uint64_t left_count = crypto::leftSubtreeGroups(node.count);
  const uint64_t right_first = node.first_group + left_count;
  // Pushed right first so that the left child comes out first (pre-order).
  if (groups_.intersects(right_first, node.first_group + node.count)) {
    stack_.push_back(WalkNode{right_first, node.count - left_count, node.pre_index + left_count,
                              crypto::NodeRole::kInner, right});
  }
  if (groups_.intersects(node.first_group, right_first)) {
    stack_.push_back(
        WalkNode{node.first_group, left_count, node.pre_index + 1, crypto::NodeRole::kInner, left});
  }
}

uint64_t encodedSize(uint64_t size, const ByteRanges& ranges) {
  RangeWalk walk(size, ranges, crypto::ChainingValue{});
  uint64_t total = 8;
  while (auto node = walk.next()) {
    if (node->isGroup()) {
      total += crypto::groupLength(size, node->first_group);
    } else {
      total += crypto::kParentSize;
      walk.descend(*node, {}, {});
    }
  }
  return total;
}

}  // namespace thunder::content
