#include "net/openssl_util.h"

#include <openssl/err.h>

#include <array>

namespace thunder::net {

std::string drainOpensslErrors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out.empty() ? std::string("no details") : out;
}

tl::unexpected<Error> failOpenssl(ErrorCode code, std::string_view what) {
  return fail(code, "{}: {}", what, drainOpensslErrors());
}

Result<PublicKey> ed25519PublicKey(const EVP_PKEY* key) {
  if (key == nullptr || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    const char* type = key == nullptr ? "none" : EVP_PKEY_get0_type_name(key);
    return fail(ErrorCode::kInvalidArgument, "the key is {}, not Ed25519",
                type == nullptr ? "of an unknown type" : type);
  }
  PublicKey out;
  size_t length = out.kSize;
  if (EVP_PKEY_get_raw_public_key(key, out.data(), &length) != 1 || length != out.kSize) {
    return failOpenssl(ErrorCode::kInvalidArgument, "cannot read the Ed25519 public key");
  }
  return out;
}

Result<PublicKey> checkSelfSignedEd25519(X509* cert) {
  EVP_PKEY* key = X509_get0_pubkey(cert);
  auto public_key = ed25519PublicKey(key);
  if (!public_key) {
    return fail(ErrorCode::kPermissionDenied, "the certificate's {}", public_key.error().message);
  }
  if (X509_verify(cert, key) != 1) {
    drainOpensslErrors();
    return fail(ErrorCode::kPermissionDenied,
                "the certificate of key {} is not validly self-signed by that key",
                public_key->hex());
  }
  return public_key;
}

}  // namespace thunder::net
