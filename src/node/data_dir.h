// DataDir: the node's data directory, held exclusively by one process.
//
// open() creates the directory (mode 0700) if needed and takes an exclusive advisory lock on
// <dir>/LOCK (flock), which the kernel releases when the process dies, even by kill -9. A
// second process on the same directory gets a precise error. The lock lives as long as the
// DataDir object. Layout (docs/data-dir.md):
//   LOCK            lock file, holds the owner's pid
//   config.toml     optional configuration (`thunder init`)
//   keys/node.key   the node's Ed25519 key (docs/formats/keystore.md)
//   node.json       written while the node runs: pid and bound endpoints, for `thunder status`
#pragma once

#include <filesystem>
#include <memory>

#include "base/result.h"
#include "base/unique_fd.h"

namespace thunder::node {

class DataDir {
 public:
  // kUnavailable if another process holds the lock (naming its pid); kIoError/kPermissionDenied
  // if the directory cannot be created or written.
  static Result<std::unique_ptr<DataDir>> open(const std::filesystem::path& dir);
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path keyFile() const { return path_ / "keys" / "node.key"; }
  std::filesystem::path configFile() const { return path_ / "config.toml"; }
  std::filesystem::path runtimeFile() const { return path_ / "node.json"; }

 private:
  DataDir(std::filesystem::path path, UniqueFd lock_fd)
      : path_(std::move(path)), lock_fd_(std::move(lock_fd)) {}
  std::filesystem::path path_;
  UniqueFd lock_fd_;  // holds the flock; closing it releases the lock
};

// The key file, config file and runtime file paths of a data dir, without locking it (for CLI
// commands that only read).
inline std::filesystem::path keyFileIn(const std::filesystem::path& dir) {
  return dir / "keys" / "node.key";
}
inline std::filesystem::path configFileIn(const std::filesystem::path& dir) {
  return dir / "config.toml";
}
inline std::filesystem::path runtimeFileIn(const std::filesystem::path& dir) {
  return dir / "node.json";
}

// Writes `contents` to `file` atomically: a temp file in the same directory, fsync, rename,
// fsync of the directory. `mode` is the new file's permission bits.
Result<void> writeFileAtomically(const std::filesystem::path& file, std::string_view contents,
                                 unsigned mode);

}  // namespace thunder::node
