#include "content/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace thunder::content {

Result<UniqueFd> openFile(const std::filesystem::path& path, int flags, unsigned mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return failErrno(errno, fmt::format("cannot open {}", path.string()));
  return UniqueFd(fd);
}

Result<void> pwriteAll(int fd, std::span<const uint8_t> bytes, uint64_t offset,
                       std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, fmt::format("cannot write {}", what));
    bytes = bytes.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Result<void> preadAll(int fd, std::span<uint8_t> out, uint64_t offset, std::string_view what) {
  while (!out.empty()) {
    const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, fmt::format("cannot read {}", what));
    if (n == 0) {
      return fail(ErrorCode::kCorruption, "{} is shorter than expected (ends at byte {})", what,
                  offset);
    }
    out = out.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Result<size_t> readFull(int fd, std::span<uint8_t> out, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, fmt::format("cannot read {}", what));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Result<void> writeAll(int fd, std::span<const uint8_t> bytes, std::string_view what) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, fmt::format("cannot write {}", what));
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<void> fsyncFd(int fd, std::string_view what) {
  if (::fsync(fd) != 0) return failErrno(errno, fmt::format("cannot sync {}", what));
  return {};
}

Result<void> fsyncDir(const std::filesystem::path& dir) {
  THUNDER_ASSIGN_OR_RETURN(auto fd, openFile(dir, O_RDONLY | O_DIRECTORY));
  return fsyncFd(fd.get(), dir.string());
}

Result<void> ensureDir(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return fsyncDir(dir.parent_path());
  if (errno == EEXIST) return {};
  if (errno == ENOENT) {
    THUNDER_TRY(ensureDir(dir.parent_path()));
    if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return fsyncDir(dir.parent_path());
  }
  return failErrno(errno, fmt::format("cannot create directory {}", dir.string()));
}

}  // namespace thunder::content
