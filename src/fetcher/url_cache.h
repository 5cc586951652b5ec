// UrlCache: what the fetcher remembers about URLs it fetched — URL → blob id, size, freshness
// deadline, and the SRI digests verified for it — in memory, least recently used dropped first.
// cachePolicy() turns an origin's Cache-Control / Age into "record for this long" or "do not".
//
// UrlCache is not synchronized: the Fetcher uses it under its mutex. cachePolicy() is pure.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/strong_types.h"
#include "fetcher/integrity.h"

namespace thunder::fetcher {

using Clock = std::chrono::steady_clock;

enum class Mapping { kRecord, kSkip };

struct CachePolicy {
  Mapping mapping = Mapping::kRecord;
  std::chrono::seconds ttl{0};  // with kRecord: > 0
};

// The freshness of a 2xx response (RFC 9111 for a shared cache): no-store, no-cache, private, or
// a lifetime of 0 → kSkip; s-maxage, else max-age, minus Age; without either, `default_ttl`.
// Capped at `max_ttl`. A malformed max-age counts as 0 (stale), as RFC 9111 §4.2.1 advises.
CachePolicy cachePolicy(std::string_view cache_control, std::string_view age,
                        std::chrono::seconds default_ttl, std::chrono::seconds max_ttl);

// An SRI digest computed over a fetched body.
struct VerifiedDigest {
  DigestAlgorithm algorithm = DigestAlgorithm::kSha256;
  std::vector<uint8_t> digest;
};

struct CachedUrl {
  BlobId id;
  uint64_t size = 0;
  Clock::time_point expires;
  std::vector<VerifiedDigest> digests;

  // Whether `integrity` is proven for this blob by a digest computed when it was fetched.
  bool satisfies(const Integrity& integrity) const;
};

class UrlCache {
 public:
  // At most `capacity` URLs (0: nothing is remembered).
  explicit UrlCache(size_t capacity) : capacity_(capacity) {}

  // The entry of `url` if it is fresh at `now` (and marks it recently used); an expired entry is
  // dropped. The pointer is valid until the next call.
  const CachedUrl* find(const std::string& url, Clock::time_point now);

  // Records (replaces) the entry of `url`. Digests of an earlier entry for the same blob are
  // kept. Drops the least recently used entry when full.
  void record(const std::string& url, CachedUrl entry);

  // Forgets `url` if it maps to `id`.
  void erase(const std::string& url, const BlobId& id);

  size_t size() const { return index_.size(); }

 private:
  using Entries = std::list<std::pair<std::string, CachedUrl>>;
  size_t capacity_;
  Entries lru_;  // most recently used first
  std::unordered_map<std::string, Entries::iterator> index_;
};

}  // namespace thunder::fetcher
