// FsBlobStore::Batch: many puts made durable by one commit (docs/formats/blob-store.md
// "Batched puts"). A put writes the data and outboard to tmp/ without syncing and closes them
// (a batch may hold thousands); commit() syncs the file system once, then under the store lock
// makes room for the batch, renames every file into blobs/, syncs the file system again and
// writes every record and pin in one synced RocksDB batch. Until then nothing is indexed, so a
// crash leaves temp files (removed on open) or renamed files without a record (removed on the
// next open after a crash), never a record for bytes that are not durable.
#include <sys/stat.h>

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "content/fs_blob_store.h"
#include "content/fs_blob_store_internal.h"

namespace thunder::content {

class FsBlobStore::Batch final : public PutBatch {
 public:
  explicit Batch(FsBlobStore& store) : store_(store) {}

  Result<PutResult> putBytes(std::span<const uint8_t> bytes, const PutOptions& options) override;
  void pin(const BlobId& id) override;
  Result<void> commit() override;
  size_t pendingBlobs() const override { return entries_.size(); }
  uint64_t pendingBytes() const override { return bytes_; }

 private:
  struct Entry {
    Staged staged;
    PinState pin = PinState::kUnpinned;
  };
  // A staged blob that commit() renames into place, and the record it replaces (partial).
  struct Fresh {
    Entry* entry = nullptr;
    std::optional<BlobRecord> existing;
  };

  Result<void> commitLocked(std::vector<Entry>& entries, const std::vector<BlobId>& pins);
  void notify(BatchCommitStage stage) const {
    if (store_.options_.on_batch_commit) store_.options_.on_batch_commit(stage);
  }

