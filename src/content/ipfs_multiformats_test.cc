#include "content/ipfs_multiformats.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

#include "base/hex.h"
#include "crypto/blake3.h"

namespace thunder::content::ipfs {
namespace {

std::vector<uint8_t> bytesOf(std::string_view s) {
  return {s.begin(), s.end()};
}

// a + b (GCC 12 at -O3 warns falsely on `"literal" + std::string`: -Wrestrict).
std::string concat(std::string_view a, std::string_view b) {
  std::string out(a);
  out.append(b);
  return out;
}

std::vector<uint8_t> unhex(std::string_view hex) {
  auto bytes = fromHex(hex);
  EXPECT_TRUE(bytes);
  return *bytes;
}

// Reference values computed independently (Python hashlib/base64, and the CIDs every IPFS
// implementation prints for these blocks).
constexpr std::string_view kHelloRawCid =  // raw, sha2-256 of "hello world\n"
    "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr std::string_view kEmptyRawCid =
    "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
constexpr std::string_view kEmptyDagPbV0 = "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n";
constexpr std::string_view kEmptyDagPbV1 =
    "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

TEST(IpfsVarintTest, RoundTripsAndSizes) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300},
                     uint64_t{0x129}, uint64_t{1} << 32, (uint64_t{1} << 63) - 1}) {
    std::vector<uint8_t> out;
    appendVarint(out, v);
    EXPECT_EQ(out.size(), varintSize(v));
    size_t pos = 0;
    auto back = readVarint(out, pos, "test");
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, v);
    EXPECT_EQ(pos, out.size());
  }
  std::vector<uint8_t> out;
  appendVarint(out, 300);
  EXPECT_EQ(out, std::vector<uint8_t>({0xac, 0x02}));
}

TEST(IpfsVarintTest, RefusesNonMinimalLongAndTruncated) {
  const auto refuse = [](std::vector<uint8_t> bytes, std::string_view needle) {
    size_t pos = 0;
    auto r = readVarint(bytes, pos, "the widget");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("the widget"), std::string::npos);
  };
  refuse({0x80, 0x00}, "non-minimal");
  refuse({0x81, 0x80, 0x00}, "non-minimal");
  refuse({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "9 bytes");
  refuse({0x80}, "truncated");
  refuse({}, "truncated");
}

TEST(IpfsMultihashTest, ComputeKnownDigests) {
  auto sha = Multihash::compute(kSha2_256, bytesOf("hello world\n"));
  ASSERT_TRUE(sha);
  EXPECT_EQ(toHex(sha->digest), "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
  EXPECT_EQ(sha->bytes().size(), 34u);
  EXPECT_EQ(sha->bytes()[0], 0x12);
  EXPECT_EQ(sha->bytes()[1], 0x20);

  auto b3 = Multihash::compute(kBlake3, {});
  ASSERT_TRUE(b3);
  EXPECT_EQ(toHex(b3->digest), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");

  auto id = Multihash::compute(kIdentity, bytesOf("abc"));
  ASSERT_TRUE(id);
  EXPECT_EQ(id->bytes(), std::vector<uint8_t>({0x00, 0x03, 'a', 'b', 'c'}));
  EXPECT_FALSE(Multihash::compute(kIdentity, std::vector<uint8_t>(129, 0)));

  auto unknown = Multihash::compute(0x1b, {});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, kUnsupported);
  EXPECT_NE(unknown.error().message.find("0x1b"), std::string::npos);
}

TEST(IpfsMultihashTest, VerifyDetectsMismatchAndHandlesTruncation) {
  const auto data = bytesOf("some block bytes");
  for (uint64_t code : {kSha2_256, kSha2_512, kBlake3, kIdentity}) {
    auto mh = Multihash::compute(code, data);
    ASSERT_TRUE(mh);
    EXPECT_TRUE(mh->verify(data)) << code;
    auto other = data;
    other[0] ^= 1;
    auto bad = mh->verify(other);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
    EXPECT_NE(bad.error().message.find("block hash mismatch"), std::string::npos);
  }
  // Truncated sha2-256 (as go-multihash allows) verifies as a prefix; too short is refused.
  auto sha = *Multihash::compute(kSha2_256, data);
  sha.digest.resize(20);
  EXPECT_TRUE(sha.verify(data));
  sha.digest.resize(19);
  auto short_digest = sha.verify(data);
  ASSERT_FALSE(short_digest);
  EXPECT_EQ(short_digest.error().code, ErrorCode::kInvalidArgument);
  // blake3 with a 64-byte digest: the XOF output.
  Multihash long_b3{kBlake3, std::vector<uint8_t>(64)};
  crypto::Blake3Hasher hasher;
  hasher.update(data);
  hasher.finalizeXof(0, long_b3.digest);
  EXPECT_TRUE(long_b3.verify(data));
  long_b3.digest[63] ^= 1;
  EXPECT_EQ(long_b3.verify(data).error().code, ErrorCode::kCorruption);
  // Unknown function.
  auto unknown = Multihash{0xb220, std::vector<uint8_t>(32)}.verify(data);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, kUnsupported);
  EXPECT_NE(unknown.error().message.find("0xb220"), std::string::npos);
}

