#include "gateway/range_header.h"

#include <gtest/gtest.h>

#include <limits>

#include "gateway/conditional.h"

namespace thunder::gateway {
namespace {

using Kind = RangeSpec::Kind;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

std::vector<content::ByteRange> resolve(std::string_view header, uint64_t size) {
  auto specs = parseRangeHeader(header);
  EXPECT_TRUE(specs) << header;
  if (!specs) return {};
  auto resolved = resolveRanges(*specs, size);
  if (resolved.outcome == RangeOutcome::kUnsatisfiable) return {};
  return resolved.ranges;
}

TEST(RangeHeaderTest, ParsesTheThreeForms) {
  auto specs = parseRangeHeader("bytes=0-99, 100- ,-500");
  ASSERT_TRUE(specs) << specs.error().message;
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0], (RangeSpec{Kind::kFromTo, 0, 99}));
  EXPECT_EQ((*specs)[1], (RangeSpec{Kind::kFrom, 100, 0}));
  EXPECT_EQ((*specs)[2], (RangeSpec{Kind::kSuffix, 0, 500}));
  EXPECT_TRUE(parseRangeHeader("BYTES=1-2"));
  EXPECT_TRUE(parseRangeHeader("bytes=1-2,,3-4,"));  // empty list elements are allowed
}

TEST(RangeHeaderTest, RefusesMalformedHeaders) {
  for (std::string_view bad :
       {"", "bytes", "bytes=", "bytes=,", "items=0-1", "bytes=abc", "bytes=1", "bytes=-",
        "bytes=5-1", "bytes=1-2-3", "bytes=0x1-2", "bytes=+1-2", "bytes=1 -2",
        "bytes=99999999999999999999-", "bytes=18446744073709551616-", "bytes = 0-1"}) {
    EXPECT_FALSE(parseRangeHeader(bad)) << bad;
  }
  std::string many = "bytes=";
  for (size_t i = 0; i <= kMaxRangeSpecs; ++i)
    many += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 1) + ",";
  EXPECT_FALSE(parseRangeHeader(many));
  EXPECT_TRUE(parseRangeHeader("bytes=18446744073709551615-18446744073709551615"));
}

TEST(RangeHeaderTest, ResolvesAgainstTheSize) {
  using R = content::ByteRange;
  EXPECT_EQ(resolve("bytes=0-99", 1000), (std::vector<R>{{0, 100}}));
  EXPECT_EQ(resolve("bytes=-500", 1000), (std::vector<R>{{500, 1000}}));
  EXPECT_EQ(resolve("bytes=-5000", 1000), (std::vector<R>{{0, 1000}}));  // longer suffix: all
  EXPECT_EQ(resolve("bytes=100-", 1000), (std::vector<R>{{100, 1000}}));
  EXPECT_EQ(resolve("bytes=990-5000", 1000), (std::vector<R>{{990, 1000}}));  // clipped
  EXPECT_EQ(resolve("bytes=999-999", 1000), (std::vector<R>{{999, 1000}}));
  EXPECT_EQ(resolve("bytes=0-18446744073709551615", 10), (std::vector<R>{{0, 10}}));
  // Request order is kept when nothing overlaps.
  EXPECT_EQ(resolve("bytes=500-599,0-9", 1000), (std::vector<R>{{500, 600}, {0, 10}}));
  // Overlapping or touching ranges are merged (and sorted).
  EXPECT_EQ(resolve("bytes=50-60,0-10,5-20", 1000), (std::vector<R>{{0, 21}, {50, 61}}));
  EXPECT_EQ(resolve("bytes=10-19,0-9", 1000), (std::vector<R>{{0, 20}}));
  EXPECT_EQ(resolve("bytes=0-,-10", 1000), (std::vector<R>{{0, 1000}}));
  // Unsatisfiable specs are dropped; none left is 416.
  EXPECT_EQ(resolve("bytes=2000-3000,0-0", 1000), (std::vector<R>{{0, 1}}));
  EXPECT_TRUE(resolve("bytes=1000-", 1000).empty());
  EXPECT_TRUE(resolve("bytes=-0", 1000).empty());
  EXPECT_TRUE(resolve("bytes=0-0", 0).empty());
  EXPECT_TRUE(resolve("bytes=-10", 0).empty());
  auto specs = parseRangeHeader("bytes=5000-");
  EXPECT_EQ(resolveRanges(*specs, 1000).outcome, RangeOutcome::kUnsatisfiable);
}

TEST(RangeHeaderTest, ContentRangeAndEncodedRanges) {
  EXPECT_EQ(contentRange({100, 200}, 1000), "bytes 100-199/1000");
  EXPECT_EQ(formatEncodedRanges(content::ByteRanges::all()), "bytes=0-");
  content::ByteRanges ranges;
  ASSERT_TRUE(ranges.add(4096, 8192));
  ASSERT_TRUE(ranges.add(100, 200));
  EXPECT_EQ(formatEncodedRanges(ranges), "bytes=100-199,4096-8191");
  auto parsed = parseEncodedRanges("bytes=100-199,4096-8191");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, ranges);
  auto all = parseEncodedRanges("bytes=0-");
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, content::ByteRanges::all());
  EXPECT_FALSE(parseEncodedRanges("bytes=-10"));
  EXPECT_FALSE(parseEncodedRanges("bytes=0-18446744073709551615"));
  (void)kMax;
}

TEST(ConditionalTest, IfNoneMatch) {
  const std::string etag = "\"abc\"";
  EXPECT_TRUE(ifNoneMatchMatches("\"abc\"", etag));
  EXPECT_TRUE(ifNoneMatchMatches("W/\"abc\"", etag));
  EXPECT_TRUE(ifNoneMatchMatches("\"x\", \"abc\"", etag));
  EXPECT_TRUE(ifNoneMatchMatches(" * ", etag));
  EXPECT_FALSE(ifNoneMatchMatches("\"abd\"", etag));
  EXPECT_FALSE(ifNoneMatchMatches("abc", etag));
  EXPECT_FALSE(ifNoneMatchMatches("\"abc", etag));
  EXPECT_FALSE(ifNoneMatchMatches("", etag));
}

TEST(ConditionalTest, IfRangeNeedsTheStrongTag) {
  EXPECT_TRUE(ifRangeMatches("\"abc\"", "\"abc\""));
  EXPECT_FALSE(ifRangeMatches("W/\"abc\"", "\"abc\""));
  EXPECT_FALSE(ifRangeMatches("Wed, 21 Oct 2015 07:28:00 GMT", "\"abc\""));
}

}  // namespace
}  // namespace thunder::gateway
