// Blob store operations as JSON documents, shared by the CLI (store opened directly) and the
// node's admin routes (store owned by the running node), so both answer with the same shapes.
// The shapes are documented in docs/cli.md (`--json` of put, pin, unpin, gc).
//
// Blocking (disk I/O, hashing): call on a blocking thread. Thread-safe as the store is.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/result.h"
#include "content/blob_store.h"

namespace thunder::node {

// Stores a file or, recursively, a directory. Warnings (skipped entries) are in "warnings".
// {"id", "size", "kind": "file"|"dir", "pinned", "stored" (file) | "files", "directories",
//  "file_bytes", "warnings" (dir)}
Result<nlohmann::json> putPath(content::BlobStore& store, const std::filesystem::path& path,
                               content::PinState pin, const content::PutOptions& options = {});

// The JSON of a put of a stream (stdin): same shape as putPath for a file.
nlohmann::json putResultJson(const content::PutResult& result, content::PinState pin);

// Pins or unpins `id` and, when it is a directory, everything under it. {"id", "pinned", "blobs"}
Result<nlohmann::json> setPinned(content::BlobStore& store, const BlobId& id,
                                 content::PinState pin);

// {"evicted_blobs", "evicted_bytes", "temp_files_removed", "temp_bytes_removed",
//  "orphan_files_removed"}
Result<nlohmann::json> collectGarbage(content::BlobStore& store);

}  // namespace thunder::node
