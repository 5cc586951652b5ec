#include "gateway/ipfs_file_range.h"

#include <algorithm>
#include <vector>

#include "content/ipfs_dag_pb.h"
#include "content/ipfs_unixfs.h"

namespace thunder::gateway {
namespace {

namespace ipfs = content::ipfs;

constexpr size_t kMaxDepth = 256;

// One node of a UnixFS file: its own bytes, then its children with their sizes.
struct FileNode {
  std::vector<uint8_t> data;
  std::vector<ipfs::Cid> children;
  std::vector<uint64_t> sizes;
  uint64_t size = 0;
};

Result<FileNode> readFileNode(ipfs::IpfsStore& store, const ipfs::Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(auto block, store.getBlock(cid));
  if (!block) {
    return fail(ErrorCode::kNotFound, "block {} of the file is not stored on this node",
                cid.toString());
  }
  FileNode node;
  if (cid.codec() == ipfs::kRaw) {
    node.size = block->size();
    node.data = std::move(*block);
    return node;
  }
  if (cid.codec() != ipfs::kDagPb) {
    return fail(ErrorCode::kCorruption, "block {} is not part of a UnixFS file", cid.toString());
  }
  auto pb = ipfs::decodeDagPb(*block);
  if (!pb) return fail(ErrorCode::kCorruption, "{}: {}", cid.toString(), pb.error().message);
  if (!pb->data) {
    return fail(ErrorCode::kCorruption, "{} has no UnixFS data", cid.toString());
  }
  auto unixfs = ipfs::decodeUnixfs(*pb->data);
  if (!unixfs) {
    return fail(ErrorCode::kCorruption, "{}: {}", cid.toString(), unixfs.error().message);
  }
  if (unixfs->type != ipfs::UnixfsType::kFile && unixfs->type != ipfs::UnixfsType::kRaw) {
    return fail(ErrorCode::kCorruption, "{} is not a UnixFS file", cid.toString());
  }
  if (unixfs->blocksizes.size() != pb->links.size()) {
    return fail(ErrorCode::kCorruption, "{} has {} links but {} block sizes", cid.toString(),
                pb->links.size(), unixfs->blocksizes.size());
  }
  if (unixfs->data) node.data = std::move(*unixfs->data);
  for (auto& link : pb->links) node.children.push_back(std::move(link.hash));
  node.sizes = std::move(unixfs->blocksizes);
  uint64_t total = node.data.size();
  for (uint64_t size : node.sizes) total += size;
  node.size = unixfs->filesize.value_or(total);
  return node;
}

// Appends the bytes of `range` that node `cid`, starting at file offset `offset`, holds.
Result<void> appendRange(ipfs::IpfsStore& store, const ipfs::Cid& cid, uint64_t offset,
                         content::ByteRange range, size_t depth, std::string& out) {
  if (depth > kMaxDepth) {
    return fail(ErrorCode::kCorruption, "the file is nested deeper than {} levels", kMaxDepth);
  }
  THUNDER_ASSIGN_OR_RETURN(const FileNode node, readFileNode(store, cid));
  const uint64_t data_end = offset + node.data.size();
  if (offset < range.end && data_end > range.start) {
    const uint64_t from = std::max(offset, range.start);
    const uint64_t to = std::min(data_end, range.end);
    out.append(reinterpret_cast<const char*>(node.data.data()) + (from - offset), to - from);
  }
  uint64_t at = data_end;
  for (size_t i = 0; i < node.children.size() && at < range.end; ++i) {
    const uint64_t length = node.sizes[i];
    if (length > 0 && at + length > range.start) {
      THUNDER_TRY(appendRange(store, node.children[i], at, range, depth + 1, out));
    }
    at += length;
  }
  return {};
}

}  // namespace

Result<uint64_t> unixfsFileSize(ipfs::IpfsStore& store, const ipfs::Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(const FileNode node, readFileNode(store, cid));
  return node.size;
}

Result<std::string> readUnixfsRange(ipfs::IpfsStore& store, const ipfs::Cid& cid,
                                    content::ByteRange range) {
  if (range.end < range.start) {
    return fail(ErrorCode::kInvalidArgument, "bad range [{}, {})", range.start, range.end);
  }
  const uint64_t length = range.end - range.start;
  if (length > kMaxBlockRangeBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "a range of {} bytes is too long to read block by block (at most {})", length,
                kMaxBlockRangeBytes);
  }
  std::string out;
  out.reserve(length);
  THUNDER_TRY(appendRange(store, cid, 0, range, 0, out));
  if (out.size() != length) {
    return fail(ErrorCode::kCorruption,
                "file {}: its blocks hold {} bytes of the range [{}, {}), its sizes say {}",
                cid.toString(), out.size(), range.start, range.end, length);
  }
  return out;
}

}  // namespace thunder::gateway
