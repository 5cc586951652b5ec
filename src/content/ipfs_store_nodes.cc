// IpfsStore internals: reading blocks, classifying them, following their links (dag-pb,
// dag-cbor, dag-json), HAMT shards and the checked byte stream of a UnixFS file.
#include <limits>
#include <unordered_set>

#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs::detail {
namespace {

tl::unexpected<Error> corrupt(const Cid& cid, std::string_view what) {
  return fail(ErrorCode::kCorruption, "block {}: {}", cid.toString(), what);
}

// Reads a CBOR item head at `pos`: major type and argument. Indefinite lengths (not allowed in
// dag-cbor) and reserved encodings are refused.
Result<std::pair<uint8_t, uint64_t>> cborHead(std::span<const uint8_t> in, size_t& pos) {
  if (pos >= in.size()) return fail(ErrorCode::kCorruption, "invalid dag-cbor: truncated");
  const uint8_t initial = in[pos++];
  const uint8_t major = initial >> 5;
  const uint8_t info = initial & 31;
  if (info < 24) return std::pair{major, uint64_t{info}};
  if (info > 27) {
    return fail(ErrorCode::kCorruption, "invalid dag-cbor: indefinite or reserved length at {}",
                pos - 1);
  }
  const size_t n = size_t{1} << (info - 24);
  if (in.size() - pos < n) return fail(ErrorCode::kCorruption, "invalid dag-cbor: truncated");
  uint64_t arg = 0;
  for (size_t i = 0; i < n; ++i) arg = (arg << 8) | in[pos + i];
  pos += n;
  return std::pair{major, arg};
}

}  // namespace

Result<std::optional<std::vector<uint8_t>>> BlockSource::get(const Cid& cid) {
  using Out = std::optional<std::vector<uint8_t>>;
  if (cid.hash().code == kIdentity) return Out(cid.hash().digest);
  THUNDER_ASSIGN_OR_RETURN(const auto record, index_.block(cid.hash()));
  if (!record) return Out();
  auto bytes = blobs_.read(record->blob, 0, record->size);
  if (!bytes && bytes.error().code == ErrorCode::kNotFound) return Out();  // collected
  if (!bytes) return fail(bytes.error());
  if (bytes->size() != record->size) {
    return fail(ErrorCode::kCorruption, "block {}: blob {} holds {} bytes, the index says {}",
                cid.toString(), record->blob.hex(), bytes->size(), record->size);
  }
  return Out(std::move(*bytes));
}

Result<std::vector<uint8_t>> BlockSource::require(const Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(auto block, get(cid));
  if (!block) return fail(ErrorCode::kNotFound, "block {} is not here", cid.toString());
  return std::move(*block);
}

Result<std::optional<uint64_t>> BlockSource::size(const Cid& cid) {
  using Out = std::optional<uint64_t>;
  if (cid.hash().code == kIdentity) return Out(cid.hash().digest.size());
  THUNDER_ASSIGN_OR_RETURN(const auto record, index_.block(cid.hash()));
  if (!record) return Out();
  THUNDER_ASSIGN_OR_RETURN(const bool present, blobs_.has(record->blob));
  return present ? Out(record->size) : Out();
}

