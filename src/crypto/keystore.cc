#include "crypto/keystore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <string_view>

#include "crypto/secret_bytes.h"

namespace thunder::crypto {
namespace {

constexpr std::string_view kMagicLine = "thunder-key v1 ed25519\n";
constexpr std::string_view kMagicPrefix = "thunder-key ";
constexpr std::string_view kSeedLabel = "seed ";
constexpr std::string_view kPublicKeyLabel = "public-key ";
constexpr size_t kHexDigits = 64;
// Offsets of the fields of the only valid layout.
constexpr size_t kSeedLineOffset = kMagicLine.size();
constexpr size_t kPublicKeyLineOffset = kSeedLineOffset + kSeedLabel.size() + kHexDigits + 1;
constexpr size_t kFileSize = kPublicKeyLineOffset + kPublicKeyLabel.size() + kHexDigits + 1;
static_assert(kFileSize == 169);
// Anything larger is read only this far: enough to classify it.
constexpr size_t kReadLimit = 4096;

using ReadBuffer = SecretBytes<struct KeyFileBufferTag, kReadLimit>;

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  // Closes now, reporting the error close() returns.
  int closeNow() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Wipes a string holding secret text when it goes out of scope.
class StringWiper {
 public:
  explicit StringWiper(std::string& text) : text_(text) {}
  ~StringWiper() { detail::wipe(text_.data(), text_.size()); }
  StringWiper(const StringWiper&) = delete;
  StringWiper& operator=(const StringWiper&) = delete;

 private:
  std::string& text_;
};

// Removes a temporary file on scope exit unless dismissed.
class TempFileRemover {
 public:
  explicit TempFileRemover(std::string path) : path_(std::move(path)) {}
  ~TempFileRemover() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFileRemover(const TempFileRemover&) = delete;
  TempFileRemover& operator=(const TempFileRemover&) = delete;
  void dismiss() { path_.clear(); }

 private:
  std::string path_;
};

bool isLowerHex(std::string_view text) {
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The first line of `text` for an error message: at most 40 printable characters.
std::string printableFirstLine(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, text.find('\n'))) {
    if (out.size() == 40) {
      out += "...";
      break;
    }
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return out;
}

tl::unexpected<Error> corrupt(const std::filesystem::path& file, std::string_view why) {
  return fail(ErrorCode::kCorruption, "{} is a corrupt Thunder key file: {}", file.string(), why);
}

// Parses one "label <64 hex>\n" line at `offset` of a kFileSize-byte `text` into `out`.
Result<void> parseHexLine(const std::filesystem::path& file, std::string_view text, size_t offset,
                          int line_number, std::string_view label, std::span<uint8_t, 32> out) {
  const std::string_view line = text.substr(offset, label.size() + kHexDigits + 1);
  const std::string_view hex = line.substr(label.size(), kHexDigits);
  if (!line.starts_with(label) || line.back() != '\n') {
    return corrupt(file, fmt::format("line {} must be '{}' followed by {} hex digits", line_number,
                                     label, kHexDigits));
  }
  if (!isLowerHex(hex)) {
    return corrupt(file, fmt::format("line {} has a character that is not a lowercase hex digit",
                                     line_number));
  }
  THUNDER_TRY(fromHex(hex, out));
  return {};
}

// Reads up to kReadLimit bytes of `fd` into `buffer`; returns the number of bytes read.
Result<size_t> readPrefix(int fd, const std::filesystem::path& file, ReadBuffer& buffer) {
  size_t size = 0;
  while (size < kReadLimit) {
    const ssize_t n = ::read(fd, buffer.data() + size, kReadLimit - size);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, fmt::format("cannot read key file {}", file.string()));
    }
    size += static_cast<size_t>(n);
  }
  return size;
}

Result<void> fsyncPath(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno(errno, fmt::format("cannot open directory {}", dir.string()));
  FdCloser closer(fd);
  if (::fsync(fd) != 0) {
    return failErrno(errno, fmt::format("cannot fsync directory {}", dir.string()));
  }
  return {};
}

// Creates `dir` and its missing parents with mode 0700, fsyncing each parent that gains an
// entry. Existing directories are left as they are.
Result<void> createPrivateDirectories(const std::filesystem::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0)
    return fsyncPath(dir.parent_path().empty() ? "." : dir.parent_path());
  if (errno == ENOENT && dir.has_parent_path() && dir.parent_path() != dir) {
    THUNDER_TRY(createPrivateDirectories(dir.parent_path()));
    if (::mkdir(dir.c_str(), 0700) == 0) return fsyncPath(dir.parent_path());
  }
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return {};
    return fail(ErrorCode::kAlreadyExists, "cannot create directory {}: a file is in the way",
                dir.string());
  }
  return failErrno(errno, fmt::format("cannot create directory {}", dir.string()));
}

