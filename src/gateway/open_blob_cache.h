// OpenBlobCache: a small LRU of open blobs (data fd, size, sniffed content type), so that a hot
// blob is served without a store lookup, an open() or an index write per request.
//
// One cache per event loop (GatewayServer keeps them), used only from that loop's thread: no
// locks. Entries are immutable and shared (a response in progress keeps its blob's fd open even
// if the entry is evicted). An entry is dropped after `ttl`, so the store is consulted again:
// that records the access for the store's LRU and bounds how long a removed blob stays
// servable (the bytes stay correct: blobs are immutable and the store verified them).
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "base/strong_types.h"
#include "base/unique_fd.h"

namespace thunder::gateway {

// A blob whose bytes [0, size) are all verified and readable at `fd` from offset 0.
struct OpenBlob {
  BlobId id;
  UniqueFd fd;
  uint64_t size = 0;
  std::string_view sniffed_type;  // a static string (gateway/content_type.h)
  std::chrono::steady_clock::time_point opened_at;
};

class OpenBlobCache {
 public:
  // `capacity` 0 disables the cache (find() always misses, insert() keeps nothing).
  OpenBlobCache(size_t capacity, std::chrono::milliseconds ttl);

  // The cached blob, or null when absent or older than the ttl (then it is dropped).
  std::shared_ptr<const OpenBlob> find(const BlobId& id, std::chrono::steady_clock::time_point now);

  // Adds or replaces the entry for blob->id, evicting the least recently used beyond capacity.
  void insert(std::shared_ptr<const OpenBlob> blob);

  size_t size() const { return index_.size(); }

 private:
  using List = std::list<std::shared_ptr<const OpenBlob>>;
  size_t capacity_;
  std::chrono::milliseconds ttl_;
  List lru_;  // most recently used first
  std::unordered_map<BlobId, List::iterator> index_;
};

}  // namespace thunder::gateway
