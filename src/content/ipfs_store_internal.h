// Pieces shared by the IpfsStore implementation files (ipfs_store*.cc); not a public API.
//
//   BlockSource   reads blocks through the index (identity CIDs from the CID itself)
//   decodeNode()  what a block is (raw, UnixFS kind, other) and the CIDs it links to
//   Assembler     builds content blobs (file bytes, directory manifests) from stored blocks
//   makeCarStream() the Trustless Gateway CAR exporter
//
// Thread rules: BlockSource is thread-safe; an Assembler or a CarStream is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "content/blob_store.h"
#include "content/directory.h"
#include "content/ipfs_dag_pb.h"
#include "content/ipfs_store.h"
#include "content/ipfs_store_index.h"
#include "content/ipfs_unixfs.h"

namespace thunder::content::ipfs::detail {

// Limits that protect the stack and memory from hostile DAGs.
inline constexpr size_t kMaxFileDepth = 256;    // dag-pb levels inside one UnixFS file
inline constexpr size_t kMaxTreeDepth = 256;    // nested directories (as kMaxDirectoryDepth)
inline constexpr size_t kMaxHamtDepth = 64;     // shard levels (the hash has 64 bits)
inline constexpr uint64_t kHamtMurmur3 = 0x22;  // UnixFS HAMT hash function (multicodec)
inline constexpr uint64_t kInMemoryFileBytes = 4 << 20;  // smaller files are assembled in memory

class BlockSource {
 public:
  BlockSource(BlobStore& blobs, IpfsIndex& index) : blobs_(blobs), index_(index) {}
  // The block's bytes, nullopt when it is not here (no record, or its blob was collected).
  Result<std::optional<std::vector<uint8_t>>> get(const Cid& cid);
  // The block, or kNotFound "block <cid> is not here".
  Result<std::vector<uint8_t>> require(const Cid& cid);
  // The block's length without reading it; nullopt when it is not here.
  Result<std::optional<uint64_t>> size(const Cid& cid);

  BlobStore& blobs() { return blobs_; }
  IpfsIndex& index() { return index_; }

 private:
  BlobStore& blobs_;
  IpfsIndex& index_;
};

struct DecodedNode {
  NodeKind kind = NodeKind::kOther;
  PbNode pb;               // dag-pb blocks
  UnixfsData unixfs;       // dag-pb blocks holding UnixFS data
  std::vector<Cid> links;  // every CID the block links to, in link order
};

// Decodes `block` (already verified against `cid`). dag-pb without UnixFS data and codecs we do
// not interpret are kOther (dag-cbor and dag-json links are still found). kCorruption naming the
// CID for a block that is not valid in its codec.
Result<DecodedNode> decodeNode(const Cid& cid, std::span<const uint8_t> block);

// CIDs (tag 42) inside a dag-cbor block, in encoding order. kCorruption for invalid CBOR.
Result<std::vector<Cid>> dagCborLinks(std::span<const uint8_t> block);
// CIDs of the links {"/":"<cid>"} inside a dag-json block, in text order.
std::vector<Cid> dagJsonLinks(std::span<const uint8_t> block);

// The size a UnixFS file node claims (filesize, else its data plus blocksizes).
uint64_t unixfsFileSize(const UnixfsData& data);
// The entry kind a manifest gives a built node; nullopt for those manifests cannot hold.
std::optional<EntryKind> entryKindOf(NodeKind kind);

// Builds content blobs from stored blocks. Every complete file and directory built is recorded
// in records() (for one atomic index write by the caller, after it committed `batch`) and listed
// in contentBlobs() (for pinning). Blobs are put unpinned: files of at most kInMemoryFileBytes
// and directory manifests into `batch` (durable once the caller commits it), larger files
// straight into the BlobStore (streamed; durable at once). One Assembler serves one import or
// one contentBlob() call.
class Assembler {
 public:
  struct Built {
    NodeKind kind = NodeKind::kOther;
    std::optional<BlobId> blob;  // content blob of a complete file or directory
    uint64_t size = 0;
    bool complete = false;
    std::string missing;  // when incomplete: "block <cid> is not here"
    // A complete directory without a manifest: why none can hold it (a name over 255 bytes,
    // more than 100 000 entries, or such a sub-directory).
    std::string unrepresentable;
  };

  Assembler(BlockSource& blocks, PutBatch& batch) : blocks_(blocks), batch_(batch) {}
  // Missing blocks make Built::complete false; errors are kCorruption (a node contradicting its
  // children), kInvalidArgument (bad entry names) and the stores' errors.
  Result<Built> build(const Cid& cid) { return buildAt(cid, 0); }

  IndexBatch& records() { return records_; }
  const std::vector<BlobId>& contentBlobs() const { return content_blobs_; }

 private:
  Result<Built> buildAt(const Cid& cid, size_t depth);
  Result<Built> buildUncached(const Cid& cid, size_t depth);
  Result<Built> buildFile(const Cid& cid, const DecodedNode& node);
  Result<Built> buildDirectory(const Cid& cid, const DecodedNode& node, size_t depth);
  // Checks that every block reachable from `cid` is stored (non-UnixFS data, symlinks).
  Result<std::optional<std::string>> firstMissing(const Cid& cid);
  Result<Built> remember(const Cid& cid, NodeKind kind, const PutResult& put);

  BlockSource& blocks_;
  PutBatch& batch_;
  std::unordered_map<Cid, Built, CidHash> cache_;
  IndexBatch records_;
  std::vector<BlobId> content_blobs_;
};

// A directory entry found in a plain directory or in the shards of a HAMT.
struct DirLink {
  std::string name;
  Cid cid;
};
// Appends to `entries` the entries of the HAMT directory whose root shard is `node` (block
// `cid`), recursing into sub-shards in link order. Returns the first missing sub-shard's CID
// (as text) instead when one is not stored. kCorruption for a malformed shard (bad label, wrong
// fanout, an entry in the wrong bucket), kInvalidArgument for an unsupported hash function.
Result<std::optional<std::string>> hamtEntries(BlockSource& blocks, const Cid& cid,
                                               const DecodedNode& node,
                                               std::vector<DirLink>& entries);

// Calls `sink` with the bytes of the UnixFS file (or raw block) `cid`, in order, checking every
// node's sizes against its children before passing its bytes on. Returns the file's size.
// kNotFound "block … is not here" for a missing block; kCorruption naming the CID of a node whose
// blocksizes/filesize disagree with what it links to.
using ByteSink = std::function<Result<void>(std::span<const uint8_t>)>;
Result<uint64_t> streamFile(BlockSource& blocks, const Cid& cid, const ByteSink& sink);

// The CAR exporter behind IpfsStore::exportCar (ipfs_store_export.cc).
Result<std::unique_ptr<CarStream>> makeCarStream(BlockSource blocks, const Cid& root,
                                                 const Resolved& resolved,
                                                 const CarExportOptions& options);
// IpfsStore::resolve over a BlockSource.
Result<Resolved> resolvePath(BlockSource& blocks, const Cid& root,
                             std::span<const std::string> segments);

}  // namespace thunder::content::ipfs::detail
