// bench_origin_ttfb: time to first byte of a cache miss through the Fetcher, against the origin
// itself, for bench/run.d/origin.sh.
//
//   bench_origin_ttfb --url http://HOST:PORT/FILE --store DIR [--count N] [--warmup W]
//
// Each iteration measures, in rotating order and each with a URL never fetched before (a new
// "?q=" query, so every fetch is a miss that goes to the origin):
//   direct   a blocking client on a fresh connection: connect, GET, first body byte (the
//            origin's own TTFB on loopback: the reference)
//   origin   fetcher::HttpOrigin alone (Beast client, no spool, no hashing)
//   fetcher  Fetcher::fetch() then FetchHandle::read() of the first byte (spool + BLAKE3 on
//            the way, reader on another loop); the fetch is then awaited to completion (stored)
//            before the next iteration, untimed.
// Prints "<name> median_ms X p99_ms Y" per path and "ratio_median R ratio_p99 S" (fetcher /
// direct). Not a Google Benchmark (it needs an origin): run without --url it prints usage and
// exits 2, so bench/run's loop over bench_* binaries skips it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "base/log.h"
#include "content/fs_blob_store.h"
#include "fetcher/fetcher.h"
#include "fetcher/http_origin.h"
#include "fetcher/url.h"
#include "io/runtime.h"

namespace {

namespace asio = boost::asio;
using namespace thunder;
using Clock = std::chrono::steady_clock;

int usage() {
  std::fprintf(stderr,
               "usage: bench_origin_ttfb --url http://HOST:PORT/FILE --store DIR [--count N] "
               "[--warmup W]\n");
  return 2;
}

double ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

template <typename T>
T runOn(io::Runtime& runtime, asio::awaitable<T> work) {
  std::promise<T> promise;
  asio::co_spawn(runtime.loop(0), std::move(work), [&promise](std::exception_ptr e, T value) {
    if (e) {
      promise.set_exception(e);
    } else {
      promise.set_value(std::move(value));
    }
  });
  return promise.get_future().get();
}

// The reference: a plain blocking client. nullopt on failure.
std::optional<Clock::duration> directTtfb(const fetcher::Url& url) {
  const auto start = Clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(url.port);
  ::inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::optional<Clock::duration> out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.authority() +
                                "\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      std::string got;
      char buffer[65536];
      for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        got.append(buffer, static_cast<size_t>(n));
        const size_t end = got.find("\r\n\r\n");
        if (end != std::string::npos && got.size() > end + 4) {
          out = Clock::now() - start;
          break;
        }
      }
    }
  }
  ::close(fd);
  return out;
}

asio::awaitable<Result<Clock::duration>> originTtfb(fetcher::HttpOrigin* origin, std::string url) {
  const auto start = Clock::now();
  std::optional<Clock::duration> first;
  fetcher::OriginCallbacks callbacks;
  callbacks.on_body = [&](std::span<const uint8_t>) -> Result<void> {
    first = Clock::now() - start;
    return fail(ErrorCode::kCancelled, "first byte seen");  // stop reading
  };
  Result<fetcher::OriginResponse> response = co_await origin->get(url, callbacks, nullptr);
  if (first) co_return *first;
  if (!response) co_return tl::unexpected(response.error());
  co_return fail(ErrorCode::kInternal, "{} has an empty body", url);
}

asio::awaitable<Result<Clock::duration>> fetcherTtfb(fetcher::Fetcher* fetcher, std::string url) {
  const auto start = Clock::now();
  fetcher::FetchRequest request;
  request.url = url;
  auto handle = co_await fetcher->fetch(std::move(request));
  if (!handle) co_return tl::unexpected(handle.error());
  std::vector<uint8_t> byte(1);
  Result<size_t> got = co_await (*handle)->read(0, byte);
  const auto ttfb = Clock::now() - start;
  if (!got) co_return tl::unexpected(got.error());
  if (*got == 0) co_return fail(ErrorCode::kInternal, "{} has an empty body", url);
  Result<fetcher::FetchResult> done = co_await (*handle)->result();  // untimed: stored
  if (!done) co_return tl::unexpected(done.error());
  if (done->source != fetcher::FetchSource::kOrigin) {
    co_return fail(ErrorCode::kInternal, "{} was not a cache miss", url);
  }
  co_return ttfb;
}

