// TlsIdentity: a node's TLS credentials made from its Ed25519 node key: the key as an OpenSSL
// private key, and a self-signed X.509 certificate carrying the node public key and signed with
// it. There is no CA: a client authenticates a node by pinning the public key it expects
// (connectTls() in net/tls_transport.h), and checks the self-signature.
//
// The certificate is deterministic: the same key always gives the same DER bytes (the serial is
// derived from the public key, the validity period is fixed: 2024-01-01 to 9999-12-31, the
// RFC 5280 "no expiry" value; Ed25519 signatures are deterministic).
//
// Move-only; owns its OpenSSL handles (pimpl: OpenSSL types stay in net/openssl_util.h).
// Immutable after creation: const methods may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/signing.h"

namespace thunder::net {

class TlsIdentity {
 public:
  // Builds the identity of `key`. kInternal when OpenSSL refuses (names OpenSSL's reason).
  static Result<TlsIdentity> fromSigningKey(const crypto::SigningKey& key);

  TlsIdentity(TlsIdentity&&) noexcept;
  TlsIdentity& operator=(TlsIdentity&&) noexcept;
  ~TlsIdentity();

  // The node public key the certificate carries.
  const PublicKey& publicKey() const { return public_key_; }

  // The certificate in DER form (for tests, status pages and debugging with openssl x509).
  std::vector<uint8_t> certificateDer() const;

  // OpenSSL handles, defined in net/openssl_util.h for net/'s TLS code.
  struct Native;
  const Native& native() const { return *native_; }

 private:
  TlsIdentity(PublicKey public_key, std::unique_ptr<Native> native);

  PublicKey public_key_;
  std::unique_ptr<Native> native_;
};

}  // namespace thunder::net