// Moves `from` to `to` unless `to` exists, atomically.
Result<void> linkNoReplace(const std::string& from, const std::filesystem::path& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return {};
  if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
    if (errno == EEXIST) {
      return fail(ErrorCode::kAlreadyExists, "key file {} already exists; refusing to overwrite it",
                  to.string());
    }
    return failErrno(errno,
                     fmt::format("cannot move the new key file into place at {}", to.string()));
  }
  // The file system cannot rename without replacing: a hard link cannot replace either.
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) {
      return fail(ErrorCode::kAlreadyExists, "key file {} already exists; refusing to overwrite it",
                  to.string());
    }
    return failErrno(errno,
                     fmt::format("cannot link the new key file into place at {}", to.string()));
  }
  ::unlink(from.c_str());  // the caller's TempFileRemover retries; a leftover is harmless
  return {};
}

}  // namespace

Result<SigningKey> readKeyFile(const std::filesystem::path& file) {
  // O_NONBLOCK: a FIFO at the key path must not hang us; it is rejected below.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) {
      return fail(ErrorCode::kNotFound, "key file {} does not exist", file.string());
    }
    return failErrno(errno, fmt::format("cannot open key file {}", file.string()));
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return failErrno(errno, fmt::format("cannot stat key file {}", file.string()));
  }
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kCorruption, "{} is not a Thunder key file (not a regular file)",
                file.string());
  }

  ReadBuffer buffer;
  THUNDER_ASSIGN_OR_RETURN(const size_t size, readPrefix(fd, file, buffer));
  const std::string_view text(reinterpret_cast<const char*>(buffer.data()), size);

  // Recognise the file by its first line before judging anything else about it.
  if (text.empty()) return corrupt(file, "it is empty");
  if (!text.starts_with(kMagicLine)) {
    if (kMagicLine.starts_with(text)) {
      return corrupt(file,
                     fmt::format("truncated to {} bytes (a v1 key file has {})", size, kFileSize));
    }
    if (text.starts_with(kMagicPrefix)) {
      return fail(ErrorCode::kCorruption,
                  "{} is a Thunder key file of an unsupported kind '{}' (this build reads '{}')",
                  file.string(), printableFirstLine(text),
                  kMagicLine.substr(0, kMagicLine.size() - 1));
    }
    return fail(ErrorCode::kCorruption, "{} is not a Thunder key file", file.string());
  }

  // A secret readable or writable by others is refused, as ssh does.
  if ((st.st_mode & 077) != 0) {
    return fail(ErrorCode::kPermissionDenied,
                "permissions {:04o} on {} are too open; run chmod 600 {}", st.st_mode & 07777,
                file.string(), file.string());
  }

  if (size < kFileSize) {
    return corrupt(file,
                   fmt::format("truncated to {} bytes (a v1 key file has {})", size, kFileSize));
  }
  if (size > kFileSize) {
    return corrupt(
        file, fmt::format("unexpected data after line 3 (a v1 key file has {} bytes)", kFileSize));
  }
  SecretBytes<struct SeedTag, 32> seed;
  THUNDER_TRY(parseHexLine(file, text, kSeedLineOffset, 2, kSeedLabel, seed.mutableBytes()));
  PublicKey stored_public_key;
  THUNDER_TRY(parseHexLine(file, text, kPublicKeyLineOffset, 3, kPublicKeyLabel,
                           stored_public_key.mutableBytes()));

  SigningKey key = SigningKey::fromSeed(seed.bytes());
  if (key.publicKey() != stored_public_key) {
    return corrupt(file, fmt::format("the public key {} does not match the seed (whose public key "
                                     "is {})",
                                     stored_public_key.hex(), key.publicKey().hex()));
  }
  return key;
}

Result<void> writeNewKeyFile(const std::filesystem::path& file, const SigningKey& key) {
  if (file.empty() || !file.has_filename()) {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a file name for a key file",
                file.string());
  }
  const std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
  THUNDER_TRY(createPrivateDirectories(dir));

  // Fail early, before any temporary file; the rename below re-checks atomically.
  struct stat st {};
  if (::lstat(file.c_str(), &st) == 0) {
    return fail(ErrorCode::kAlreadyExists, "key file {} already exists; refusing to overwrite it",
                file.string());
  }

  std::string content = fmt::format("{}{}{}\n{}{}\n", kMagicLine, kSeedLabel, toHex(key.seed()),
                                    kPublicKeyLabel, key.publicKey().hex());
  StringWiper wipe_content(content);

  std::string temp_path = (dir / fmt::format(".{}.tmp-XXXXXX", file.filename().string())).string();
  const int fd = ::mkostemp(temp_path.data(), O_CLOEXEC);
  if (fd < 0) {
    return failErrno(errno, fmt::format("cannot create a temporary file in {}", dir.string()));
  }
  FdCloser closer(fd);
  TempFileRemover remove_temp(temp_path);
  if (::fchmod(fd, 0600) != 0) {
    return failErrno(errno, fmt::format("cannot chmod 600 {}", temp_path));
  }
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno(errno, fmt::format("cannot write {}", temp_path));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return failErrno(errno, fmt::format("cannot fsync {}", temp_path));
  if (closer.closeNow() != 0) return failErrno(errno, fmt::format("cannot close {}", temp_path));

  THUNDER_TRY(linkNoReplace(temp_path, file));
  remove_temp.dismiss();
  return fsyncPath(dir);
}

}  // namespace thunder::crypto
