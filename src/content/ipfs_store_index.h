// IpfsIndex: the RocksDB part of IpfsStore — multihash → block blob, CID → content blob. Key and
// value encodings: docs/formats/ipfs.md "Store".
//
// Owned by one IpfsStore (private to it). Thread-safe (RocksDB is); writes go through an
// IndexBatch, applied atomically and synced.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace thunder::content::ipfs {

// Where a block's bytes are: the blob holding exactly them.
struct BlockRecord {
  BlobId blob;
  uint64_t size = 0;  // the block's length
};

// The content blob of a CID: a file's bytes (kRaw, kFile) or a directory manifest
// (kDirectory, kHamtDirectory).
struct ContentRecord {
  NodeKind kind = NodeKind::kFile;
  BlobId blob;
  uint64_t size = 0;  // the content blob's length
};

// Writes collected for one atomic, synced IpfsIndex::write().
class IndexBatch {
 public:
  IndexBatch();
  ~IndexBatch();
  IndexBatch(IndexBatch&&) noexcept;
  IndexBatch& operator=(IndexBatch&&) noexcept;

  void putBlock(const Multihash& hash, const BlockRecord& record);
  // Precondition: record.kind is kRaw, kFile, kDirectory or kHamtDirectory.
  void putContent(const Cid& cid, const ContentRecord& record);
  size_t count() const { return count_; }
  size_t bytes() const { return bytes_; }  // of the block data the recorded blocks hold

 private:
  friend class IpfsIndex;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  size_t count_ = 0;
  size_t bytes_ = 0;
};

class IpfsIndex {
 public:
  // Opens (creating) the database in `dir`. kUnavailable when another process has it open,
  // kCorruption when it holds another format.
  static Result<std::unique_ptr<IpfsIndex>> open(const std::filesystem::path& dir);
  ~IpfsIndex();
  IpfsIndex(const IpfsIndex&) = delete;
  IpfsIndex& operator=(const IpfsIndex&) = delete;

  // nullopt when there is no record. kCorruption for a malformed record.
  Result<std::optional<BlockRecord>> block(const Multihash& hash) const;
  // Looked up by the CIDv1 form (a CIDv0 and its v1 share a record).
  Result<std::optional<ContentRecord>> content(const Cid& cid) const;

  // Applies `batch` atomically and durably (synced); the batch is then empty.
  Result<void> write(IndexBatch& batch);

 private:
  explicit IpfsIndex(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace thunder::content::ipfs