TEST(IpfsMultihashTest, ParseBoundsTheDigest) {
  std::vector<uint8_t> in = {0x12, 0x20, 1, 2, 3};  // claims 32 bytes, has 3
  size_t pos = 0;
  auto r = Multihash::parse(in, pos);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos);
  // A huge length varint is refused without allocating.
  std::vector<uint8_t> huge = {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  pos = 0;
  r = Multihash::parse(huge, pos);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  std::vector<uint8_t> too_long = {0x00, 0x81, 0x01};  // identity, 129 bytes
  too_long.resize(3 + 129);
  pos = 0;
  EXPECT_FALSE(Multihash::parse(too_long, pos));
}

TEST(IpfsMultibaseTest, KnownVectors) {
  // RFC 4648 test vectors (lower case, no padding).
  const std::pair<std::string_view, std::string_view> rfc[] = {{"", ""},
                                                               {"f", "my"},
                                                               {"fo", "mzxq"},
                                                               {"foo", "mzxw6"},
                                                               {"foob", "mzxw6yq"},
                                                               {"fooba", "mzxw6ytb"},
                                                               {"foobar", "mzxw6ytboi"}};
  for (const auto& [plain, encoded] : rfc) {
    EXPECT_EQ(multibaseEncode(Multibase::kBase32, bytesOf(plain)), concat("b", encoded));
    auto back = multibaseDecode(concat("b", encoded));
    ASSERT_TRUE(back) << encoded;
    EXPECT_EQ(*back, bytesOf(plain));
  }
  EXPECT_EQ(multibaseEncode(Multibase::kBase32Upper, bytesOf("foobar")), "BMZXW6YTBOI");
  EXPECT_EQ(multibaseEncode(Multibase::kBase58Btc, bytesOf(std::string("\0\0hello world", 13))),
            "z11StV1DL6CwTryKyV");
  EXPECT_EQ(*multibaseDecode("z11StV1DL6CwTryKyV"), bytesOf(std::string("\0\0hello world", 13)));
  EXPECT_EQ(multibaseEncode(Multibase::kBase36, std::vector<uint8_t>{0, 1, 2}), "k076");
  EXPECT_EQ(*multibaseDecode("k076"), std::vector<uint8_t>({0, 1, 2}));
  EXPECT_EQ(*multibaseDecode("K076"), std::vector<uint8_t>({0, 1, 2}));
  EXPECT_EQ(multibaseEncode(Multibase::kBase16, std::vector<uint8_t>{0xab, 0x01}), "fab01");
  EXPECT_EQ(*multibaseDecode("FAB01"), std::vector<uint8_t>({0xab, 0x01}));
}

TEST(IpfsMultibaseTest, RefusesMalformedText) {
  const auto refuse = [](std::string_view text, ErrorCode code) {
    auto r = multibaseDecode(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, code) << text << ": " << r.error().message;
  };
  refuse("", ErrorCode::kInvalidArgument);
  refuse("bMZXW6", ErrorCode::kInvalidArgument);     // upper case under 'b'
  refuse("bmzxw6===", ErrorCode::kInvalidArgument);  // padding
  refuse("bm", ErrorCode::kInvalidArgument);         // impossible length
  refuse("bmz", ErrorCode::kInvalidArgument);        // non-zero trailing bits
  refuse("z0OIl", ErrorCode::kInvalidArgument);      // not in the base58 alphabet
  refuse("fABCD", ErrorCode::kInvalidArgument);      // upper case under 'f'
  refuse("fabc", ErrorCode::kInvalidArgument);       // odd length
  refuse("k!", ErrorCode::kInvalidArgument);
  refuse("mZm9v", kUnsupported);  // base64: not supported
  refuse(std::string("\x01", 1), ErrorCode::kInvalidArgument);
  refuse(concat("z", std::string(5000, '2')),
         ErrorCode::kInvalidArgument);  // quadratic base: bounded
}

