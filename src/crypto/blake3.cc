#include "crypto/blake3.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

namespace thunder::crypto {
namespace {

// Large enough that the SIMD back ends hash many chunks per call and syscalls are few.
constexpr size_t kFileBufferSize = size_t{1} << 20;

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

Blake3Hasher::Blake3Hasher() {
  blake3_hasher_init(&state_);
}

Blake3Hasher Blake3Hasher::keyed(std::span<const uint8_t, 32> key) {
  Blake3Hasher hasher;
  blake3_hasher_init_keyed(&hasher.state_, key.data());
  return hasher;
}

Blake3Hasher Blake3Hasher::deriveKey(std::string_view context) {
  Blake3Hasher hasher;
  blake3_hasher_init_derive_key_raw(&hasher.state_, context.data(), context.size());
  return hasher;
}

void Blake3Hasher::update(std::span<const uint8_t> bytes) {
  blake3_hasher_update(&state_, bytes.data(), bytes.size());
}

BlobId Blake3Hasher::finalize() const {
  BlobId out;
  blake3_hasher_finalize(&state_, out.data(), BlobId::kSize);
  return out;
}

void Blake3Hasher::finalizeXof(uint64_t seek, std::span<uint8_t> out) const {
  blake3_hasher_finalize_seek(&state_, seek, out.data(), out.size());
}

BlobId blake3(std::span<const uint8_t> bytes) {
  Blake3Hasher hasher;
  hasher.update(bytes);
  return hasher.finalize();
}

Result<BlobId> blake3File(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failErrno(errno, fmt::format("cannot open {}", file.string()));
  FdCloser closer(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);  // a hint only; failure is harmless

  auto buffer = std::make_unique_for_overwrite<uint8_t[]>(kFileBufferSize);
  Blake3Hasher hasher;
  while (true) {
    const ssize_t n = ::read(fd, buffer.get(), kFileBufferSize);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, fmt::format("cannot read {}", file.string()));
    }
    hasher.update({buffer.get(), static_cast<size_t>(n)});
  }
  return hasher.finalize();
}

}  // namespace thunder::crypto
