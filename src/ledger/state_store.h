// StateStore: the ledger state on disk (RocksDB) with its in-memory image and state root.
//
// The state is a sorted map of byte-string keys to values (state_keys.h, records.h). RocksDB
// keeps it durably under the physical prefix 's'; the store also keeps every entry in memory,
// with its leaf hash, so reads never touch the disk and the root (merkle.h) is recomputed from
// cached leaves. Other records of the ledger (block log, receipts, metadata: not part of the
// state) live beside it under other prefixes and are written in the same batch.
//
// A block reaches the store as one WriteSet: prepare() computes the root the state would have,
// commit() writes the state changes and the block's records in one synced WriteBatch and only
// then updates the memory image. A crash (or an injected failure) before the batch is durable
// leaves the previous state on disk and in memory; after it, the new one.
//
// Owned by the Ledger. Not thread-safe: the Ledger serializes access.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "ledger/state_reader.h"
#include "ledger/types.h"

namespace rocksdb {
class DB;
}  // namespace rocksdb

namespace thunder::ledger {

// State changes of a block, by state key: a value to put, or nullopt to delete.
using WriteSet = std::map<std::string, std::optional<std::string>, std::less<>>;

// A non-state record written with a block: (physical key, value). Keys must not start with 's'.
using Record = std::pair<std::string, std::string>;

struct StateStoreOptions {
  std::filesystem::path path;  // the RocksDB directory (created if missing)
  // Tests only: called right before the WriteBatch is written; an error aborts the commit
  // (nothing is written) and is returned by commit(). A test may also kill the process here.
  std::function<Result<void>()> before_commit;
};

// What prepare() computed: the writes with their leaf hashes, and the resulting root.
struct PreparedState {
  WriteSet writes;
  std::vector<Hash32> leaves;  // leaf hash of each put in `writes`, in order (deletes skipped)
  Hash32 root;
};

class StateStore final : public StateReader {
 public:
  // Opens or creates the database and loads the state into memory (hashing every leaf).
  // kIoError / kCorruption / kUnavailable (locked by another process) from RocksDB.
  static Result<std::unique_ptr<StateStore>> open(StateStoreOptions options);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The committed value of a state key, or null. Valid until the next commit().
  const std::string* get(std::string_view key) const override;
  // Calls fn(key, value) for each committed entry whose key starts with `prefix`, in order.
  void scan(std::string_view prefix,
            const std::function<void(std::string_view, std::string_view)>& fn) const override;
  size_t size() const { return entries_.size(); }

  // The root of the committed state.
  const Hash32& root() const { return root_; }

  // The root of the committed state with `writes` applied (memory only, nothing changes).
  PreparedState prepare(WriteSet writes) const;

  // Writes `prepared` and `records` in one synced WriteBatch, then applies `prepared` to the
  // memory image. Precondition: nothing was committed since prepare(). On error nothing
  // changed (kIoError / kResourceExhausted from RocksDB, or the before_commit error).
  Result<void> commit(PreparedState prepared, const std::vector<Record>& records);

  // A non-state record by physical key: nullopt if absent. kIoError / kCorruption.
  Result<std::optional<std::string>> readRecord(std::string_view key) const;

 private:
  struct Entry {
    std::string value;
    Hash32 leaf;
  };

  StateStore(std::unique_ptr<rocksdb::DB> db, StateStoreOptions options);
  Result<void> load();

  std::unique_ptr<rocksdb::DB> db_;
  StateStoreOptions options_;
  std::map<std::string, Entry, std::less<>> entries_;
  Hash32 root_;
};

}  // namespace thunder::ledger
