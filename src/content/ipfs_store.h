// IpfsStore: IPFS blocks and UnixFS content on top of the node's BlobStore. Importing a CAR,
// resolving /ipfs/<cid>/path, the content blob of a UnixFS file or directory, and exporting
// Trustless Gateway CARs. Index layout: docs/formats/ipfs.md "Store".
//
// Blocks are kept as blobs in the BlobStore (blob id = BLAKE3 of the block bytes), so the store's
// quota, LRU and pins apply to them; an own RocksDB index under `dir` maps multihash → block blob
// and CID → content blob (a file's bytes, or a Thunder directory manifest, docs/formats/
// directory.md, so that /b3/<dir-id>/path serves the same tree). A mapping whose blob has been
// garbage-collected reads as "not here".
//
// The IpfsStore borrows the BlobStore (which must outlive it) and owns its index; one process
// opens a given `dir` (RocksDB's lock). Thread-safe: every method may be called concurrently
// from any thread; all of them block (disk I/O, hashing), so call them off the event loop. A
// CarStream borrows the IpfsStore and is used from one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_store.h"
#include "content/ipfs_car.h"
#include "content/ipfs_multiformats.h"

namespace thunder::content::ipfs {

class IpfsIndex;

// What the terminal element of a CAR export holds (Trustless Gateway `dag-scope`).
enum class DagScope { kAll, kEntity, kBlock };
std::string_view dagScopeName(DagScope scope);  // "all", "entity", "block"
// kInvalidArgument unless `text` is "all", "entity" or "block".
Result<DagScope> parseDagScope(std::string_view text);

// `entity-bytes=from:to`: inclusive byte offsets; negative = counted from the end; to = nullopt
// is "*" (the end).
struct EntityBytes {
  int64_t from = 0;
  std::optional<int64_t> to;
};
// Parses "from:to" ("0:*", "-1024:*", "499:-1000"). kInvalidArgument naming the problem.
Result<EntityBytes> parseEntityBytes(std::string_view text);

struct CarExportOptions {
  DagScope scope = DagScope::kAll;
  std::optional<EntityBytes> bytes;  // implies DagScope::kEntity
  bool dups = false;                 // car-dups=y: a block repeated in the DAG is sent again
};

enum class NodeKind { kRaw, kFile, kDirectory, kHamtDirectory, kSymlink, kOther };
// "raw", "file", "directory", "hamt-directory", "symlink", "other".
std::string_view nodeKindName(NodeKind kind);

struct Resolved {
  Cid cid;  // the terminal element of the path
  NodeKind kind = NodeKind::kOther;
  // raw: the block's length; file: its UnixFS size; symlink: the target's length; directory
  // and HAMT directory: the block's length plus the Tsize of its links (the DAG size the links
  // claim); other: the block's length.
  uint64_t size = 0;
  std::vector<Cid> path_blocks;  // from the root to the parent of `cid`, HAMT shards included
};

struct ImportedRoot {
  Cid cid;
  NodeKind kind = NodeKind::kOther;  // kOther also when the root block itself is missing
  // The content blob (file bytes or directory manifest); nullopt when incomplete, for a
  // symlink, for non-UnixFS data, and for a directory no manifest can hold (an entry name over
  // 255 bytes, more than 100 000 entries, or such a sub-directory).
  std::optional<BlobId> blob;
  // The content blob's length; an incomplete file: the size its root claims; a symlink: the
  // target's length; else 0.
  uint64_t size = 0;
  bool complete = false;  // every block under the root is stored
};

struct ImportReport {
  std::vector<ImportedRoot> roots;  // in the CAR header's order
  uint64_t blocks = 0;  // block sections read (a block repeated in the CAR counts again)
  uint64_t bytes = 0;   // bytes of the CAR read
};

struct ImportOptions {
  // kPinned: once the import succeeds, every block of the CAR and every content blob made from
  // it is pinned. Blocks are stored unpinned while the CAR streams in, so what a failed or
  // killed import leaves behind can be collected.
  PinState pin = PinState::kPinned;
  std::function<void(uint64_t bytes_read)> progress;  // called after each block, import thread
  CarLimits limits;
};

// Pull-style CAR body: read() returns 0 at the end. kNotFound mid-stream = a block of the DAG is
// not stored (the bytes so far are a truncated CAR; stop sending). After an error every read()
// returns it again.
class CarStream {
 public:
  virtual ~CarStream() = default;
  virtual Result<size_t> read(std::span<uint8_t> out) = 0;
};

// The index directory inside a node data dir.
inline std::filesystem::path ipfsDirIn(const std::filesystem::path& data_dir) {
  return data_dir / "ipfs";
}

class IpfsStore {
 public:
  // Opens (creating) the index in `dir` over `blobs` (borrowed). kUnavailable when another
  // process has it open, kCorruption for an index of another format.
  static Result<std::unique_ptr<IpfsStore>> open(const std::filesystem::path& dir,
                                                 BlobStore& blobs);
  ~IpfsStore();
  IpfsStore(const IpfsStore&) = delete;
  IpfsStore& operator=(const IpfsStore&) = delete;

