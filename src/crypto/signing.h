// Ed25519 signing keys and signature verification (libsodium).
//
// SigningKey owns one Ed25519 secret key (the 32-byte seed plus the derived public key). It is
// move-only and wipes its secret bytes when destroyed (and the source when moved from, which
// leaves an unusable zero key). Signing and verification are pure functions of their inputs:
// const methods and verifySignature() may be called from any thread concurrently.
// Keys on disk: crypto/keystore.h. X25519 conversion: crypto/x25519.h.
#pragma once

#include <cstdint>
#include <span>

#include "base/strong_types.h"
#include "crypto/secret_bytes.h"

namespace thunder::crypto {

class SigningKey {
 public:
  static constexpr size_t kSeedSize = 32;

  // A fresh key from the OS CSPRNG.
  static SigningKey generate();

  // The key whose RFC 8032 secret (seed) is `seed`. Deterministic: the same seed always gives
  // the same key and the same signatures.
  static SigningKey fromSeed(std::span<const uint8_t, 32> seed);

  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;

  PublicKey publicKey() const;

  // The Ed25519 signature (RFC 8032, deterministic) of `message`.
  Signature sign(std::span<const uint8_t> message) const;

  // The 32-byte seed: the whole secret. Handle with care (only the keystore should need it).
  std::span<const uint8_t, 32> seed() const;

 private:
  SigningKey() = default;

  // libsodium's layout: seed (32) || public key (32).
  SecretBytes<struct SigningKeyTag, 64> secret_;
};

// True iff `sig` is a valid Ed25519 signature of `message` by `key`. False (never an error) for
// a malformed key or signature: the inputs are usually untrusted.
bool verifySignature(const PublicKey& key, std::span<const uint8_t> message, const Signature& sig);

}  // namespace thunder::crypto
