// FsBlobStore: storing whole blobs (from a file, a stream, bytes) and committing them.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "base/log.h"
#include "content/fs_blob_store.h"
#include "content/fs_blob_store_internal.h"

namespace thunder::content {
namespace {

constexpr uint64_t kCopyChunk = 8 << 20;        // bytes per copy_file_range / read call
constexpr uint64_t kWritebackChunk = 64 << 20;  // start writeback of the data every 64 MiB
constexpr size_t kStreamBuffer = 1 << 20;

bool copyFileRangeUnsupported(int err) {
  return err == EXDEV || err == EINVAL || err == ENOSYS || err == EOPNOTSUPP || err == EBADF;
}

}  // namespace

Result<FsBlobStore::TempFile> FsBlobStore::createTemp(std::string_view suffix) {
  std::string name = fmt::format("{}{}{}", temp_prefix_, temp_counter_.fetch_add(1), suffix);
  {
    std::lock_guard lock(temps_mu_);
    active_temps_.insert(name);
  }
  auto fd = openFile(options_.root / "tmp" / name, O_RDWR | O_CREAT | O_EXCL, 0444);
  if (!fd) {
    std::lock_guard lock(temps_mu_);
    active_temps_.erase(name);
    return fail(fd.error());
  }
  return TempFile(this, std::move(name), std::move(*fd));
}

Result<void> FsBlobStore::injectedFault(uint64_t offset, uint64_t length) const {
  if (!options_.inject_write_errno) return {};
  if (const int err = options_.inject_write_errno(offset, length); err != 0) {
    return failErrno(err, fmt::format("cannot write to the blob store {}", options_.root.string()));
  }
  return {};
}

// Copies the source into tmp/ (in-kernel copy where possible), then hashes the copy — our own
// file, so a source modified meanwhile cannot yield data that mismatches its id — while the data
// is being synced: the hash hides behind the disk write.
Result<FsBlobStore::Staged> FsBlobStore::stageFile(int src_fd, uint64_t size,
                                                   const PutOptions& options) {
  THUNDER_ASSIGN_OR_RETURN(auto data, createTemp(".data"));
  const std::string what = data.path().string();
  bool kernel_copy = true;
  std::vector<uint8_t> buffer;
  uint64_t done = 0;
  uint64_t synced_to = 0;
  while (done < size) {
    const uint64_t n = std::min(kCopyChunk, size - done);
    THUNDER_TRY(injectedFault(done, n));
    uint64_t copied = 0;
    if (kernel_copy) {
      loff_t in_off = static_cast<loff_t>(done);
      loff_t out_off = static_cast<loff_t>(done);
      const ssize_t r = ::copy_file_range(src_fd, &in_off, data.fd(), &out_off, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && done == 0 && copyFileRangeUnsupported(errno)) {
        kernel_copy = false;
        continue;
      }
      if (r < 0) return failErrno(errno, fmt::format("cannot copy into {}", what));
      copied = static_cast<uint64_t>(r);
    } else {
      buffer.resize(kCopyChunk);
      const ssize_t r = ::pread(src_fd, buffer.data(), n, static_cast<off_t>(done));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return failErrno(errno, "cannot read the file being stored");
      copied = static_cast<uint64_t>(r);
      THUNDER_TRY(pwriteAll(data.fd(), std::span(buffer.data(), copied), done, what));
    }
    if (copied == 0) {
      return fail(ErrorCode::kIoError,
                  "the file being stored shrank while it was read (at byte {} of {})", done, size);
    }
    done += copied;
    if (done - synced_to >= kWritebackChunk) {
      // Start writing back what is copied so far, so that the final fsync has little left to do.
      ::sync_file_range(data.fd(), static_cast<off_t>(synced_to),
                        static_cast<off_t>(done - synced_to), SYNC_FILE_RANGE_WRITE);
      synced_to = done;
    }
    if (options.progress) options.progress(done, size);
  }
  THUNDER_ASSIGN_OR_RETURN(auto outboard, createTemp(".obao"));

  Result<void> data_synced;
  std::thread syncer([&] { data_synced = fsyncFd(data.fd(), what); });
  auto id = crypto::hashFile(data.fd(), size, outboard.fd(), crypto::HashParallelism::kTwoThreads);
  Result<void> outboard_synced =
      id ? fsyncFd(outboard.fd(), outboard.path().string()) : Result<void>();
  syncer.join();
  if (!id) return fail(id.error());
  THUNDER_TRY(data_synced);
  THUNDER_TRY(outboard_synced);
  return Staged{*id, size, std::move(data), std::move(outboard)};
}

Result<FsBlobStore::Staged> FsBlobStore::stageStream(int fd, const PutOptions& options) {
  THUNDER_ASSIGN_OR_RETURN(auto data, createTemp(".data"));
  const std::string what = data.path().string();
  crypto::TreeHasher hasher;
  std::vector<uint8_t> buffer(kStreamBuffer);
  uint64_t done = 0;
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(const size_t n, readFull(fd, buffer, "the input stream"));
    if (n == 0) break;
    THUNDER_TRY(injectedFault(done, n));
    THUNDER_TRY(pwriteAll(data.fd(), std::span(buffer.data(), n), done, what));
    hasher.update(std::span(buffer.data(), n));
    done += n;
    if (options.progress) options.progress(done, 0);
    if (options_.quota_bytes != 0 && storedBytes(done) > options_.quota_bytes) {
      return fail(ErrorCode::kResourceExhausted,
                  "the input is larger than the blob store quota ({} bytes)", options_.quota_bytes);
    }
  }
  auto tree = hasher.finalize();
  THUNDER_ASSIGN_OR_RETURN(auto outboard, createTemp(".obao"));
  THUNDER_TRY(injectedFault(done, tree.outboard.size()));
  THUNDER_TRY(pwriteAll(outboard.fd(), tree.outboard, 0, outboard.path().string()));
  THUNDER_TRY(fsyncFd(data.fd(), what));
  THUNDER_TRY(fsyncFd(outboard.fd(), outboard.path().string()));
  return Staged{tree.root, tree.size, std::move(data), std::move(outboard)};
}

