// Small POSIX file helpers for the blob store: an owning file descriptor and loops that finish
// short reads and writes. Blocking; thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>
#include <utility>

#include "base/result.h"
#include "base/unique_fd.h"

namespace thunder::content {

// Owns one file descriptor and closes it on destruction. Move-only.
using ::thunder::UniqueFd;  // base/unique_fd.h

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
