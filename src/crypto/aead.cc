#include "crypto/aead.h"

#include <sodium.h>

#include "base/check.h"
#include "crypto/random.h"

namespace thunder::crypto {

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == AeadKey::kSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == AeadNonce::kSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kAeadTagSize);

AeadKey randomAeadKey() {
  AeadKey key;
  randomBytes(key.mutableBytes());
  return key;
}

AeadNonce randomAeadNonce() {
  AeadNonce nonce;
  randomBytes(nonce.mutableBytes());
  return nonce;
}

Result<std::vector<uint8_t>> aeadSeal(const AeadKey& key, const AeadNonce& nonce,
                                      std::span<const uint8_t> plaintext,
                                      std::span<const uint8_t> associated_data) {
  ensureSodiumInitialized();
  if (plaintext.size() > crypto_aead_xchacha20poly1305_ietf_messagebytes_max()) {
    return fail(ErrorCode::kInvalidArgument, "AEAD plaintext of {} bytes exceeds the limit of {}",
                plaintext.size(), crypto_aead_xchacha20poly1305_ietf_messagebytes_max());
  }
  std::vector<uint8_t> sealed(plaintext.size() + kAeadTagSize);
  unsigned long long sealed_size = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_encrypt(
      sealed.data(), &sealed_size, plaintext.data(), plaintext.size(), associated_data.data(),
      associated_data.size(), /*nsec=*/nullptr, nonce.data(), key.data());
  THUNDER_CHECK(rc == 0 && sealed_size == sealed.size(), "XChaCha20-Poly1305 encryption failed");
  return sealed;
}

Result<std::vector<uint8_t>> aeadOpen(const AeadKey& key, const AeadNonce& nonce,
                                      std::span<const uint8_t> sealed,
                                      std::span<const uint8_t> associated_data) {
  ensureSodiumInitialized();
  if (sealed.size() < kAeadTagSize) {
    return fail(ErrorCode::kCorruption,
                "sealed message of {} bytes is shorter than the {}-byte authentication tag",
                sealed.size(), kAeadTagSize);
  }
  std::vector<uint8_t> plaintext(sealed.size() - kAeadTagSize);
  unsigned long long plaintext_size = 0;
  const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(
      plaintext.data(), &plaintext_size, /*nsec=*/nullptr, sealed.data(), sealed.size(),
      associated_data.data(), associated_data.size(), nonce.data(), key.data());
  if (rc != 0) {
    return fail(ErrorCode::kCorruption,
                "sealed message failed authentication (tampered, or wrong key, nonce or "
                "associated data)");
  }
  THUNDER_CHECK(plaintext_size == plaintext.size(), "XChaCha20-Poly1305 plaintext size");
  return plaintext;
}

}  // namespace thunder::crypto
