#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

#include "base/hex.h"

namespace thunder::crypto {
namespace {

std::vector<uint8_t> asBytes(std::string_view text) {
  return {text.begin(), text.end()};
}

TEST(Aead, SealOpenRoundTrip) {
  const AeadKey key = randomAeadKey();
  const AeadNonce nonce = randomAeadNonce();
  const std::vector<uint8_t> plaintext = asBytes("lane 3 token refresh");
  const std::vector<uint8_t> ad = asBytes("frame header");
  auto sealed = aeadSeal(key, nonce, plaintext, ad);
  ASSERT_TRUE(sealed) << sealed.error().message;
  EXPECT_EQ(sealed->size(), plaintext.size() + kAeadTagSize);
  EXPECT_NE(std::vector<uint8_t>(sealed->begin(), sealed->begin() + plaintext.size()), plaintext);
  auto opened = aeadOpen(key, nonce, *sealed, ad);
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(*opened, plaintext);
}

TEST(Aead, EmptyPlaintextAndAssociatedData) {
  const AeadKey key = randomAeadKey();
  const AeadNonce nonce = randomAeadNonce();
  auto sealed = aeadSeal(key, nonce, {}, {});
  ASSERT_TRUE(sealed);
  EXPECT_EQ(sealed->size(), kAeadTagSize);
  auto opened = aeadOpen(key, nonce, *sealed, {});
  ASSERT_TRUE(opened);
  EXPECT_TRUE(opened->empty());
}

// libsodium's XChaCha20-Poly1305-IETF test vector (draft-irtf-cfrg-xchacha-03, A.3.1).
TEST(Aead, KnownAnswer) {
  const auto key_bytes =
      fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f").value();
  const AeadKey key(std::span<const uint8_t, 32>(key_bytes.data(), 32));
  const AeadNonce nonce =
      AeadNonce::fromHex("404142434445464748494a4b4c4d4e4f5051525354555657").value();
  const auto ad = fromHex("50515253c0c1c2c3c4c5c6c7").value();
  const std::vector<uint8_t> plaintext = asBytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.");
  auto sealed = aeadSeal(key, nonce, plaintext, ad);
  ASSERT_TRUE(sealed);
  EXPECT_EQ(toHex(*sealed),
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a8"
            "2f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369"
            "488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e"
            "c0875924c1c7987947deafd8780acf49");
}

TEST(Aead, TamperingIsCorruption) {
  const AeadKey key = randomAeadKey();
  const AeadNonce nonce = randomAeadNonce();
  const std::vector<uint8_t> plaintext = asBytes("sixteen or more bytes of text");
  const std::vector<uint8_t> ad = asBytes("ad");
  const std::vector<uint8_t> sealed = aeadSeal(key, nonce, plaintext, ad).value();

  for (size_t i = 0; i < sealed.size(); ++i) {  // every ciphertext and tag byte
    std::vector<uint8_t> bad = sealed;
    bad[i] ^= 0x01;
    auto opened = aeadOpen(key, nonce, bad, ad);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::kCorruption);
  }
  auto truncated = aeadOpen(key, nonce, std::span(sealed).first(sealed.size() - 1), ad);
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kCorruption);
  auto too_short = aeadOpen(key, nonce, std::span(sealed).first(kAeadTagSize - 1), ad);
  ASSERT_FALSE(too_short);
  EXPECT_EQ(too_short.error().code, ErrorCode::kCorruption);
}

TEST(Aead, WrongAssociatedDataKeyOrNonceFails) {
  const AeadKey key = randomAeadKey();
  const AeadNonce nonce = randomAeadNonce();
  const std::vector<uint8_t> plaintext = asBytes("payload");
  const std::vector<uint8_t> sealed = aeadSeal(key, nonce, plaintext, asBytes("lane 1")).value();

  auto wrong_ad = aeadOpen(key, nonce, sealed, asBytes("lane 2"));
  ASSERT_FALSE(wrong_ad);
  EXPECT_EQ(wrong_ad.error().code, ErrorCode::kCorruption);
  EXPECT_FALSE(aeadOpen(key, nonce, sealed, {}));
  EXPECT_FALSE(aeadOpen(randomAeadKey(), nonce, sealed, asBytes("lane 1")));
  EXPECT_FALSE(aeadOpen(key, randomAeadNonce(), sealed, asBytes("lane 1")));
  EXPECT_TRUE(aeadOpen(key, nonce, sealed, asBytes("lane 1")));
}

}  // namespace
}  // namespace thunder::crypto