Result<std::vector<Cid>> dagCborLinks(std::span<const uint8_t> in) {
  constexpr size_t kMaxNesting = 1024;
  std::vector<Cid> links;
  std::vector<uint64_t> pending{1};  // items still to read at each nesting level
  size_t pos = 0;
  bool cid_next = false;  // the item after tag 42 is a CID byte string
  while (!pending.empty()) {
    if (pending.back() == 0) {
      pending.pop_back();
      continue;
    }
    --pending.back();
    THUNDER_ASSIGN_OR_RETURN(const auto head, cborHead(in, pos));
    const auto [major, arg] = head;
    const uint64_t left = in.size() - pos;
    if (cid_next) {
      cid_next = false;
      if (major != 2 || arg > left || arg < 1 || in[pos] != 0) {
        return fail(ErrorCode::kCorruption, "invalid dag-cbor: tag 42 is not a CID byte string");
      }
      auto cid = Cid::fromBytes(in.subspan(pos + 1, arg - 1));
      if (!cid)
        return fail(ErrorCode::kCorruption, "invalid dag-cbor link: {}", cid.error().message);
      links.push_back(std::move(*cid));
      pos += arg;
      continue;
    }
    switch (major) {
      case 0:
      case 1:
      case 7: break;  // integers, simple values, floats (their bytes are the argument)
      case 2:
      case 3:
        if (arg > left) return fail(ErrorCode::kCorruption, "invalid dag-cbor: truncated string");
        pos += arg;
        break;
      case 4:
      case 5: {
        // Every item takes at least one byte: a count beyond the bytes left is a lie.
        if (arg > left || (major == 5 && arg > left / 2)) {
          return fail(ErrorCode::kCorruption, "invalid dag-cbor: {} items in {} bytes", arg, left);
        }
        if (pending.size() >= kMaxNesting) {
          return fail(ErrorCode::kCorruption, "invalid dag-cbor: nested deeper than {}",
                      kMaxNesting);
        }
        pending.push_back(major == 5 ? 2 * arg : arg);
        break;
      }
      case 6:
        if (arg == 42) cid_next = true;
        ++pending.back();  // the tagged item follows
        break;
    }
  }
  if (pos != in.size()) {
    return fail(ErrorCode::kCorruption, "invalid dag-cbor: {} bytes after the value",
                in.size() - pos);
  }
  return links;
}

std::vector<Cid> dagJsonLinks(std::span<const uint8_t> block) {
  // Canonical dag-json has no insignificant whitespace; a link is exactly {"/":"<cid>"}. A '"'
  // inside a JSON string is escaped, so this pattern can only be structure.
  const std::string_view text(reinterpret_cast<const char*>(block.data()), block.size());
  constexpr std::string_view kOpen = "{\"/\":\"";
  std::vector<Cid> links;
  for (size_t at = text.find(kOpen); at != std::string_view::npos; at = text.find(kOpen, at + 1)) {
    const size_t start = at + kOpen.size();
    const size_t end = text.find('"', start);
    if (end == std::string_view::npos || end + 1 >= text.size() || text[end + 1] != '}') continue;
    if (auto cid = Cid::parse(text.substr(start, end - start))) links.push_back(std::move(*cid));
  }
  return links;
}

Result<DecodedNode> decodeNode(const Cid& cid, std::span<const uint8_t> block) {
  DecodedNode node;
  switch (cid.codec()) {
    case kRaw: node.kind = NodeKind::kRaw; return node;
    case kDagCbor: {
      auto links = dagCborLinks(block);
      if (!links) return corrupt(cid, links.error().message);
      node.links = std::move(*links);
      return node;
    }
    case kDagJson: node.links = dagJsonLinks(block); return node;
    case kDagPb: break;
    default: return node;  // opaque: no links we know of
  }
  auto pb = decodeDagPb(block);
  if (!pb) return corrupt(cid, pb.error().message);
  node.pb = std::move(*pb);
  for (const auto& link : node.pb.links) node.links.push_back(link.hash);
  if (!node.pb.data) return node;  // dag-pb, but not UnixFS
  auto unixfs = decodeUnixfs(*node.pb.data);
  if (!unixfs) return node;
  node.unixfs = std::move(*unixfs);
  switch (node.unixfs.type) {
    case UnixfsType::kRaw:
    case UnixfsType::kFile: node.kind = NodeKind::kFile; break;
    case UnixfsType::kDirectory: node.kind = NodeKind::kDirectory; break;
    case UnixfsType::kHamtShard: node.kind = NodeKind::kHamtDirectory; break;
    case UnixfsType::kSymlink: node.kind = NodeKind::kSymlink; break;
    case UnixfsType::kMetadata: node.kind = NodeKind::kOther; break;
  }
  return node;
}

