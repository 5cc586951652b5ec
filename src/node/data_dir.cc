#include "node/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace thunder::node {
namespace {

Result<void> writeAll(int fd, std::string_view data, const std::filesystem::path& file) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, fmt::format("cannot write {}", file.string()));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> fsyncDir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno(errno, fmt::format("cannot open {}", dir.string()));
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) return failErrno(saved, fmt::format("cannot sync {}", dir.string()));
  return {};
}

}  // namespace

Result<std::unique_ptr<DataDir>> DataDir::open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return failErrorCode(
        ec,
        fmt::format("cannot create data dir {} (choose another with --data-dir)", dir.string()));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(ErrorCode::kInvalidArgument, "data dir {} is not a directory", dir.string());
  }
  ::chmod(dir.c_str(), 0700);

  const auto lock_path = dir / "LOCK";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return failErrno(errno, fmt::format("cannot open lock file {} (is the data dir writable?)",
                                        lock_path.string()));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int saved = errno;
    char pid_text[32] = {};
    const ssize_t n = ::pread(fd, pid_text, sizeof pid_text - 1, 0);
    ::close(fd);
    if (saved == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(pid_text, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return fail(ErrorCode::kUnavailable,
                  "data dir {} is in use by another thunder process (pid {}); stop it or use "
                  "another --data-dir",
                  dir.string(), pid);
    }
    return failErrno(saved, fmt::format("cannot lock {}", lock_path.string()));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const int saved = errno;
    ::close(fd);
    return failErrno(saved, fmt::format("cannot write lock file {}", lock_path.string()));
  }
  return std::unique_ptr<DataDir>(new DataDir(dir, UniqueFd(fd)));
}

Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view contents,
                                 unsigned mode) {
  const auto dir = file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  std::string tmp_template = dir.string();
  tmp_template.append("/.").append(file.filename().string()).append(".tmp-XXXXXX");
  const int fd = ::mkostemp(tmp_template.data(), O_CLOEXEC);
  if (fd < 0) return failErrno(errno, fmt::format("cannot create a temp file in {}", dir.string()));
  const std::filesystem::path tmp = tmp_template;
  auto cleanup = [&](Error error) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return tl::unexpected(std::move(error));
  };
  if (::fchmod(fd, mode) != 0) return cleanup(failErrno(errno, "cannot set file mode").value());
  if (auto ok = writeAll(fd, contents, tmp); !ok) return cleanup(ok.error());
  if (::fsync(fd) != 0)
    return cleanup(failErrno(errno, fmt::format("cannot sync {}", tmp.string())).value());
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    return failErrno(saved, fmt::format("cannot rename into {}", file.string()));
  }
  return fsyncDir(dir);
}

}  // namespace thunder::node