struct Summary {
  double median = 0;
  double p99 = 0;
};

Summary summarize(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  const size_t p99 = std::min(n - 1, static_cast<size_t>((n * 99 + 99) / 100) - 1);
  return {values[n / 2], values[p99]};
}

}  // namespace

int main(int argc, char** argv) {
  std::string url_text;
  std::string store_dir;
  size_t count = 200;
  size_t warmup = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--url") {
      url_text = value;
    } else if (arg == "--store") {
      store_dir = value;
    } else if (arg == "--count") {
      count = std::strtoul(value.c_str(), nullptr, 10);
    } else if (arg == "--warmup") {
      warmup = std::strtoul(value.c_str(), nullptr, 10);
    } else {
      return usage();
    }
  }
  if (url_text.empty() || store_dir.empty() || count == 0) return usage();
  (void)log::configureLogging("warn");
  auto url = fetcher::parseUrl(url_text);
  if (!url || !url->hostIsIp() || url->scheme != fetcher::Scheme::kHttp) {
    std::fprintf(stderr, "bench_origin_ttfb: --url must be http://IPV4:PORT/PATH\n");
    return 2;
  }
  const char separator = url->target.find('?') == std::string::npos ? '?' : '&';

  content::StoreOptions store_options;
  store_options.root = store_dir;
  auto store = content::FsBlobStore::open(std::move(store_options));
  if (!store) {
    std::fprintf(stderr, "bench_origin_ttfb: %s\n", store.error().message.c_str());
    return 1;
  }
  io::Runtime runtime({.loop_threads = 2, .blocking_threads = 2});
  runtime.start();
  fetcher::FetcherOptions options;
  options.spool_dir = store_dir + "/tmp";  // as the node: the store's file system
  auto fetcher = fetcher::Fetcher::create(runtime, **store, options);
  auto origin = fetcher::HttpOrigin::create({});
  if (!fetcher || !origin) {
    std::fprintf(stderr, "bench_origin_ttfb: %s\n",
                 (!fetcher ? fetcher.error() : origin.error()).message.c_str());
    return 1;
  }

  std::vector<double> direct, through_origin, through_fetcher;
  for (size_t i = 0; i < warmup + count; ++i) {
    const std::string base = url->str() + separator + "q=";
    for (size_t k = 0; k < 3; ++k) {
      const size_t which = (i + k) % 3;
      const std::string unique = base + std::to_string(i) + "-" + std::to_string(which);
      double value = 0;
      if (which == 0) {
        auto u = fetcher::parseUrl(unique).value();
        auto d = directTtfb(u);
        if (!d) {
          std::fprintf(stderr, "bench_origin_ttfb: direct GET %s failed\n", unique.c_str());
          return 1;
        }
        value = ms(*d);
      } else {
        Result<Clock::duration> d = which == 1
                                        ? runOn(runtime, originTtfb(origin->get(), unique))
                                        : runOn(runtime, fetcherTtfb(fetcher->get(), unique));
        if (!d) {
          std::fprintf(stderr, "bench_origin_ttfb: %s\n", d.error().message.c_str());
          return 1;
        }
        value = ms(*d);
      }
      if (i < warmup) continue;
      (which == 0 ? direct : which == 1 ? through_origin : through_fetcher).push_back(value);
    }
  }
  const Summary d = summarize(direct);
  const Summary o = summarize(through_origin);
  const Summary f = summarize(through_fetcher);
  std::printf("direct median_ms %.3f p99_ms %.3f\n", d.median, d.p99);
  std::printf("origin median_ms %.3f p99_ms %.3f\n", o.median, o.p99);
  std::printf("fetcher median_ms %.3f p99_ms %.3f\n", f.median, f.p99);
  std::printf("ratio_median %.2f ratio_p99 %.2f\n", f.median / d.median, f.p99 / d.p99);
  std::printf("count %zu\n", count);
  (*fetcher)->stop();
  runtime.stop();
  return 0;
}
