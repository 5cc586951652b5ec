#include "crypto/signing.h"

#include <sodium.h>

#include "base/check.h"
#include "crypto/random.h"

namespace thunder::crypto {

static_assert(crypto_sign_SEEDBYTES == SigningKey::kSeedSize);
static_assert(crypto_sign_SECRETKEYBYTES == 64);
static_assert(crypto_sign_PUBLICKEYBYTES == PublicKey::kSize);
static_assert(crypto_sign_BYTES == Signature::kSize);

SigningKey SigningKey::generate() {
  SecretBytes<struct SeedTag, 32> seed;
  randomBytes(seed.mutableBytes());
  return fromSeed(seed.bytes());
}

SigningKey SigningKey::fromSeed(std::span<const uint8_t, 32> seed) {
  ensureSodiumInitialized();
  SigningKey key;
  PublicKey public_key;
  const int rc = crypto_sign_seed_keypair(public_key.data(), key.secret_.data(), seed.data());
  THUNDER_CHECK(rc == 0, "crypto_sign_seed_keypair cannot fail");
  return key;
}

PublicKey SigningKey::publicKey() const {
  return PublicKey(secret_.bytes().subspan<kSeedSize, PublicKey::kSize>());
}

Signature SigningKey::sign(std::span<const uint8_t> message) const {
  Signature sig;
  const int rc =
      crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  THUNDER_CHECK(rc == 0, "crypto_sign_detached cannot fail");
  return sig;
}

std::span<const uint8_t, 32> SigningKey::seed() const {
  return secret_.bytes().subspan<0, kSeedSize>();
}

bool verifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig) {
  ensureSodiumInitialized();
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), key.data()) == 0;
}

}  // namespace thunder::crypto
