#include "fetcher/fetcher.h"

#include <boost/asio/this_coro.hpp>

#include "base/log.h"
#include "content/file_util.h"
#include "fetcher/fetcher_state.h"
#include "io/offload.h"

namespace thunder::fetcher {

namespace asio = boost::asio;

namespace {

// A validated request.
struct Prepared {
  Url url;
  std::optional<Integrity> integrity;
  std::optional<BlobId> expected_id;
  std::string key;  // single-flight key
};

Result<Prepared> prepare(const FetchRequest& request) {
  Prepared prepared;
  THUNDER_ASSIGN_OR_RETURN(prepared.url, parseUrl(request.url));
  std::string integrity = request.integrity;
  constexpr std::string_view kFragment = "integrity=";
  if (prepared.url.fragment.starts_with(kFragment)) {
    const auto decoded =
        percentDecode(std::string_view(prepared.url.fragment).substr(kFragment.size()));
    if (!decoded) {
      return fail(ErrorCode::kInvalidArgument, "{}: malformed %-escape in the #integrity fragment",
                  prepared.url.str());
    }
    if (!integrity.empty() && integrity != *decoded) {
      return fail(ErrorCode::kInvalidArgument,
                  "{}: the request's integrity and the URL's #integrity fragment differ; give one",
                  prepared.url.str());
    }
    integrity = *decoded;
  }
  if (!integrity.empty()) {
    auto parsed = parseIntegrity(integrity);
    if (!parsed) return fail(parsed.error().withContext(prepared.url.str()));
    prepared.integrity = std::move(*parsed);
  }
  prepared.expected_id = request.expected_id;
  prepared.key = fmt::format("{}\n{}\n{}", prepared.url.str(),
                             prepared.integrity ? prepared.integrity->str() : "",
                             prepared.expected_id ? prepared.expected_id->hex() : "");
  return prepared;
}

// Counts a fetch() call as a running coroutine for as long as it lives.
struct Activity {
  FetcherState* state;
  ~Activity() { state->leave(); }
};

Error stoppingError(std::string_view url) {
  return Error{ErrorCode::kCancelled,
               fmt::format("cannot fetch {}: the fetcher is stopping", url.substr(0, 200))};
}

}  // namespace

// ---- FetcherState ----

FetcherState::FetcherState(io::Runtime& runtime, content::BlobStore& store, FetcherOptions opts,
                           OriginTable origin_table, std::unique_ptr<HttpOrigin> origin_client,
                           std::filesystem::path spool, MetricsRegistry* registry)
    : runtime(runtime),
      store(store),
      options(std::move(opts)),
      origins(std::move(origin_table)),
      http(std::move(origin_client)),
      spool_dir(std::move(spool)),
      metrics(registry),
      cache(options.cache_entries),
      slots(options.max_concurrent, options.max_concurrent_per_host, options.max_queued) {
  struct Spec {
    Counter** slot;
    const char* name;
    const char* help;
  };
  const Spec specs[] = {
      {&counters.fetches, "thunder_fetcher_requests_total", "fetch() calls (valid requests)"},
      {&counters.cache_hits, "thunder_fetcher_cache_hits_total",
       "fetches answered from the store without the origin"},
      {&counters.joined, "thunder_fetcher_joined_total", "fetches that joined one in flight"},
      {&counters.refused, "thunder_fetcher_refused_total", "fetches refused: the queue was full"},
      {&counters.downloads, "thunder_fetcher_downloads_total", "origin downloads started"},
      {&counters.stored, "thunder_fetcher_downloads_stored_total",
       "origin downloads verified and stored"},
      {&counters.failed, "thunder_fetcher_downloads_failed_total", "origin downloads that failed"},
      {&counters.bytes, "thunder_fetcher_origin_bytes_total", "body bytes received from origins"},
  };
  for (size_t i = 0; i < std::size(specs); ++i) {
    *specs[i].slot =
        metrics == nullptr ? &local_counters[i] : &metrics->counter(specs[i].name, specs[i].help);
  }
  if (metrics != nullptr) {
    // Removed by Fetcher::stop(), while the state is certainly alive.
    metrics->gauge(
        "thunder_fetcher_active_downloads", "downloads holding an origin slot", {},
        [this] {
          std::lock_guard lock(mutex);
          return static_cast<double>(slots.active());
        },
        this);
    metrics->gauge(
        "thunder_fetcher_queued_downloads", "downloads waiting for an origin slot", {},
        [this] {
          std::lock_guard lock(mutex);
          return static_cast<double>(slots.queued());
        },
        this);
  }
}

bool FetcherState::enter() {
  std::lock_guard lock(mutex);
  if (stopping) return false;
  ++coroutines;
  return true;
}

void FetcherState::leave() {
  std::lock_guard lock(mutex);
  if (--coroutines == 0) idle.notify_all();
}

// ---- Fetcher ----

Result<std::unique_ptr<Fetcher>> Fetcher::create(io::Runtime& runtime, content::BlobStore& store,
                                                 FetcherOptions options, MetricsRegistry* metrics) {
  if (options.max_concurrent == 0 || options.max_concurrent_per_host == 0) {
    return fail(ErrorCode::kInvalidArgument,
                "fetcher max_concurrent ({}) and max_concurrent_per_host ({}) must be at least 1",
                options.max_concurrent, options.max_concurrent_per_host);
  }
  if (options.default_ttl.count() < 0 || options.max_ttl.count() < 0) {
    return fail(ErrorCode::kInvalidArgument,
                "fetcher default_ttl and max_ttl must not be negative");
  }
  HttpOriginOptions origin_options;
  origin_options.connect_timeout = options.connect_timeout;
  origin_options.header_timeout = options.header_timeout;
  origin_options.idle_timeout = options.idle_timeout;
  origin_options.max_redirects = options.max_redirects;
  origin_options.max_body_bytes = options.max_body_bytes;
  origin_options.max_header_bytes = options.max_header_bytes;
  origin_options.slice_bytes = options.slice_bytes;
  origin_options.user_agent = options.user_agent;
  auto http = HttpOrigin::create(std::move(origin_options));
  if (!http) return fail(http.error().withContext("fetcher"));
  THUNDER_ASSIGN_OR_RETURN(OriginTable origins, OriginTable::create(options.origins));

  std::filesystem::path spool_dir = options.spool_dir;
  if (spool_dir.empty()) {
    std::error_code ec;
    spool_dir = std::filesystem::temp_directory_path(ec);
    if (ec) return failErrorCode(ec, "fetcher: no system temp dir for the spool");
  } else {
    THUNDER_TRY(content::ensureDir(spool_dir));
  }
  THUNDER_TRY(createSpool(spool_dir));  // fails now, naming the dir, rather than per fetch

  auto state =
      std::make_shared<FetcherState>(runtime, store, std::move(options), std::move(origins),
                                     std::move(*http), std::move(spool_dir), metrics);
  return std::unique_ptr<Fetcher>(new Fetcher(std::move(state)));
}

Fetcher::Fetcher(std::shared_ptr<FetcherState> state) : state_(std::move(state)) {}

Fetcher::~Fetcher() {
  stop();
}

asio::awaitable<Result<std::shared_ptr<FetchHandle>>> Fetcher::fetch(FetchRequest request) {
  const std::shared_ptr<FetcherState> state = state_;
  THUNDER_CO_ASSIGN_OR_RETURN(Prepared prepared, prepare(request));
  const std::string url = prepared.url.str();
  if (!state->enter()) co_return tl::unexpected(stoppingError(url));
  const Activity activity{state.get()};
  state->counters.fetches->add();

  // A fresh mapping whose blob is still stored answers without the origin.
  std::optional<CachedUrl> hit;
  {
    std::lock_guard lock(state->mutex);
    const CachedUrl* entry = state->cache.find(url, Clock::now());
    if (entry != nullptr && (!prepared.expected_id || entry->id == *prepared.expected_id) &&
        (!prepared.integrity || entry->satisfies(*prepared.integrity))) {
      hit = *entry;
    }
  }
  if (hit) {
    content::BlobStore* store = &state->store;
    const BlobId id = hit->id;
    auto work = [store, id] { return store->openRange(id, 0, UINT64_MAX); };
    Result<content::BlobSlice> slice =
        co_await io::offload(state->runtime.blockingPool(), std::move(work));
    if (slice && slice->offset == 0) {
      auto handle = std::make_shared<FetchHandle>(url);
      handle->completeFromStore(std::move(slice->fd),
                                FetchResult{id, slice->length, FetchSource::kCache});
      state->counters.cache_hits->add();
      co_return handle;
    }
    THUNDER_LOG(debug, "fetcher",
                "{} maps to blob {}, which is gone from the store ({}); refetching", url, id.hex(),
                slice ? "not a whole blob" : slice.error().message);
    std::lock_guard lock(state->mutex);
    state->cache.erase(url, id);
  }

  // Join the download in flight, or admit a new one (run on this loop if it is the runtime's).
  const auto executor = co_await asio::this_coro::executor;
  asio::io_context* const loop = state->runtimeLoopOf(executor);
  std::shared_ptr<FetchHandle> handle;
  std::shared_ptr<FetchJob> start;
  bool refused = false;
  bool stopping = false;
  size_t queued = 0;
  {
    std::lock_guard lock(state->mutex);
    if (state->stopping) {
      stopping = true;
    } else if (auto it = state->inflight.find(prepared.key); it != state->inflight.end()) {
      handle = it->second->handle;
      state->counters.joined->add();
    } else {
      auto job = std::make_shared<FetchJob>();
      job->handle = std::make_shared<FetchHandle>(url);
      job->key = prepared.key;
      job->url = url;
      job->host = prepared.url.origin();
      job->integrity = std::move(prepared.integrity);
      job->expected_id = prepared.expected_id;
      job->loop = loop;
      auto admitted = job;
      switch (state->slots.admit(job->host, admitted)) {
        case Admission::kStart:
          state->inflight.emplace(job->key, job);
          ++state->coroutines;
          start = job;
          handle = job->handle;
          break;
        case Admission::kQueued:
          state->inflight.emplace(job->key, job);
          handle = job->handle;
          break;
        case Admission::kRefused:
          refused = true;
          queued = state->slots.queued();
          break;
      }
    }
  }
  if (stopping) co_return tl::unexpected(stoppingError(url));
  if (refused) {
    state->counters.refused->add();
    co_return fail(ErrorCode::kResourceExhausted,
                   "cannot fetch {}: {} fetches already wait for an origin slot (fetcher "
                   "max_queued; at most {} downloads run at once, {} per host)",
                   url, queued, state->options.max_concurrent,
                   state->options.max_concurrent_per_host);
  }
  if (start) state->spawnDownload(std::move(start));
  co_return handle;
}

Result<std::string> Fetcher::resolveOrigin(std::string_view name, std::string_view path) const {
  return state_->origins.resolve(name, path);
}

FetcherStats Fetcher::stats() const {
  const FetcherCounters& c = state_->counters;
  FetcherStats stats;
  stats.fetches = c.fetches->value();
  stats.cache_hits = c.cache_hits->value();
  stats.joined = c.joined->value();
  stats.downloads = c.downloads->value();
  stats.stored = c.stored->value();
  stats.failed = c.failed->value();
  stats.refused = c.refused->value();
  stats.bytes = c.bytes->value();
  std::lock_guard lock(state_->mutex);
  stats.active = state_->slots.active();
  stats.queued = state_->slots.queued();
  stats.cached_urls = state_->cache.size();
  return stats;
}

void Fetcher::stop() {
  FetcherState& state = *state_;
  std::vector<std::shared_ptr<FetchJob>> jobs;
  {
    std::lock_guard lock(state.mutex);
    if (!state.stopping) {
      state.stopping = true;
      for (auto& [key, job] : state.inflight) jobs.push_back(job);
      for (auto& job : state.slots.takeQueued()) state.inflight.erase(job->key);
    }
  }
  for (auto& job : jobs) {
    job->cancel->cancel();
    job->handle->fail(
        Error{ErrorCode::kCancelled,
              fmt::format("fetch of {} cancelled: the fetcher is stopping", job->url)});
  }
  bool remove_metrics = false;
  {
    std::unique_lock lock(state.mutex);
    state.idle.wait(lock, [&] { return state.coroutines == 0; });
    remove_metrics = state.metrics != nullptr && !std::exchange(state.metrics_removed, true);
  }
  // Outside the mutex: a scrape holds the registry's lock while a gauge takes ours.
  if (remove_metrics) state.metrics->removeMetrics(&state);
}

}  // namespace thunder::fetcher
