// Directory trees in a BlobStore: storing a local folder as manifest blobs (content/directory.h),
// resolving "<dir-id>/a/b.txt" paths, and writing a stored tree back out to a folder.
//
// Free functions over a borrowed BlobStore; blocking; thread-safe as far as the store is.
// Symbolic links and special files (FIFOs, sockets, devices) are skipped with a warning, never
// followed, so a stored tree is exactly the regular files and folders under the root.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "content/blob_store.h"
#include "content/directory.h"

namespace thunder::content {

// Nesting limit for stored and resolved trees (protects the stack from hostile manifests).
inline constexpr int kMaxDirectoryDepth = 256;
// The largest canonical manifest (100k entries of 255-byte names).
inline constexpr uint64_t kMaxManifestBytes = 13 + kMaxDirectoryEntries * (42 + kMaxEntryNameBytes);

struct TreePutResult {
  BlobId id;                          // the root manifest blob
  uint64_t size = 0;                  // size of the root manifest blob
  uint64_t files = 0;                 // regular files stored
  uint64_t directories = 0;           // manifests stored (including the root)
  uint64_t file_bytes = 0;            // sum of the file sizes
  std::vector<std::string> warnings;  // skipped entries, one line each
};

// Stores every regular file under `dir` and one manifest per folder, bottom-up. With
// PinState::kPinned every blob of the tree is pinned. kInvalidArgument for a name the manifest
// cannot hold (e.g. longer than 255 bytes) or a folder with more than 100k entries, naming the
// path; the store's errors otherwise.
Result<TreePutResult> putTree(BlobStore& store, const std::filesystem::path& dir,
                              const PutOptions& options);

// Reads and parses the manifest blob `id` (kCorruption if it is not a canonical manifest,
// kNotFound if it is not stored complete).
Result<Manifest> readManifest(BlobStore& store, const BlobId& id);

// Follows `path` ("a/b.txt"; "" or "/" is the root itself) from directory `root`. Returns the
// entry reached (for the root: kind kDirectory, name ""). kNotFound naming the first missing
// component, kInvalidArgument for an empty, "." or ".." component or a path through a file.
Result<DirectoryEntry> resolvePath(BlobStore& store, const BlobId& root, std::string_view path);

struct ExportResult {
  uint64_t files = 0;
  uint64_t directories = 0;
  uint64_t bytes = 0;
};

// Writes blob `id` to `target`: a file, or (kind kDirectory) a folder tree. `target` must not
// exist (kAlreadyExists). Sizes recorded in manifests are checked (kCorruption on a mismatch).
Result<ExportResult> exportTree(BlobStore& store, const BlobId& id, EntryKind kind,
                                const std::filesystem::path& target);

// Copies all of blob `id` to `fd` (a file, a pipe, stdout). Returns the bytes written.
Result<uint64_t> copyBlobTo(BlobStore& store, const BlobId& id, uint64_t offset, uint64_t length,
                            int fd);

}  // namespace thunder::content
