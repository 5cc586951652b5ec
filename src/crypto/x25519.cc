#include "crypto/x25519.h"

#include <sodium.h>

#include "base/check.h"
#include "crypto/random.h"

namespace thunder::crypto {

static_assert(crypto_scalarmult_BYTES == X25519PublicKey::kSize);
static_assert(crypto_scalarmult_SCALARBYTES == X25519SecretKey::kSize);

X25519KeyPair X25519KeyPair::generate() {
  X25519KeyPair pair;
  randomBytes(pair.secret_key.mutableBytes());
  pair.public_key = x25519PublicKey(pair.secret_key);
  return pair;
}

X25519PublicKey x25519PublicKey(const X25519SecretKey& secret_key) {
  ensureSodiumInitialized();
  X25519PublicKey public_key;
  // crypto_scalarmult_base fails only when the result is all zeros, impossible for the base point
  // with a clamped scalar.
  const int rc = crypto_scalarmult_base(public_key.data(), secret_key.data());
  THUNDER_CHECK(rc == 0, "crypto_scalarmult_base failed");
  return public_key;
}

Result<X25519SharedSecret> x25519SharedSecret(const X25519SecretKey& secret_key,
                                              const X25519PublicKey& peer_public_key) {
  ensureSodiumInitialized();
  X25519SharedSecret shared;
  // libsodium returns -1 when the result is all zeros (a low-order peer point).
  if (crypto_scalarmult(shared.data(), secret_key.data(), peer_public_key.data()) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "X25519 with peer public key {} gives an all-zero shared secret (low-order point)",
                peer_public_key.hex());
  }
  return shared;
}

Result<X25519PublicKey> toX25519PublicKey(const PublicKey& key) {
  ensureSodiumInitialized();
  X25519PublicKey out;
  if (crypto_sign_ed25519_pk_to_curve25519(out.data(), key.data()) != 0) {
    return fail(ErrorCode::kInvalidArgument,
                "{} is not a valid Ed25519 public key (cannot convert it to X25519)", key.hex());
  }
  return out;
}

X25519SecretKey toX25519SecretKey(const SigningKey& key) {
  ensureSodiumInitialized();
  // libsodium takes its 64-byte Ed25519 secret key layout: seed || public key.
  SecretBytes<struct Ed25519SecretKeyTag, 64> ed25519_secret;
  const PublicKey public_key = key.publicKey();
  std::memcpy(ed25519_secret.data(), key.seed().data(), SigningKey::kSeedSize);
  std::memcpy(ed25519_secret.data() + SigningKey::kSeedSize, public_key.data(), PublicKey::kSize);
  X25519SecretKey out;
  const int rc = crypto_sign_ed25519_sk_to_curve25519(out.data(), ed25519_secret.data());
  THUNDER_CHECK(rc == 0, "crypto_sign_ed25519_sk_to_curve25519 cannot fail");
  return out;
}

}  // namespace thunder::crypto
