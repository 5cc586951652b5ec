// IPFS operations as JSON documents, shared by the CLI (stores opened directly) and the node's
// admin routes (stores owned by the running node), so both answer with the same shapes: the
// `--json` of `thunder import` (docs/cli.md) and the /v0/ipfs routes (docs/admin-api.md).
//
// Blocking (disk I/O, hashing): call on a blocking thread. Thread-safe as the stores are.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "content/ipfs_store.h"

namespace thunder::node {

// {"roots": [{"cid", "kind", "blob" (hex or null), "size", "complete"}], "blocks", "bytes"}
nlohmann::json importReportJson(const content::ipfs::ImportReport& report);

// Imports the CAR read from `fd` (a file, a pipe). `progress` gets the CAR bytes read so far.
Result<nlohmann::json> importCarFd(content::ipfs::IpfsStore& store, int fd, content::PinState pin,
                                   std::function<void(uint64_t bytes_read)> progress = {});
// Imports the CAR file at `path` (kNotFound / kPermissionDenied naming it).
Result<nlohmann::json> importCarFile(content::ipfs::IpfsStore& store,
                                     const std::filesystem::path& path, content::PinState pin);

// What an export names: a CID and the path below it.
struct IpfsTarget {
  content::ipfs::Cid cid;
  std::vector<std::string> segments;
};
// "CID", "CID/a/b.txt", "/ipfs/CID/a". kInvalidArgument naming what is wrong.
Result<IpfsTarget> parseIpfsTarget(std::string_view text);

// Export options from the admin route's JSON: {"dag_scope": "all"|"entity"|"block",
// "entity_bytes": "FROM:TO", "dups": bool}, each optional.
Result<content::ipfs::CarExportOptions> exportOptionsFromJson(const nlohmann::json& body);

// Writes the CAR export of `target` to `fd`. Returns {"root", "bytes"}. kNotFound before any
// byte when the root or a path block is missing; a block missing later fails after the bytes
// before it were written (a truncated CAR).
Result<nlohmann::json> exportCarTo(content::ipfs::IpfsStore& store, const IpfsTarget& target,
                                   const content::ipfs::CarExportOptions& options, int fd);

}  // namespace thunder::node
