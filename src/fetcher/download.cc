// The download of one FetchJob: origin → spool (+ BLAKE3, + SRI) → verification → store → map.
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "base/log.h"
#include "content/file_util.h"
#include "crypto/blake3.h"
#include "fetcher/fetcher_state.h"
#include "io/offload.h"

namespace thunder::fetcher {

namespace asio = boost::asio;

namespace {

struct Downloaded {
  FetchResult result;
  CachePolicy policy;
  std::optional<VerifiedDigest> digest;
};

// Blocking: puts the spooled bytes into the store.
Result<content::PutResult> storeSpool(content::BlobStore& store, int fd) {
  const content::PutOptions options;
  // Through /proc, putFile sees a regular file: copy_file_range and the two-thread hash.
  auto put = store.putFile(fmt::format("/proc/self/fd/{}", fd), options);
  if (put || put.error().code != ErrorCode::kNotFound) return put;
  // Without /proc: a stream from the start (readers use pread, so the shared offset is free).
  UniqueFd copy(::dup(fd));
  if (!copy.valid()) return failErrno(errno, "cannot duplicate the fetch spool descriptor");
  if (::lseek(copy.get(), 0, SEEK_SET) != 0) return failErrno(errno, "cannot rewind the spool");
  return store.putStream(copy.get(), options);
}

asio::awaitable<Result<Downloaded>> download(FetcherState& state, FetchJob& job) {
  THUNDER_CO_ASSIGN_OR_RETURN(UniqueFd spool, createSpool(state.spool_dir));
  const int fd = spool.get();
  // The handle owns the spool from here on (and keeps `fd` open as long as the job holds it).
  if (!job.handle->startDownload(std::move(spool))) {
    co_return fail(ErrorCode::kCancelled, "fetch of {} cancelled before it started", job.url);
  }

  crypto::Blake3Hasher blake3;
  std::optional<IntegrityHasher> sri;
  if (job.integrity) {
    THUNDER_CO_ASSIGN_OR_RETURN(auto hasher, IntegrityHasher::create(job.integrity->algorithm));
    sri.emplace(std::move(hasher));
  }
  uint64_t size = 0;
  OriginCallbacks callbacks;
  callbacks.on_response = [&job](const OriginResponse& response) -> Result<void> {
    if (response.content_length) job.handle->setContentLength(*response.content_length);
    return {};
  };
  callbacks.on_body = [&](std::span<const uint8_t> bytes) -> Result<void> {
    if (auto written = content::pwriteAll(fd, bytes, size, "the fetch spool"); !written) {
      return fail(written.error().withContext(fmt::format("fetching {}", job.url)));
    }
    size += bytes.size();
    job.handle->appended(bytes.size());  // readers first: the hashes are checked at the end
    blake3.update(bytes);
    if (sri) sri->update(bytes);
    state.counters.bytes->add(bytes.size());
    return {};
  };
  Result<OriginResponse> response = co_await state.http->get(job.url, callbacks, job.cancel.get());
  if (!response) co_return tl::unexpected(std::move(response).error());

  const BlobId id = blake3.finalize();
  if (job.expected_id && id != *job.expected_id) {
    co_return fail(ErrorCode::kCorruption,
                   "the content of {} does not match: expected blob {}, got blob {} ({} bytes); "
                   "nothing was stored",
                   job.url, job.expected_id->hex(), id.hex(), size);
  }
  std::optional<VerifiedDigest> digest;
  if (sri) {
    std::vector<uint8_t> actual = sri->finish();
    if (!job.integrity->matches(actual)) {
      co_return fail(ErrorCode::kCorruption,
                     "the content of {} fails its integrity check: expected {}, got {} (blob {}, "
                     "{} bytes); nothing was stored",
                     job.url, job.integrity->str(), formatDigest(sri->algorithm(), actual),
                     id.hex(), size);
    }
    digest = VerifiedDigest{sri->algorithm(), std::move(actual)};
  }
  job.handle->verified(id);

  content::BlobStore* store = &state.store;
  auto work = [store, fd] { return storeSpool(*store, fd); };
  Result<content::PutResult> put =
      co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!put) {
    co_return tl::unexpected(put.error().withContext(fmt::format("storing {}", job.url)));
  }
  if (put->id != id || put->size != size) {
    co_return fail(ErrorCode::kCorruption,
                   "the spool of {} changed while it was stored (blob {} became {})", job.url,
                   id.hex(), put->id.hex());
  }
  Downloaded out;
  out.result = FetchResult{id, size, FetchSource::kOrigin};
  out.policy = cachePolicy(response->cache_control, response->age, state.options.default_ttl,
                           state.options.max_ttl);
  out.digest = std::move(digest);
  co_return out;
}

}  // namespace

