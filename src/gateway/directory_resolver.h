// DirectoryResolver: follows decoded path segments ("a", "b.txt") from a directory blob through
// its manifests (content/directory.h), with a shared cache of parsed manifests so that serving
// /b3/<dir>/a/b.txt does not re-read and re-parse the same manifests on every request.
//
// Thread-safe (the cache has its own mutex). resolve() with Lookup::kCachedOnly never blocks
// (call it on a loop; it answers "needs the store" when a manifest is not cached);
// Lookup::kMayBlock reads manifests from the store (call it on the blocking pool). The store is
// borrowed and must outlive the resolver.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "content/blob_store.h"
#include "content/directory.h"

namespace thunder::gateway {

enum class Lookup { kCachedOnly, kMayBlock };

struct ResolvedEntry {
  content::DirectoryEntry entry;  // the entry reached (the root itself: kDirectory, name "")
  // For a directory: its parsed manifest.
  std::shared_ptr<const content::Manifest> manifest;
};

class DirectoryResolver {
 public:
  DirectoryResolver(content::BlobStore& store, size_t max_entries, uint64_t max_bytes);

  // Walks `segments` (each a valid entry name) from directory `root`. nullopt only with
  // kCachedOnly when a manifest on the way is not cached. kNotFound naming the missing entry,
  // or when `root` (or a directory on the way) is not a stored directory manifest;
  // kInvalidArgument for a path that continues through a file.
  Result<std::optional<ResolvedEntry>> resolve(const BlobId& root,
                                               std::span<const std::string> segments,
                                               Lookup lookup);

  // The manifest of directory `id` (cached, or read with kMayBlock). nullopt as above.
  Result<std::optional<std::shared_ptr<const content::Manifest>>> manifest(const BlobId& id,
                                                                           Lookup lookup);

 private:
  struct Cached {
    BlobId id;
    std::shared_ptr<const content::Manifest> manifest;
    uint64_t bytes = 0;
  };
  std::shared_ptr<const content::Manifest> findCached(const BlobId& id);
  void insert(const BlobId& id, std::shared_ptr<const content::Manifest> manifest, uint64_t bytes);

  content::BlobStore& store_;
  size_t max_entries_;
  uint64_t max_bytes_;
  std::mutex mutex_;
  std::list<Cached> lru_;                                          // GUARDED_BY(mutex_)
  std::unordered_map<BlobId, std::list<Cached>::iterator> index_;  // GUARDED_BY(mutex_)
  uint64_t bytes_ = 0;                                             // GUARDED_BY(mutex_)
};

}  // namespace thunder::gateway
