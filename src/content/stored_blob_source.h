// StoredBlobSource: a BlobSource (content/blob_source.h) over a complete blob of a BlobStore, so
// that a RangeEncoder can stream any ranges of it. Owns the blob's data and outboard fds (the
// files stay readable even if the blob is deleted or evicted meanwhile).
// Blocking reads (pread); one thread at a time.
#pragma once

#include <memory>

#include "content/blob_source.h"
#include "content/blob_store.h"

namespace thunder::content {

class StoredBlobSource final : public BlobSource {
 public:
  // kNotFound if `id` is not stored complete (a partial blob has no outboard to encode from).
  static Result<std::unique_ptr<StoredBlobSource>> open(BlobStore& store, const BlobId& id);

  uint64_t size() const override { return files_.size; }
  Result<void> readData(uint64_t offset, std::span<uint8_t> out) override {
    return fds_.readData(offset, out);
  }
  Result<void> readOutboard(uint64_t offset, std::span<uint8_t> out) override {
    return fds_.readOutboard(offset, out);
  }

 private:
  explicit StoredBlobSource(BlobStore::BlobFiles files)
      : files_(std::move(files)), fds_(files_.data.get(), files_.outboard.get(), files_.size) {}
  BlobStore::BlobFiles files_;
  FdBlobSource fds_;
};

}  // namespace thunder::content
