// DackQueue: the node's durable queue of verified DACKs awaiting settlement by the ledger.
//
// It keeps the latest DACK per lane key (node, client, service, lane, session nonce, commodity)
// in a RocksDB database at <data-dir>/dacks (docs/formats/dack-queue.md). A DACK with a higher
// counter replaces the stored one in one synced write, so an acknowledged put() survives kill -9
// and power loss; an equal or lower counter changes nothing. The ledger reads pending entries
// with takeBatch() and removes them with markSettled() once it has applied them; an entry that a
// newer DACK replaced in between stays pending.
//
// One DackQueue per node, owned by the node. Thread-safe: any thread may call any method
// concurrently. In DackQueueMode::kReadOnly it is a RocksDB secondary instance, safe beside the
// process that writes the queue, and sees the queue as it was at open().
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/result.h"
#include "handshake/dack.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace thunder::handshake {

enum class DackQueueMode { kReadWrite, kReadOnly };

struct DackQueueOptions {
  std::filesystem::path path;  // the RocksDB directory, normally dackQueueDirIn(data_dir)
  DackQueueMode mode = DackQueueMode::kReadWrite;
  // Tests only: a RocksDB Env that observes or injects faults into file operations. Borrowed;
  // must outlive the queue. Null: the operating system's.
  rocksdb::Env* env = nullptr;
};

// The queue's directory inside a node's data dir.
inline std::filesystem::path dackQueueDirIn(const std::filesystem::path& data_dir) {
  return data_dir / "dacks";
}

// What put() did.
enum class StoreOutcome {
  kStored,    // first DACK of its lane key
  kReplaced,  // superseded a stored DACK with a lower counter
  kStale,     // the stored DACK's counter is equal or higher: nothing changed
};

// Names one stored DACK version: its lane key and counter. Opaque to the ledger; pass it back
// to markSettled().
class DackHandle {
 public:
  uint64_t counter() const { return counter_; }
  friend bool operator==(const DackHandle&, const DackHandle&) = default;

 private:
  friend class DackQueue;
  std::string key_;  // the RocksDB key of the lane
  uint64_t counter_ = 0;
};

struct PendingDack {
  Dack dack;
  DackHandle handle;
};

// One entry that failed verifyAll(): kCorruption (malformed key or value, or a value stored
// under another lane's key) or the verifyDack() error (kPermissionDenied for a bad signature).
struct DackProblem {
  std::string key_hex;  // the RocksDB key, lowercase hex
  Error error;
};

struct VerifyReport {
  uint64_t checked = 0;  // entries examined
  std::vector<DackProblem> problems;
  bool ok() const { return problems.empty(); }
};

class DackQueue {
 public:
  // Opens (kReadWrite: creating) the queue. kReadWrite logs an error for every corrupt entry
  // it finds (the entries stay; reads of them fail with kCorruption). kReadOnly: kNotFound if
  // there is no queue at options.path. kUnavailable if another process has it open read-write;
  // kCorruption if the directory holds another format; kIoError otherwise.
  static Result<std::unique_ptr<DackQueue>> open(const DackQueueOptions& options);
  ~DackQueue();
  DackQueue(const DackQueue&) = delete;
  DackQueue& operator=(const DackQueue&) = delete;

  // Keeps `dack` if it is newer than the stored DACK of its lane key; returns once that is on
  // disk. Precondition: the session verified `dack` (verifyDack); put() does not re-check the
  // signature. kPermissionDenied in read-only mode; kCorruption (naming the key) if the stored
  // DACK of that lane key is unreadable; kIoError / kResourceExhausted if the write fails.
  Result<StoreOutcome> put(const Dack& dack);

  // Every pending DACK, in lane key order. kCorruption naming the key of the first bad entry.
  Result<std::vector<Dack>> list() const;

  // Number of pending DACKs (counts keys, parses nothing).
  Result<uint64_t> count() const;

  // Up to `max` pending DACKs in lane key order, not removed, each with its handle.
  // kCorruption naming the key of the first bad entry.
  Result<std::vector<PendingDack>> takeBatch(size_t max) const;

  // Removes, in one synced write, every entry whose stored counter is still the handle's; an
  // entry replaced by a newer DACK (or already removed) is left as it is. kPermissionDenied in
  // read-only mode; kCorruption if a handled entry is unreadable (nothing is removed then).
  Result<void> markSettled(std::span<const DackHandle> handles);

  // Parses every entry and re-verifies its signature; problems are collected, not returned as
  // errors. An error only if the database cannot be read.
  Result<VerifyReport> verifyAll() const;

 private:
  static constexpr size_t kStripes = 64;

  DackQueue(std::unique_ptr<rocksdb::DB> db, DackQueueMode mode,
            std::filesystem::path secondary_dir);
  std::mutex& stripeOf(const std::string& key);
  Result<void> writable() const;
  void logCorruptEntries() const;

  std::unique_ptr<rocksdb::DB> db_;
  const DackQueueMode mode_;
  std::filesystem::path secondary_dir_;  // read-only mode: the secondary instance's own files
  // Serialize the read-compare-write of put() and markSettled() per lane key (striped by key
  // hash), so writes to different lanes are synced together by RocksDB's group commit.
  std::array<std::mutex, kStripes> stripes_;
};

}  // namespace thunder::handshake
