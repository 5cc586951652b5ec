// Small POSIX file helpers for the blob store: an owning file descriptor and loops that finish
// short reads and writes. Blocking; thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace thunder::content {

// Owns one file descriptor and closes it on destruction. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset();

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; errors name the path (kNotFound, kPermissionDenied, kIoError, ...).
Result<UniqueFd> openFile(const std::filesystem::path& path, int flags, unsigned mode = 0644);

// Writes all of `bytes` at `offset` (pwrite loop). Errors name `what`.
Result<void> pwriteAll(int fd, std::span<const uint8_t> bytes, uint64_t offset,
                       std::string_view what);

// Reads exactly out.size() bytes at `offset`; kCorruption naming `what` if the file is shorter.
Result<void> preadAll(int fd, std::span<uint8_t> out, uint64_t offset, std::string_view what);

// Reads up to out.size() bytes (read loop until full or end of input); returns the count.
Result<size_t> readFull(int fd, std::span<uint8_t> out, std::string_view what);

// Writes all of `bytes` (write loop, for pipes and stdout).
Result<void> writeAll(int fd, std::span<const uint8_t> bytes, std::string_view what);

Result<void> fsyncFd(int fd, std::string_view what);

// fsync of a directory, so that a rename or unlink inside it is durable.
Result<void> fsyncDir(const std::filesystem::path& dir);

// Creates `dir` (and parents) if missing; fsyncs the parent when it created it.
Result<void> ensureDir(const std::filesystem::path& dir);

}  // namespace thunder::content
