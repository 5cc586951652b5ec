#include "crypto/x25519.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/hex.h"
#include "crypto/signing.h"

namespace thunder::crypto {
namespace {

bool equalBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::ranges::equal(a, b);
}

X25519SecretKey secretFromHex(std::string_view hex) {
  const auto bytes = fromHex(hex).value();
  return X25519SecretKey(std::span<const uint8_t, 32>(bytes.data(), 32));
}

TEST(X25519, BothSidesAgree) {
  const X25519KeyPair alice = X25519KeyPair::generate();
  const X25519KeyPair bob = X25519KeyPair::generate();
  EXPECT_EQ(x25519PublicKey(alice.secret_key), alice.public_key);
  auto alice_shared = x25519SharedSecret(alice.secret_key, bob.public_key);
  auto bob_shared = x25519SharedSecret(bob.secret_key, alice.public_key);
  ASSERT_TRUE(alice_shared && bob_shared);
  EXPECT_TRUE(equalBytes(alice_shared->bytes(), bob_shared->bytes()));

  const X25519KeyPair eve = X25519KeyPair::generate();
  auto eve_shared = x25519SharedSecret(eve.secret_key, bob.public_key);
  ASSERT_TRUE(eve_shared);
  EXPECT_FALSE(equalBytes(eve_shared->bytes(), bob_shared->bytes()));
}

// RFC 7748 section 6.1.
TEST(X25519, Rfc7748DiffieHellmanVector) {
  const X25519SecretKey alice =
      secretFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const X25519SecretKey bob =
      secretFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  EXPECT_EQ(x25519PublicKey(alice).hex(),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(x25519PublicKey(bob).hex(),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto shared = x25519SharedSecret(alice, x25519PublicKey(bob));
  ASSERT_TRUE(shared);
  EXPECT_EQ(toHex(shared->bytes()),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

TEST(X25519, LowOrderPeerKeyIsInvalidArgument) {
  const X25519KeyPair mine = X25519KeyPair::generate();
  auto zero = x25519SharedSecret(mine.secret_key, X25519PublicKey{});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  // The point of order 1 (u = 1).
  X25519PublicKey one;
  one.mutableBytes()[0] = 1;
  auto order_one = x25519SharedSecret(mine.secret_key, one);
  ASSERT_FALSE(order_one);
  EXPECT_EQ(order_one.error().code, ErrorCode::kInvalidArgument);
}

TEST(X25519, Ed25519KeysConvertConsistently) {
  const SigningKey alice = SigningKey::generate();
  const SigningKey bob = SigningKey::generate();
  const X25519SecretKey alice_secret = toX25519SecretKey(alice);
  auto alice_public = toX25519PublicKey(alice.publicKey());
  ASSERT_TRUE(alice_public);
  EXPECT_EQ(x25519PublicKey(alice_secret), *alice_public);

  auto bob_public = toX25519PublicKey(bob.publicKey());
  ASSERT_TRUE(bob_public);
  auto ab = x25519SharedSecret(alice_secret, *bob_public);
  auto ba = x25519SharedSecret(toX25519SecretKey(bob), *alice_public);
  ASSERT_TRUE(ab && ba);
  EXPECT_TRUE(equalBytes(ab->bytes(), ba->bytes()));
}

TEST(X25519, InvalidEd25519PublicKeyIsRejected) {
  // y = 2 is not on the curve (no x satisfies the curve equation).
  PublicKey not_a_point;
  not_a_point.mutableBytes()[0] = 2;
  auto converted = toX25519PublicKey(not_a_point);
  ASSERT_FALSE(converted);
  EXPECT_EQ(converted.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(converted.error().message.find(not_a_point.hex()), std::string::npos);
}

}  // namespace
}  // namespace thunder::crypto
