// The CDN service's pure parts: request parsing and stream ranges, HTTP targets, Range headers,
// If-None-Match, content type sniffing. (Against the node's parser and under the executor:
// services/cdn_service_test.cc.)
#include <gtest/gtest.h>

#include <limits>

#include "content_request.h"
#include "http_target.h"

namespace thunder::cdn {
namespace {

std::vector<uint8_t> request(uint8_t id_byte, std::vector<ContentRange> ranges,
                             std::string cid = "") {
  std::vector<uint8_t> out(32, id_byte);
  auto le = [&out](uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  le(ranges.size(), 4);
  for (const auto& r : ranges) {
    le(r.start, 8);
    le(r.end, 8);
  }
  if (!cid.empty()) {
    le(cid.size(), 2);
    out.insert(out.end(), cid.begin(), cid.end());
  }
  return out;
}

std::span<const uint8_t> bytesOf(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(CdnRequest, StreamRangesAreTheSortedMergedUnion) {
  auto parsed = parseContentRequest(request(1, {{50, 60}, {0, 10}, {10, 20}, {55, 70}, {5, 5}}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  auto ranges = streamRanges(*parsed);
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[0].offset, 0u);
  EXPECT_EQ((*ranges)[0].length, 20u);
  EXPECT_EQ((*ranges)[1].offset, 50u);
  EXPECT_EQ((*ranges)[1].length, 20u);
  EXPECT_EQ(coveredBytes(*ranges, 60), 30u);

  auto whole = streamRanges(*parseContentRequest(request(1, {})));
  ASSERT_TRUE(whole);
  ASSERT_EQ(whole->size(), 1u);
  EXPECT_EQ((*whole)[0].length, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(coveredBytes(*whole, 1234), 1234u);
}

TEST(CdnRequest, MoreDisjointRangesThanOneStreamBlobCarriesAreRefused) {
  std::vector<ContentRange> many;
  for (uint64_t i = 0; i < 65; ++i) many.push_back({i * 100, i * 100 + 1});
  auto parsed = parseContentRequest(request(1, many));
  ASSERT_TRUE(parsed);
  auto ranges = streamRanges(*parsed);
  ASSERT_FALSE(ranges);
  EXPECT_EQ(ranges.error().message,
            "bad_request: 65 disjoint ranges; this content service serves at most 64 per request");
  many.pop_back();
  EXPECT_TRUE(streamRanges(*parseContentRequest(request(1, many))));
}

TEST(CdnRequest, CidForm) {
  auto parsed = parseContentRequest(request(0, {{1, 2}}, "bafkqaaa"));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->cid, "bafkqaaa");
  EXPECT_EQ(parsed->ranges.size(), 1u);
  auto long_cid = parseContentRequest(request(0, {}, std::string(257, 'b')));
  ASSERT_FALSE(long_cid);
  EXPECT_EQ(long_cid.error().message, "bad_request: a CID of 257 bytes (1..256)");
}

TEST(CdnHttp, Targets) {
  const std::string hex(64, 'a');
  auto blob = parseTarget("/b3/" + hex);
  ASSERT_TRUE(blob);
  EXPECT_EQ(blob->kind, HttpTarget::Kind::kBlob);
  EXPECT_EQ(blob->blob.hex(), hex);
  auto cid = parseTarget("/ipfs/bafkqaaa/");
  ASSERT_TRUE(cid);
  EXPECT_EQ(cid->kind, HttpTarget::Kind::kCid);
  EXPECT_EQ(cid->cid, "bafkqaaa");
  EXPECT_EQ(parseTarget("/ipfs/bafkqaaa/a.txt").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(parseTarget("/b3/" + hex + "/x").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(parseTarget("/b3/" + hex.substr(1)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseTarget("/ipfs/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseTarget("/ipfs/ba%2Fk").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseTarget("/").error().code, ErrorCode::kNotFound);
}

TEST(CdnHttp, RangeHeaders) {
  auto whole = [](RangeRequest r) { return r.kind == RangeKind::kWhole; };
  EXPECT_TRUE(whole(parseRange(std::nullopt, 100)));
  EXPECT_TRUE(whole(parseRange("items=0-1", 100)));
  EXPECT_TRUE(whole(parseRange("bytes=0-1,5-6", 100)));  // several ranges: the whole body
  EXPECT_TRUE(whole(parseRange("bytes=5-1", 100)));      // invalid: ignored
  EXPECT_TRUE(whole(parseRange("bytes=x-", 100)));
  auto r = parseRange("bytes=10-19", 100);
  EXPECT_EQ(r.kind, RangeKind::kPartial);
  EXPECT_EQ(r.span.offset, 10u);
  EXPECT_EQ(r.span.length, 10u);
  r = parseRange("bytes=90-500", 100);  // clipped at the end
  EXPECT_EQ(r.span.length, 10u);
  r = parseRange("bytes=95-", 100);
  EXPECT_EQ(r.span.offset, 95u);
  EXPECT_EQ(r.span.length, 5u);
  r = parseRange("bytes=-30", 100);
  EXPECT_EQ(r.span.offset, 70u);
  EXPECT_EQ(r.span.length, 30u);
  r = parseRange("bytes=-300", 100);
  EXPECT_EQ(r.span.offset, 0u);
  EXPECT_EQ(r.span.length, 100u);
  EXPECT_EQ(parseRange("bytes=100-", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parseRange("bytes=-0", 100).kind, RangeKind::kUnsatisfiable);
  EXPECT_EQ(parseRange("bytes=0-", 0).kind, RangeKind::kUnsatisfiable);
}

TEST(CdnHttp, IfNoneMatch) {
  EXPECT_TRUE(noneMatchHits("*", "\"ab\""));
  EXPECT_TRUE(noneMatchHits("\"x\", W/\"ab\"", "\"ab\""));
  EXPECT_TRUE(noneMatchHits(" \"ab\" ", "\"ab\""));
  EXPECT_FALSE(noneMatchHits("\"abc\"", "\"ab\""));
  EXPECT_FALSE(noneMatchHits("", "\"ab\""));
}

TEST(CdnHttp, SniffsCommonTypes) {
  EXPECT_EQ(sniffContentType(bytesOf("\x89PNG\r\n\x1a\n....")), "image/png");
  EXPECT_EQ(sniffContentType(bytesOf("\xff\xd8\xff\xe0")), "image/jpeg");
  EXPECT_EQ(sniffContentType(bytesOf("GIF89a")), "image/gif");
  EXPECT_EQ(sniffContentType(bytesOf("%PDF-1.7")), "application/pdf");
  EXPECT_EQ(sniffContentType(bytesOf(std::string_view("\0asm\1\0\0\0", 8))), "application/wasm");
  EXPECT_EQ(sniffContentType(bytesOf("  <!DOCTYPE html><p>x")), "text/html; charset=utf-8");
  EXPECT_EQ(sniffContentType(bytesOf("<?xml version=\"1.0\"?><svg xmlns=")), "image/svg+xml");
  EXPECT_EQ(sniffContentType(bytesOf("{\"a\": 1}")), "application/json");
  EXPECT_EQ(sniffContentType(bytesOf("h\xc3\xa9llo\n")), "text/plain; charset=utf-8");
  EXPECT_EQ(sniffContentType(bytesOf("cut \xc3")), "text/plain; charset=utf-8");
  EXPECT_EQ(sniffContentType(bytesOf(std::string_view("a\0b", 3))), "application/octet-stream");
  EXPECT_EQ(sniffContentType(bytesOf("\xc3\x28")), "application/octet-stream");
  EXPECT_EQ(sniffContentType({}), "text/plain; charset=utf-8");
}

}  // namespace
}  // namespace thunder::cdn
