// Content commands of the `thunder` CLI: put, get, cat, ls, pin, unpin, gc, fsck (the blob store,
// cmd_content.cc) and verify, encode, decode (verified streaming, cmd_stream.cc).
//
// They open the data dir's blob store directly. Write commands take the data dir lock, so they
// fail with a precise message while a node runs on it; read commands then open the store
// read-only (RocksDB secondary), which is safe beside the running node.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "content/fs_blob_store.h"
#include "node/data_dir.h"

namespace thunder::cli {

// Registers the content commands on `app`; each callback stores its exit code in *exit_code.
void addContentCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code);

namespace content_cmd {

enum class StoreAccess { kRead, kWrite };

// A store opened for one command; holds the data dir lock when opened for writing.
struct OpenedStore {
  std::unique_ptr<node::DataDir> lock;  // null when opened read-only beside a running node
  std::unique_ptr<content::FsBlobStore> store;
};

// kWrite: takes the data dir lock (kUnavailable naming the node's pid if a node holds it).
// kRead: the same when possible, else opens the store read-only.
Result<OpenedStore> openStore(const GlobalFlags& flags, StoreAccess access);

// An inclusive byte range "A-B" or "A-" (to the end) from the command line.
struct CliRange {
  uint64_t first = 0;
  std::optional<uint64_t> last;  // inclusive; nullopt = to the end
  uint64_t lengthFrom() const { return last ? *last - first + 1 : UINT64_MAX; }
};
Result<CliRange> parseRange(std::string_view text);

// "ID" or "ID/a/b.txt" → the id and the path after it.
Result<std::pair<BlobId, std::string>> parseIdPath(std::string_view text);

void addStreamCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code);

}  // namespace content_cmd
}  // namespace thunder::cli
