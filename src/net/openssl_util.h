// OpenSSL plumbing shared by net/'s TLS files: owning handles, error-queue text, Ed25519 key
// extraction, and the definition of TlsIdentity's hidden handles.
//
// Internal to net/: only net/*.cc include this header, so OpenSSL types stay out of the public
// ones. Handles are owned by the unique_ptrs below (one owner each; OpenSSL reference counts are
// used only where OpenSSL itself takes a reference). The error queue is per thread: functions
// here read the calling thread's queue.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/strong_types.h"
#include "net/tls_identity.h"

namespace thunder::net {

template <auto FreeFn>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* p) const {
    FreeFn(p);
  }
};

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<&EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<&X509_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslDeleter<&SSL_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpensslDeleter<&SSL_free>>;
using BioMethodPtr = std::unique_ptr<BIO_METHOD, OpensslDeleter<&BIO_meth_free>>;

// Empties the calling thread's OpenSSL error queue into "reason; reason" text ("no details"
// when empty), so a message can say what OpenSSL refused.
std::string drainOpensslErrors();

// An error with `code` whose message is "what: <drained OpenSSL errors>".
tl::unexpected<Error> failOpenssl(ErrorCode code, std::string_view what);

// The 32 raw bytes of an Ed25519 public key. kInvalidArgument naming the key type when `key` is
// not Ed25519.
Result<PublicKey> ed25519PublicKey(const EVP_PKEY* key);

// OK iff `cert` carries an Ed25519 key and its signature verifies under that same key.
// kPermissionDenied otherwise, with the reason.
Result<PublicKey> checkSelfSignedEd25519(X509* cert);

struct TlsIdentity::Native {
  EvpPkeyPtr key;
  X509Ptr certificate;
};

}  // namespace thunder::net
