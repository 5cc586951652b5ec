// Authenticated encryption: XChaCha20-Poly1305-IETF (libsodium), combined mode.
//
// A sealed message is the ciphertext (same length as the plaintext) followed by a 16-byte
// Poly1305 tag; the associated data is authenticated but not encrypted nor included. The 24-byte
// nonce is large enough to be chosen at random for every message (randomNonce()); a nonce must
// never be reused with the same key. AeadKey wipes itself on destruction. All functions are pure
// and thread-safe. Key agreement to obtain a shared key: crypto/x25519.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/secret_bytes.h"

namespace thunder::crypto {

// A 32-byte XChaCha20-Poly1305 key. Move-only, wiped on destruction.
using AeadKey = SecretBytes<struct AeadKeyTag, 32>;
// A 24-byte XChaCha20 nonce. Not secret, but unique per (key, message).
using AeadNonce = FixedBytes<struct AeadNonceTag, 24>;

// Bytes a sealed message has beyond its plaintext.
inline constexpr size_t kAeadTagSize = 16;

// A fresh random key / nonce from the OS CSPRNG.
AeadKey randomAeadKey();
AeadNonce randomAeadNonce();

// Encrypts and authenticates `plaintext` and authenticates `associated_data`. Returns
// ciphertext || tag (plaintext.size() + kAeadTagSize bytes). kInvalidArgument if the plaintext
// exceeds libsodium's limit (about 256 GiB).
Result<std::vector<uint8_t>> aeadSeal(const AeadKey& key, const AeadNonce& nonce,
                                      std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data);

// Verifies and decrypts the output of aeadSeal() under the same key, nonce and associated data.
// kCorruption if the input is shorter than the tag or does not authenticate (tampered
// ciphertext or tag, wrong key, wrong nonce or wrong associated data); no plaintext is released
// then.
Result<std::vector<uint8_t>> aeadOpen(const AeadKey& key, const AeadNonce& nonce,
                                      std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data);

}  // namespace thunder::crypto
