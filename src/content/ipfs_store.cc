// IpfsStore: opening, blocks, path resolution and content blobs. The CAR import is in
// ipfs_store_import.cc, the export in ipfs_store_export.cc, the DAG helpers in
// ipfs_store_nodes.cc and ipfs_store_assemble.cc.
#include "content/ipfs_store.h"

#include <charconv>

#include "content/ipfs_store_index.h"
#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs {

using detail::BlockSource;
using detail::DecodedNode;

std::string_view dagScopeName(DagScope scope) {
  switch (scope) {
    case DagScope::kAll: return "all";
    case DagScope::kEntity: return "entity";
    case DagScope::kBlock: return "block";
  }
  return "all";
}

Result<DagScope> parseDagScope(std::string_view text) {
  if (text == "all") return DagScope::kAll;
  if (text == "entity") return DagScope::kEntity;
  if (text == "block") return DagScope::kBlock;
  return fail(ErrorCode::kInvalidArgument,
              "unknown dag-scope \"{}\": expected all, entity or block", text);
}

Result<EntityBytes> parseEntityBytes(std::string_view text) {
  const auto number = [&](std::string_view digits) -> Result<int64_t> {
    int64_t value = 0;
    const auto* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, value);
    if (digits.empty() || ec != std::errc() || ptr != end || digits.front() == '+') {
      return fail(ErrorCode::kInvalidArgument,
                  "bad entity-bytes \"{}\": expected FROM:TO (byte offsets, TO inclusive or *; "
                  "negative counts from the end)",
                  text);
    }
    return value;
  };
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail(number("").error());
  EntityBytes out;
  THUNDER_ASSIGN_OR_RETURN(out.from, number(text.substr(0, colon)));
  const std::string_view to = text.substr(colon + 1);
  if (to != "*") {
    THUNDER_ASSIGN_OR_RETURN(const int64_t last, number(to));
    if (out.from >= 0 && last >= 0 && last < out.from) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad entity-bytes \"{}\": the last byte comes before the first", text);
    }
    out.to = last;
  }
  return out;
}

std::string_view nodeKindName(NodeKind kind) {
  switch (kind) {
    case NodeKind::kRaw: return "raw";
    case NodeKind::kFile: return "file";
    case NodeKind::kDirectory: return "directory";
    case NodeKind::kHamtDirectory: return "hamt-directory";
    case NodeKind::kSymlink: return "symlink";
    case NodeKind::kOther: return "other";
  }
  return "other";
}

IpfsStore::IpfsStore(BlobStore& blobs, std::unique_ptr<IpfsIndex> index)
    : blobs_(blobs), index_(std::move(index)) {}

IpfsStore::~IpfsStore() = default;

Result<std::unique_ptr<IpfsStore>> IpfsStore::open(const std::filesystem::path& dir,
                                                   BlobStore& blobs) {
  THUNDER_ASSIGN_OR_RETURN(auto index, IpfsIndex::open(dir));
  return std::unique_ptr<IpfsStore>(new IpfsStore(blobs, std::move(index)));
}

Result<void> IpfsStore::putBlock(const Cid& cid, std::span<const uint8_t> data, PinState pin) {
  THUNDER_TRY(cid.hash().verify(data).map_error(
      [&](Error e) { return e.withContext(fmt::format("block {}", cid.toString())); }));
  if (cid.hash().code == kIdentity) return {};
  PutOptions options;
  options.pin = pin;
  THUNDER_ASSIGN_OR_RETURN(const auto put, blobs_.putBytes(data, options));
  IndexBatch batch;
  batch.putBlock(cid.hash(), BlockRecord{put.id, put.size});
  return index_->write(batch);
}

Result<std::optional<std::vector<uint8_t>>> IpfsStore::getBlock(const Cid& cid) {
  return BlockSource(blobs_, *index_).get(cid);
}

Result<bool> IpfsStore::hasBlock(const Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(const auto size, BlockSource(blobs_, *index_).size(cid));
  return size.has_value();
}

Result<Resolved> IpfsStore::resolve(const Cid& root, std::span<const std::string> segments) {
  BlockSource blocks(blobs_, *index_);
  return detail::resolvePath(blocks, root, segments);
}

Result<std::optional<BlobId>> IpfsStore::lookupContentBlob(const Cid& cid) {
  if (cid.codec() == kRaw) {  // a raw blake3 block is its own content blob
    if (const auto id = cid.blobId(); id && cid.hash().digest.size() == BlobId::kSize) {
      THUNDER_ASSIGN_OR_RETURN(const bool present, blobs_.has(*id));
      if (present) return std::optional<BlobId>(*id);
    }
  }
  THUNDER_ASSIGN_OR_RETURN(const auto record, index_->content(cid));
  if (!record) return std::optional<BlobId>();
  THUNDER_ASSIGN_OR_RETURN(const bool present, blobs_.has(record->blob));
  return present ? std::optional<BlobId>(record->blob) : std::optional<BlobId>();
}

Result<BlobId> IpfsStore::contentBlob(const Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(const auto known, lookupContentBlob(cid));
  if (known) return *known;
  BlockSource blocks(blobs_, *index_);
  THUNDER_ASSIGN_OR_RETURN(auto batch, blobs_.beginBatch());
  detail::Assembler assembler(blocks, *batch);
  THUNDER_ASSIGN_OR_RETURN(const auto built, assembler.build(cid));
  if (!built.complete) {
    return fail(ErrorCode::kNotFound, "{} is incomplete: {} (import a CAR that has it)",
                cid.toString(), built.missing);
  }
  if (!built.blob && !built.unrepresentable.empty()) {
    return fail(ErrorCode::kInvalidArgument, "{} has no content blob: {}", cid.toString(),
                built.unrepresentable);
  }
  if (!built.blob) {
    return fail(ErrorCode::kInvalidArgument,
                "{} is a {}: only UnixFS files and directories and raw blocks have a content blob",
                cid.toString(), nodeKindName(built.kind));
  }
  THUNDER_TRY(batch->commit());  // the blobs first, then the records naming them
  THUNDER_TRY(index_->write(assembler.records()));
  return *built.blob;
}

