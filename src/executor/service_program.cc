#include "executor/service_program.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "crypto/blake3.h"
#include "crypto/random.h"

namespace thunder::executor {
namespace {

namespace fs = std::filesystem;

constexpr mode_t kDirMode = 0711;      // others may traverse, not list
constexpr mode_t kProgramMode = 0555;  // the sandboxed uid is "other": read and execute

Result<void> makeDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failErrorCode(ec, "creating " + dir.string());
  if (::chmod(dir.c_str(), kDirMode) != 0) return failErrno(errno, "chmod " + dir.string());
  return {};
}

// True if `file` exists, is a regular file of mode 0555 and hashes to `id`.
bool alreadyMaterialised(const fs::path& file, const BlobId& id) {
  struct stat info {};
  if (::lstat(file.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return false;
  if ((info.st_mode & 07777) != kProgramMode) return false;
  auto hash = crypto::blake3File(file);
  return hash && *hash == id;
}

Result<void> writeAll(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "writing a service program");
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<fs::path> materialiseServiceBlob(content::BlobStore& store, const BlobId& id,
                                        const fs::path& dir) {
  THUNDER_TRY(makeDir(dir));
  const fs::path target = dir / id.hex();
  if (alreadyMaterialised(target, id)) return target;

  THUNDER_ASSIGN_OR_RETURN(content::BlobStore::BlobFiles files, store.openComplete(id));
  std::array<uint8_t, 8> nonce{};
  crypto::randomBytes(nonce);
  const fs::path temp = dir / fmt::format(".tmp-{}-{}", id.hex().substr(0, 16), toHex(nonce));
  UniqueFd out(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out.valid()) return failErrno(errno, "creating " + temp.string());
  struct TempGuard {
    const fs::path& path;
    bool keep = false;
    ~TempGuard() {
      if (!keep) ::unlink(path.c_str());
    }
  } guard{temp};

  crypto::Blake3Hasher hasher;
  std::vector<uint8_t> buffer(1 << 20);
  uint64_t offset = 0;
  while (offset < files.size) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), files.size - offset));
    const ssize_t n = ::pread(files.data.get(), buffer.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "reading blob " + id.hex());
    if (n == 0) {
      return fail(ErrorCode::kCorruption, "blob {} is shorter in the store than its size {}",
                  id.hex(), files.size);
    }
    hasher.update(std::span(buffer).first(static_cast<size_t>(n)));
    THUNDER_TRY(writeAll(out.get(), buffer.data(), static_cast<size_t>(n)));
    offset += static_cast<uint64_t>(n);
  }
  const BlobId actual = hasher.finalize();
  if (actual != id) {
    return fail(ErrorCode::kCorruption,
                "the stored bytes of service program {} hash to {}: refusing to run them", id.hex(),
                actual.hex());
  }
  if (::fchmod(out.get(), kProgramMode) != 0) return failErrno(errno, "chmod " + temp.string());
  if (::fsync(out.get()) != 0) return failErrno(errno, "fsync " + temp.string());
  out.reset();
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    return failErrno(errno, "renaming " + temp.string());
  }
  guard.keep = true;
  return target;
}

}  // namespace thunder::executor
