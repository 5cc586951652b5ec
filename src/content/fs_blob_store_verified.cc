// FsBlobStore: partial blobs filled from verified range streams, and their completion.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "content/fs_blob_store.h"
#include "content/fs_blob_store_internal.h"
#include "content/verified_stream.h"

namespace thunder::content {

// All groups of a partial blob are verified: compute its outboard from the data, check the root
// once more, move data and outboard into blobs/ and record it complete.
Result<void> FsBlobStore::completePartialLocked(const BlobId& id, const BlobRecord& record) {
  const auto final_data = dataPath(id);
  std::error_code ec;
  // After a crash between the renames below and the index write, the data is in blobs/ already.
  const bool moved =
      !std::filesystem::exists(partialPath(id), ec) && std::filesystem::exists(final_data, ec);
  const auto source = moved ? final_data : partialPath(id);
  THUNDER_ASSIGN_OR_RETURN(auto data, openFile(source, O_RDONLY));
  THUNDER_ASSIGN_OR_RETURN(auto outboard, createTemp(".obao"));
  THUNDER_ASSIGN_OR_RETURN(const BlobId root,
                           crypto::hashFile(data.get(), record.size, outboard.fd(),
                                            crypto::HashParallelism::kTwoThreads));
  if (root != id) {
    return fail(
        ErrorCode::kCorruption,
        "partial blob {} hashes to {} although all its groups were verified (disk corruption?); "
        "delete it and fetch it again",
        id.hex(), root.hex());
  }
  THUNDER_TRY(fsyncFd(data.get(), source.string()));
  THUNDER_TRY(fsyncFd(outboard.fd(), outboard.path().string()));
  const auto shard = shardDir(options_.root / "blobs", id);
  THUNDER_TRY(ensureDir(shard));
  if (::rename(outboard.path().c_str(), outboardPath(id).c_str()) != 0) {
    return failErrno(errno, fmt::format("cannot move a blob into {}", shard.string()));
  }
  outboard.markRenamed();
  ::fchmod(data.get(), 0444);
  if (!moved && ::rename(source.c_str(), final_data.c_str()) != 0) {
    return failErrno(errno, fmt::format("cannot move a blob into {}", shard.string()));
  }
  THUNDER_TRY(fsyncDir(shard));
  THUNDER_TRY(fsyncDir(partialPath(id).parent_path()));
  BlobRecord updated = record;
  updated.state = BlobState::kComplete;
  return index_->put(id, updated, record, nullptr, Durability::kSync);
}

namespace {
constexpr size_t kCheckpointGroups = 64;  // make verified groups durable every 1 MiB
constexpr size_t kImportReadBuffer = 256 << 10;
}  // namespace

// One verified-stream import. Groups are written into the partial data file as the decoder
// verifies them; checkpoint() syncs the file, then records the groups in the index bitfield
// (under the store mutex, merged with what concurrent imports recorded).
class FsBlobStore::Import final : public VerifiedImport {
 public:
  Import(FsBlobStore& store, const BlobId& id, const ByteRanges& ranges, const PutOptions& options)
      : store_(store),
        id_(id),
        pin_(options.pin),
        decoder_(id, ranges, [this](uint64_t offset, std::span<const uint8_t> bytes) {
          return onGroup(offset, bytes);
        }) {}

  Result<void> feed(std::span<const uint8_t> bytes) override {
    auto fed = decoder_.feed(bytes);
    if (!fed) {
      (void)checkpoint();  // keep what was verified before the bad byte
      return fed;
    }
    return {};
  }

  Result<VerifiedPutResult> finish() override {
    auto finished = decoder_.finish();
    THUNDER_TRY(checkpoint());
    THUNDER_TRY(finished);
    VerifiedPutResult result;
    result.id = id_;
    result.bytes_received = received_;
    auto info = store_.stat(id_);
    if (!info && info.error().code == ErrorCode::kNotFound && decoder_.verifiedSize() == 0) {
      // The empty blob: proven by the stream, but no group bytes to write.
      PutOptions options;
      options.pin = pin_;
      THUNDER_TRY(store_.putBytes({}, options));
      info = store_.stat(id_);
    }
    if (info) {
      result.size = info->size;
      result.state = info->state;
      result.verified_bytes = info->verified_bytes;
    } else if (info.error().code == ErrorCode::kNotFound) {
      result.size = decoder_.verifiedSize().value_or(0);  // nothing selected: nothing stored
    } else {
      return fail(info.error());
    }
    return result;
  }

 private:
  Result<void> onGroup(uint64_t offset, std::span<const uint8_t> bytes) {
    if (complete_) return {};
    if (!data_.valid()) {
      THUNDER_TRY(start());
      if (complete_) return {};
    }
    THUNDER_TRY(store_.injectedFault(offset, bytes.size()));
    THUNDER_TRY(pwriteAll(data_.get(), bytes, offset, store_.partialPath(id_).string()));
    pending_.push_back(offset / crypto::kGroupSize);
    received_ += bytes.size();
    if (pending_.size() >= kCheckpointGroups) THUNDER_TRY(checkpoint());
    return {};
  }

