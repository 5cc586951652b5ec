#include "gateway/request_target.h"

#include <gtest/gtest.h>

#include "gateway/content_type.h"
#include "gateway/directory_listing.h"
#include "gateway/open_blob_cache.h"

namespace thunder::gateway {
namespace {

const std::string kId = "ccd32b4544a24c50fbefb249e10a8fcedc26e2794c79eb8a44ad0631bf07f53f";

TEST(RequestTargetTest, SplitsPathAndQuery) {
  auto split = splitTarget("/b3/x?format=verified&pin=1");
  EXPECT_EQ(split.path, "/b3/x");
  EXPECT_EQ(split.query, "format=verified&pin=1");
  EXPECT_EQ(queryParam(split.query, "format"), "verified");
  EXPECT_EQ(queryParam(split.query, "pin"), "1");
  EXPECT_EQ(queryParam("a&b=%41", "b"), "A");
  EXPECT_EQ(queryParam("a&b=1", "a"), "");
  EXPECT_EQ(queryParam("a=1", "b"), std::nullopt);
  EXPECT_EQ(queryParam("b=%4", "b"), std::nullopt);
  EXPECT_TRUE(isBlobRoute("/b3"));
  EXPECT_TRUE(isBlobRoute("/b3/"));
  EXPECT_FALSE(isBlobRoute("/b3x"));
  EXPECT_FALSE(isBlobRoute("/ipfs/x"));
}

TEST(RequestTargetTest, ParsesBlobPaths) {
  auto plain = parseBlobPath("/b3/" + kId);
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_EQ(plain->id.hex(), kId);
  EXPECT_TRUE(plain->segments.empty());
  EXPECT_EQ(plain->trailing_slash, TrailingSlash::kNo);

  auto root = parseBlobPath("/b3/" + kId + "/");
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->segments.empty());
  EXPECT_EQ(root->trailing_slash, TrailingSlash::kYes);

  auto nested = parseBlobPath("/b3/" + kId + "/a%20b/c.txt");
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->segments, (std::vector<std::string>{"a b", "c.txt"}));
  EXPECT_EQ(nested->trailing_slash, TrailingSlash::kNo);

  auto dir = parseBlobPath("/b3/" + kId + "/sub/");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->segments, (std::vector<std::string>{"sub"}));
  EXPECT_EQ(dir->trailing_slash, TrailingSlash::kYes);

  auto upper = parseBlobPath("/b3/" + std::string(64, 'A'));
  EXPECT_TRUE(upper);  // hex digits in either case
}

TEST(RequestTargetTest, RefusesMalformedIdsAndTraversal) {
  for (const std::string& bad : {
           std::string("/b3"),
           std::string("/b3/"),
           std::string("/b3/abc"),
           std::string("/b3/") + std::string(64, 'g'),
           std::string("/b3/") + kId + "0",
           "/b3/" + kId + "/..",
           "/b3/" + kId + "/../x",
           "/b3/" + kId + "/a/../b",
           "/b3/" + kId + "/.",
           "/b3/" + kId + "/%2e%2e/x",
           "/b3/" + kId + "/%2E%2E",
           "/b3/" + kId + "/a%2fb",
           "/b3/" + kId + "/a%00b",
           "/b3/" + kId + "//a",
           "/b3/" + kId + "/a//b",
           "/b3/" + kId + "/a//",
           "/b3/" + kId + "/%zz",
           "/b3/" + kId + "/%4",
           "/b3/" + kId + "/" + std::string(256, 'n'),
       }) {
    EXPECT_FALSE(parseBlobPath(bad)) << bad;
  }
}

