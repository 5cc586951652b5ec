#include "handshake/content_request.h"

#include <gtest/gtest.h>

namespace thunder::handshake {
namespace {

BlobId idOf(uint8_t b) {
  BlobId id;
  for (auto& x : id.mutableBytes()) x = b;
  return id;
}

TEST(ContentRequestTest, RoundTripsWholeBlobAndRanges) {
  ContentRequest whole{idOf(0x11), {}};
  auto bytes = encodeContentRequest(whole);
  EXPECT_EQ(bytes.size(), 36u);
  auto parsed = parseContentRequest(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, whole);

  ContentRequest ranged{idOf(0x22), {{100, 200}, {0, 10}, {5, 5}}};
  bytes = encodeContentRequest(ranged);
  EXPECT_EQ(bytes.size(), 36u + 3 * 16);
  parsed = parseContentRequest(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, ranged);
}

TEST(ContentRequestTest, EncodingIsLittleEndian) {
  auto bytes = encodeContentRequest({idOf(0xAB), {{1, 0x0102}}});
  ASSERT_EQ(bytes.size(), 52u);
  EXPECT_EQ(bytes[0], 0xAB);
  EXPECT_EQ(bytes[32], 1);  // count
  EXPECT_EQ(bytes[33], 0);
  EXPECT_EQ(bytes[36], 1);  // start
  EXPECT_EQ(bytes[44], 0x02);
  EXPECT_EQ(bytes[45], 0x01);
}

TEST(ContentRequestTest, RejectsBadRequests) {
  auto good = encodeContentRequest({idOf(1), {{0, 10}}});
  // Truncated, trailing byte, short header.
  for (size_t n : {size_t{0}, size_t{35}, size_t{36}, good.size() - 1}) {
    auto r = parseContentRequest(std::span(good).first(n));
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
    EXPECT_TRUE(r.error().message.starts_with("bad_request: ")) << r.error().message;
  }
  auto longer = good;
  longer.push_back(0);
  EXPECT_FALSE(parseContentRequest(longer));

  // Inverted range.
  auto inverted = good;
  inverted[36] = 11;  // start 11 > end 10
  auto r = parseContentRequest(inverted);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("range 0"), std::string::npos) << r.error().message;

  // Only empty ranges.
  auto empty = encodeContentRequest({idOf(1), {{0, 10}}});
  empty[44] = 0;  // end 0 == start 0
  EXPECT_FALSE(parseContentRequest(empty));

  // Count above the limit (and a matching length would be huge; the count alone is refused).
  auto many = good;
  many[32] = 0x01;
  many[33] = 0x04;  // 1025
  r = parseContentRequest(many);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("1025"), std::string::npos) << r.error().message;
}

TEST(ContentRequestTest, CommitmentSpansRequestedRanges) {
  auto c = contentCommitment({idOf(3), {{100, 200}, {10, 20}}}, 0);
  EXPECT_EQ(c.kind, CommitmentKind::kContentRange);
  EXPECT_EQ(c.hash, Hash32(idOf(3).bytes()));
  EXPECT_EQ(c.range_start, 10u);
  EXPECT_EQ(c.range_end, 200u);
  auto whole = contentCommitment({idOf(3), {}}, 12345);
  EXPECT_EQ(whole.range_start, 0u);
  EXPECT_EQ(whole.range_end, 12345u);
}

}  // namespace
}  // namespace thunder::handshake