uint64_t unixfsFileSize(const UnixfsData& data) {
  if (data.filesize) return *data.filesize;
  uint64_t total = data.data ? data.data->size() : 0;
  for (const uint64_t b : data.blocksizes) total += b;
  return total;
}

std::optional<EntryKind> entryKindOf(NodeKind kind) {
  switch (kind) {
    case NodeKind::kRaw:
    case NodeKind::kFile: return EntryKind::kFile;
    case NodeKind::kDirectory:
    case NodeKind::kHamtDirectory: return EntryKind::kDirectory;
    default: return std::nullopt;
  }
}

namespace {

// The shard's fanout and label width, after checking its hash function.
Result<std::pair<uint64_t, size_t>> shardShape(const Cid& cid, const DecodedNode& node) {
  if (node.unixfs.hash_type.value_or(0) != kHamtMurmur3) {
    return fail(ErrorCode::kInvalidArgument,
                "HAMT shard {} uses hash function 0x{:x}; only murmur3-x64-64 (0x22) is supported",
                cid.toString(), node.unixfs.hash_type.value_or(0));
  }
  if (!node.unixfs.fanout) return corrupt(cid, "HAMT shard without a fanout");
  auto width = hamtLabelWidth(*node.unixfs.fanout);
  if (!width) return corrupt(cid, width.error().message);
  return std::pair{*node.unixfs.fanout, *width};
}

// The bucket a label names, or nullopt when it is not `width` uppercase hex digits < fanout.
std::optional<uint64_t> parseLabel(std::string_view label, uint64_t fanout) {
  uint64_t value = 0;
  for (const char c : label) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  if (value >= fanout) return std::nullopt;
  return value;
}

Result<std::optional<std::string>> collectShard(BlockSource& blocks, const Cid& cid,
                                                const DecodedNode& node, size_t depth,
                                                std::optional<uint64_t> parent_fanout,
                                                std::vector<DirLink>& entries) {
  if (node.kind != NodeKind::kHamtDirectory) {
    return corrupt(cid, "a HAMT shard links to it as a sub-shard, but it is not a HAMT shard");
  }
  if (depth >= kMaxHamtDepth) return corrupt(cid, "HAMT shards nested too deep");
  THUNDER_ASSIGN_OR_RETURN(const auto shape, shardShape(cid, node));
  const auto [fanout, width] = shape;
  if (parent_fanout && *parent_fanout != fanout) {
    return corrupt(
        cid, fmt::format("HAMT sub-shard has fanout {}, its parent {}", fanout, *parent_fanout));
  }
  for (const auto& link : node.pb.links) {
    const std::string name = link.name.value_or("");
    const auto bucket = name.size() >= width ? parseLabel(name.substr(0, width), fanout)
                                             : std::optional<uint64_t>();
    if (!bucket) {
      return corrupt(cid, fmt::format("HAMT link \"{}\" does not start with a bucket label", name));
    }
    if (name.size() == width) {  // a sub-shard
      THUNDER_ASSIGN_OR_RETURN(auto block, blocks.get(link.hash));
      if (!block) return std::optional<std::string>(link.hash.toString());
      THUNDER_ASSIGN_OR_RETURN(const auto child, decodeNode(link.hash, *block));
      THUNDER_ASSIGN_OR_RETURN(auto missing,
                               collectShard(blocks, link.hash, child, depth + 1, fanout, entries));
      if (missing) return missing;
      continue;
    }
    std::string entry = name.substr(width);
    THUNDER_TRY(checkEntryName(entry).map_error([&](Error e) {
      return e.withContext(fmt::format("HAMT directory {}, entry {:?}", cid.toString(), entry));
    }));
    auto expected = hamtBucket(entry, fanout, depth);
    if (!expected || *expected != *bucket) {
      return corrupt(cid, fmt::format("HAMT entry \"{}\" is filed under bucket {} but its name "
                                      "hashes elsewhere",
                                      entry, name.substr(0, width)));
    }
    entries.push_back(DirLink{std::move(entry), link.hash});
  }
  return std::optional<std::string>();
}

constexpr size_t kMaxSinkChunk = 1 << 20;

// What a parent node says about one of its children: the blocksizes entry it gave it.
struct Claim {
  const Cid* parent = nullptr;
  size_t index = 0;
  uint64_t size = 0;
};

tl::unexpected<Error> lyingClaim(const Claim& claim, const Cid& child, uint64_t actual) {
  return corrupt(*claim.parent,
                 fmt::format("UnixFS blocksizes[{}] says {} bytes, but its child {} holds {}",
                             claim.index, claim.size, child.toString(), actual));
}

Result<uint64_t> streamNode(BlockSource& blocks, const Cid& cid, std::optional<Claim> claim,
                            size_t depth, const ByteSink& sink) {
  if (depth > kMaxFileDepth) return corrupt(cid, "UnixFS file nested too deep");
  THUNDER_ASSIGN_OR_RETURN(const auto block, blocks.require(cid));
  if (cid.codec() == kRaw) {
    if (claim && claim->size != block.size()) return lyingClaim(*claim, cid, block.size());
    THUNDER_TRY(sink(block));
    return block.size();
  }
  if (cid.codec() != kDagPb) {
    return corrupt(cid, fmt::format("codec 0x{:x} cannot be part of a UnixFS file", cid.codec()));
  }
  THUNDER_ASSIGN_OR_RETURN(const auto node, decodeNode(cid, block));
  if (node.kind != NodeKind::kFile) {
    return corrupt(
        cid, fmt::format("a UnixFS file links to it, but it is a {}", nodeKindName(node.kind)));
  }
  const auto& u = node.unixfs;
  if (u.blocksizes.size() != node.pb.links.size()) {
    return corrupt(cid, fmt::format("UnixFS file node has {} links but {} blocksizes",
                                    node.pb.links.size(), u.blocksizes.size()));
  }
  const std::span<const uint8_t> data =
      u.data ? std::span<const uint8_t>(*u.data) : std::span<const uint8_t>();
  uint64_t total = data.size();
  for (const uint64_t b : u.blocksizes) {
    if (b > std::numeric_limits<uint64_t>::max() - total) {
      return corrupt(cid, "UnixFS blocksizes overflow");
    }
    total += b;
  }
  if (u.filesize && *u.filesize != total) {
    return corrupt(cid, fmt::format("UnixFS filesize {} disagrees with its data and blocksizes "
                                    "({} bytes)",
                                    *u.filesize, total));
  }
  if (claim && claim->size != total) return lyingClaim(*claim, cid, total);
  for (size_t at = 0; at < data.size(); at += kMaxSinkChunk) {
    THUNDER_TRY(sink(data.subspan(at, std::min(kMaxSinkChunk, data.size() - at))));
  }
  for (size_t i = 0; i < node.pb.links.size(); ++i) {
    THUNDER_TRY(streamNode(blocks, node.pb.links[i].hash, Claim{&cid, i, u.blocksizes[i]},
                           depth + 1, sink));
  }
  return total;
}

}  // namespace

Result<std::optional<std::string>> hamtEntries(BlockSource& blocks, const Cid& cid,
                                               const DecodedNode& node,
                                               std::vector<DirLink>& entries) {
  return collectShard(blocks, cid, node, 0, std::nullopt, entries);
}

Result<uint64_t> streamFile(BlockSource& blocks, const Cid& cid, const ByteSink& sink) {
  return streamNode(blocks, cid, std::nullopt, 0, sink);
}

}  // namespace thunder::content::ipfs::detail
