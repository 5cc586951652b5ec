// FetcherOptions: the plain options of the Fetcher (fetcher/fetcher.h) with in-class defaults,
// and OriginConfig, a named origin. node/ fills them from its config and Fetcher::create()
// validates them (kInvalidArgument naming the field). Plain values; not synchronized.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace thunder::fetcher {

// A named origin: resolveOrigin(name, "a/b.js") → base_url + "a/b.js". The base must be an
// http(s) URL without query or fragment; a missing trailing '/' is added.
struct OriginConfig {
  std::string name{};
  std::string base_url{};
};

struct FetcherOptions {
  // --- origin requests (each hop of a redirect chain gets these anew) ---
  // Resolving the host, the TCP connect and the TLS handshake must finish within this.
  std::chrono::milliseconds connect_timeout{10'000};
  // From the request being sent until the whole response header has arrived.
  std::chrono::milliseconds header_timeout{30'000};
  // The longest pause between two pieces of the body.
  std::chrono::milliseconds idle_timeout{30'000};
  // Redirects followed per fetch (http ↔ https allowed); one more fails the fetch.
  size_t max_redirects = 5;
  // Largest body accepted; larger fails with kResourceExhausted (before the body when the
  // origin declares Content-Length, else as soon as the limit is passed).
  uint64_t max_body_bytes = 1ull << 30;
  // Largest response header block.
  size_t max_header_bytes = 64 * 1024;
  // Bytes read from the origin per slice (what one spool write and one hash update cover).
  size_t slice_bytes = 64 * 1024;
  std::string user_agent = "thunder-fetcher/0.1";

  // --- concurrency ---
  // Origin requests in flight at once, in total and per origin (scheme://host:port of the
  // requested URL). Further fetches wait in a FIFO queue.
  size_t max_concurrent = 64;
  size_t max_concurrent_per_host = 8;
  // Fetches waiting for a slot; one more is refused with kResourceExhausted.
  size_t max_queued = 1024;

  // --- URL → blob id mapping ---
  // Freshness when the origin sends no Cache-Control max-age / s-maxage.
  std::chrono::seconds default_ttl{300};
  // Upper bound on any freshness the origin asks for.
  std::chrono::seconds max_ttl{86'400};
  // URLs remembered (least recently used are dropped first).
  size_t cache_entries = 100'000;

  // Where downloads are spooled while they stream (unnamed files; nothing to clean up after a
  // crash). Use a directory on the blob store's file system so that the final put can copy
  // in-kernel (the node passes <data-dir>/store/tmp). Empty: the system temp dir.
  std::filesystem::path spool_dir{};

  // Named origins for resolveOrigin().
  std::vector<OriginConfig> origins{};
};

}  // namespace thunder::fetcher
