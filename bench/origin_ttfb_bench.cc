// bench_origin_ttfb: time to first byte of a cache miss through the Fetcher and through a running
// node's gateway, against the origin itself, for bench/run.d/origin.sh.
//
//   bench_origin_ttfb --url http://HOST:PORT/FILE --store DIR [--count N] [--warmup W]
//                     [--gateway http://HOST:PORT/origin/NAME/FILE --admin HOST:PORT]
//
// Each iteration measures, in rotating order and each with a URL never fetched before (a new
// "?q=" query, so every fetch is a miss that goes to the origin):
//   direct   a blocking client on a fresh connection: connect, GET, first body byte (the
//            origin's own TTFB on loopback: the reference)
//   origin   fetcher::HttpOrigin alone (Beast client, no spool, no hashing)
//   fetcher  Fetcher::fetch() then FetchHandle::read() of the first byte (spool + BLAKE3 on
//            the way, reader on another loop); the fetch is then awaited to completion (stored)
//            before the next iteration, untimed.
//   node     with --gateway: the same blocking client as `direct`, against a running node's
//            GET /origin/<name>/<file>?q=<unique> (the node's fetcher maps the URL with its
//            query, so each is a miss: gateway → fetcher → origin → first bytes streamed back).
//            Untimed afterwards: the body is read to its verified end and, with --admin, the
//            node's /metrics are polled until the download is stored, so that no put overlaps
//            the next measurement. With --admin the node's counters must show exactly one
//            origin download and no cache hit per request, else the tool fails.
// Prints "<name> median_ms X p99_ms Y" per path, "ratio_median R ratio_p99 S" (fetcher /
// direct) and, with --gateway, "ratio_node_median R ratio_node_p99 S" (node / direct). Not a
// Google Benchmark (it needs an origin): run without --url it prints usage and exits 2, so
// bench/run's loop over bench_* binaries skips it.
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
#include <optional>
#include <string>
#include <thread>
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
               "[--warmup W] [--gateway http://HOST:PORT/origin/NAME/FILE --admin HOST:PORT]\n");
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

// What a blocking client does after the first body byte.
enum class Drain {
  kNo,   // close the connection
  kYes,  // read the rest of the body (Connection: close: until the end of the stream)
};

struct BlockingAnswer {
  Clock::duration ttfb{};
  int status = 0;
  std::string head;  // status line and header fields
  std::string body;  // the first bytes, or all of it with Drain::kYes
};

// A plain blocking HTTP/1.1 client on a fresh connection to an IPv4 URL: connect, GET, wait for
// the first body byte. nullopt when it cannot connect or the answer has no body.
std::optional<BlockingAnswer> blockingGet(const fetcher::Url& url, Drain drain) {
  const auto start = Clock::now();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(url.port);
  ::inet_pton(AF_INET, url.host.c_str(), &addr.sin_addr);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::optional<BlockingAnswer> out;
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
        if (end == std::string::npos || got.size() <= end + 4) continue;
        if (!out) {
          out.emplace();
          out->ttfb = Clock::now() - start;
          out->head = got.substr(0, end);
          out->status = got.size() > 12 ? std::atoi(got.c_str() + 9) : 0;  // "HTTP/1.1 200"
        }
        if (drain == Drain::kNo) break;
      }
      if (out) out->body = got.substr(out->head.size() + 4);
    }
  }
  ::close(fd);
  return out;
}

// The reference: the origin's own time to first byte.
std::optional<Clock::duration> directTtfb(const fetcher::Url& url) {
  auto answer = blockingGet(url, Drain::kNo);
  if (!answer) return std::nullopt;
  return answer->ttfb;
}

// A counter of the node's /metrics at `admin` (HOST:PORT); nullopt when unreadable.
std::optional<double> nodeCounter(const std::string& admin, std::string_view name) {
  auto url = fetcher::parseUrl("http://" + admin + "/metrics");
  if (!url) return std::nullopt;
  auto answer = blockingGet(*url, Drain::kYes);
  if (!answer || answer->status != 200) return std::nullopt;
  std::string needle = "\n";  // (not "\n" + std::string(name): a GCC 12 -Wrestrict false alarm)
  needle.append(name).append(" ");
  const size_t at = answer->body.find(needle);
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(answer->body.c_str() + at + needle.size(), nullptr);
}

// The node's fetcher: {downloads started, downloads ended (stored + failed), cache hits}.
struct NodeCounters {
  double downloads = 0;
  double ended = 0;
  double hits = 0;
};
std::optional<NodeCounters> nodeCounters(const std::string& admin) {
  const auto downloads = nodeCounter(admin, "thunder_fetcher_downloads_total");
  const auto stored = nodeCounter(admin, "thunder_fetcher_downloads_stored_total");
  const auto failed = nodeCounter(admin, "thunder_fetcher_downloads_failed_total");
  const auto hits = nodeCounter(admin, "thunder_fetcher_cache_hits_total");
  if (!downloads || !stored || !failed || !hits) return std::nullopt;
  return NodeCounters{*downloads, *stored + *failed, *hits};
}

