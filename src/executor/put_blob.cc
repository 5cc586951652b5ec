#include "executor/put_blob.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

namespace thunder::executor {

Result<PutSourceKind> classifyPutSource(int fd) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) return failErrno(errno, "fstat of the put-blob descriptor");
  if (S_ISREG(info.st_mode)) return PutSourceKind::kRegularFile;
  if (S_ISFIFO(info.st_mode)) return PutSourceKind::kPipe;
  return fail(ErrorCode::kInvalidArgument,
              "put-blob descriptor must be a memfd, a regular file or a pipe (mode {:o})",
              info.st_mode & S_IFMT);
}

Result<UniqueFd> createScratchFile(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  UniqueFd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) return fd;
  fd = UniqueFd(::memfd_create("thunder-put-blob", MFD_CLOEXEC));
  if (!fd.valid()) return failErrno(errno, "creating a put-blob scratch file in " + dir.string());
  return fd;
}

Result<void> writeFully(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == ENOSPC) {
        return fail(ErrorCode::kResourceExhausted, "no space left for a put-blob scratch file");
      }
      return failErrno(errno, "writing a put-blob scratch file");
    }
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

Result<void> copyRegularFile(int src, int dst, uint64_t size) {
  const off_t start = ::lseek(src, 0, SEEK_CUR);
  if (start < 0) return failErrno(errno, "position of the put-blob descriptor");
  std::vector<uint8_t> buffer(static_cast<size_t>(std::min<uint64_t>(size, 1 << 20)));
  uint64_t done = 0;
  while (done < size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - done));
    const ssize_t n = ::pread(src, buffer.data(), want, start + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "reading the put-blob descriptor");
    if (n == 0) {
      return fail(ErrorCode::kInvalidArgument,
                  "the put-blob descriptor holds {} bytes from its position, not the {} announced",
                  done, size);
    }
    THUNDER_TRY(writeFully(dst, std::span(buffer).first(static_cast<size_t>(n))));
    done += static_cast<uint64_t>(n);
  }
  return {};
}

Result<UniqueFd> reopenPipeNonBlocking(int fd) {
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  UniqueFd reopened(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!reopened.valid()) return failErrno(errno, "reopening the put-blob pipe");
  return reopened;
}

}  // namespace thunder::executor
