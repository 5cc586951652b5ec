#include "crypto/signing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <vector>

#include "base/hex.h"
#include "crypto/random.h"

namespace thunder::crypto {
namespace {

std::vector<uint8_t> asBytes(std::string_view text) {
  return {text.begin(), text.end()};
}

std::vector<uint8_t> hexBytes(std::string_view hex) {
  return fromHex(hex).value();
}

SigningKey keyFromHexSeed(std::string_view hex) {
  const std::vector<uint8_t> seed = hexBytes(hex);
  return SigningKey::fromSeed(std::span<const uint8_t, 32>(seed.data(), 32));
}

TEST(Signing, Rfc8032TestVector1) {
  const SigningKey key =
      keyFromHexSeed("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  EXPECT_EQ(key.publicKey().hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  EXPECT_EQ(toHex(key.seed()), "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const Signature sig = key.sign({});
  EXPECT_EQ(
      sig.hex(),
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
      "1cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(verifySignature(key.publicKey(), {}, sig));
}

TEST(Signing, Rfc8032TestVector2) {
  const SigningKey key =
      keyFromHexSeed("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  EXPECT_EQ(key.publicKey().hex(),
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  const std::vector<uint8_t> message = {0x72};
  EXPECT_EQ(
      key.sign(message).hex(),
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
      "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

TEST(Signing, SignVerifyRoundTrip) {
  const SigningKey key = SigningKey::generate();
  const std::vector<uint8_t> message = asBytes("deliver 1048576 bytes of blob af1349b9");
  const Signature sig = key.sign(message);
  EXPECT_TRUE(verifySignature(key.publicKey(), message, sig));
}

TEST(Signing, TamperedMessageSignatureOrKeyIsRejected) {
  const SigningKey key = SigningKey::generate();
  const std::vector<uint8_t> message = asBytes("cumulative amount 4096");
  const Signature sig = key.sign(message);

  std::vector<uint8_t> other_message = message;
  other_message.back() ^= 1;
  EXPECT_FALSE(verifySignature(key.publicKey(), other_message, sig));
  EXPECT_FALSE(verifySignature(key.publicKey(), std::span(message).first(message.size() - 1), sig));

  for (const size_t byte : {0u, 31u, 32u, 63u}) {
    Signature bad_sig = sig;
    bad_sig.mutableBytes()[byte] ^= 0x40;
    EXPECT_FALSE(verifySignature(key.publicKey(), message, bad_sig)) << "byte " << byte;
  }

  const SigningKey other_key = SigningKey::generate();
  EXPECT_FALSE(verifySignature(other_key.publicKey(), message, sig));
  PublicKey bad_key = key.publicKey();
  bad_key.mutableBytes()[5] ^= 1;
  EXPECT_FALSE(verifySignature(bad_key, message, sig));
  EXPECT_FALSE(verifySignature(PublicKey{}, message, sig));  // all-zero (small-order) key
  EXPECT_FALSE(verifySignature(key.publicKey(), message, Signature{}));
}

TEST(Signing, FromSeedIsDeterministic) {
  std::array<uint8_t, 32> seed;
  randomBytes(seed);
  const SigningKey a = SigningKey::fromSeed(seed);
  const SigningKey b = SigningKey::fromSeed(seed);
  EXPECT_EQ(a.publicKey(), b.publicKey());
  EXPECT_TRUE(std::ranges::equal(a.seed(), seed));
  const std::vector<uint8_t> message = asBytes("same seed, same signature");
  EXPECT_EQ(a.sign(message), b.sign(message));
}

TEST(Signing, GeneratedKeysDiffer) {
  EXPECT_NE(SigningKey::generate().publicKey(), SigningKey::generate().publicKey());
}

TEST(Signing, MoveKeepsTheKeyAndWipesTheSource) {
  SigningKey a = SigningKey::generate();
  const PublicKey public_key = a.publicKey();
  SigningKey b = std::move(a);
  EXPECT_EQ(b.publicKey(), public_key);
  // The moved-from key holds zeros (NOLINT: deliberate use after move).
  EXPECT_TRUE(std::ranges::all_of(a.seed(), [](uint8_t v) { return v == 0; }));
}

TEST(Random, FillsAndDiffers) {
  std::array<uint8_t, 64> a{};
  std::array<uint8_t, 64> b{};
  randomBytes(a);
  randomBytes(b);
  EXPECT_NE(a, b);
  EXPECT_NE(a, (std::array<uint8_t, 64>{}));
  randomBytes({});  // an empty span is fine
}

}  // namespace
}  // namespace thunder::crypto
