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

TEST(ContentRequestTest, CidFormRoundTripsAndIsChecked) {
  ContentRequest by_cid{
      BlobId{}, {{0, 100}}, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"};
  auto bytes = encodeContentRequest(by_cid);
  ASSERT_EQ(bytes.size(), 36u + 16 + 2 + by_cid.cid.size());
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[52], by_cid.cid.size());  // cid_length, little-endian
  EXPECT_EQ(bytes[53], 0);
  EXPECT_EQ(bytes[54], 'b');
  auto parsed = parseContentRequest(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, by_cid);
  ContentRequest whole{BlobId{}, {}, "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"};
  parsed = parseContentRequest(encodeContentRequest(whole));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, whole);

  auto expectBad = [](std::vector<uint8_t> b, std::string_view needle) {
    auto r = parseContentRequest(b);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
    EXPECT_TRUE(r.error().message.starts_with("bad_request: ")) << r.error().message;
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  };
  // A zero blob id without a CID (the old form's length), a truncated CID, a trailing byte, an
  // empty CID, a CID that is not text.
  expectBad(std::vector<uint8_t>(36, 0), "at least 38");
  auto truncated = encodeContentRequest(whole);
  truncated.pop_back();
  expectBad(truncated, "a 46-byte CID has 84");
  auto trailing = encodeContentRequest(whole);
  trailing.push_back('x');
  expectBad(trailing, "a 46-byte CID");
  std::vector<uint8_t> empty_cid(36 + 2, 0);
  expectBad(empty_cid, "a CID of 0 bytes");
  auto binary = encodeContentRequest(whole);
  binary.back() = 0x01;
  expectBad(binary, "printable ASCII");
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
