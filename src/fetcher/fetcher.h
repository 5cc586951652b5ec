// Fetcher: fetches content from HTTP(S) origins into the blob store (docs/fetcher.md).
//
//   auto handle = co_await fetcher.fetch({.url = "https://cdn.example/app.js#integrity=sha384-…"});
//   // read the bytes while they arrive: co_await (*handle)->read(offset, buffer) …
//   Result<FetchResult> done = co_await (*handle)->result();   // the stored blob id
//
// A fetch streams the origin's body into a spool file that readers can read while it grows,
// hashes it (BLAKE3, plus SHA-2 for SRI) on the way, checks the hashes at the end, and only then
// puts the bytes into the store and maps URL → blob id (honouring Cache-Control). Concurrent
// fetches of one URL share one origin request and one handle (single flight); origin requests
// are bounded in total and per host, with a bounded FIFO queue. A fresh mapping to a blob that
// is still stored answers without touching the origin.
//
// Owned by the node; borrows the runtime and the store, which must outlive it (and the runtime
// must still run when stop() is called). Thread-safe: fetch() may be awaited on any loop, any
// number at once. Downloads run on the runtime's loops, store puts on its blocking pool.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/metrics.h"
#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_store.h"
#include "fetcher/fetch_handle.h"
#include "fetcher/fetcher_options.h"
#include "io/runtime.h"

namespace thunder::fetcher {

struct FetchRequest {
  // http:// or https://. A "#integrity=<SRI metadata>" fragment (percent-encoded or not) sets
  // `integrity`; any other fragment is ignored.
  std::string url{};
  // SRI metadata, e.g. "sha384-<base64>" (several tokens allowed, the strongest algorithm
  // counts). Empty: none.
  std::string integrity{};
  // The blob the bytes must hash to (BLAKE3). nullopt: any.
  std::optional<BlobId> expected_id{};
};

// Counters since creation, and the current load.
struct FetcherStats {
  uint64_t fetches = 0;     // fetch() calls that passed validation
  uint64_t cache_hits = 0;  // answered from the store without the origin
  uint64_t joined = 0;      // shared a fetch already in flight
  uint64_t downloads = 0;   // origin downloads started
  uint64_t stored = 0;      // downloads verified and stored
  uint64_t failed = 0;      // downloads that failed (any reason)
  uint64_t refused = 0;     // refused because the queue was full
  uint64_t bytes = 0;       // body bytes received from origins
  size_t active = 0;        // downloads holding an origin slot
  size_t queued = 0;        // downloads waiting for one
  size_t cached_urls = 0;   // URLs mapped
};

struct FetcherState;  // internal (fetcher/fetcher_state.h)

class Fetcher {
 public:
  // Validates `options` (kInvalidArgument naming the field or the origin), creates the spool
  // dir if missing and checks that spool files can be made there (kIoError /
  // kPermissionDenied naming it), and loads the TLS trust store (system store, or SSL_CERT_FILE /
  // SSL_CERT_DIR as set now). `metrics` (optional, borrowed, must outlive the fetcher) receives
  // the thunder_fetcher_* counters.
  static Result<std::unique_ptr<Fetcher>> create(io::Runtime& runtime, content::BlobStore& store,
                                                 FetcherOptions options,
                                                 MetricsRegistry* metrics = nullptr);
  ~Fetcher();  // stop()
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Starts, joins or answers from the cache a fetch of request.url and returns its handle at
  // once (reading from it waits for bytes). Errors here (the download's own errors come through
  // the handle): kInvalidArgument for a malformed URL / integrity / both an integrity field and
  // a different #integrity fragment; kResourceExhausted when the queue of waiting fetches is
  // full; kCancelled after stop(). Through the handle: HttpOrigin::get()'s errors, kCorruption
  // (naming the URL and both hashes) when the bytes do not match expected_id or integrity —
  // then nothing is stored or mapped —, kIoError for the spool, and the store's put errors.
  // Requests with different integrity / expected id do not share a download.
  // Pass a named request (`co_await fetcher.fetch(std::move(request))`): GCC 12 destroys a
  // prvalue argument such as `fetch(FetchRequest{...})` twice inside a co_await expression.
  boost::asio::awaitable<Result<std::shared_ptr<FetchHandle>>> fetch(FetchRequest request);

  // The URL of `path` under the named origin (fetcher/origin_table.h): kNotFound for an unknown
  // name, kInvalidArgument for a path that would leave the origin's base.
  Result<std::string> resolveOrigin(std::string_view name, std::string_view path) const;

  FetcherStats stats() const;

  // Refuses new fetches, fails queued ones and cancels downloads in progress (their handles
  // fail with kCancelled), and returns when every download and fetch() call has ended (a store
  // put already running is waited for). Idempotent. Call from the owner's thread, never from a
  // loop of the runtime.
  void stop();

 private:
  explicit Fetcher(std::shared_ptr<FetcherState> state);
  std::shared_ptr<FetcherState> state_;
};

}  // namespace thunder::fetcher