Result<PutResult> FsBlobStore::putFile(const std::filesystem::path& file,
                                       const PutOptions& options) {
  THUNDER_TRY(requireWritable("store a blob"));
  THUNDER_ASSIGN_OR_RETURN(auto src, openFile(file, O_RDONLY));
  struct stat st {};
  if (::fstat(src.get(), &st) != 0)
    return failErrno(errno, fmt::format("cannot stat {}", file.string()));
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, "{} is a directory (store it as a directory tree)",
                file.string());
  }
  if (!S_ISREG(st.st_mode)) return putStream(src.get(), options);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (options_.quota_bytes != 0 && storedBytes(size) > options_.quota_bytes) {
    return fail(ErrorCode::kResourceExhausted,
                "{} ({} bytes) is larger than the blob store quota ({} bytes)", file.string(), size,
                options_.quota_bytes);
  }
  THUNDER_ASSIGN_OR_RETURN(auto staged, stageFile(src.get(), size, options));
  return commit(std::move(staged), options);
}

Result<PutResult> FsBlobStore::putStream(int fd, const PutOptions& options) {
  THUNDER_TRY(requireWritable("store a blob"));
  THUNDER_ASSIGN_OR_RETURN(auto staged, stageStream(fd, options));
  return commit(std::move(staged), options);
}