Result<std::unique_ptr<CarStream>> IpfsStore::exportCar(const Cid& root,
                                                        std::span<const std::string> segments,
                                                        const CarExportOptions& options) {
  BlockSource blocks(blobs_, *index_);
  THUNDER_ASSIGN_OR_RETURN(const Resolved resolved, detail::resolvePath(blocks, root, segments));
  return detail::makeCarStream(blocks, root, resolved, options);
}

namespace detail {
namespace {

// The entry `name` of the HAMT directory whose root shard is `cid`; every shard visited is
// appended to `path`. nullopt when there is no such entry.
Result<std::optional<Cid>> hamtFind(BlockSource& blocks, Cid cid, DecodedNode node,
                                    const std::string& name, std::vector<Cid>& path) {
  for (size_t depth = 0;; ++depth) {
    if (node.kind != NodeKind::kHamtDirectory) {
      return fail(ErrorCode::kCorruption, "block {}: a HAMT shard links to it, but it is a {}",
                  cid.toString(), nodeKindName(node.kind));
    }
    if (node.unixfs.hash_type.value_or(0) != kHamtMurmur3 || !node.unixfs.fanout) {
      return fail(ErrorCode::kInvalidArgument,
                  "HAMT shard {} uses hash function 0x{:x}; only murmur3-x64-64 (0x22) is "
                  "supported",
                  cid.toString(), node.unixfs.hash_type.value_or(0));
    }
    const uint64_t fanout = *node.unixfs.fanout;
    auto width = hamtLabelWidth(fanout);
    auto bucket = hamtBucket(name, fanout, depth);
    if (!width || !bucket) {
      return fail(ErrorCode::kCorruption, "HAMT shard {}: {}", cid.toString(),
                  (!width ? width.error() : bucket.error()).message);
    }
    path.push_back(cid);
    const std::string label = hamtLabel(*bucket, *width);
    const PbLink* next = nullptr;
    for (const auto& link : node.pb.links) {
      const std::string& link_name = link.name ? *link.name : std::string();
      if (link_name.size() < label.size() || link_name.compare(0, label.size(), label) != 0) {
        continue;
      }
      if (link_name.size() == label.size()) {
        next = &link;
        break;
      }
      if (std::string_view(link_name).substr(label.size()) == name) {
        return std::optional<Cid>(link.hash);
      }
    }
    if (!next) return std::optional<Cid>();
    cid = next->hash;
    THUNDER_ASSIGN_OR_RETURN(const auto block, blocks.require(cid));
    THUNDER_ASSIGN_OR_RETURN(node, decodeNode(cid, block));
    if (depth + 1 >= kMaxHamtDepth) {
      return fail(ErrorCode::kCorruption, "HAMT shard {}: nested too deep", cid.toString());
    }
  }
}

uint64_t sizeOf(const DecodedNode& node, uint64_t block_size) {
  switch (node.kind) {
    case NodeKind::kFile: return unixfsFileSize(node.unixfs);
    case NodeKind::kSymlink: return node.unixfs.data ? node.unixfs.data->size() : 0;
    case NodeKind::kDirectory:
    case NodeKind::kHamtDirectory: {
      uint64_t total = block_size;
      for (const auto& link : node.pb.links) total += link.tsize.value_or(0);
      return total;
    }
    default: return block_size;
  }
}

}  // namespace

Result<Resolved> resolvePath(BlockSource& blocks, const Cid& root,
                             std::span<const std::string> segments) {
  Resolved resolved;
  Cid current = root;
  std::string walked = root.toString();
  for (const auto& segment : segments) {
    if (segment.empty()) continue;
    THUNDER_TRY(checkEntryName(segment).map_error(
        [&](Error e) { return e.withContext(fmt::format("path {}/{}", walked, segment)); }));
    THUNDER_ASSIGN_OR_RETURN(const auto block, blocks.require(current));
    THUNDER_ASSIGN_OR_RETURN(const auto node, decodeNode(current, block));
    std::optional<Cid> next;
    if (node.kind == NodeKind::kDirectory) {
      resolved.path_blocks.push_back(current);
      for (const auto& link : node.pb.links) {
        if (link.name && *link.name == segment) {
          next = link.hash;
          break;
        }
      }
    } else if (node.kind == NodeKind::kHamtDirectory) {
      THUNDER_ASSIGN_OR_RETURN(next,
                               hamtFind(blocks, current, node, segment, resolved.path_blocks));
    } else {
      return fail(ErrorCode::kInvalidArgument, "{} ({}) is a {}, not a directory: no \"{}\" in it",
                  walked, current.toString(), nodeKindName(node.kind), segment);
    }
    if (!next) {
      return fail(ErrorCode::kNotFound, "no such entry \"{}\" in {}", segment, walked);
    }
    current = *next;
    walked += "/" + segment;
  }
  THUNDER_ASSIGN_OR_RETURN(const auto block, blocks.require(current));
  THUNDER_ASSIGN_OR_RETURN(const auto node, decodeNode(current, block));
  resolved.cid = current;
  resolved.kind = node.kind;
  resolved.size = sizeOf(node, block.size());
  return resolved;
}

}  // namespace detail
}  // namespace thunder::content::ipfs
