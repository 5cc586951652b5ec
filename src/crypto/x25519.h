// X25519 key agreement (libsodium crypto_scalarmult), and conversion of Ed25519 identities to
// X25519 so that a node or client key can also be used for key agreement.
//
// X25519SecretKey wipes itself on destruction and is move-only. The raw shared secret of
// x25519SharedSecret() is not uniformly random: never use it directly as a key. Derive keys from
// it together with both public keys, e.g. Blake3Hasher::deriveKey("thunder <purpose> v1")
// updated with shared secret || initiator public key || responder public key, then finalize().
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/secret_bytes.h"
#include "crypto/signing.h"

namespace thunder::crypto {

using X25519PublicKey = FixedBytes<struct X25519PublicKeyTag, 32>;
using X25519SecretKey = SecretBytes<struct X25519SecretKeyTag, 32>;
using X25519SharedSecret = SecretBytes<struct X25519SharedSecretTag, 32>;

struct X25519KeyPair {
  X25519SecretKey secret_key;
  X25519PublicKey public_key;

  // A fresh key pair from the OS CSPRNG.
  static X25519KeyPair generate();
};

// The public key of a secret key (scalar multiplication of the base point).
X25519PublicKey x25519PublicKey(const X25519SecretKey& secret_key);

// The Diffie-Hellman shared secret of our secret key and the peer's public key; both sides
// obtain the same value. kInvalidArgument if the result is all zeros (the peer sent a
// low-order point, which would let it force a known secret).
Result<X25519SharedSecret> x25519SharedSecret(const X25519SecretKey& secret_key,
                                              const X25519PublicKey& peer_public_key);

// The X25519 public key that corresponds to an Ed25519 public key (birational map of RFC 7748).
// kInvalidArgument if `key` is not a valid Ed25519 point (untrusted input).
Result<X25519PublicKey> toX25519PublicKey(const PublicKey& key);

// The X25519 secret key that corresponds to an Ed25519 signing key; its public key is
// toX25519PublicKey(key.publicKey()).
X25519SecretKey toX25519SecretKey(const SigningKey& key);

}  // namespace thunder::crypto
