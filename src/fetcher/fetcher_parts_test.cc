// Unit tests of the fetcher's pure parts: URLs, SRI, Cache-Control, the URL cache, origin slots
// and named origins.
#include <gtest/gtest.h>

#include "fetcher/integrity.h"
#include "fetcher/origin_slots.h"
#include "fetcher/origin_table.h"
#include "fetcher/url.h"
#include "fetcher/url_cache.h"

namespace thunder::fetcher {
namespace {

using std::chrono::seconds;

TEST(Url, ParsesAndNormalises) {
  auto url = parseUrl("HTTPS://Example.COM/a/./b/../c?x=1#integrity=sha256-abc");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->scheme, Scheme::kHttps);
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/a/c?x=1");
  EXPECT_EQ(url->fragment, "integrity=sha256-abc");
  EXPECT_EQ(url->str(), "https://example.com/a/c?x=1");
  EXPECT_EQ(url->origin(), "https://example.com");

  auto bare = parseUrl("http://127.0.0.1:8080");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->target, "/");
  EXPECT_EQ(bare->authority(), "127.0.0.1:8080");
  EXPECT_TRUE(bare->hostIsIp());

  auto v6 = parseUrl("http://[::1]:9000/x y");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_TRUE(v6->hostIsIp());
  EXPECT_EQ(v6->str(), "http://[::1]:9000/x%20y");

  auto query_only = parseUrl("http://h?q");
  ASSERT_TRUE(query_only);
  EXPECT_EQ(query_only->target, "/?q");
  EXPECT_EQ(parseUrl("http://h:80/").value().str(), "http://h/");
}

