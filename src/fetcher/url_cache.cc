#include "fetcher/url_cache.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace thunder::fetcher {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Delta-seconds (RFC 9111 §1.2.2); nullopt when malformed. Huge values saturate.
std::optional<uint64_t> seconds(std::string_view text) {
  text = trim(text);
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value > UINT64_MAX / 20 ? UINT64_MAX / 2 : value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

CachePolicy cachePolicy(std::string_view cache_control, std::string_view age,
                        std::chrono::seconds default_ttl, std::chrono::seconds max_ttl) {
  std::optional<uint64_t> max_age;
  std::optional<uint64_t> s_maxage;
  size_t pos = 0;
  while (pos <= cache_control.size()) {
    size_t end = cache_control.find(',', pos);
    if (end == std::string_view::npos) end = cache_control.size();
    const std::string_view directive = trim(cache_control.substr(pos, end - pos));
    pos = end + 1;
    const size_t eq = directive.find('=');
    const std::string_view name = trim(directive.substr(0, eq));
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : directive.substr(eq + 1);
    if (equalsNoCase(name, "no-store") || equalsNoCase(name, "no-cache") ||
        equalsNoCase(name, "private")) {
      return CachePolicy{Mapping::kSkip, std::chrono::seconds(0)};
    }
    if (equalsNoCase(name, "max-age")) max_age = seconds(value).value_or(0);
    if (equalsNoCase(name, "s-maxage")) s_maxage = seconds(value).value_or(0);
  }
  uint64_t ttl = static_cast<uint64_t>(default_ttl.count());
  if (s_maxage || max_age) {
    const uint64_t lifetime = s_maxage ? *s_maxage : *max_age;
    const uint64_t current_age = seconds(age).value_or(0);
    ttl = lifetime > current_age ? lifetime - current_age : 0;
  }
  ttl = std::min<uint64_t>(ttl, static_cast<uint64_t>(max_ttl.count()));
  if (ttl == 0) return CachePolicy{Mapping::kSkip, std::chrono::seconds(0)};
  return CachePolicy{Mapping::kRecord, std::chrono::seconds(static_cast<int64_t>(ttl))};
}

bool CachedUrl::satisfies(const Integrity& integrity) const {
  return std::any_of(digests.begin(), digests.end(), [&](const VerifiedDigest& d) {
    return d.algorithm == integrity.algorithm && integrity.matches(d.digest);
  });
}

const CachedUrl* UrlCache::find(const std::string& url, Clock::time_point now) {
  const auto it = index_.find(url);
  if (it == index_.end()) return nullptr;
  if (it->second->second.expires <= now) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->second;
}

void UrlCache::record(const std::string& url, CachedUrl entry) {
  if (capacity_ == 0) return;
  const auto it = index_.find(url);
  if (it != index_.end()) {
    CachedUrl& old = it->second->second;
    if (old.id == entry.id) {
      for (auto& digest : old.digests) {
        const bool known =
            std::any_of(entry.digests.begin(), entry.digests.end(), [&](const VerifiedDigest& d) {
              return d.algorithm == digest.algorithm && d.digest == digest.digest;
            });
        if (!known) entry.digests.push_back(std::move(digest));
      }
    }
    old = std::move(entry);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  while (index_.size() >= capacity_ && !lru_.empty()) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
  lru_.emplace_front(url, std::move(entry));
  index_.emplace(url, lru_.begin());
}

void UrlCache::erase(const std::string& url, const BlobId& id) {
  const auto it = index_.find(url);
  if (it == index_.end() || it->second->second.id != id) return;
  lru_.erase(it->second);
  index_.erase(it);
}

}  // namespace thunder::fetcher