Result<PutResult> FsBlobStore::putBytes(std::span<const uint8_t> bytes, const PutOptions& options) {
  THUNDER_TRY(requireWritable("store a blob"));
  std::vector<uint8_t> outboard(crypto::outboardSize(bytes.size()));
  THUNDER_ASSIGN_OR_RETURN(const BlobId id, crypto::hashBlob(bytes, outboard));
  if (auto present = has(id); present && *present) {
    std::lock_guard lock(mu_);
    THUNDER_ASSIGN_OR_RETURN(auto record, recordFor(id));
    if (options.pin == PinState::kPinned && record.pin != PinState::kPinned) {
      BlobRecord updated = record;
      updated.pin = PinState::kPinned;
      THUNDER_TRY(index_->put(id, updated, record, nullptr, Durability::kSync));
    }
    return PutResult{id, bytes.size(), PutOutcome::kAlreadyPresent};
  }
  THUNDER_ASSIGN_OR_RETURN(auto data, createTemp(".data"));
  THUNDER_TRY(injectedFault(0, bytes.size()));
  THUNDER_TRY(pwriteAll(data.fd(), bytes, 0, data.path().string()));
  THUNDER_ASSIGN_OR_RETURN(auto ob, createTemp(".obao"));
  THUNDER_TRY(pwriteAll(ob.fd(), outboard, 0, ob.path().string()));
  THUNDER_TRY(fsyncFd(data.fd(), data.path().string()));
  THUNDER_TRY(fsyncFd(ob.fd(), ob.path().string()));
  return commit(Staged{id, bytes.size(), std::move(data), std::move(ob)}, options);
}

Result<PutResult> FsBlobStore::commit(Staged staged, const PutOptions& options) {
  const BlobId& id = staged.id;
  std::lock_guard lock(mu_);
  THUNDER_ASSIGN_OR_RETURN(auto existing, index_->get(id));
  if (existing && existing->state == BlobState::kComplete) {
    // Stored already (perhaps by a concurrent put): keep it, drop our temp files.
    BlobRecord updated = *existing;
    if (options.pin == PinState::kPinned) updated.pin = PinState::kPinned;
    updated.last_access_us = nextTickLocked();
    THUNDER_TRY(
        index_->put(id, updated, existing, nullptr,
                    updated.pin != existing->pin ? Durability::kSync : Durability::kNoSync));
    return PutResult{id, staged.size, PutOutcome::kAlreadyPresent};
  }
  if (existing)
    used_bytes_ -= std::min(used_bytes_, storedBytes(existing->size));  // replaced below
  if (auto room = makeRoomLocked(
          storedBytes(staged.size), [&id](const BlobId& other) { return other == id; }, nullptr);
      !room) {
    if (existing) used_bytes_ += storedBytes(existing->size);
    return fail(room.error());
  }
  const auto shard = shardDir(options_.root / "blobs", id);
  THUNDER_TRY(ensureDir(shard));
  if (::rename(staged.outboard.path().c_str(), outboardPath(id).c_str()) != 0) {
    return failErrno(errno, fmt::format("cannot move a blob into {}", shard.string()));
  }
  staged.outboard.markRenamed();
  if (::rename(staged.data.path().c_str(), dataPath(id).c_str()) != 0) {
    const int err = errno;
    ::unlink(outboardPath(id).c_str());
    return failErrno(err, fmt::format("cannot move a blob into {}", shard.string()));
  }
  staged.data.markRenamed();
  auto durable = fsyncDir(shard);
  BlobRecord record;
  record.size = staged.size;
  record.state = BlobState::kComplete;
  record.pin = options.pin == PinState::kPinned || (existing && existing->pin == PinState::kPinned)
                   ? PinState::kPinned
                   : PinState::kUnpinned;
  record.created_us = nowMicros();
  record.last_access_us = nextTickLocked();
  if (durable) durable = index_->put(id, record, existing, nullptr, Durability::kSync);
  if (!durable) {
    ::unlink(dataPath(id).c_str());
    ::unlink(outboardPath(id).c_str());
    if (existing) used_bytes_ += storedBytes(existing->size);
    return fail(durable.error());
  }
  if (existing) ::unlink(partialPath(id).c_str());  // the partial copy is superseded
  used_bytes_ += storedBytes(staged.size);
  return PutResult{id, staged.size, PutOutcome::kStored};
}

}  // namespace thunder::content
