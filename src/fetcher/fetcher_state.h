// FetcherState: what a Fetcher shares with its downloads (internal to the fetcher module).
//
// Created by Fetcher::create(), kept alive by every coroutine that uses it (fetch() calls and
// downloads); stop() waits until all have ended. The runtime and the store are borrowed. The
// members marked GUARDED_BY(mutex) are touched only under it; the rest is immutable after
// creation or thread-safe itself.
#pragma once

#include <array>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/metrics.h"
#include "base/unique_fd.h"
#include "content/blob_store.h"
#include "fetcher/fetch_handle.h"
#include "fetcher/fetcher_options.h"
#include "fetcher/http_origin.h"
#include "fetcher/integrity.h"
#include "fetcher/origin_slots.h"
#include "fetcher/origin_table.h"
#include "fetcher/url.h"
#include "fetcher/url_cache.h"
#include "io/runtime.h"

namespace thunder::fetcher {

// One download: from admission to its end. Shared by the in-flight map, the slot queue and the
// download coroutine.
struct FetchJob {
  std::shared_ptr<FetchHandle> handle;
  std::string key;   // single-flight key: URL + integrity + expected id
  std::string url;   // normalised, without fragment
  std::string host;  // scheme://authority: the per-host slot
  std::optional<Integrity> integrity;
  std::optional<BlobId> expected_id;
  std::shared_ptr<OriginCancel> cancel = std::make_shared<OriginCancel>();
  // The runtime loop of the fetch() that started it (its first reader is likely there, so waking
  // it needs no thread hop); null: any loop.
  boost::asio::io_context* loop = nullptr;
};

struct FetcherCounters {
  Counter* fetches = nullptr;
  Counter* cache_hits = nullptr;
  Counter* joined = nullptr;
  Counter* downloads = nullptr;
  Counter* stored = nullptr;
  Counter* failed = nullptr;
  Counter* refused = nullptr;
  Counter* bytes = nullptr;
};

struct FetcherState : std::enable_shared_from_this<FetcherState> {
  FetcherState(io::Runtime& runtime, content::BlobStore& store, FetcherOptions options,
               OriginTable origins, std::unique_ptr<HttpOrigin> http,
               std::filesystem::path spool_dir, MetricsRegistry* metrics);

  // Spawns the download of `job` on job->loop, else the next loop. The caller has taken its origin
  // slot and counted the coroutine (++coroutines) under the mutex.
  void spawnDownload(std::shared_ptr<FetchJob> job);
  // Called by a download when it ends, before it settles its handle: records the mapping (if
  // any, unless stopping), forgets the job, frees its slot and spawns the queued jobs that may
  // now run. The download calls leave() afterwards.
  void downloadEnded(const std::shared_ptr<FetchJob>& job, const std::optional<CachedUrl>& mapping);
  // The runtime loop that `executor` runs on, or null if it is not one of the runtime's.
  boost::asio::io_context* runtimeLoopOf(const boost::asio::any_io_executor& executor);
  // Counts a coroutine (fetch() or download) as running; false once stopping.
  bool enter();
  void leave();

  io::Runtime& runtime;
  content::BlobStore& store;
  const FetcherOptions options;
  const OriginTable origins;
  const std::unique_ptr<HttpOrigin> http;
  const std::filesystem::path spool_dir;
  MetricsRegistry* const metrics;
  FetcherCounters counters;
  std::array<Counter, 8> local_counters;  // used when there is no registry

  std::mutex mutex;
  std::condition_variable idle;
  UrlCache cache;                                                       // GUARDED_BY(mutex)
  std::unordered_map<std::string, std::shared_ptr<FetchJob>> inflight;  // GUARDED_BY(mutex)
  OriginSlots<std::shared_ptr<FetchJob>> slots;                         // GUARDED_BY(mutex)
  size_t coroutines = 0;                                                // GUARDED_BY(mutex)
  bool stopping = false;                                                // GUARDED_BY(mutex)
  bool metrics_removed = false;                                         // GUARDED_BY(mutex)
};

// An unnamed file in `dir` (O_TMPFILE, else created and unlinked at once).
Result<UniqueFd> createSpool(const std::filesystem::path& dir);

// The download coroutine of `job` (spawned on a loop by FetcherState::spawnDownload()).
boost::asio::awaitable<void> runDownload(std::shared_ptr<FetcherState> state,
                                         std::shared_ptr<FetchJob> job);

}  // namespace thunder::fetcher
