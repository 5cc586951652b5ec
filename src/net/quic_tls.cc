#include "net/quic_tls.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <openssl/x509.h>

#include <string>
#include <vector>

#include "net/openssl_util.h"
#include "net/tls_identity.h"

namespace thunder::net {

namespace {

constexpr std::string_view kAlpn = "thunder/1";

// TLS 1.3 only, the cipher suites QUIC allows (RFC 9001 §5.3: not CCM_8), no middlebox
// compatibility mode (RFC 9001 §8.4).
constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "+AES-128-CCM:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

tl::unexpected<Error> failGnutls(int rv, std::string_view what) {
  return fail(ErrorCode::kInternal, "{}: {}", what, gnutls_strerror(rv));
}

gnutls_datum_t datum(std::span<const uint8_t> bytes) {
  return gnutls_datum_t{const_cast<unsigned char*>(bytes.data()),
                        static_cast<unsigned int>(bytes.size())};
}

Result<gnutls_priority_t> makePriority() {
  gnutls_priority_t priority = nullptr;
  if (int rv = gnutls_priority_init(&priority, kPriority, nullptr); rv != GNUTLS_E_SUCCESS) {
    return failGnutls(rv, "cannot set the QUIC TLS priorities");
  }
  return priority;
}

// Installs the node certificate (DER from TlsIdentity) and the key (from the Ed25519 seed).
Result<void> installNodeKey(gnutls_certificate_credentials_t credentials,
                            const crypto::SigningKey& node_key) {
  THUNDER_ASSIGN_OR_RETURN(const TlsIdentity identity, TlsIdentity::fromSigningKey(node_key));
  const std::vector<uint8_t> der = identity.certificateDer();
  gnutls_pcert_st pcert{};
  gnutls_datum_t der_datum = datum(der);
  if (int rv = gnutls_pcert_import_x509_raw(&pcert, &der_datum, GNUTLS_X509_FMT_DER, 0);
      rv != GNUTLS_E_SUCCESS) {
    return failGnutls(rv, "GnuTLS cannot read the node certificate");
  }
  gnutls_privkey_t key = nullptr;
  const PublicKey public_key = node_key.publicKey();
  gnutls_datum_t x = datum(public_key.bytes());
  gnutls_datum_t k = datum(node_key.seed());
  int rv = gnutls_privkey_init(&key);
  if (rv == GNUTLS_E_SUCCESS) {
    rv = gnutls_privkey_import_ecc_raw(key, GNUTLS_ECC_CURVE_ED25519, &x, nullptr, &k);
  }
  // On success the credentials own the certificate and the key.
  if (rv == GNUTLS_E_SUCCESS)
    rv = gnutls_certificate_set_key(credentials, nullptr, 0, &pcert, 1, key);
  if (rv != GNUTLS_E_SUCCESS) {
    gnutls_pcert_deinit(&pcert);
    if (key != nullptr) gnutls_privkey_deinit(key);
    return failGnutls(rv, "GnuTLS cannot load the Ed25519 node key");
  }
  return {};
}

// Replaces CA verification on the client: the node certificate must be validly self-signed by
// exactly the pinned Ed25519 key. Runs inside gnutls_handshake() when the certificate arrives.
int verifyPinnedKey(gnutls_session_t session) {
  auto* ref = static_cast<QuicTlsRef*>(gnutls_session_get_ptr(session));
  if (ref == nullptr || ref->pin == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  QuicPinnedKey& pin = *ref->pin;
  unsigned int count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  if (certs == nullptr || count == 0) {
    pin.failure = Error{ErrorCode::kCorruption, "the node sent no certificate"};
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  const unsigned char* cursor = certs[0].data;
  X509Ptr cert(d2i_X509(nullptr, &cursor, static_cast<long>(certs[0].size)));
  if (!cert) {
    drainOpensslErrors();
    pin.failure = Error{ErrorCode::kCorruption, "the node certificate is not DER X.509"};
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  auto presented = checkSelfSignedEd25519(cert.get());
  if (!presented) {
    pin.failure = Error{ErrorCode::kCorruption, presented.error().message};
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (*presented != pin.expected) {
    pin.failure =
        Error{ErrorCode::kPermissionDenied, fmt::format("node key mismatch: expected {}, got {}",
                                                        pin.expected.hex(), presented->hex())};
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  pin.presented = *presented;
  return 0;
}

}  // namespace

Result<std::shared_ptr<const QuicTlsContext>> QuicTlsContext::forServer(
    const crypto::SigningKey& node_key) {
  gnutls_certificate_credentials_t credentials = nullptr;
  if (int rv = gnutls_certificate_allocate_credentials(&credentials); rv != GNUTLS_E_SUCCESS) {
    return failGnutls(rv, "cannot allocate GnuTLS credentials");
  }
  auto priority = makePriority();
  auto installed = priority ? installNodeKey(credentials, node_key) : Result<void>{};
  if (!priority || !installed) {
    gnutls_certificate_free_credentials(credentials);
    if (priority) gnutls_priority_deinit(*priority);
    return tl::unexpected(priority ? installed.error() : priority.error());
  }
  return std::shared_ptr<const QuicTlsContext>(
      new QuicTlsContext(QuicRole::kServer, credentials, *priority));
}

Result<std::shared_ptr<const QuicTlsContext>> QuicTlsContext::forClient() {
  gnutls_certificate_credentials_t credentials = nullptr;
  if (int rv = gnutls_certificate_allocate_credentials(&credentials); rv != GNUTLS_E_SUCCESS) {
    return failGnutls(rv, "cannot allocate GnuTLS credentials");
  }
  auto priority = makePriority();
  if (!priority) {
    gnutls_certificate_free_credentials(credentials);
    return tl::unexpected(priority.error());
  }
  return std::shared_ptr<const QuicTlsContext>(
      new QuicTlsContext(QuicRole::kClient, credentials, *priority));
}

QuicTlsContext::~QuicTlsContext() {
  gnutls_certificate_free_credentials(credentials_);
  gnutls_priority_deinit(priority_);
}

Result<QuicTlsSession> QuicTlsSession::create(std::shared_ptr<const QuicTlsContext> context,
                                              QuicTlsRef* ref) {
  const bool server = context->role() == QuicRole::kServer;
  // No tickets: sessions resume at the Thunder layer (lane tokens), never with TLS.
  const unsigned flags =
      (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS | GNUTLS_NO_END_OF_EARLY_DATA;
  gnutls_session_t raw = nullptr;
  if (int rv = gnutls_init(&raw, flags); rv != GNUTLS_E_SUCCESS) {
    return failGnutls(rv, "cannot create a GnuTLS session");
  }
  QuicTlsSession session(std::move(context), raw);
  const QuicTlsContext& ctx = *session.context_;
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>(kAlpn.data())),
                      static_cast<unsigned int>(kAlpn.size())};
  int rv = gnutls_priority_set(raw, ctx.priority());
  if (rv == GNUTLS_E_SUCCESS) {
    rv = server ? ngtcp2_crypto_gnutls_configure_server_session(raw)
                : ngtcp2_crypto_gnutls_configure_client_session(raw);
    if (rv != 0) return fail(ErrorCode::kInternal, "ngtcp2 cannot configure the GnuTLS session");
  }
  if (rv == GNUTLS_E_SUCCESS)
    rv = gnutls_credentials_set(raw, GNUTLS_CRD_CERTIFICATE, ctx.credentials());
  if (rv == GNUTLS_E_SUCCESS) {
    rv = gnutls_alpn_set_protocols(raw, &alpn, 1, server ? GNUTLS_ALPN_MANDATORY : 0);
  }
  if (rv != GNUTLS_E_SUCCESS) return failGnutls(rv, "cannot configure the GnuTLS session");
  gnutls_session_set_ptr(raw, ref);
  if (!server) gnutls_session_set_verify_function(raw, verifyPinnedKey);
  return session;
}

QuicTlsSession::QuicTlsSession(QuicTlsSession&& other) noexcept
    : context_(std::move(other.context_)), session_(std::exchange(other.session_, nullptr)) {}

QuicTlsSession& QuicTlsSession::operator=(QuicTlsSession&& other) noexcept {
  if (this != &other) {
    if (session_ != nullptr) gnutls_deinit(session_);
    session_ = std::exchange(other.session_, nullptr);
    context_ = std::move(other.context_);
  }
  return *this;
}

QuicTlsSession::~QuicTlsSession() {
  if (session_ != nullptr) gnutls_deinit(session_);
}

bool QuicTlsSession::negotiatedThunderAlpn() const {
  gnutls_datum_t selected{};
  if (gnutls_alpn_get_selected_protocol(session_, &selected) != GNUTLS_E_SUCCESS) return false;
  return std::string_view(reinterpret_cast<const char*>(selected.data), selected.size) == kAlpn;
}

Result<ExportedKey> QuicTlsSession::exportKeyingMaterial(std::string_view label) const {
  if (label.empty()) return fail(ErrorCode::kInvalidArgument, "the exporter label is empty");
  ExportedKey out{};
  const int rv = gnutls_prf_rfc5705(session_, label.size(), label.data(), 0, nullptr, out.size(),
                                    reinterpret_cast<char*>(out.data()));
  if (rv != GNUTLS_E_SUCCESS) return failGnutls(rv, "cannot export QUIC keying material");
  return out;
}

}  // namespace thunder::net