Result<UniqueFd> createSpool(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return UniqueFd(fd);
  std::string name = (dir / "fetch-spool-XXXXXX").string();
  const int tmp = ::mkostemp(name.data(), O_CLOEXEC);
  if (tmp < 0) {
    return failErrno(errno, fmt::format("cannot create a fetch spool file in {}", dir.string()));
  }
  ::unlink(name.c_str());
  return UniqueFd(tmp);
}

asio::awaitable<void> runDownload(std::shared_ptr<FetcherState> state,
                                  std::shared_ptr<FetchJob> job) {
  state->counters.downloads->add();
  Result<Downloaded> outcome = co_await download(*state, *job);
  std::optional<CachedUrl> mapping;
  if (outcome && outcome->policy.mapping == Mapping::kRecord) {
    CachedUrl entry;
    entry.id = outcome->result.id;
    entry.size = outcome->result.size;
    entry.expires = Clock::now() + outcome->policy.ttl;
    if (outcome->digest) entry.digests.push_back(*outcome->digest);
    mapping = std::move(entry);
  }
  // Forget the job first: a fetch of the URL from now on finds the mapping (or, after a
  // failure, starts afresh) instead of joining a finished handle.
  state->downloadEnded(job, mapping);
  if (outcome) {
    state->counters.stored->add();
    THUNDER_LOG(debug, "fetcher", "fetched {} as blob {} ({} bytes)", job->url,
                outcome->result.id.hex(), outcome->result.size);
    job->handle->complete(outcome->result);
  } else {
    state->counters.failed->add();
    THUNDER_LOG(debug, "fetcher", "fetch failed: {}", outcome.error().message);
    job->handle->fail(outcome.error());
  }
  state->leave();
}

void FetcherState::spawnDownload(std::shared_ptr<FetchJob> job) {
  asio::io_context& loop = job->loop != nullptr ? *job->loop : runtime.nextLoop();
  asio::co_spawn(loop, runDownload(shared_from_this(), std::move(job)), asio::detached);
}

asio::io_context* FetcherState::runtimeLoopOf(const asio::any_io_executor& executor) {
  const auto* on_context = executor.target<asio::io_context::executor_type>();
  if (on_context == nullptr) return nullptr;
  for (size_t i = 0; i < runtime.loopCount(); ++i) {
    if (&on_context->context() == &runtime.loop(i)) return &runtime.loop(i);
  }
  return nullptr;
}

void FetcherState::downloadEnded(const std::shared_ptr<FetchJob>& job,
                                 const std::optional<CachedUrl>& mapping) {
  std::vector<std::shared_ptr<FetchJob>> ready;
  {
    std::lock_guard lock(mutex);
    if (mapping && !stopping) cache.record(job->url, *mapping);
    if (auto it = inflight.find(job->key); it != inflight.end() && it->second == job) {
      inflight.erase(it);
    }
    ready = slots.release(job->host);
    coroutines += ready.size();
  }
  for (auto& next : ready) spawnDownload(std::move(next));
}

}  // namespace thunder::fetcher