TEST(RequestTargetTest, PercentCoding) {
  EXPECT_EQ(percentDecode("a%20b%2Fc+d"), "a b/c+d");
  EXPECT_FALSE(percentDecode("%"));
  EXPECT_FALSE(percentDecode("%2"));
  EXPECT_FALSE(percentDecode("%g0"));
  EXPECT_EQ(percentEncodeSegment("a b/<é>.txt"), "a%20b%2F%3C%C3%A9%3E.txt");
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(contentTypeForName("index.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeForName("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeForName("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeForName("m.wasm"), "application/wasm");
  EXPECT_EQ(contentTypeForName("a.tar.gz"), "application/gzip");
  EXPECT_EQ(contentTypeForName("README"), "");
  EXPECT_EQ(contentTypeForName("x."), "");
  EXPECT_EQ(contentTypeForName("x.unknownext"), "");
}

std::string_view sniff(std::string_view bytes, SampleKind kind = SampleKind::kWholeBlob) {
  return sniffContentType(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
                          kind);
}

TEST(ContentTypeTest, Sniffs) {
  EXPECT_EQ(sniff("\x89PNG\r\n\x1a\n...."), "image/png");
  EXPECT_EQ(sniff("\xff\xd8\xff\xe0"), "image/jpeg");
  EXPECT_EQ(sniff("GIF89a..."), "image/gif");
  EXPECT_EQ(sniff(std::string_view("RIFF\x10\0\0\0WEBPVP8 ", 16)), "image/webp");
  EXPECT_EQ(sniff("%PDF-1.7\n"), "application/pdf");
  EXPECT_EQ(sniff(std::string_view("\0asm\1\0\0\0", 8)), "application/wasm");
  EXPECT_EQ(sniff("  <!DOCTYPE html><html>"), "text/html; charset=utf-8");
  EXPECT_EQ(sniff("<html lang=en>"), "text/html; charset=utf-8");
  EXPECT_EQ(sniff("<htmlx>"), "text/plain; charset=utf-8");
  EXPECT_EQ(sniff("{\"a\": 1}"), "application/json");
  EXPECT_EQ(sniff("[1, 2]"), "application/json");
  EXPECT_EQ(sniff("[see below]"), "text/plain; charset=utf-8");
  EXPECT_EQ(sniff("hello, wörld\n"), "text/plain; charset=utf-8");
  EXPECT_EQ(sniff("h\xc3", SampleKind::kPrefix), "text/plain; charset=utf-8");  // cut sequence
  EXPECT_EQ(sniff("h\xc3", SampleKind::kWholeBlob), kOctetStream);
  EXPECT_EQ(sniff("\xc0\xaf"), kOctetStream);  // overlong
  EXPECT_EQ(sniff(std::string_view("ab\0cd", 5)), kOctetStream);
  EXPECT_EQ(sniff(""), kOctetStream);
  EXPECT_EQ(sniff("<svg xmlns=\"http://www.w3.org/2000/svg\">"), "text/plain; charset=utf-8");
}

TEST(DirectoryListingTest, EscapesNames) {
  content::Manifest manifest;
  manifest.entries.push_back({"<b>&\"x\".txt", content::EntryKind::kFile, 3, BlobId()});
  manifest.entries.push_back({"sub", content::EntryKind::kDirectory, 13, BlobId()});
  const std::string page =
      renderListing("/b3/x/<p>/", BlobId(), manifest, ListingLevel::kSubdirectory);
  EXPECT_EQ(page.find("<b>&"), std::string::npos);
  EXPECT_NE(page.find("&lt;b&gt;&amp;&quot;x&quot;.txt"), std::string::npos);
  EXPECT_NE(page.find("href=\"./%3Cb%3E%26%22x%22.txt\""), std::string::npos);
  EXPECT_NE(page.find("href=\"./sub/\""), std::string::npos);
  EXPECT_NE(page.find("href=\"../\""), std::string::npos);
  EXPECT_NE(page.find("/b3/x/&lt;p&gt;/"), std::string::npos);
}

TEST(OpenBlobCacheTest, EvictsLeastRecentlyUsedAndExpires) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  OpenBlobCache cache(2, std::chrono::milliseconds(1000));
  auto make = [&](uint8_t tag) {
    auto blob = std::make_shared<OpenBlob>();
    blob->id.mutableBytes()[0] = tag;
    blob->opened_at = t0;
    return blob;
  };
  BlobId a, b, c;
  a.mutableBytes()[0] = 1;
  b.mutableBytes()[0] = 2;
  c.mutableBytes()[0] = 3;
  cache.insert(make(1));
  cache.insert(make(2));
  EXPECT_NE(cache.find(a, t0), nullptr);  // a is now the most recent
  cache.insert(make(3));                  // evicts b
  EXPECT_EQ(cache.find(b, t0), nullptr);
  EXPECT_NE(cache.find(a, t0), nullptr);
  EXPECT_NE(cache.find(c, t0), nullptr);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find(a, t0 + std::chrono::milliseconds(1000)), nullptr);  // expired: dropped
  EXPECT_EQ(cache.size(), 1u);
  OpenBlobCache disabled(0, std::chrono::milliseconds(1000));
  disabled.insert(make(1));
  EXPECT_EQ(disabled.find(a, t0), nullptr);
}

}  // namespace
}  // namespace thunder::gateway