TEST(IpfsCidTest, ParsesKnownCidsInEveryBase) {
  auto v0 = Cid::parse(kEmptyDagPbV0);
  ASSERT_TRUE(v0) << v0.error().message;
  EXPECT_EQ(v0->version(), 0u);
  EXPECT_EQ(v0->codec(), kDagPb);
  EXPECT_EQ(v0->toString(), kEmptyDagPbV0);
  EXPECT_EQ(v0->bytes().size(), 34u);
  EXPECT_TRUE(v0->hash().verify({}));
  EXPECT_EQ(v0->toV1().toString(), kEmptyDagPbV1);

  auto raw = Cid::parse(kHelloRawCid);
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->version(), 1u);
  EXPECT_EQ(raw->codec(), kRaw);
  EXPECT_TRUE(raw->hash().verify(bytesOf("hello world\n")));
  EXPECT_EQ(*raw, Cid::sha256Of(kRaw, bytesOf("hello world\n")));
  EXPECT_EQ(raw->toString(), kHelloRawCid);
  // The same CID in the other bases (reference strings from Python).
  const std::string_view forms[] = {
      "BAFKREIFJJCIE6LYPI6NY7AMXNFFTAGCLBUXNDQONFIPMB64F2KM2DEVEI4",
      "zb2rhi36Gc9GJWijLEL6zW45MBux5FcFv5gJmjXA7VAMozEXY",
      "f01551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447",
      "k2cwuecvan95uqzq14dj3a18wx6av6tgr73nxvopxn3j5kvyr0apys7b"};
  for (auto text : forms) {
    auto parsed = Cid::parse(text);
    ASSERT_TRUE(parsed) << text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, *raw) << text;
  }
  EXPECT_EQ(raw->toString(Multibase::kBase32Upper), forms[0]);
  EXPECT_EQ(raw->toString(Multibase::kBase58Btc), forms[1]);
  EXPECT_EQ(raw->toString(Multibase::kBase16), forms[2]);
  EXPECT_EQ(raw->toString(Multibase::kBase36), forms[3]);
  EXPECT_EQ(Cid::sha256Of(kRaw, {}).toString(), kEmptyRawCid);
}

TEST(IpfsCidTest, BlobCidIsBlake3Raw) {
  const BlobId empty = crypto::blake3({});
  const Cid cid = Cid::forBlob(empty);
  EXPECT_EQ(cid.toString(), "bafkr4ifpcne3t5pzugtkaqcn5i3nzskjtpfslsnnyejlpte2spfoihzsmi");
  EXPECT_EQ(cid.blobId(), empty);
  EXPECT_TRUE(cid.hash().verify({}));
  EXPECT_EQ(Cid::sha256Of(kRaw, {}).blobId(), std::nullopt);
  auto back = Cid::parse(cid.toString());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, cid);
}

TEST(IpfsCidTest, RefusesBadCids) {
  const auto refuse = [](std::string_view text) {
    auto r = Cid::parse(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << r.error().message;
    EXPECT_NE(r.error().message.find("CID"), std::string::npos) << r.error().message;
  };
  refuse("");
  refuse("Qm");
  refuse("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1");    // 45 chars: not v0, not multibase
  refuse("QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR10");   // '0' not base58
  refuse(concat(kHelloRawCid, "a"));                          // trailing garbage
  refuse(std::string(kHelloRawCid.substr(0, 20)));            // truncated
  refuse("zQmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");  // v0 inside multibase
  refuse(std::string(5000, 'b'));
  // CIDv2 in base16: 02 55 12 20 …
  auto v2 = Cid::parse(concat("f02551220", std::string(64, '0')));
  ASSERT_FALSE(v2);
  EXPECT_EQ(v2.error().code, kUnsupported);
  EXPECT_NE(v2.error().message.find("version 2"), std::string::npos);
  // Binary v0 with the wrong length.
  std::vector<uint8_t> bad_v0 = {0x12, 0x14};
  bad_v0.resize(2 + 20);
  EXPECT_FALSE(Cid::fromBytes(bad_v0));
  // Explicit version 0 prefix.
  EXPECT_FALSE(Cid::fromBytes(std::vector<uint8_t>{0x00, 0x70, 0x12, 0x00}));
}

TEST(IpfsCidTest, BinaryRoundTripAndOrdering) {
  const Cid a = Cid::sha256Of(kRaw, bytesOf("a"));
  const Cid b = Cid::sha256Of(kDagPb, bytesOf("a"));
  const Cid v0 = *Cid::parse(kEmptyDagPbV0);
  for (const Cid& c : {a, b, v0}) {
    auto back = Cid::fromBytes(c.bytes());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
  EXPECT_NE(a, b);
  EXPECT_NE(v0, v0.toV1());  // same content, different CIDs
  EXPECT_TRUE(a < b || b < a);
  std::unordered_set<Cid, CidHash> set = {a, b, v0, a};
  EXPECT_EQ(set.size(), 3u);
  // fromBytes with a position leaves the rest.
  auto two = a.bytes();
  const auto more = b.bytes();
  two.insert(two.end(), more.begin(), more.end());
  size_t pos = 0;
  EXPECT_EQ(*Cid::fromBytes(two, pos), a);
  EXPECT_EQ(*Cid::fromBytes(two, pos), b);
  EXPECT_EQ(pos, two.size());
  EXPECT_EQ(Cid::fromBytes(unhex(concat("01711220", std::string(64, 'a'))))->codec(), kDagCbor);
}

}  // namespace
}  // namespace thunder::content::ipfs
