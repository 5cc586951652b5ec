#include "net/tls_identity.h"

#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "net/openssl_util.h"

namespace thunder::net {

namespace {

constexpr const char* kNotBefore = "20240101000000Z";
constexpr const char* kNotAfter = "99991231235959Z";  // RFC 5280 4.1.2.5: no expiration date

Result<void> setValidity(X509* cert) {
  ASN1_TIME* not_before = X509_getm_notBefore(cert);
  ASN1_TIME* not_after = X509_getm_notAfter(cert);
  if (ASN1_TIME_set_string_X509(not_before, kNotBefore) != 1 ||
      ASN1_TIME_set_string_X509(not_after, kNotAfter) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot set the certificate validity");
  }
  return {};
}

// A positive 127-bit serial taken from the public key (deterministic, unique per key).
Result<void> setSerial(X509* cert, const PublicKey& public_key) {
  std::array<uint8_t, 16> serial{};
  std::copy_n(public_key.data(), serial.size(), serial.begin());
  serial[0] &= 0x7f;
  serial[0] |= 0x40;  // no leading zero byte, so the DER length is fixed
  BIGNUM* number = BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr);
  const bool ok = number != nullptr && BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert));
  BN_free(number);
  if (!ok) return failOpenssl(ErrorCode::kInternal, "cannot set the certificate serial");
  return {};
}

Result<void> setNames(X509* cert, const PublicKey& public_key) {
  // Subject and issuer are the same name: the node's key in hex (64 characters, within the
  // 64-character upper bound of a commonName).
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string common_name = public_key.hex();
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("Thunder node"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert, name) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot set the certificate names");
  }
  return {};
}

}  // namespace

Result<TlsIdentity> TlsIdentity::fromSigningKey(const crypto::SigningKey& signing_key) {
  const auto seed = signing_key.seed();
  EvpPkeyPtr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) return failOpenssl(ErrorCode::kInternal, "cannot load the Ed25519 node key");
  THUNDER_ASSIGN_OR_RETURN(const PublicKey public_key, ed25519PublicKey(key.get()));
  if (public_key != signing_key.publicKey()) {
    return fail(ErrorCode::kInternal, "OpenSSL derived public key {} from the seed of key {}",
                public_key.hex(), signing_key.publicKey().hex());
  }

  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return failOpenssl(ErrorCode::kInternal, "cannot build the node certificate");
  }
  THUNDER_TRY(setSerial(cert.get(), public_key));
  THUNDER_TRY(setValidity(cert.get()));
  THUNDER_TRY(setNames(cert.get(), public_key));
  // Ed25519 signs the whole TBSCertificate itself: no separate digest (md must be null).
  if (X509_sign(cert.get(), key.get(), nullptr) <= 0) {
    return failOpenssl(ErrorCode::kInternal, "cannot self-sign the node certificate");
  }
  auto native = std::make_unique<Native>();
  native->key = std::move(key);
  native->certificate = std::move(cert);
  return TlsIdentity(public_key, std::move(native));
}

TlsIdentity::TlsIdentity(PublicKey public_key, std::unique_ptr<Native> native)
    : public_key_(public_key), native_(std::move(native)) {}

TlsIdentity::TlsIdentity(TlsIdentity&&) noexcept = default;
TlsIdentity& TlsIdentity::operator=(TlsIdentity&&) noexcept = default;
TlsIdentity::~TlsIdentity() = default;

std::vector<uint8_t> TlsIdentity::certificateDer() const {
  const int length = i2d_X509(native_->certificate.get(), nullptr);
  if (length <= 0) return {};
  std::vector<uint8_t> out(static_cast<size_t>(length));
  unsigned char* cursor = out.data();
  i2d_X509(native_->certificate.get(), &cursor);
  return out;
}

}  // namespace thunder::net