  // First verified group: find or create the partial blob at the size the stream claims.
  Result<void> start() {
    const uint64_t size = decoder_.claimedSize().value_or(0);
    std::lock_guard lock(store_.mu_);
    THUNDER_ASSIGN_OR_RETURN(auto existing, store_.index_->get(id_));
    if (existing && existing->state == BlobState::kComplete) {
      complete_ = true;
      return {};
    }
    if (existing && existing->size != size) {
      THUNDER_ASSIGN_OR_RETURN(auto bits, store_.index_->bitfield(id_, existing->size));
      if (bits.test(bits.groups() - 1)) {
        return fail(ErrorCode::kCorruption,
                    "the stream claims blob {} has {} bytes, but it is proven to have {}",
                    id_.hex(), size, existing->size);
      }
      THUNDER_LOG(debug, "content",
                  "partial blob {}: a stream claims {} bytes instead of {}; starting over",
                  id_.hex(), size, existing->size);
      THUNDER_TRY(store_.evictLocked(id_, *existing));
      existing.reset();
    }
    const auto path = store_.partialPath(id_);
    if (existing) {
      THUNDER_ASSIGN_OR_RETURN(data_, openFile(path, O_RDWR));
      if (pin_ == PinState::kPinned && existing->pin != PinState::kPinned) {
        BlobRecord updated = *existing;
        updated.pin = PinState::kPinned;
        THUNDER_TRY(store_.index_->put(id_, updated, existing, nullptr, Durability::kSync));
      }
      return {};
    }
    THUNDER_TRY(store_.makeRoomLocked(
        storedBytes(size), [this](const BlobId& other) { return other == id_; }, nullptr));
    THUNDER_TRY(ensureDir(path.parent_path()));
    THUNDER_ASSIGN_OR_RETURN(data_, openFile(path, O_RDWR | O_CREAT | O_TRUNC, 0644));
    if (::ftruncate(data_.get(), static_cast<off_t>(size)) != 0) {
      const int err = errno;
      data_.reset();
      ::unlink(path.c_str());
      return failErrno(
          err, fmt::format("cannot create partial blob {} of {} bytes", path.string(), size));
    }
    THUNDER_TRY(fsyncFd(data_.get(), path.string()));
    THUNDER_TRY(fsyncDir(path.parent_path()));
    BlobRecord record;
    record.size = size;
    record.state = BlobState::kPartial;
    record.pin = pin_;
    record.created_us = nowMicros();
    record.last_access_us = store_.nextTickLocked();
    GroupBitfield bits(crypto::groupCount(size));
    THUNDER_TRY(store_.index_->put(id_, record, std::nullopt, &bits, Durability::kSync));
    store_.used_bytes_ += storedBytes(size);
    return {};
  }

  Result<void> checkpoint() {
    if (pending_.empty() || complete_) return {};
    THUNDER_TRY(fsyncFd(data_.get(), store_.partialPath(id_).string()));
    std::lock_guard lock(store_.mu_);
    THUNDER_ASSIGN_OR_RETURN(auto record, store_.index_->get(id_));
    if (!record)
      return fail(ErrorCode::kNotFound, "blob {} was deleted during the import", id_.hex());
    if (record->state == BlobState::kComplete) {
      complete_ = true;  // another import or a put completed it
      return {};
    }
    THUNDER_ASSIGN_OR_RETURN(auto bits, store_.index_->bitfield(id_, record->size));
    for (const uint64_t group : pending_) {
      if (group >= bits.groups()) {
        return fail(ErrorCode::kInternal, "blob {} changed size during the import", id_.hex());
      }
      bits.set(group);
    }
    pending_.clear();
    BlobRecord updated = *record;
    updated.last_access_us = store_.nextTickLocked();
    THUNDER_TRY(store_.index_->put(id_, updated, record, &bits, Durability::kSync));
    if (bits.all()) {
      THUNDER_TRY(store_.completePartialLocked(id_, updated));
      complete_ = true;
      data_.reset();
    }
    return {};
  }

  FsBlobStore& store_;
  BlobId id_;
  PinState pin_;
  RangeDecoder decoder_;
  UniqueFd data_;
  std::vector<uint64_t> pending_;  // groups written, not yet synced and recorded
  uint64_t received_ = 0;
  bool complete_ = false;
};

Result<std::unique_ptr<VerifiedImport>> FsBlobStore::importVerified(const BlobId& id,
                                                                    const ByteRanges& ranges,
                                                                    const PutOptions& options) {
  THUNDER_TRY(requireWritable("import a verified stream"));
  return std::unique_ptr<VerifiedImport>(new Import(*this, id, ranges, options));
}

Result<VerifiedPutResult> FsBlobStore::putVerifiedStream(const BlobId& id, const ByteRanges& ranges,
                                                         int fd, const PutOptions& options) {
  THUNDER_ASSIGN_OR_RETURN(auto import, importVerified(id, ranges, options));
  std::vector<uint8_t> buffer(kImportReadBuffer);
  uint64_t done = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "cannot read the verified stream");
    if (n == 0) break;
    THUNDER_TRY(import->feed(std::span(buffer.data(), static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
    if (options.progress) options.progress(done, 0);
  }
  return import->finish();
}

}  // namespace thunder::content
