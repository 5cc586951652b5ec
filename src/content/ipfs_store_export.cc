// IpfsStore::exportCar's stream: a pull-style DFS over the stored DAG writing a CARv1, shaped
// as the Trustless Gateway's dag-scope, entity-bytes and car-dups say.
#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs::detail {
namespace {

// What to send for a block taken off the DFS stack.
enum class Walk {
  kBlock,       // the block only
  kAll,         // the block and everything below it
  kEntity,      // the block; a file's blocks below it; a HAMT's shards (not its entries)
  kHamtShards,  // the block and the sub-shards below it
  kFileRange,  // the block and the blocks of a UnixFS file that overlap [range_first_, range_last_]
};

struct Frame {
  Cid cid;
  Walk walk = Walk::kBlock;
  uint64_t offset = 0;  // kFileRange: where this node's bytes start in the file
};

class DagCarStream final : public CarStream {
 public:
  DagCarStream(BlockSource blocks, bool dups)
      : blocks_(blocks), dups_(dups), writer_([this](std::span<const uint8_t> bytes) {
          buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
          return Result<void>();
        }) {}

  Result<void> start(const Cid& root, const Resolved& resolved, const CarExportOptions& options) {
    const Cid roots[] = {root};
    THUNDER_TRY(writer_.writeHeader(roots));
    stack_.push_back(Frame{resolved.cid, terminalWalk(resolved, options), 0});
    for (auto it = resolved.path_blocks.rbegin(); it != resolved.path_blocks.rend(); ++it) {
      stack_.push_back(Frame{*it, Walk::kBlock, 0});
    }
    return {};
  }

  Result<size_t> read(std::span<uint8_t> out) override {
    if (error_) return fail(*error_);
    while (position_ == buffer_.size() && !stack_.empty()) {
      buffer_.clear();
      position_ = 0;
      if (auto step = next(); !step) {
        error_ = step.error();
        return fail(*error_);
      }
    }
    const size_t n = std::min(out.size(), buffer_.size() - position_);
    if (n > 0) std::memcpy(out.data(), buffer_.data() + position_, n);
    position_ += n;
    return n;
  }

 private:
  Walk terminalWalk(const Resolved& resolved, const CarExportOptions& options) {
    if (options.bytes) {  // entity-bytes implies dag-scope=entity
      if (resolved.kind != NodeKind::kFile && resolved.kind != NodeKind::kRaw) return Walk::kEntity;
      constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
      const int64_t size = static_cast<int64_t>(std::min(resolved.size, kMax));
      int64_t first = options.bytes->from;
      if (first < 0) first = std::max<int64_t>(0, size + first);
      int64_t last = options.bytes->to ? *options.bytes->to : size - 1;
      if (last < 0) last = size + last;
      // A zero-length range or one wholly outside the file: the file's root block only.
      if (size == 0 || first >= size || last < first) return Walk::kBlock;
      range_first_ = static_cast<uint64_t>(first);
      range_last_ = static_cast<uint64_t>(std::min(last, size - 1));
      return Walk::kFileRange;
    }
    switch (options.scope) {
      case DagScope::kBlock: return Walk::kBlock;
      case DagScope::kEntity: return Walk::kEntity;
      case DagScope::kAll: return Walk::kAll;
    }
    return Walk::kAll;
  }

  // Takes one frame off the stack: writes its block and pushes what to send below it.
  Result<void> next() {
    const Frame frame = std::move(stack_.back());
    stack_.pop_back();
    const Cid& cid = frame.cid;
    THUNDER_ASSIGN_OR_RETURN(const auto block, blocks_.require(cid));
    const bool seen = !sent_.insert(cid).second;
    // Identity blocks are inside their CID: no section for them.
    if ((!seen || dups_) && cid.hash().code != kIdentity) {
      THUNDER_TRY(writer_.writeBlock(cid, block));
    }
    if (frame.walk == Walk::kBlock) return {};
    // Below a block sent before, everything was sent before too (except in a byte range, where
    // the first visit may have taken other children).
    if (seen && !dups_ && frame.walk != Walk::kFileRange) return {};
    THUNDER_ASSIGN_OR_RETURN(const auto node, decodeNode(cid, block));
    std::vector<Frame> children;
    switch (frame.walk) {
      case Walk::kBlock: break;
      case Walk::kAll:
        for (const auto& link : node.links) children.push_back(Frame{link, Walk::kAll, 0});
        break;
      case Walk::kEntity:
        if (node.kind == NodeKind::kFile) {
          for (const auto& link : node.links) children.push_back(Frame{link, Walk::kAll, 0});
        } else if (node.kind == NodeKind::kHamtDirectory) {
          THUNDER_TRY(pushSubShards(node, children));
        }
        break;
      case Walk::kHamtShards:
        if (node.kind == NodeKind::kHamtDirectory) THUNDER_TRY(pushSubShards(node, children));
        break;
      case Walk::kFileRange:
        if (node.kind == NodeKind::kFile) pushRange(node, frame.offset, children);
        break;
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack_.push_back(std::move(*it));
    return {};
  }

  static Result<void> pushSubShards(const DecodedNode& node, std::vector<Frame>& out) {
    if (!node.unixfs.fanout) return {};
    auto width = hamtLabelWidth(*node.unixfs.fanout);
    if (!width) return {};
    for (const auto& link : node.pb.links) {
      if (link.name && link.name->size() == *width) {
        out.push_back(Frame{link.hash, Walk::kHamtShards, 0});
      }
    }
    return {};
  }

  void pushRange(const DecodedNode& node, uint64_t offset, std::vector<Frame>& out) const {
    const auto& u = node.unixfs;
    uint64_t start = offset + (u.data ? u.data->size() : 0);
    const size_t n = std::min(node.pb.links.size(), u.blocksizes.size());
    for (size_t i = 0; i < n; ++i) {
      const uint64_t length = u.blocksizes[i];
      // Children of zero length hold no byte of the range.
      if (length > 0 && start <= range_last_ && start + length > range_first_) {
        out.push_back(Frame{node.pb.links[i].hash, Walk::kFileRange, start});
      }
      start += length;
      if (start > range_last_) break;
    }
  }

  BlockSource blocks_;
  const bool dups_;
  CarWriter writer_;
  std::vector<uint8_t> buffer_;  // CAR bytes not yet read
  size_t position_ = 0;
  std::vector<Frame> stack_;
  std::unordered_set<Cid, CidHash> sent_;
  uint64_t range_first_ = 0;
  uint64_t range_last_ = 0;
  std::optional<Error> error_;
};

}  // namespace

Result<std::unique_ptr<CarStream>> makeCarStream(BlockSource blocks, const Cid& root,
                                                 const Resolved& resolved,
                                                 const CarExportOptions& options) {
  auto stream = std::make_unique<DagCarStream>(blocks, options.dups);
  THUNDER_TRY(stream->start(root, resolved, options));
  return std::unique_ptr<CarStream>(std::move(stream));
}

}  // namespace thunder::content::ipfs::detail
