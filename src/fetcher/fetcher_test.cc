// Fetcher over a temp FsBlobStore and TestOrigins on 127.0.0.1:0: streaming on a miss, wrong
// bytes and SRI, single flight, concurrency bounds, the URL cache, stop, https.
#include "fetcher/fetcher.h"

#include <gtest/gtest.h>

#include "content/fs_blob_store.h"
#include "crypto/blake3.h"
#include "fetcher/fetcher_test_support.h"
#include "fetcher/integrity.h"

namespace thunder::fetcher {
namespace {

using testing::Gate;
using testing::runOn;
using testing::TestExchange;
using testing::TestOrigin;
using testing::TestRequest;

BlobId idOf(std::string_view text) {
  return crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string sha256Sri(std::string_view text) {
  auto hasher = IntegrityHasher::create(DigestAlgorithm::kSha256).value();
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return formatDigest(DigestAlgorithm::kSha256, hasher.finish());
}

using HandlePtr = std::shared_ptr<FetchHandle>;

class FetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    content::StoreOptions options;
    options.root = dir_.path() / "store";
    auto store = content::FsBlobStore::open(std::move(options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    runtime_.start();
  }
  void TearDown() override {
    if (fetcher_) fetcher_->stop();
    server_.stop();
    fetcher_.reset();
    runtime_.stop();
    ::unsetenv("SSL_CERT_FILE");
  }

  Fetcher& start(FetcherOptions options = {}) {
    options.spool_dir = dir_.path() / "spool";
    auto fetcher = Fetcher::create(runtime_, *store_, std::move(options), &metrics_);
    EXPECT_TRUE(fetcher) << fetcher.error().message;
    fetcher_ = std::move(fetcher).value();
    return *fetcher_;
  }

  Result<HandlePtr> fetch(FetchRequest request) {
    return runOn(runtime_, fetcher_->fetch(std::move(request)));
  }
  Result<HandlePtr> fetch(const std::string& url) { return fetch(FetchRequest{.url = url}); }

  Result<std::string> readAll(const HandlePtr& handle, uint64_t offset = 0) {
    return runOn(runtime_, testing::readFrom(handle, offset, UINT64_MAX));
  }
  Result<std::string> readAtLeast(const HandlePtr& handle, uint64_t n) {
    return runOn(runtime_, testing::readFrom(handle, 0, n));
  }
  Result<FetchResult> result(const HandlePtr& handle) { return runOn(runtime_, handle->result()); }

  bool stored(const BlobId& id) { return store_->has(id).value_or(false); }

  testing::TempDir dir_;
  std::unique_ptr<content::FsBlobStore> store_;
  TestOrigin server_;
  MetricsRegistry metrics_;
  io::Runtime runtime_{{.loop_threads = 2, .blocking_threads = 2}};
  std::unique_ptr<Fetcher> fetcher_;
};

TEST_F(FetcherTest, ReadersGetTheFirstBytesBeforeTheOriginFinishes) {
  const std::string body = testing::randomText(200'000, 7);
  Gate& rest = server_.gate("rest");
  server_.route("/slow", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, body.size());
    exchange.send(std::string_view(body).substr(0, 100'000));
    rest.wait();  // the origin is not done until the test says so
    exchange.send(std::string_view(body).substr(100'000));
  });
  start();
  auto handle = fetch(server_.url("/slow"));
  ASSERT_TRUE(handle) << handle.error().message;

  auto first = readAtLeast(*handle, 50'000);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_GE(first->size(), 50'000u);
  EXPECT_EQ(*first, body.substr(0, first->size()));
  const FetchProgress during = (*handle)->progress();
  EXPECT_EQ(during.state, FetchState::kDownloading);
  EXPECT_FALSE(during.verified);
  EXPECT_EQ(during.content_length, body.size());
  EXPECT_LT(during.readable, body.size());

  rest.open();
  auto all = readAll(*handle);
  ASSERT_TRUE(all) << all.error().message;
  EXPECT_EQ(*all, body);
  auto done = result(*handle);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->id, idOf(body));
  EXPECT_EQ(done->size, body.size());
  EXPECT_EQ(done->source, FetchSource::kOrigin);
  EXPECT_EQ((*handle)->progress().state, FetchState::kComplete);
  auto in_store = store_->read(done->id, 0, body.size());
  ASSERT_TRUE(in_store) << in_store.error().message;
  EXPECT_EQ(std::string(in_store->begin(), in_store->end()), body);
  EXPECT_EQ(server_.requests("/slow"), 1u);
}

TEST_F(FetcherTest, WrongBytesFailTheReadersAndStoreNothing) {
  const std::string body = testing::randomText(150'000, 8);
  Gate& rest = server_.gate("rest");
  server_.route("/bad", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, body.size());
    exchange.send(std::string_view(body).substr(0, 80'000));
    rest.wait();
    exchange.send(std::string_view(body).substr(80'000));
  });
  start();
  const BlobId expected = idOf("what the publisher meant");
  const std::string url = server_.url("/bad");
  auto handle = fetch(FetchRequest{.url = url, .expected_id = expected});
  ASSERT_TRUE(handle) << handle.error().message;
  auto first = readAtLeast(*handle, 40'000);  // a reader is streaming already
  ASSERT_TRUE(first) << first.error().message;
  rest.open();

  auto rest_of_it = readAll(*handle, first->size());
  ASSERT_FALSE(rest_of_it);  // it must not see the end of the data
  EXPECT_EQ(rest_of_it.error().code, ErrorCode::kCorruption);
  const std::string& message = rest_of_it.error().message;
  EXPECT_NE(message.find(url), std::string::npos) << message;
  EXPECT_NE(message.find(expected.hex()), std::string::npos) << message;
  EXPECT_NE(message.find(idOf(body).hex()), std::string::npos) << message;
  EXPECT_EQ(readAll(*handle).error().code, ErrorCode::kCorruption);  // from the start too
  EXPECT_EQ(result(*handle).error().code, ErrorCode::kCorruption);
  EXPECT_EQ((*handle)->progress().state, FetchState::kFailed);

  EXPECT_FALSE(stored(idOf(body)));
  EXPECT_TRUE(store_->list().value().empty());
  // Nothing was mapped: the next fetch asks the origin again.
  auto again = fetch(url);
  ASSERT_TRUE(again);
  ASSERT_TRUE(result(*again)) << result(*again).error().message;
  EXPECT_EQ(server_.requests("/bad"), 2u);
}

TEST_F(FetcherTest, SubresourceIntegrity) {
  server_.route("/lib.js", [](const TestRequest&, TestExchange& e) { e.respond(200, "goodbye"); });
  start();
  const std::string url = server_.url("/lib.js");
  auto bad = fetch(FetchRequest{.url = url, .integrity = sha256Sri("hello")});
  ASSERT_TRUE(bad) << bad.error().message;
  auto failed = result(*bad);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kCorruption);
  EXPECT_NE(failed.error().message.find(sha256Sri("hello")), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find(sha256Sri("goodbye")), std::string::npos);
  EXPECT_NE(failed.error().message.find(url), std::string::npos);
  EXPECT_TRUE(store_->list().value().empty());

  // From a #integrity= fragment (here with its '=' percent-encoded).
  const std::string fragment = sha256Sri("goodbye");
  ASSERT_TRUE(fragment.ends_with("="));
  auto good = fetch(url + "#integrity=" + fragment.substr(0, fragment.size() - 1) + "%3D");
  ASSERT_TRUE(good) << good.error().message;
  auto ok = result(*good);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->id, idOf("goodbye"));
  EXPECT_EQ(server_.requests("/lib.js"), 2u);

  // The verified digest is remembered: the same integrity is a cache hit, another one is not.
  auto hit = fetch(FetchRequest{.url = url, .integrity = fragment});
  ASSERT_TRUE(hit);
  EXPECT_EQ(result(*hit).value().source, FetchSource::kCache);
  auto other = fetch(FetchRequest{.url = url, .integrity = sha256Sri("hello")});
  ASSERT_TRUE(other);
  EXPECT_EQ(result(*other).error().code, ErrorCode::kCorruption);
  EXPECT_EQ(server_.requests("/lib.js"), 3u);

  auto both =
      fetch(FetchRequest{.url = url + "#integrity=" + fragment, .integrity = sha256Sri("x")});
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fetch(url + "#integrity=sha256-nope").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(fetch("ftp://example.com/x").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FetcherTest, ConcurrentFetchesOfOneUrlShareOneOriginRequest) {
  const std::string body = testing::randomText(100'000, 9);
  Gate& go = server_.gate("go");
  server_.route("/shared", [&](const TestRequest&, TestExchange& exchange) {
    go.wait();
    exchange.respond(200, body);
  });
  start();
  constexpr size_t kFetches = 8;
  std::vector<HandlePtr> handles(kFetches);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kFetches; ++i) {
    threads.emplace_back([&, i] {
      auto handle = fetch(server_.url("/shared"));
      ASSERT_TRUE(handle) << handle.error().message;
      handles[i] = *handle;
    });
  }
  for (auto& t : threads) t.join();
  server_.waitForRequests(1);
  go.open();
  for (const auto& handle : handles) {
    ASSERT_EQ(handle, handles[0]);
    auto all = readAll(handle);
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, body);
  }
  EXPECT_EQ(server_.requests("/shared"), 1u);
  const FetcherStats stats = fetcher_->stats();
  EXPECT_EQ(stats.downloads, 1u);
  EXPECT_EQ(stats.joined, kFetches - 1);
}

TEST_F(FetcherTest, OriginRequestsAreBoundedAndQueued) {
  Gate& go = server_.gate("go");
  testing::ConcurrencyProbe probe;
  for (int i = 0; i < 4; ++i) {
    server_.route("/c/" + std::to_string(i), [&, i](const TestRequest&, TestExchange& exchange) {
      probe.enter();
      go.wait();
      probe.exit();  // before any byte: the fetcher cannot finish this request earlier
      exchange.respond(200, "body " + std::to_string(i));
    });
  }
  start({.max_concurrent = 2, .max_concurrent_per_host = 2, .max_queued = 2});
  std::vector<HandlePtr> handles;
  for (int i = 0; i < 4; ++i) {
    auto handle = fetch(server_.url("/c/" + std::to_string(i)));
    ASSERT_TRUE(handle) << handle.error().message;
    handles.push_back(*handle);
  }
  auto refused = fetch(server_.url("/c/overflow"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(refused.error().message.find("max_queued"), std::string::npos);

  probe.waitForEntries(2);
  EXPECT_EQ(handles[2]->progress().state, FetchState::kQueued);
  EXPECT_EQ(handles[3]->progress().state, FetchState::kQueued);
  FetcherStats stats = fetcher_->stats();
  EXPECT_EQ(stats.active, 2u);
  EXPECT_EQ(stats.queued, 2u);
  EXPECT_EQ(stats.refused, 1u);
  go.open();
  for (int i = 0; i < 4; ++i) {
    auto all = readAll(handles[i]);
    ASSERT_TRUE(all) << all.error().message;
    EXPECT_EQ(*all, "body " + std::to_string(i));
  }
  EXPECT_EQ(probe.most(), 2u);
  EXPECT_EQ(server_.totalRequests(), 4u);
}

TEST_F(FetcherTest, OriginRequestsAreBoundedPerHost) {
  Gate& go = server_.gate("go");
  for (const char* path : {"/h/a", "/h/b", "/h/c"}) {
    server_.route(path, [&, path](const TestRequest&, TestExchange& exchange) {
      go.wait();
      exchange.respond(200, path);
    });
  }
  start({.max_concurrent = 4, .max_concurrent_per_host = 1});
  auto a = fetch(server_.url("/h/a", "127.0.0.1"));
  auto b = fetch(server_.url("/h/b", "127.0.0.1"));  // same host as a: waits
  auto c = fetch(server_.url("/h/c", "localhost"));  // another host: runs
  ASSERT_TRUE(a && b && c);
  server_.waitForRequests(2);
  EXPECT_EQ((*b)->progress().state, FetchState::kQueued);
  EXPECT_EQ(server_.requests("/h/b"), 0u);
  EXPECT_EQ(server_.requests("/h/c"), 1u);
  go.open();
  EXPECT_EQ(readAll(*b).value(), "/h/b");
  EXPECT_EQ(readAll(*a).value(), "/h/a");
  EXPECT_EQ(readAll(*c).value(), "/h/c");
}

TEST_F(FetcherTest, AFreshMappingAnswersWithoutTheOrigin) {
  server_.route("/cached", [](const TestRequest&, TestExchange& e) { e.respond(200, "cached"); });
  server_.route("/nostore", [](const TestRequest&, TestExchange& e) {
    e.respond(200, "volatile", {"Cache-Control: no-store"});
  });
  server_.route("/stale", [](const TestRequest&, TestExchange& e) {
    e.respond(200, "stale", {"Cache-Control: max-age=0"});
  });
  start();
  const std::string url = server_.url("/cached");
  auto first = fetch(url);
  ASSERT_TRUE(first);
  ASSERT_TRUE(result(*first));

  auto second = fetch(url);
  ASSERT_TRUE(second);
  EXPECT_NE(*second, *first);
  EXPECT_EQ((*second)->progress().state, FetchState::kComplete);  // complete when returned
  EXPECT_EQ(readAll(*second).value(), "cached");
  EXPECT_EQ(result(*second).value().source, FetchSource::kCache);
  EXPECT_EQ(server_.requests("/cached"), 1u);
  EXPECT_EQ(fetcher_->stats().cache_hits, 1u);

  // An expected id the mapping does not satisfy goes to the origin (and fails there).
  auto mismatch = fetch(FetchRequest{.url = url, .expected_id = idOf("other")});
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(result(*mismatch).error().code, ErrorCode::kCorruption);
  EXPECT_EQ(server_.requests("/cached"), 2u);

  // The blob left the store: fetched again.
  ASSERT_TRUE(store_->remove(idOf("cached")));
  auto refetched = fetch(url);
  ASSERT_TRUE(refetched);
  EXPECT_EQ(result(*refetched).value().source, FetchSource::kOrigin);
  EXPECT_EQ(server_.requests("/cached"), 3u);

  for (const char* path : {"/nostore", "/stale"}) {
    for (int i = 0; i < 2; ++i) {
      auto handle = fetch(server_.url(path));
      ASSERT_TRUE(handle);
      auto done = result(*handle);
      ASSERT_TRUE(done) << done.error().message;
      EXPECT_EQ(done->source, FetchSource::kOrigin);
      EXPECT_TRUE(stored(done->id));  // the blob is stored; only the URL is not mapped
    }
    EXPECT_EQ(server_.requests(path), 2u) << path;
  }
}

TEST_F(FetcherTest, OriginErrorsAndLimitsComeThroughTheHandle) {
  server_.route(
      "/big", [](const TestRequest&, TestExchange& e) { e.respond(200, std::string(5000, 'b')); });
  start({.max_body_bytes = 4096});
  const std::string missing = server_.url("/missing");
  auto handle = fetch(missing);
  ASSERT_TRUE(handle) << handle.error().message;
  auto done = result(*handle);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kNotFound);
  EXPECT_NE(done.error().message.find(missing), std::string::npos);
  EXPECT_NE(done.error().message.find("404"), std::string::npos);
  EXPECT_EQ(readAll(*handle).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(fetch(missing));  // failures are not remembered
  server_.waitForRequests(2);

  auto big = fetch(server_.url("/big"));
  ASSERT_TRUE(big);
  EXPECT_EQ(result(*big).error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(store_->list().value().empty());
}

TEST_F(FetcherTest, EmptyBodiesAreBlobsToo) {
  server_.route("/empty", [](const TestRequest&, TestExchange& e) { e.respond(200, ""); });
  start();
  auto handle = fetch(server_.url("/empty"));
  ASSERT_TRUE(handle);
  EXPECT_EQ(readAll(*handle).value(), "");
  auto done = result(*handle);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->id, idOf(""));
  EXPECT_TRUE(stored(done->id));
}

TEST_F(FetcherTest, StopCancelsDownloadsAndRefusesNewFetches) {
  Gate& never = server_.gate("never");
  server_.route("/hang", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, 10);
    exchange.send("abc");
    never.wait();
  });
  start({.max_concurrent = 1});
  auto running = fetch(server_.url("/hang"));
  auto queued = fetch(server_.url("/hang?2"));
  ASSERT_TRUE(running && queued);
  server_.waitForRequests(1);
  fetcher_->stop();  // returns although the origin never finishes
  EXPECT_EQ(result(*running).error().code, ErrorCode::kCancelled);
  EXPECT_EQ(result(*queued).error().code, ErrorCode::kCancelled);
  EXPECT_EQ(fetch(server_.url("/hang")).error().code, ErrorCode::kCancelled);
  EXPECT_EQ(server_.requests("/hang"), 1u);
}

TEST_F(FetcherTest, NamedOriginsAndMetrics) {
  server_.route("/base/a/b.txt", [](const TestRequest&, TestExchange& e) { e.respond(200, "b"); });
  start({.origins = {{"test", server_.url("/base")}}});
  auto url = fetcher_->resolveOrigin("test", "a/./b.txt");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(*url, server_.url("/base/a/b.txt"));
  EXPECT_EQ(fetcher_->resolveOrigin("test", "../etc/passwd").error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(fetcher_->resolveOrigin("nope", "x").error().code, ErrorCode::kNotFound);
  auto handle = fetch(*url);
  ASSERT_TRUE(handle);
  EXPECT_EQ(readAll(*handle).value(), "b");
  ASSERT_TRUE(result(*handle));
  const std::string text = metrics_.render();
  EXPECT_NE(text.find("thunder_fetcher_requests_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("thunder_fetcher_downloads_stored_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("thunder_fetcher_active_downloads 0"), std::string::npos) << text;
}

TEST_F(FetcherTest, RefusesBadOptions) {
  EXPECT_EQ(Fetcher::create(runtime_, *store_, {.max_concurrent = 0}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(Fetcher::create(runtime_, *store_, {.origins = {{"x", "ftp://h/"}}}).error().code,
            ErrorCode::kInvalidArgument);
  const std::filesystem::path file = dir_.path() / "a-file";
  std::ofstream(file) << "x";
  auto bad_spool = Fetcher::create(runtime_, *store_, {.spool_dir = file / "sub"});
  ASSERT_FALSE(bad_spool);
  EXPECT_NE(bad_spool.error().message.find("a-file"), std::string::npos)
      << bad_spool.error().message;
}

TEST_F(FetcherTest, FetchesOverHttpsWithAPrivateCa) {
  testing::TempDir certs;
  ASSERT_TRUE(testing::makeTestCertificates(certs.str(), "DNS:localhost,IP:127.0.0.1"));
  TestOrigin secure(certs.str() + "/server.pem", certs.str() + "/server.key");
  secure.route("/s", [](const TestRequest&, TestExchange& e) { e.respond(200, "over tls"); });
  ::setenv("SSL_CERT_FILE", (certs.str() + "/ca.pem").c_str(), 1);
  start();  // the trust store is read now
  auto handle = fetch(secure.url("/s", "localhost"));
  ASSERT_TRUE(handle) << handle.error().message;
  auto done = result(*handle);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->id, idOf("over tls"));
  fetcher_->stop();
  fetcher_.reset();

  ::setenv("SSL_CERT_FILE", (certs.str() + "/server.pem").c_str(), 1);  // not the CA
  start();
  auto untrusted = fetch(secure.url("/s?again", "localhost"));
  ASSERT_TRUE(untrusted);
  EXPECT_EQ(result(*untrusted).error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace thunder::fetcher