  FsBlobStore& store_;
  std::vector<Entry> entries_;
  std::unordered_map<BlobId, size_t> positions_;  // id → index in entries_
  std::vector<BlobId> pins_;                      // pins of blobs not in entries_
  uint64_t bytes_ = 0;
};

Result<std::unique_ptr<PutBatch>> FsBlobStore::beginBatch() {
  THUNDER_TRY(requireWritable("store blobs"));
  return std::unique_ptr<PutBatch>(std::make_unique<Batch>(*this));
}

Result<PutResult> FsBlobStore::Batch::putBytes(std::span<const uint8_t> bytes,
                                               const PutOptions& options) {
  const uint64_t quota = store_.options_.quota_bytes;
  if (quota != 0 && storedBytes(bytes.size()) > quota) {
    return fail(ErrorCode::kResourceExhausted,
                "a blob of {} bytes is larger than the blob store quota ({} bytes)", bytes.size(),
                quota);
  }
  std::vector<uint8_t> outboard(crypto::outboardSize(bytes.size()));
  THUNDER_ASSIGN_OR_RETURN(const BlobId id, crypto::hashBlob(bytes, outboard));
  const PutResult present{id, bytes.size(), PutOutcome::kAlreadyPresent};
  if (const auto it = positions_.find(id); it != positions_.end()) {
    if (options.pin == PinState::kPinned) entries_[it->second].pin = PinState::kPinned;
    return present;
  }
  THUNDER_ASSIGN_OR_RETURN(const bool stored, store_.has(id));
  if (stored) {
    if (options.pin == PinState::kPinned) pins_.push_back(id);
    return present;
  }
  THUNDER_ASSIGN_OR_RETURN(auto data, store_.createTemp(".data"));
  THUNDER_TRY(store_.injectedFault(0, bytes.size()));
  THUNDER_TRY(pwriteAll(data.fd(), bytes, 0, data.path().string()));
  THUNDER_ASSIGN_OR_RETURN(auto ob, store_.createTemp(".obao"));
  THUNDER_TRY(pwriteAll(ob.fd(), outboard, 0, ob.path().string()));
  data.closeFd();
  ob.closeFd();
  positions_.emplace(id, entries_.size());
  entries_.push_back(Entry{Staged{id, bytes.size(), std::move(data), std::move(ob)}, options.pin});
  bytes_ += bytes.size();
  return PutResult{id, bytes.size(), PutOutcome::kStored};
}

void FsBlobStore::Batch::pin(const BlobId& id) {
  if (const auto it = positions_.find(id); it != positions_.end()) {
    entries_[it->second].pin = PinState::kPinned;
  } else {
    pins_.push_back(id);
  }
}

Result<void> FsBlobStore::Batch::commit() {
  // Whatever happens, the batch is empty afterwards; temp files not renamed are unlinked when
  // `entries` goes out of scope (after the store lock is released).
  std::vector<Entry> entries = std::move(entries_);
  std::vector<BlobId> pins = std::move(pins_);
  entries_.clear();
  positions_.clear();
  pins_.clear();
  bytes_ = 0;
  if (entries.empty() && pins.empty()) return {};
  if (!entries.empty()) {
    // The bytes first, outside the lock: the files are still active temps, which gc() spares.
    THUNDER_TRY(store_.syncFileSystem());
    notify(BatchCommitStage::kDataDurable);
  }
  std::lock_guard lock(store_.mu_);
  return commitLocked(entries, pins);
}

Result<void> FsBlobStore::Batch::commitLocked(std::vector<Entry>& entries,
                                              const std::vector<BlobId>& pins) {
  FsBlobStore& s = store_;
  std::vector<BlobId> to_pin = pins;
  std::sort(to_pin.begin(), to_pin.end());
  to_pin.erase(std::unique(to_pin.begin(), to_pin.end()), to_pin.end());
  std::vector<RecordUpdate> updates;
  std::vector<Fresh> fresh;
  std::unordered_set<BlobId> keep;  // never evicted to make room for this batch
  uint64_t needed = 0;
  uint64_t replaced = 0;  // partial blobs superseded by blobs of the batch
  for (auto& entry : entries) {
    const BlobId& id = entry.staged.id;
    keep.insert(id);
    if (std::binary_search(to_pin.begin(), to_pin.end(), id)) {
      entry.pin = PinState::kPinned;  // pin() came before the put
    }
    THUNDER_ASSIGN_OR_RETURN(auto existing, s.index_->get(id));
    if (existing && existing->state == BlobState::kComplete) {
      // Stored meanwhile (a concurrent put): keep it, drop our files.
      if (entry.pin == PinState::kPinned && existing->pin != PinState::kPinned) {
        BlobRecord updated = *existing;
        updated.pin = PinState::kPinned;
        updates.push_back(RecordUpdate{id, updated, existing});
      }
      continue;
    }
    needed += storedBytes(entry.staged.size);
    if (existing) replaced += storedBytes(existing->size);
    fresh.push_back(Fresh{&entry, existing});
  }
  for (const BlobId& id : to_pin) {
    if (keep.count(id) != 0) continue;  // an entry of the batch, pinned above
    keep.insert(id);
    THUNDER_ASSIGN_OR_RETURN(auto existing, s.index_->get(id));
    if (!existing || existing->state != BlobState::kComplete) {
      return fail(ErrorCode::kNotFound,
                  "cannot pin blob {}: it is not in the store (evicted or removed before the "
                  "batch was committed); nothing of the batch was stored",
                  id.hex());
    }
    if (existing->pin != PinState::kPinned) {
      BlobRecord updated = *existing;
      updated.pin = PinState::kPinned;
      updates.push_back(RecordUpdate{id, updated, existing});
    }
  }

  s.used_bytes_ -= std::min(s.used_bytes_, replaced);
  const auto restore = [&] { s.used_bytes_ += replaced; };
  if (auto room = s.makeRoomLocked(
          needed, [&keep](const BlobId& id) { return keep.count(id) != 0; }, nullptr);
      !room) {
    restore();
    return fail(room.error());
  }

  // Rename everything into place; on any failure take back what was renamed.
  std::vector<const Fresh*> renamed;
  const auto undo = [&] {
    for (const Fresh* f : renamed) {
      ::unlink(s.dataPath(f->entry->staged.id).c_str());
      ::unlink(s.outboardPath(f->entry->staged.id).c_str());
    }
    restore();
  };
  std::unordered_set<std::string> shards;
  for (const Fresh& f : fresh) {
    Staged& staged = f.entry->staged;
    const auto shard = s.shardDir(s.options_.root / "blobs", staged.id);
    // Made durable by the syncfs below, like the renames (not one directory sync each).
    if (shards.insert(shard.string()).second && ::mkdir(shard.c_str(), 0700) != 0 &&
        errno != EEXIST) {
      const int err = errno;
      undo();
      return failErrno(err, fmt::format("cannot create directory {}", shard.string()));
    }
    if (::rename(staged.outboard.path().c_str(), s.outboardPath(staged.id).c_str()) != 0) {
      const int err = errno;
      undo();
      return failErrno(err, fmt::format("cannot move a blob into {}", shard.string()));
    }
    staged.outboard.markRenamed();
    if (::rename(staged.data.path().c_str(), s.dataPath(staged.id).c_str()) != 0) {
      const int err = errno;
      ::unlink(s.outboardPath(staged.id).c_str());
      undo();
      return failErrno(err, fmt::format("cannot move a blob into {}", shard.string()));
    }
    staged.data.markRenamed();
    renamed.push_back(&f);
  }
  if (!fresh.empty()) {
    if (auto synced = s.syncFileSystem(); !synced) {
      undo();
      return fail(synced.error());
    }
    notify(BatchCommitStage::kRenamed);
  }

  const uint64_t created = nowMicros();
  for (const Fresh& f : fresh) {
    BlobRecord record;
    record.size = f.entry->staged.size;
    record.state = BlobState::kComplete;
    record.pin =
        f.entry->pin == PinState::kPinned || (f.existing && f.existing->pin == PinState::kPinned)
            ? PinState::kPinned
            : PinState::kUnpinned;
    record.created_us = created;
    record.last_access_us = s.nextTickLocked();
    updates.push_back(RecordUpdate{f.entry->staged.id, record, f.existing});
  }
  if (auto written = s.index_->putAll(updates, Durability::kSync); !written) {
    undo();
    return fail(written.error());
  }
  for (const Fresh& f : fresh) {
    if (f.existing) ::unlink(s.partialPath(f.entry->staged.id).c_str());  // superseded
  }
  s.used_bytes_ += needed;
  return {};
}

}  // namespace thunder::content