  // Verifies `data` against `cid` (kCorruption on a mismatch, kUnimplemented for an unknown hash
  // function) and stores it. Identity CIDs are verified and not stored (their data is the CID).
  Result<void> putBlock(const Cid& cid, std::span<const uint8_t> data, PinState pin);
  // The block's bytes; nullopt when it is not here (never stored, or garbage-collected).
  Result<std::optional<std::vector<uint8_t>>> getBlock(const Cid& cid);
  Result<bool> hasBlock(const Cid& cid);

  // Streams a CAR in: every block is verified and stored; then each root's DAG is walked and
  // every complete UnixFS file and directory gets its content blob, remembered durably.
  // A root whose DAG misses blocks is reported complete = false (not an error). Errors (nothing
  // recorded as content for any root; blocks stored so far stay, unpinned): kCorruption for a
  // block that does not match its CID or a UnixFS node whose sizes disagree with the children
  // found (naming the CID); kInvalidArgument for a truncated or malformed CAR or a bad entry
  // name ("", ".", "..", containing '/'); the BlobStore's errors (e.g. kResourceExhausted).
  Result<ImportReport> importCar(ByteReader reader, const ImportOptions& options);

  // Walks `segments` (empty ones are skipped) from `root` through dag-pb directories and HAMT
  // shards (the bucket of each name is computed, not searched). kNotFound "no such entry …" or
  // "block … is not here"; kInvalidArgument when a segment is not a valid name or the path goes
  // through something that is not a directory.
  Result<Resolved> resolve(const Cid& root, std::span<const std::string> segments);

  // The content blob of a UnixFS file or directory or a raw block: looked up, or assembled
  // from the stored blocks (unpinned) and remembered. kNotFound naming a missing block,
  // kInvalidArgument for a symlink, non-UnixFS data or a directory no manifest can hold,
  // kCorruption as importCar.
  Result<BlobId> contentBlob(const Cid& cid);
  // The remembered content blob, if it is still stored; never assembles.
  Result<std::optional<BlobId>> lookupContentBlob(const Cid& cid);

  // A Trustless Gateway CAR (CARv1, DFS in link order) of `root`/`segments`: the header names
  // `root`; then the blocks of the path; then the terminal element per options.scope: kBlock
  // its block only; kEntity a file's blocks (only those covering options.bytes when given), a
  // directory's block or all its HAMT shards (not the entries), other data's block; kAll the
  // whole DAG below it. Without dups each block is sent at most once. kNotFound (from here,
  // before any byte) when the root or a path block is missing or a segment does not exist;
  // resolve()'s kInvalidArgument. The stream borrows this store.
  Result<std::unique_ptr<CarStream>> exportCar(const Cid& root,
                                               std::span<const std::string> segments,
                                               const CarExportOptions& options);

 private:
  IpfsStore(BlobStore& blobs, std::unique_ptr<IpfsIndex> index);

  BlobStore& blobs_;
  std::unique_ptr<IpfsIndex> index_;
};

}  // namespace thunder::content::ipfs
