// BlobStore: the node's content-addressed blob storage (interface). A blob is immutable bytes
// named by their BLAKE3 id; the store keeps each blob's data and outboard, pins, an LRU cache
// quota, and partial blobs (ranges fetched from an untrusted source and verified).
//
// Implementation: FsBlobStore (content/fs_blob_store.h: files + RocksDB index). Many small puts
// go through a PutBatch (beginBatch()), made durable together by one commit(). All methods are
// blocking (file I/O, fsync, hashing): call them off the event loop, from any thread; an
// implementation is thread-safe. Returned file descriptors and byte vectors are owned by the
// caller. Errors: kNotFound (no such blob, or the bytes are not verified yet), kInvalidArgument
// (bad range, bad input), kResourceExhausted (quota or disk full), kCorruption (bytes failed
// verification), kIoError, kUnavailable (a write on a store opened read-only).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/byte_ranges.h"
#include "content/file_util.h"

namespace thunder::content {

enum class BlobState { kComplete, kPartial };
enum class PinState { kUnpinned, kPinned };

std::string_view blobStateName(BlobState state);  // "complete" / "partial"

// What stat() and list() report about a blob.
struct BlobInfo {
  BlobId id;
  uint64_t size = 0;
  BlobState state = BlobState::kComplete;
  PinState pin = PinState::kUnpinned;
  uint64_t verified_bytes = 0;  // == size for a complete blob
  uint64_t created_us = 0;      // microseconds since the Unix epoch
  uint64_t last_access_us = 0;  // microseconds since the Unix epoch (strictly increasing per store)
};

struct PutOptions {
  PinState pin = PinState::kUnpinned;  // kPinned: pin the blob (also when it was already stored)
  // Called from the putting thread with (bytes written so far, total or 0 if unknown).
  std::function<void(uint64_t done, uint64_t total)> progress;
};

enum class PutOutcome { kStored, kAlreadyPresent };

struct PutResult {
  BlobId id;
  uint64_t size = 0;
  PutOutcome outcome = PutOutcome::kStored;
};

// A read-only view of stored bytes: read `length` bytes of `fd` starting at `offset`.
struct BlobSlice {
  UniqueFd fd;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Progress of a verified-stream import into a (possibly partial) blob.
struct VerifiedPutResult {
  BlobId id;
  uint64_t size = 0;
  BlobState state = BlobState::kPartial;  // kComplete once every group is verified
  uint64_t verified_bytes = 0;            // of the whole blob, after this import
  uint64_t bytes_received = 0;            // new verified payload bytes from this stream
};

struct GcReport {
  uint64_t evicted_blobs = 0;
  uint64_t evicted_bytes = 0;       // data + outboard bytes of evicted blobs
  uint64_t temp_files_removed = 0;  // leftovers of interrupted writes
  uint64_t temp_bytes_removed = 0;
  uint64_t orphan_files_removed = 0;  // blob files without an index record
};

enum class FsckProblemKind {
  kDataCorrupt,      // the data does not hash to the id
  kOutboardCorrupt,  // the data is right but the stored outboard differs from the recomputed one
  kMissingFile,      // an index record whose data/outboard file is missing
  kWrongSize,        // a data/outboard file of the wrong length
  kOrphanFile,       // a file in the store that no index record names
  kBadRecord,        // an index entry that cannot be decoded
};

std::string_view fsckProblemName(FsckProblemKind kind);  // e.g. "data_corrupt"

struct FsckProblem {
  FsckProblemKind kind;
  std::string blob;  // hex id (empty when unknown)
  std::string path;  // the file concerned (may be empty)
  std::string message;
};

struct FsckReport {
  uint64_t blobs_checked = 0;
  uint64_t bytes_checked = 0;
  uint64_t partial_blobs = 0;  // partial blobs are checked for presence and size only
  std::vector<FsckProblem> problems;
};

// An import of one verified range stream into the store (BlobStore::importVerified()). Feed it
// the stream as it arrives; verified groups are written to the partial blob and become readable
// at each checkpoint (every 1 MiB of verified groups, and at the end). Used from one thread at a
// time; must not outlive its store.
class VerifiedImport {
 public:
  virtual ~VerifiedImport() = default;
  // Consumes stream bytes. kCorruption (naming the stream offset and group) on the first bad
  // byte; the groups verified before it are kept. After an error every call fails.
  virtual Result<void> feed(std::span<const uint8_t> bytes) = 0;
  // Declares the end of the stream (kCorruption if it is incomplete) and makes everything
  // verified durable and readable. Returns the blob's state afterwards.
  virtual Result<VerifiedPutResult> finish() = 0;
};

// A group of puts made durable together (BlobStore::beginBatch()), for many small blobs at once
// (the blocks of an IPFS import): one commit() costs about what one single put costs, instead of
// one per blob. Used from one thread at a time; must not outlive its store. Destroying a batch
// without committing drops its puts (and its queued pins).
//
// Visibility: a blob put in a batch may be invisible to the store (has() false, not readable,
// not listed) until commit() returns; FsBlobStore makes it visible exactly then. A crash before
// commit() returns leaves none of the batch visible, or (for an implementation that writes
// through) some of it: never an index entry for a blob whose bytes are not durable.
class PutBatch {
 public:
  virtual ~PutBatch() = default;