TEST(Url, RefusesWhatCannotBeFetched) {
  for (const char* bad : {"ftp://h/x", "h/x", "http://", "http://user:pw@h/", "http://h:0/",
                          "http://h:65536/", "http://h:x/", "http://[::1/", "http://[zz]/",
                          "http://h\r\nX: y/", "http://h%41/", "http://h/a\tb"}) {
    auto url = parseUrl(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(parseUrl("http://u@h/").error().message.find("credentials"), std::string::npos);
}

TEST(Url, ResolvesRedirectReferences) {
  const Url base = parseUrl("http://a.example:81/dir/file?q=1").value();
  const auto resolve = [&](std::string_view ref) {
    auto url = resolveReference(base, ref);
    EXPECT_TRUE(url) << ref;
    return url ? url->str() : std::string();
  };
  EXPECT_EQ(resolve("https://b.example/x"), "https://b.example/x");
  EXPECT_EQ(resolve("//c.example/y"), "http://c.example/y");
  EXPECT_EQ(resolve("/root"), "http://a.example:81/root");
  EXPECT_EQ(resolve("other"), "http://a.example:81/dir/other");
  EXPECT_EQ(resolve("../up"), "http://a.example:81/up");
  EXPECT_EQ(resolve("../../../too/far"), "http://a.example:81/too/far");
  EXPECT_EQ(resolve("?z"), "http://a.example:81/dir/file?z");
  EXPECT_EQ(resolve(""), "http://a.example:81/dir/file?q=1");
  EXPECT_FALSE(resolveReference(base, "mailto:x@y"));
}

TEST(Url, RemovesDotSegmentsAndCodesBytes) {
  EXPECT_EQ(removeDotSegments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(removeDotSegments("/.."), "/");
  EXPECT_EQ(removeDotSegments("/a/.."), "/");
  EXPECT_EQ(percentDecode("a%2Fb%2e").value(), "a/b.");
  EXPECT_FALSE(percentDecode("%4"));
  EXPECT_FALSE(percentDecode("%zz"));
  EXPECT_EQ(encodeUrlBytes("a b%20c%zz\xc3\xa9|"), "a%20b%20c%25zz%C3%A9%7C");
}

// SHA-256 of "hello" in SRI form.
constexpr std::string_view kHelloSha256 = "sha256-LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=";

TEST(Integrity, ParsesChecksAndPrefersTheStrongestAlgorithm) {
  auto sha256 = IntegrityHasher::create(DigestAlgorithm::kSha256).value();
  const std::string hello = "hello";
  sha256.update(std::span(reinterpret_cast<const uint8_t*>(hello.data()), hello.size()));
  const auto digest = sha256.finish();
  EXPECT_EQ(formatDigest(DigestAlgorithm::kSha256, digest), kHelloSha256);

  auto parsed = parseIntegrity(std::string(kHelloSha256) + "?opt md5-xyz");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->algorithm, DigestAlgorithm::kSha256);
  EXPECT_TRUE(parsed->matches(digest));
  EXPECT_EQ(parsed->str(), kHelloSha256);

  // URL-safe alphabet, no padding.
  auto url_safe = parseIntegrity("sha256-LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ");
  ASSERT_TRUE(url_safe) << url_safe.error().message;
  EXPECT_TRUE(url_safe->matches(digest));

  // With a sha384 token present, only sha384 counts.
  const std::string sha384(64, 'A');
  auto both = parseIntegrity(std::string(kHelloSha256) + " sha384-" + sha384);
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->algorithm, DigestAlgorithm::kSha384);
  EXPECT_FALSE(both->matches(digest));
}

TEST(Integrity, RefusesMalformedMetadata) {
  for (const char* bad : {"", "md5-abc", "sha256-!!!", "sha256-AAAA", "sha512-" /* empty */}) {
    auto parsed = parseIntegrity(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(CachePolicy, FollowsCacheControl) {
  const seconds def{300};
  const seconds max{3600};
  EXPECT_EQ(cachePolicy("", "", def, max).ttl, def);
  EXPECT_EQ(cachePolicy("public, max-age=60", "", def, max).ttl, seconds(60));
  EXPECT_EQ(cachePolicy("max-age=60", "20", def, max).ttl, seconds(40));
  EXPECT_EQ(cachePolicy("max-age=60, s-maxage=120", "", def, max).ttl, seconds(120));
  EXPECT_EQ(cachePolicy("MAX-AGE=\"90\"", "", def, max).ttl, seconds(90));
  EXPECT_EQ(cachePolicy("max-age=999999", "", def, max).ttl, max);
  for (const char* skip :
       {"no-store", "No-Cache", "private, max-age=60", "max-age=0", "max-age=abc", "max-age=10"}) {
    const std::string age = std::string_view(skip) == "max-age=10" ? "10" : "";
    EXPECT_EQ(cachePolicy(skip, age, def, max).mapping, Mapping::kSkip) << skip;
  }
}

TEST(UrlCache, ExpiresEvictsAndKeepsDigests) {
  UrlCache cache(2);
  const auto now = Clock::now();
  BlobId a, b;
  a.mutableBytes()[0] = 1;
  b.mutableBytes()[0] = 2;
  cache.record("u1", CachedUrl{a, 1, now + seconds(10), {{DigestAlgorithm::kSha256, {1}}}});
  cache.record("u2", CachedUrl{b, 2, now + seconds(10), {}});
  ASSERT_NE(cache.find("u1", now), nullptr);  // u1 is now the most recent
  cache.record("u3", CachedUrl{b, 2, now + seconds(10), {}});
  EXPECT_EQ(cache.find("u2", now), nullptr);                // evicted
  EXPECT_EQ(cache.find("u1", now + seconds(10)), nullptr);  // expired and dropped
  EXPECT_EQ(cache.size(), 1u);

  cache.record("u3", CachedUrl{b, 2, now + seconds(10), {{DigestAlgorithm::kSha512, {9}}}});
  cache.record("u3", CachedUrl{b, 2, now + seconds(20), {{DigestAlgorithm::kSha256, {7}}}});
  const CachedUrl* entry = cache.find("u3", now);
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->digests.size(), 2u);  // digests of the same blob accumulate
  cache.erase("u3", a);                  // another blob: kept
  EXPECT_NE(cache.find("u3", now), nullptr);
  cache.erase("u3", b);
  EXPECT_EQ(cache.find("u3", now), nullptr);

  UrlCache off(0);
  off.record("u", CachedUrl{a, 1, now + seconds(10), {}});
  EXPECT_EQ(off.find("u", now), nullptr);
}

TEST(OriginSlots, BoundsTotalAndPerHostWithABoundedQueue) {
  OriginSlots<int> slots(/*max_total=*/3, /*max_per_host=*/2, /*max_queued=*/2);
  int job = 1;
  EXPECT_EQ(slots.admit("a", job), Admission::kStart);
  EXPECT_EQ(slots.admit("a", job), Admission::kStart);
  job = 3;
  EXPECT_EQ(slots.admit("a", job), Admission::kQueued);  // host a is full
  job = 4;
  EXPECT_EQ(slots.admit("b", job), Admission::kStart);  // total 3
  job = 5;
  EXPECT_EQ(slots.admit("b", job), Admission::kQueued);  // total is full
  job = 6;
  EXPECT_EQ(slots.admit("c", job), Admission::kRefused);  // queue is full
  EXPECT_EQ(slots.active(), 3u);
  EXPECT_EQ(slots.queued(), 2u);

  // One of b's ends: a is still full, so b's queued job (5) starts ahead of a's (3).
  EXPECT_EQ(slots.release("b"), std::vector<int>{5});
  // One of a's ends: job 3 starts.
  EXPECT_EQ(slots.release("a"), std::vector<int>{3});
  EXPECT_EQ(slots.queued(), 0u);
  job = 7;
  EXPECT_EQ(slots.admit("c", job), Admission::kQueued);
  EXPECT_EQ(slots.takeQueued(), std::vector<int>{7});
}

TEST(OriginTable, ResolvesPathsWithoutEscapingTheBase) {
  auto table = OriginTable::create(
      {{"npm", "https://cdn.example/npm"}, {"site", "http://127.0.0.1:8080/base/"}});
  ASSERT_TRUE(table) << table.error().message;
  EXPECT_EQ(table->resolve("npm", "react/index.js").value(),
            "https://cdn.example/npm/react/index.js");
  EXPECT_EQ(table->resolve("npm", "/a//./b/").value(), "https://cdn.example/npm/a/b/");
  EXPECT_EQ(table->resolve("site", "x y.txt?v=1 2").value(),
            "http://127.0.0.1:8080/base/x%20y.txt?v=1%202");
  EXPECT_EQ(table->resolve("site", "").value(), "http://127.0.0.1:8080/base/");
  for (const char* escape :
       {"../x", "a/../../x", "%2e%2e/x", "a/%2E%2e", "a%2Fb", "a%5cb", "a#frag", "a/%zz", "a\nb"}) {
    auto url = table->resolve("npm", escape);
    ASSERT_FALSE(url) << escape;
    EXPECT_EQ(url.error().code, ErrorCode::kInvalidArgument) << escape;
  }
  auto unknown = table->resolve("nope", "x");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_NE(unknown.error().message.find("npm, site"), std::string::npos);
}

TEST(OriginTable, RefusesBadConfigs) {
  EXPECT_FALSE(OriginTable::create({{"", "http://h/"}}));
  EXPECT_FALSE(OriginTable::create({{"a b", "http://h/"}}));
  EXPECT_FALSE(OriginTable::create({{"a", "ftp://h/"}}));
  EXPECT_FALSE(OriginTable::create({{"a", "http://h/?q"}}));
  EXPECT_FALSE(OriginTable::create({{"a", "http://h/"}, {"a", "http://g/"}}));
}

}  // namespace
}  // namespace thunder::fetcher
