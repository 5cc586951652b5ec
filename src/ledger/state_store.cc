#include "ledger/state_store.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "base/check.h"
#include "ledger/merkle.h"

namespace thunder::ledger {
namespace {

constexpr char kStatePrefix = 's';

Result<void> check(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  if (s.IsCorruption())
    return fail(ErrorCode::kCorruption, "ledger db: {}: {}", what, s.ToString());
  if (s.IsNoSpace()) {
    return fail(ErrorCode::kResourceExhausted, "ledger db: {}: {} (disk full)", what, s.ToString());
  }
  if (s.IsBusy() || (s.IsIOError() && s.ToString().find("lock") != std::string::npos)) {
    return fail(ErrorCode::kUnavailable,
                "ledger db: {}: {} (is another thunder process using this data dir?)", what,
                s.ToString());
  }
  return fail(ErrorCode::kIoError, "ledger db: {}: {}", what, s.ToString());
}

std::string physical(std::string_view state_key) {
  std::string out;
  out.reserve(1 + state_key.size());
  out.push_back(kStatePrefix);
  out.append(state_key);
  return out;
}

}  // namespace

StateStore::StateStore(std::unique_ptr<rocksdb::DB> db, StateStoreOptions options)
    : db_(std::move(db)), options_(std::move(options)) {}

StateStore::~StateStore() = default;

Result<std::unique_ptr<StateStore>> StateStore::open(StateStoreOptions options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  rocksdb::DB* raw = nullptr;
  THUNDER_TRY(check(rocksdb::DB::Open(db_options, options.path.string(), &raw),
                    fmt::format("open {}", options.path.string())));
  std::unique_ptr<StateStore> store(
      new StateStore(std::unique_ptr<rocksdb::DB>(raw), std::move(options)));
  THUNDER_TRY(store->load());
  return store;
}

Result<void> StateStore::load() {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  std::vector<Hash32> leaves;
  for (it->Seek(std::string(1, kStatePrefix)); it->Valid() && it->key()[0] == kStatePrefix;
       it->Next()) {
    std::string key = it->key().ToString().substr(1);
    std::string value = it->value().ToString();
    const Hash32 leaf = leafHash(key, value);
    leaves.push_back(leaf);
    entries_.emplace_hint(entries_.end(), std::move(key), Entry{std::move(value), leaf});
  }
  THUNDER_TRY(check(it->status(), "load state"));
  root_ = merkleRoot(std::move(leaves));
  return {};
}

const std::string* StateStore::get(std::string_view key) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second.value;
}

void StateStore::scan(std::string_view prefix,
                      const std::function<void(std::string_view, std::string_view)>& fn) const {
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    fn(it->first, it->second.value);
  }
}

PreparedState StateStore::prepare(WriteSet writes) const {
  PreparedState out;
  out.writes = std::move(writes);
  for (const auto& [key, value] : out.writes) {
    if (value) out.leaves.push_back(leafHash(key, *value));
  }
  if (out.writes.empty()) {
    out.root = root_;
    return out;
  }
  // Merge the committed leaves with the written ones, in key order.
  std::vector<Hash32> leaves;
  leaves.reserve(entries_.size() + out.leaves.size());
  auto e = entries_.begin();
  auto new_leaf = out.leaves.begin();
  for (const auto& [key, value] : out.writes) {
    while (e != entries_.end() && e->first < key) leaves.push_back((e++)->second.leaf);
    if (e != entries_.end() && e->first == key) ++e;  // replaced or deleted
    if (value) leaves.push_back(*new_leaf++);
  }
  for (; e != entries_.end(); ++e) leaves.push_back(e->second.leaf);
  out.root = merkleRoot(std::move(leaves));
  return out;
}

Result<void> StateStore::commit(PreparedState prepared, const std::vector<Record>& records) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, value] : prepared.writes) {
    if (value) {
      batch.Put(physical(key), *value);
    } else {
      batch.Delete(physical(key));
    }
  }
  for (const auto& [key, value] : records) {
    THUNDER_CHECK(!key.empty() && key[0] != kStatePrefix, "ledger record key in the state space");
    batch.Put(key, value);
  }
  if (options_.before_commit) THUNDER_TRY(options_.before_commit());
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  THUNDER_TRY(check(db_->Write(write_options, &batch), "write block"));

  auto new_leaf = prepared.leaves.begin();
  for (auto& [key, value] : prepared.writes) {
    if (value) {
      Entry& entry = entries_[key];
      entry.value = std::move(*value);
      entry.leaf = *new_leaf++;
    } else {
      entries_.erase(key);
    }
  }
  root_ = prepared.root;
  return {};
}

Result<std::optional<std::string>> StateStore::readRecord(std::string_view key) const {
  std::string value;
  const rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  THUNDER_TRY(check(s, "read record"));
  return std::optional<std::string>(std::move(value));
}

}  // namespace thunder::ledger