// A miss through the node's gateway: TTFB, then (untimed) the whole body and, with an admin
// address, the wait until the node stored the download.
Result<Clock::duration> nodeTtfb(const std::string& unique, const std::string& admin,
                                 uint64_t expected_size) {
  auto url = fetcher::parseUrl(unique);
  if (!url) return tl::unexpected(url.error());
  auto answer = blockingGet(*url, Drain::kYes);
  if (!answer) return fail(ErrorCode::kUnavailable, "GET {}: no answer with a body", unique);
  if (answer->status != 200 || (expected_size != 0 && answer->body.size() != expected_size)) {
    return fail(ErrorCode::kInternal, "GET {}: status {}, {} body bytes (expected {})", unique,
                answer->status, answer->body.size(), expected_size);
  }
  if (!admin.empty()) {
    const auto deadline = Clock::now() + std::chrono::seconds(30);
    for (;;) {
      const auto counters = nodeCounters(admin);
      if (!counters) return fail(ErrorCode::kUnavailable, "cannot read http://{}/metrics", admin);
      if (counters->ended >= counters->downloads) break;
      if (Clock::now() > deadline) {
        return fail(ErrorCode::kTimeout, "the node did not finish storing {}", unique);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  return answer->ttfb;
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
  std::string gateway_text;
  std::string admin;
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
    } else if (arg == "--gateway") {
      gateway_text = value;
    } else if (arg == "--admin") {
      admin = value;
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
  std::optional<fetcher::Url> gateway;
  if (!gateway_text.empty()) {
    auto parsed = fetcher::parseUrl(gateway_text);
    if (!parsed || !parsed->hostIsIp() || parsed->scheme != fetcher::Scheme::kHttp ||
        parsed->target.find('?') != std::string::npos) {
      std::fprintf(stderr,
                   "bench_origin_ttfb: --gateway must be http://IPV4:PORT/origin/NAME/FILE\n");
      return 2;
    }
    gateway = std::move(*parsed);
  }
  // The size every answer must have: the origin's body.
  const auto reference = blockingGet(*url, Drain::kYes);
  if (!reference || reference->status != 200) {
    std::fprintf(stderr, "bench_origin_ttfb: GET %s did not answer 200\n", url_text.c_str());
    return 1;
  }
  const uint64_t body_size = reference->body.size();

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

  std::optional<NodeCounters> node_before;
  if (gateway && !admin.empty()) {
    node_before = nodeCounters(admin);
    if (!node_before) {
      std::fprintf(stderr, "bench_origin_ttfb: cannot read http://%s/metrics\n", admin.c_str());
      return 1;
    }
  }
  const size_t paths = gateway ? 4 : 3;
  // Unique per run too: a node outlives one run of this tool, and its fetcher remembers URLs.
  const std::string run_tag =
      std::to_string(::getpid()) + "." +
      std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-";
  std::vector<double> direct, through_origin, through_fetcher, through_node;
  for (size_t i = 0; i < warmup + count; ++i) {
    for (size_t k = 0; k < paths; ++k) {
      const size_t which = (i + k) % paths;
      const std::string base =
          (which == 3 ? gateway->str() + '?' : url->str() + separator) + "q=" + run_tag;
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
        Result<Clock::duration> d = which == 1 ? runOn(runtime, originTtfb(origin->get(), unique))
                                    : which == 2
                                        ? runOn(runtime, fetcherTtfb(fetcher->get(), unique))
                                        : nodeTtfb(unique, admin, body_size);
        if (!d) {
          std::fprintf(stderr, "bench_origin_ttfb: %s\n", d.error().message.c_str());
          return 1;
        }
        value = ms(*d);
      }
      if (i < warmup) continue;
      (which == 0   ? direct
       : which == 1 ? through_origin
       : which == 2 ? through_fetcher
                    : through_node)
          .push_back(value);
    }
  }
  if (node_before) {
    const auto after = nodeCounters(admin);
    const double requests = static_cast<double>(warmup + count);
    if (!after || after->downloads - node_before->downloads != requests ||
        after->hits != node_before->hits) {
      std::fprintf(stderr,
                   "bench_origin_ttfb: the node's requests were not all misses (downloads %.0f, "
                   "cache hits %.0f, for %.0f requests)\n",
                   after ? after->downloads - node_before->downloads : -1,
                   after ? after->hits - node_before->hits : -1, requests);
      return 1;
    }
  }
  const Summary d = summarize(direct);
  const Summary o = summarize(through_origin);
  const Summary f = summarize(through_fetcher);
  std::printf("direct median_ms %.3f p99_ms %.3f\n", d.median, d.p99);
  std::printf("origin median_ms %.3f p99_ms %.3f\n", o.median, o.p99);
  std::printf("fetcher median_ms %.3f p99_ms %.3f\n", f.median, f.p99);
  std::printf("ratio_median %.2f ratio_p99 %.2f\n", f.median / d.median, f.p99 / d.p99);
  if (gateway) {
    const Summary n = summarize(through_node);
    std::printf("node median_ms %.3f p99_ms %.3f\n", n.median, n.p99);
    std::printf("ratio_node_median %.2f ratio_node_p99 %.2f\n", n.median / d.median, n.p99 / d.p99);
  }
  std::printf("count %zu\n", count);
  (*fetcher)->stop();
  runtime.stop();
  return 0;
}