  // Hashes and writes `bytes`, to become durable and visible at commit(). kAlreadyPresent if the
  // blob is stored already or was put in this batch before (stored once; `options.pin` still
  // applies at commit). Errors as BlobStore::putBytes(), except that the quota is checked at
  // commit() (only a blob larger than the whole quota fails here). options.progress is unused.
  virtual Result<PutResult> putBytes(std::span<const uint8_t> bytes, const PutOptions& options) = 0;

  // Pins `id` at commit() — a blob stored already or put in this batch. commit() fails with
  // kNotFound (applying nothing) if the blob is then not stored complete (evicted or removed
  // meanwhile).
  virtual void pin(const BlobId& id) = 0;

  // Makes every put durable and visible and applies every pin, at once. Evicts for the quota as
  // a single put does, for all the batch's bytes together (never a blob of the batch, nor one it
  // pins); kResourceExhausted (nothing of the batch stored, nothing evicted) if that cannot make
  // room. On success and on error the batch is empty afterwards and may be used again (after an
  // error its puts are dropped: put them again).
  virtual Result<void> commit() = 0;

  // Blobs put (and not present before) and their bytes, since the last commit().
  virtual size_t pendingBlobs() const = 0;
  virtual uint64_t pendingBytes() const = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Stores the contents of a regular file (read once; hashed while being written). A path that
  // is not a regular file (a FIFO, a character device) is read as a stream. kAlreadyPresent if
  // the blob was stored already (nothing is written). kNotFound / kPermissionDenied for `file`,
  // kResourceExhausted if the quota or the disk is full (nothing is left behind).
  virtual Result<PutResult> putFile(const std::filesystem::path& file,
                                    const PutOptions& options) = 0;

  // Stores everything read from `fd` until end of input (a pipe, a socket, stdin).
  virtual Result<PutResult> putStream(int fd, const PutOptions& options) = 0;

  // Stores `bytes`.
  virtual Result<PutResult> putBytes(std::span<const uint8_t> bytes, const PutOptions& options) = 0;

  // A batch of puts made durable by one commit() (see PutBatch). The default implementation
  // stores each put at once through putBytes() (durable and visible before commit()) and applies
  // the pins at commit(); FsBlobStore overrides it (kUnavailable when opened read-only).
  virtual Result<std::unique_ptr<PutBatch>> beginBatch();

  // Starts importing a verified range stream (docs/formats/verified-stream.md) of blob `id` for
  // `ranges` (the ranges the sender encoded) from an untrusted source. Every verified 16 KiB
  // group goes into a partial blob (created on the first verified group, at the size the stream
  // claims), which becomes complete once all its groups are verified. If the blob is complete
  // already the import verifies and discards. A partial blob whose size is not proven yet (its
  // last group is unverified) is discarded when a stream claims another size; a stream that
  // contradicts a proven size is refused (kCorruption).
  virtual Result<std::unique_ptr<VerifiedImport>> importVerified(const BlobId& id,
                                                                 const ByteRanges& ranges,
                                                                 const PutOptions& options) = 0;

  // importVerified() fed from `fd` until end of input.
  virtual Result<VerifiedPutResult> putVerifiedStream(const BlobId& id, const ByteRanges& ranges,
                                                      int fd, const PutOptions& options) = 0;

  // Bytes [offset, offset + length) of a blob; the range is clipped at the end of the blob.
  // kNotFound if the blob is unknown or part of the range is not verified yet (naming the first
  // missing group); kInvalidArgument if offset > size. Counts as an access (LRU).
  virtual Result<std::vector<uint8_t>> read(const BlobId& id, uint64_t offset, uint64_t length) = 0;

  // Like read(), but returns a read-only fd of the data file and the position of the range in it.
  virtual Result<BlobSlice> openRange(const BlobId& id, uint64_t offset, uint64_t length) = 0;

  // Read-only fds of the data and outboard files of a complete blob (for the range encoder).
  // kNotFound if the blob is not stored complete.
  struct BlobFiles {
    UniqueFd data;
    UniqueFd outboard;
    uint64_t size = 0;
  };
  virtual Result<BlobFiles> openComplete(const BlobId& id) = 0;

  virtual Result<BlobInfo> stat(const BlobId& id) = 0;  // kNotFound if unknown
  virtual Result<bool> has(const BlobId& id) = 0;       // true only for a complete blob
  virtual Result<std::vector<BlobInfo>> list() = 0;     // in id order

  // Deletes a blob (complete or partial, pinned or not). kNotFound if unknown.
  virtual Result<void> remove(const BlobId& id) = 0;
  // Pinned blobs are never evicted. kNotFound if unknown. Idempotent.
  virtual Result<void> pin(const BlobId& id) = 0;
  virtual Result<void> unpin(const BlobId& id) = 0;

  // Evicts unpinned complete blobs, least recently accessed first, until the store is within
  // its quota, and removes leftovers of interrupted writes.
  virtual Result<GcReport> gc() = 0;

  // Re-verifies every complete blob's data and outboard against its id and checks that files
  // and index agree. Reports problems; changes nothing.
  virtual Result<FsckReport> fsck() = 0;
};

}  // namespace thunder::content
