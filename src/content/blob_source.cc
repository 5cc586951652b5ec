#include "content/blob_source.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace thunder::content {
namespace {

Result<void> copyOut(std::span<const uint8_t> from, uint64_t offset, std::span<uint8_t> out,
                     std::string_view what) {
  if (offset > from.size() || out.size() > from.size() - offset) {
    return fail(ErrorCode::kCorruption, "{} holds {} bytes, cannot read [{}, {})", what,
                from.size(), offset, offset + out.size());
  }
  if (!out.empty()) std::memcpy(out.data(), from.data() + offset, out.size());
  return {};
}

Result<void> preadFull(int fd, uint64_t offset, std::span<uint8_t> out, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, fmt::format("reading {} at offset {}", what, offset + done));
    }
    if (n == 0) {
      return fail(ErrorCode::kCorruption, "{} ends at byte {}, expected at least {}", what,
                  offset + done, offset + out.size());
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<void> MemoryBlobSource::readData(uint64_t offset, std::span<uint8_t> out) {
  return copyOut(data_, offset, out, "blob data");
}

Result<void> MemoryBlobSource::readOutboard(uint64_t offset, std::span<uint8_t> out) {
  return copyOut(outboard_, offset, out, "outboard");
}

Result<void> FdBlobSource::readData(uint64_t offset, std::span<uint8_t> out) {
  return preadFull(data_fd_, offset, out, "blob data file");
}

Result<void> FdBlobSource::readOutboard(uint64_t offset, std::span<uint8_t> out) {
  return preadFull(outboard_fd_, offset, out, "outboard file");
}

}  // namespace thunder::content
