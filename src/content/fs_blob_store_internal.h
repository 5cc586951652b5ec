// Private pieces of FsBlobStore shared by its .cc files (not part of the content API).
#pragma once

#include <filesystem>
#include <string>

#include "content/fs_blob_store.h"
#include "content/store_index.h"
#include "crypto/blake3_tree.h"

namespace thunder::content {

// A file in <root>/tmp/ that this store is writing. Unlinks the file on destruction unless it
// was renamed into place (markRenamed()); registered as active so that gc() leaves it alone.
class FsBlobStore::TempFile {
 public:
  TempFile(FsBlobStore* store, std::string name, UniqueFd fd)
      : store_(store), name_(std::move(name)), fd_(std::move(fd)) {}
  TempFile(TempFile&& other) noexcept
      : store_(std::exchange(other.store_, nullptr)),
        name_(std::move(other.name_)),
        fd_(std::move(other.fd_)) {}
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  int fd() const { return fd_.get(); }
  // Closes the file (it stays in tmp/ under its name): a batch holds many files, not their fds.
  void closeFd() { fd_.reset(); }
  std::filesystem::path path() const { return store_->options_.root / "tmp" / name_; }
  // The file now lives elsewhere: do not unlink it.
  void markRenamed() { renamed_ = true; }

 private:
  FsBlobStore* store_;
  std::string name_;
  UniqueFd fd_;
  bool renamed_ = false;
};

struct FsBlobStore::Staged {
  BlobId id;
  uint64_t size = 0;
  TempFile data;
  TempFile outboard;
};

// Wall clock in microseconds since the Unix epoch.
uint64_t nowMicros();

// Bytes a blob of `size` takes in the store: data + outboard.
inline uint64_t storedBytes(uint64_t size) {
  return size + crypto::outboardSize(size);
}

// Bytes of the blob covered by the verified groups of `bits`.
uint64_t verifiedBytes(const GroupBitfield& bits, uint64_t size);

}  // namespace thunder::content
