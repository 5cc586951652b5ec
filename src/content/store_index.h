// StoreIndex: the RocksDB part of FsBlobStore — one record per blob (size, state, pin, times),
// an LRU order, and the bitfield of verified groups of partial blobs. Key and value encodings:
// docs/formats/blob-store.md.
//
// Owned by one FsBlobStore. Thread-safe for concurrent calls (RocksDB is), but read-modify-write
// sequences must be serialized by the owner (FsBlobStore holds its mutex around them).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/fs_blob_store.h"

namespace rocksdb {
class DB;
}

namespace thunder::content {

// What the index knows about one blob.
struct BlobRecord {
  uint64_t size = 0;
  BlobState state = BlobState::kComplete;
  PinState pin = PinState::kUnpinned;
  uint64_t created_us = 0;      // wall clock, microseconds since the Unix epoch
  uint64_t last_access_us = 0;  // strictly increasing across the store (orders the LRU)
};

// Whether a write must be on disk before the call returns.
enum class Durability { kSync, kNoSync };

// One record written by StoreIndex::putAll(): `record` replaces `previous` (nullopt: none).
struct RecordUpdate {
  BlobId id;
  BlobRecord record;
  std::optional<BlobRecord> previous;
};

// Verified 16 KiB groups of a partial blob: bit i (LSB first in byte i/8) = group i.
class GroupBitfield {
 public:
  GroupBitfield() = default;
  explicit GroupBitfield(uint64_t groups) : groups_(groups), bits_((groups + 7) / 8, 0) {}

  uint64_t groups() const { return groups_; }
  bool test(uint64_t group) const { return (bits_[group / 8] >> (group % 8)) & 1; }
  void set(uint64_t group) { bits_[group / 8] |= static_cast<uint8_t>(1u << (group % 8)); }
  uint64_t countSet() const;
  bool all() const { return countSet() == groups_; }
  // First group in [first, last) that is not set, or nullopt.
  std::optional<uint64_t> firstMissing(uint64_t first, uint64_t last) const;

  std::vector<uint8_t> encode() const;
  // kCorruption if `bytes` is not a bitfield of exactly `groups` groups.
  static Result<GroupBitfield> decode(std::span<const uint8_t> bytes, uint64_t groups);

 private:
  uint64_t groups_ = 0;
  std::vector<uint8_t> bits_;
};

class StoreIndex {
 public:
  // Opens (read-write: creating) the RocksDB database in `dir`. In OpenMode::kReadOnly the
  // database is opened as a RocksDB secondary instance (safe while another process writes it;
  // it sees the state at open time); kNotFound if it does not exist.
  static Result<std::unique_ptr<StoreIndex>> open(const std::filesystem::path& dir, OpenMode mode);
  ~StoreIndex();
  StoreIndex(const StoreIndex&) = delete;
  StoreIndex& operator=(const StoreIndex&) = delete;

  // nullopt if there is no record for `id`.
  Result<std::optional<BlobRecord>> get(const BlobId& id) const;

  // Writes the record of `id` (replacing `previous`, whose LRU key is removed). A bitfield is
  // written with it when given (partial blobs); a complete record deletes any bitfield.
  Result<void> put(const BlobId& id, const BlobRecord& record,
                   const std::optional<BlobRecord>& previous, const GroupBitfield* bitfield,
                   Durability durability);

  // put() without a bitfield for every update, in one atomic write batch.
  Result<void> putAll(std::span<const RecordUpdate> updates, Durability durability);

  // Deletes the record, its LRU key and its bitfield (synced).
  Result<void> remove(const BlobId& id, const BlobRecord& record);

  // The bitfield of a partial blob of `size` bytes (kCorruption if missing or malformed).
  Result<GroupBitfield> bitfield(const BlobId& id, uint64_t size) const;

  // Calls fn for every record, in id order; stops early when fn returns false.
  Result<void> forEach(const std::function<bool(const BlobId&, const BlobRecord&)>& fn) const;

  // Calls fn for every blob in least-recently-accessed-first order; stops when fn returns false.
  Result<void> forEachByAccess(const std::function<bool(const BlobId&)>& fn) const;

 private:
  StoreIndex(std::unique_ptr<rocksdb::DB> db, std::filesystem::path secondary_dir);
  std::unique_ptr<rocksdb::DB> db_;
  std::filesystem::path secondary_dir_;  // read-only mode: the secondary instance's own files
};

}  // namespace thunder::content
