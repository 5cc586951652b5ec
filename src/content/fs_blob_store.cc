// FsBlobStore: open, recovery, reads, pins, deletion, eviction, gc. Puts are in
// fs_blob_store_put.cc, verified imports in fs_blob_store_verified.cc, fsck in
// fs_blob_store_fsck.cc.
#include "content/fs_blob_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <random>

#include "base/log.h"
#include "content/fs_blob_store_internal.h"

namespace thunder::content {
namespace {

constexpr std::string_view kCleanMarker = "clean-shutdown";

// Parses "<64 hex>.<ext>" into an id and the extension.
bool parseBlobFileName(const std::string& name, BlobId* id, std::string* ext) {
  if (name.size() < 66 || name[64] != '.') return false;
  auto parsed = BlobId::fromHex(std::string_view(name).substr(0, 64));
  if (!parsed || parsed->hex() != name.substr(0, 64)) return false;  // lower case only
  *id = *parsed;
  *ext = name.substr(65);
  return true;
}

}  // namespace

std::string_view blobStateName(BlobState state) {
  return state == BlobState::kComplete ? "complete" : "partial";
}

uint64_t nowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t verifiedBytes(const GroupBitfield& bits, uint64_t size) {
  if (size == 0) return 0;
  const uint64_t groups = crypto::groupCount(size);
  uint64_t n = bits.countSet() * crypto::kGroupSize;
  if (bits.test(groups - 1)) n -= crypto::kGroupSize - crypto::groupLength(size, groups - 1);
  return n;
}

FsBlobStore::TempFile::~TempFile() {
  if (store_ == nullptr) return;
  fd_.reset();
  if (!renamed_) ::unlink(path().c_str());
  std::lock_guard lock(store_->temps_mu_);
  store_->active_temps_.erase(name_);
}

FsBlobStore::FsBlobStore(StoreOptions options) : options_(std::move(options)) {
  std::random_device rd;
  temp_prefix_ = fmt::format("{}-{:08x}-", ::getpid(), rd());
}

FsBlobStore::~FsBlobStore() {
  if (options_.mode != OpenMode::kReadWrite || index_ == nullptr || !recovered_) return;
  index_.reset();  // closes RocksDB (flushes its WAL) before the marker says "clean"
  const auto marker = options_.root / kCleanMarker;
  if (auto fd = openFile(marker, O_WRONLY | O_CREAT | O_TRUNC, 0600); fd) {
    (void)fsyncFd(fd->get(), marker.string());
    (void)fsyncDir(options_.root);
  }
}

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::open(StoreOptions options) {
  if (options.root.empty()) return fail(ErrorCode::kInvalidArgument, "blob store path is empty");
  std::unique_ptr<FsBlobStore> store(new FsBlobStore(std::move(options)));
  const auto& root = store->options_.root;
  if (store->options_.mode == OpenMode::kReadWrite) {
    for (const char* sub : {"blobs", "partial", "tmp", "index"}) THUNDER_TRY(ensureDir(root / sub));
    THUNDER_ASSIGN_OR_RETURN(store->root_fd_, openFile(root, O_RDONLY | O_DIRECTORY));
  }
  THUNDER_ASSIGN_OR_RETURN(store->index_, StoreIndex::open(root / "index", store->options_.mode));
  uint64_t used = 0;
  uint64_t tick = 0;
  THUNDER_TRY(store->index_->forEach([&](const BlobId&, const BlobRecord& r) {
    used += storedBytes(r.size);
    tick = std::max(tick, r.last_access_us);
    return true;
  }));
  store->used_bytes_ = used;
  store->last_tick_ = tick;
  if (store->options_.mode == OpenMode::kReadWrite) THUNDER_TRY(store->recover());
  return store;
}

Result<void> FsBlobStore::recover() {
  std::lock_guard lock(mu_);
  const auto marker = options_.root / kCleanMarker;
  std::error_code ec;
  const bool clean = std::filesystem::exists(marker, ec);
  THUNDER_ASSIGN_OR_RETURN(auto report, sweepLocked(clean ? 0 : 1));
  if (report.temp_files_removed + report.orphan_files_removed > 0) {
    THUNDER_LOG(info, "content", "blob store {}: removed {} temp files and {} orphan blob files",
                options_.root.string(), report.temp_files_removed, report.orphan_files_removed);
  }
  // Partial blobs whose groups are all verified but whose completion was interrupted.
  std::vector<std::pair<BlobId, BlobRecord>> partials;
  THUNDER_TRY(index_->forEach([&](const BlobId& id, const BlobRecord& r) {
    if (r.state == BlobState::kPartial) partials.emplace_back(id, r);
    return true;
  }));
  for (const auto& [id, record] : partials) {
    auto bits = index_->bitfield(id, record.size);
    if (bits && bits->all()) THUNDER_TRY(completePartialLocked(id, record));
  }
  if (clean && ::unlink(marker.c_str()) == 0) THUNDER_TRY(fsyncDir(options_.root));
  recovered_ = true;
  return {};
}

Result<GcReport> FsBlobStore::sweepLocked(int orphans) {
  GcReport report;
  std::error_code ec;
  {
    std::lock_guard temps_lock(temps_mu_);
    for (const auto& entry : std::filesystem::directory_iterator(options_.root / "tmp", ec)) {
      const std::string name = entry.path().filename().string();
      if (active_temps_.count(name) != 0) continue;
      std::error_code size_ec;
      const uint64_t bytes = entry.file_size(size_ec);
      if (::unlink(entry.path().c_str()) == 0) {
        report.temp_files_removed++;
        report.temp_bytes_removed += size_ec ? 0 : bytes;
      }
    }
  }
  if (ec) return failErrorCode(ec, fmt::format("cannot list {}", (options_.root / "tmp").string()));
  if (orphans == 0) return report;
  for (const char* area : {"blobs", "partial"}) {
    const bool complete_area = std::string_view(area) == "blobs";
    for (const auto& shard : std::filesystem::directory_iterator(options_.root / area, ec)) {
      std::error_code shard_ec;
      for (const auto& entry : std::filesystem::directory_iterator(shard.path(), shard_ec)) {
        BlobId id;
        std::string ext;
        if (!parseBlobFileName(entry.path().filename().string(), &id, &ext)) continue;
        THUNDER_ASSIGN_OR_RETURN(auto record, index_->get(id));
        const bool wanted =
            record && (complete_area ? record->state == BlobState::kComplete &&
                                           (ext == "data" || ext == "obao")
                                     : record->state == BlobState::kPartial && ext == "data");
        if (!wanted && ::unlink(entry.path().c_str()) == 0) report.orphan_files_removed++;
      }
    }
  }
  return report;
}

Result<void> FsBlobStore::requireWritable(std::string_view what) const {
  if (options_.mode == OpenMode::kReadOnly) {
    return fail(ErrorCode::kUnavailable, "cannot {}: the blob store {} is open read-only", what,
                options_.root.string());
  }
  return {};
}

std::filesystem::path FsBlobStore::shardDir(const std::filesystem::path& base,
                                            const BlobId& id) const {
  return base / id.hex().substr(0, 2);
}
std::filesystem::path FsBlobStore::dataPath(const BlobId& id) const {
  return shardDir(options_.root / "blobs", id) / (id.hex() + ".data");
}
std::filesystem::path FsBlobStore::outboardPath(const BlobId& id) const {
  return shardDir(options_.root / "blobs", id) / (id.hex() + ".obao");
}
std::filesystem::path FsBlobStore::partialPath(const BlobId& id) const {
  return shardDir(options_.root / "partial", id) / (id.hex() + ".data");
}

Result<void> FsBlobStore::syncFileSystem() const {
  // Holding the root open since open() makes syncfs report any writeback error since then
  // (Linux >= 5.8), not only those after this call's open.
  if (::syncfs(root_fd_.get()) != 0) {
    return failErrno(errno, fmt::format("cannot sync the file system of the blob store {}",
                                        options_.root.string()));
  }
  return {};
}

uint64_t FsBlobStore::usedBytes() const {
  std::lock_guard lock(mu_);
  return used_bytes_;
}

uint64_t FsBlobStore::nextTickLocked() {
  last_tick_ = std::max(last_tick_ + 1, nowMicros());
  return last_tick_;
}

Result<BlobRecord> FsBlobStore::recordFor(const BlobId& id) const {
  THUNDER_ASSIGN_OR_RETURN(auto record, index_->get(id));
  if (!record) return fail(ErrorCode::kNotFound, "blob {} is not in the store", id.hex());
  return *record;
}

BlobInfo FsBlobStore::infoFor(const BlobId& id, const BlobRecord& record) const {
  BlobInfo info{id,          record.size,       record.state,         record.pin,
                record.size, record.created_us, record.last_access_us};
  if (record.state == BlobState::kPartial) {
    auto bits = index_->bitfield(id, record.size);
    info.verified_bytes = bits ? verifiedBytes(*bits, record.size) : 0;
  }
  return info;
}

void FsBlobStore::touch(const BlobId& id) {
  if (options_.mode != OpenMode::kReadWrite) return;
  std::lock_guard lock(mu_);
  auto record = index_->get(id);
  if (!record || !*record) return;
  BlobRecord updated = **record;
  updated.last_access_us = nextTickLocked();
  if (auto ok = index_->put(id, updated, *record, nullptr, Durability::kNoSync); !ok) {
    THUNDER_LOG(warn, "content", "cannot record an access to blob {}: {}", id.hex(),
                ok.error().message);
  }
}

Result<void> FsBlobStore::checkVerified(const BlobId& id, const BlobRecord& record, uint64_t offset,
                                        uint64_t length) const {
  if (record.state == BlobState::kComplete || length == 0) return {};
  THUNDER_ASSIGN_OR_RETURN(auto bits, index_->bitfield(id, record.size));
  const uint64_t first = offset / crypto::kGroupSize;
  const uint64_t last = (offset + length + crypto::kGroupSize - 1) / crypto::kGroupSize;
  if (auto missing = bits.firstMissing(first, last)) {
    const uint64_t begin = *missing * crypto::kGroupSize;
    return fail(ErrorCode::kNotFound,
                "bytes {}-{} of blob {} are not verified yet: group {} (bytes {}-{}) is missing "
                "({} of {} bytes of this partial blob are verified)",
                offset, offset + length - 1, id.hex(), *missing, begin,
                begin + crypto::groupLength(record.size, *missing) - 1,
                verifiedBytes(bits, record.size), record.size);
  }
  return {};
}

Result<BlobSlice> FsBlobStore::openRange(const BlobId& id, uint64_t offset, uint64_t length) {
  for (int attempt = 0;; ++attempt) {
    THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
    if (offset > record.size) {
      return fail(ErrorCode::kInvalidArgument,
                  "range starts at byte {}, past the end of blob {} ({} bytes)", offset, id.hex(),
                  record.size);
    }
    length = std::min(length, record.size - offset);
    THUNDER_TRY(checkVerified(id, record, offset, length));
    const auto path = record.state == BlobState::kComplete ? dataPath(id) : partialPath(id);
    auto fd = openFile(path, O_RDONLY);
    if (!fd && fd.error().code == ErrorCode::kNotFound && attempt == 0)
      continue;  // completed or removed meanwhile
    if (!fd) return fail(fd.error());
    touch(id);
    return BlobSlice{std::move(*fd), offset, length};
  }
}

Result<std::vector<uint8_t>> FsBlobStore::read(const BlobId& id, uint64_t offset, uint64_t length) {
  THUNDER_ASSIGN_OR_RETURN(auto slice, openRange(id, offset, length));
  std::vector<uint8_t> out(slice.length);
  THUNDER_TRY(preadAll(slice.fd.get(), out, slice.offset, fmt::format("blob {}", id.hex())));
  return out;
}

Result<BlobStore::BlobFiles> FsBlobStore::openComplete(const BlobId& id) {
  THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
  if (record.state != BlobState::kComplete) {
    return fail(ErrorCode::kNotFound, "blob {} is only partially stored", id.hex());
  }
  BlobFiles files;
  files.size = record.size;
  THUNDER_ASSIGN_OR_RETURN(files.data, openFile(dataPath(id), O_RDONLY));
  THUNDER_ASSIGN_OR_RETURN(files.outboard, openFile(outboardPath(id), O_RDONLY));
  touch(id);
  return files;
}

Result<BlobInfo> FsBlobStore::stat(const BlobId& id) {
  THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
  return infoFor(id, record);
}

Result<bool> FsBlobStore::has(const BlobId& id) {
  THUNDER_ASSIGN_OR_RETURN(auto record, index_->get(id));
  return record && record->state == BlobState::kComplete;
}

Result<std::vector<BlobInfo>> FsBlobStore::list() {
  std::vector<BlobInfo> out;
  THUNDER_TRY(index_->forEach([&](const BlobId& id, const BlobRecord& r) {
    out.push_back(infoFor(id, r));
    return true;
  }));
  return out;
}

Result<void> FsBlobStore::evictLocked(const BlobId& id, const BlobRecord& record) {
  THUNDER_TRY(index_->remove(id, record));  // the index first: a crash leaves only orphan files
  if (record.state == BlobState::kComplete) {
    ::unlink(dataPath(id).c_str());
    ::unlink(outboardPath(id).c_str());
  } else {
    ::unlink(partialPath(id).c_str());
  }
  used_bytes_ -= std::min(used_bytes_, storedBytes(record.size));
  return {};
}

Result<void> FsBlobStore::remove(const BlobId& id) {
  THUNDER_TRY(requireWritable("delete a blob"));
  std::lock_guard lock(mu_);
  THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
  return evictLocked(id, record);
}

Result<void> FsBlobStore::setPin(const BlobId& id, PinState pin) {
  THUNDER_TRY(requireWritable(pin == PinState::kPinned ? "pin a blob" : "unpin a blob"));
  std::lock_guard lock(mu_);
  THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
  if (record.pin == pin) return {};
  BlobRecord updated = record;
  updated.pin = pin;
  return index_->put(id, updated, record, nullptr, Durability::kSync);
}

Result<void> FsBlobStore::pin(const BlobId& id) {
  return setPin(id, PinState::kPinned);
}
Result<void> FsBlobStore::unpin(const BlobId& id) {
  return setPin(id, PinState::kUnpinned);
}

Result<void> FsBlobStore::makeRoomLocked(uint64_t needed,
                                         const std::function<bool(const BlobId&)>& keep,
                                         GcReport* report) {
  if (options_.quota_bytes == 0 || used_bytes_ + needed <= options_.quota_bytes) return {};
  const uint64_t excess = used_bytes_ + needed - options_.quota_bytes;
  // Choose victims first, so that a put that cannot fit evicts nothing.
  std::vector<std::pair<BlobId, BlobRecord>> victims;
  uint64_t freed = 0;
  Result<void> lookup_error;
  THUNDER_TRY(index_->forEachByAccess([&](const BlobId& id) {
    if (keep && keep(id)) return true;
    auto record = index_->get(id);
    if (!record) {
      lookup_error = fail(record.error());
      return false;
    }
    if (!*record || (*record)->pin == PinState::kPinned ||
        (*record)->state != BlobState::kComplete) {
      return true;
    }
    victims.emplace_back(id, **record);
    freed += storedBytes((*record)->size);
    return freed < excess;
  }));
  THUNDER_TRY(lookup_error);
  if (freed < excess) {
    return fail(ErrorCode::kResourceExhausted,
                "the blob store quota of {} bytes is full: {} bytes are stored, {} more are needed "
                "and only {} can be evicted (unpin blobs or raise the quota)",
                options_.quota_bytes, used_bytes_, needed, freed);
  }
  for (const auto& [id, record] : victims) {
    THUNDER_TRY(evictLocked(id, record));
    THUNDER_LOG(debug, "content", "evicted blob {} ({} bytes)", id.hex(), record.size);
    if (report != nullptr) {
      report->evicted_blobs++;
      report->evicted_bytes += storedBytes(record.size);
    }
  }
  return {};
}

Result<GcReport> FsBlobStore::gc() {
  THUNDER_TRY(requireWritable("collect garbage"));
  std::lock_guard lock(mu_);
  GcReport evictions;
  THUNDER_TRY(makeRoomLocked(0, {}, &evictions));
  THUNDER_ASSIGN_OR_RETURN(auto report, sweepLocked(1));
  report.evicted_blobs = evictions.evicted_blobs;
  report.evicted_bytes = evictions.evicted_bytes;
  return report;
}

}  // namespace thunder::content
