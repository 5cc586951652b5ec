// BlobSource: where a range encoder (content/verified_stream.h) reads a blob's bytes and its
// pre-order outboard (crypto/blake3_tree.h) from — memory or file descriptors.
//
// A source only borrows: the spans or file descriptors must outlive it. Reads are positional
// (no shared file offset), so one FdBlobSource may serve several encoders on one thread; it is
// not synchronized for concurrent use. File reads block: use them off the event loop.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"

namespace thunder::content {

class BlobSource {
 public:
  virtual ~BlobSource() = default;

  // The blob's size in bytes.
  virtual uint64_t size() const = 0;

  // Fills `out` with the blob bytes at [offset, offset + out.size()). Short reads are retried;
  // a source that ends early is kCorruption, an OS failure kIoError.
  virtual Result<void> readData(uint64_t offset, std::span<uint8_t> out) = 0;

  // Same for the outboard (its byte offsets: parent i is at 64 * i).
  virtual Result<void> readOutboard(uint64_t offset, std::span<uint8_t> out) = 0;
};

// A blob and outboard held in memory (borrowed).
class MemoryBlobSource final : public BlobSource {
 public:
  MemoryBlobSource(std::span<const uint8_t> data, std::span<const uint8_t> outboard)
      : data_(data), outboard_(outboard) {}

  uint64_t size() const override { return data_.size(); }
  Result<void> readData(uint64_t offset, std::span<uint8_t> out) override;
  Result<void> readOutboard(uint64_t offset, std::span<uint8_t> out) override;

 private:
  std::span<const uint8_t> data_;
  std::span<const uint8_t> outboard_;
};

// A blob and outboard in two open files (borrowed descriptors, read with pread).
class FdBlobSource final : public BlobSource {
 public:
  FdBlobSource(int data_fd, int outboard_fd, uint64_t size)
      : data_fd_(data_fd), outboard_fd_(outboard_fd), size_(size) {}

  uint64_t size() const override { return size_; }
  Result<void> readData(uint64_t offset, std::span<uint8_t> out) override;
  Result<void> readOutboard(uint64_t offset, std::span<uint8_t> out) override;

 private:
  int data_fd_;
  int outboard_fd_;
  uint64_t size_;
};

}  // namespace thunder::content
