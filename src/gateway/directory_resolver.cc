#include "gateway/directory_resolver.h"

#include "content/directory_tree.h"

namespace thunder::gateway {

DirectoryResolver::DirectoryResolver(content::BlobStore& store, size_t max_entries,
                                     uint64_t max_bytes)
    : store_(store), max_entries_(max_entries), max_bytes_(max_bytes) {}

std::shared_ptr<const content::Manifest> DirectoryResolver::findCached(const BlobId& id) {
  std::lock_guard lock(mutex_);
  const auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->manifest;
}

void DirectoryResolver::insert(const BlobId& id, std::shared_ptr<const content::Manifest> manifest,
                               uint64_t bytes) {
  if (max_entries_ == 0 || bytes > max_bytes_) return;
  std::lock_guard lock(mutex_);
  if (index_.count(id) != 0) return;
  lru_.push_front(Cached{id, std::move(manifest), bytes});
  index_.emplace(id, lru_.begin());
  bytes_ += bytes;
  while (index_.size() > max_entries_ || bytes_ > max_bytes_) {
    bytes_ -= lru_.back().bytes;
    index_.erase(lru_.back().id);
    lru_.pop_back();
  }
}

Result<std::optional<std::shared_ptr<const content::Manifest>>> DirectoryResolver::manifest(
    const BlobId& id, Lookup lookup) {
  if (auto cached = findCached(id)) return cached;
  if (lookup == Lookup::kCachedOnly) return std::nullopt;
  auto parsed = content::readManifest(store_, id);
  if (!parsed) {
    if (parsed.error().code == ErrorCode::kCorruption) {
      return fail(ErrorCode::kNotFound, "{}", parsed.error().message);
    }
    return fail(parsed.error());
  }
  // Approximate memory: the entries plus their names.
  uint64_t bytes = sizeof(content::Manifest);
  for (const auto& entry : parsed->entries) bytes += sizeof(entry) + entry.name.size();
  auto shared = std::make_shared<const content::Manifest>(std::move(*parsed));
  insert(id, shared, bytes);
  return shared;
}

Result<std::optional<ResolvedEntry>> DirectoryResolver::resolve(
    const BlobId& root, std::span<const std::string> segments, Lookup lookup) {
  ResolvedEntry current;
  current.entry.kind = content::EntryKind::kDirectory;
  current.entry.id = root;
  if (segments.size() > static_cast<size_t>(content::kMaxDirectoryDepth)) {
    return fail(ErrorCode::kInvalidArgument, "the path has more than {} segments",
                content::kMaxDirectoryDepth);
  }
  std::string walked;
  for (const std::string& segment : segments) {
    if (current.entry.kind != content::EntryKind::kDirectory) {
      return fail(ErrorCode::kInvalidArgument, "\"{}\" is a file, not a directory", walked);
    }
    THUNDER_ASSIGN_OR_RETURN(auto manifest, this->manifest(current.entry.id, lookup));
    if (!manifest) return std::nullopt;
    const content::DirectoryEntry* next = (*manifest)->find(segment);
    if (next == nullptr) {
      return fail(ErrorCode::kNotFound, "no entry \"{}\" in directory {}{}{}", segment, root.hex(),
                  walked.empty() ? "" : "/", walked);
    }
    current.entry = *next;
    if (!walked.empty()) walked.push_back('/');
    walked.append(segment);
  }
  if (current.entry.kind == content::EntryKind::kDirectory) {
    THUNDER_ASSIGN_OR_RETURN(auto manifest, this->manifest(current.entry.id, lookup));
    if (!manifest) return std::nullopt;
    current.manifest = std::move(*manifest);
  }
  return current;
}

}  // namespace thunder::gateway
