// FsBlobStore: the BlobStore on a local filesystem, with its index in RocksDB. On-disk layout
// and index encodings: docs/formats/blob-store.md.
//
//   <root>/blobs/ab/<hex id>.data   complete blobs (sharded by the first byte of the id)
//   <root>/blobs/ab/<hex id>.obao   their pre-order outboards
//   <root>/partial/ab/<hex id>.data partial blobs (sparse; only verified groups are meaningful)
//   <root>/tmp/                     in-progress writes
//   <root>/index/                   RocksDB: records, LRU order, group bitfields
//
// Writes go to tmp/, are fsynced and renamed into place before the index records them, so a
// crash never leaves a visible partial blob; open() collects what a crash left behind. A
// PutBatch (beginBatch()) does the same for many blobs with one syncfs(2) of the store's file
// system before the renames, one after, and one synced index write.
// One process may open a store read-write (RocksDB's lock enforces it; the CLI and the node
// also hold the data dir lock); any number may open it read-only while it is written.
// Thread-safe: all methods may be called concurrently from any thread (all block).
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "content/blob_store.h"

namespace thunder::content {

class StoreIndex;
struct BlobRecord;
class GroupBitfield;

enum class OpenMode { kReadWrite, kReadOnly };

// Points of PutBatch::commit() where StoreOptions::on_batch_commit is called.
enum class BatchCommitStage {
  kDataDurable,  // the batch's files are synced, still in tmp/; nothing renamed or indexed
  kRenamed,      // the files are renamed into blobs/ and synced; the index is not written yet
};

struct StoreOptions {
  std::filesystem::path root;  // the store directory (the node uses <data-dir>/store)
  uint64_t quota_bytes = 0;    // data + outboard bytes of all blobs; 0 = unlimited
  OpenMode mode = OpenMode::kReadWrite;
  // Test seam: called before each write of blob bytes to a file in tmp/ or partial/ with the
  // file offset and length; a non-zero return is taken as that errno (e.g. ENOSPC).
  std::function<int(uint64_t offset, uint64_t length)> inject_write_errno;
  // Test seam: called at each stage of PutBatch::commit() (with the store's lock held at
  // kRenamed), e.g. to snapshot the directory as a crash at that point would leave it.
  std::function<void(BatchCommitStage stage)> on_batch_commit;
};

// The store directory inside a node data dir.
inline std::filesystem::path storeDirIn(const std::filesystem::path& data_dir) {
  return data_dir / "store";
}

class FsBlobStore final : public BlobStore {
 public:
  // Opens (read-write: creates) the store at options.root. Read-write: removes leftovers of
  // interrupted writes, and after an unclean shutdown also blob files without an index record;
  // finishes partial blobs whose groups were all verified. Read-only: kNotFound if no store
  // exists; every write returns kUnavailable. kUnavailable if another process has it open
  // read-write.
  static Result<std::unique_ptr<FsBlobStore>> open(StoreOptions options);
  ~FsBlobStore() override;

  Result<PutResult> putFile(const std::filesystem::path& file, const PutOptions& options) override;
  Result<PutResult> putStream(int fd, const PutOptions& options) override;
  Result<PutResult> putBytes(std::span<const uint8_t> bytes, const PutOptions& options) override;
  // Puts are written to tmp/ unsynced and invisible; commit() syncs the file system (syncfs),
  // renames them into blobs/, syncs it again and writes all records and pins in one synced
  // RocksDB batch (docs/formats/blob-store.md "Batched puts").
  Result<std::unique_ptr<PutBatch>> beginBatch() override;
  Result<std::unique_ptr<VerifiedImport>> importVerified(const BlobId& id, const ByteRanges& ranges,
                                                         const PutOptions& options) override;
  Result<VerifiedPutResult> putVerifiedStream(const BlobId& id, const ByteRanges& ranges, int fd,
                                              const PutOptions& options) override;
  Result<std::vector<uint8_t>> read(const BlobId& id, uint64_t offset, uint64_t length) override;
  Result<BlobSlice> openRange(const BlobId& id, uint64_t offset, uint64_t length) override;
  Result<BlobFiles> openComplete(const BlobId& id) override;
  Result<BlobInfo> stat(const BlobId& id) override;
  Result<bool> has(const BlobId& id) override;
  Result<std::vector<BlobInfo>> list() override;
  Result<void> remove(const BlobId& id) override;
  Result<void> pin(const BlobId& id) override;
  Result<void> unpin(const BlobId& id) override;
  Result<GcReport> gc() override;
  Result<FsckReport> fsck() override;

  // Data + outboard bytes of all blobs (partial blobs count at their full size).
  uint64_t usedBytes() const;

  // File paths (for tests and tools).
  std::filesystem::path dataPath(const BlobId& id) const;
  std::filesystem::path outboardPath(const BlobId& id) const;
  std::filesystem::path partialPath(const BlobId& id) const;
  const std::filesystem::path& root() const { return options_.root; }

 private:
  class TempFile;
  class Import;
  class Batch;
  struct Staged;  // a blob written and synced in tmp/, ready to be committed

  explicit FsBlobStore(StoreOptions options);
  Result<void> recover();
  Result<void> requireWritable(std::string_view what) const;
  Result<TempFile> createTemp(std::string_view suffix);
  Result<void> injectedFault(uint64_t offset, uint64_t length) const;
  Result<Staged> stageFile(int src_fd, uint64_t size, const PutOptions& options);
  Result<Staged> stageStream(int fd, const PutOptions& options);
  Result<PutResult> commit(Staged staged, const PutOptions& options);
  // Evicts unpinned complete blobs (never one for which `keep` is true) in LRU order until
  // `needed` more bytes fit the quota; evicts nothing and fails kResourceExhausted if they cannot.
  Result<void> makeRoomLocked(uint64_t needed, const std::function<bool(const BlobId&)>& keep,
                              GcReport* report);
  // syncfs(2) of the file system holding the store (on failure, the errno's code naming the store).
  Result<void> syncFileSystem() const;
  Result<void> evictLocked(const BlobId& id, const BlobRecord& record);
  Result<void> completePartialLocked(const BlobId& id, const BlobRecord& record);
  Result<BlobRecord> recordFor(const BlobId& id) const;
  Result<void> checkVerified(const BlobId& id, const BlobRecord& record, uint64_t offset,
                             uint64_t length) const;
  void touch(const BlobId& id);
  uint64_t nextTickLocked();
  Result<void> setPin(const BlobId& id, PinState pin);
  Result<GcReport> sweepLocked(int orphans);
  BlobInfo infoFor(const BlobId& id, const BlobRecord& record) const;
  std::filesystem::path shardDir(const std::filesystem::path& base, const BlobId& id) const;

  StoreOptions options_;
  std::unique_ptr<StoreIndex> index_;
  UniqueFd root_fd_;         // read-write: the root directory, for syncfs(2)
  std::string temp_prefix_;  // unique per open store: "<pid>-<random>-"
  std::atomic<uint64_t> temp_counter_{0};
  bool recovered_ = false;  // open() finished: closing may mark the store clean

  mutable std::mutex mu_;    // serializes index read-modify-write, commits, eviction, sweeps
  uint64_t used_bytes_ = 0;  // guarded by mu_
  uint64_t last_tick_ = 0;   // guarded by mu_
  std::mutex temps_mu_;
  std::set<std::string> active_temps_;  // guarded by temps_mu_: temp file names in use
};

}  // namespace thunder::content
