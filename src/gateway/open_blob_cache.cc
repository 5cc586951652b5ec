#include "gateway/open_blob_cache.h"

namespace thunder::gateway {

OpenBlobCache::OpenBlobCache(size_t capacity, std::chrono::milliseconds ttl)
    : capacity_(capacity), ttl_(ttl) {
  index_.reserve(capacity);
}

std::shared_ptr<const OpenBlob> OpenBlobCache::find(const BlobId& id,
                                                    std::chrono::steady_clock::time_point now) {
  const auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  if (now - (*it->second)->opened_at >= ttl_) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

void OpenBlobCache::insert(std::shared_ptr<const OpenBlob> blob) {
  if (capacity_ == 0) return;
  const BlobId id = blob->id;
  if (const auto it = index_.find(id); it != index_.end()) {
    *it->second = std::move(blob);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(std::move(blob));
  index_.emplace(id, lru_.begin());
  while (index_.size() > capacity_) {
    index_.erase(lru_.back()->id);
    lru_.pop_back();
  }
}

}  // namespace thunder::gateway
