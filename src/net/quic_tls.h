// TLS 1.3 for QUIC with GnuTLS, the piece behind net/quic_transport.h (internal to net/):
//
//   QuicTlsContext   GnuTLS credentials and priorities for one side: the node's (its Ed25519 key
//                    and the self-signed certificate of net/tls_identity.h) or a client's (no
//                    certificate; the node is verified against a pinned key). Immutable; shared
//                    (shared_ptr) by the connections made from it; may be used from any thread.
//   QuicTlsSession   one gnutls_session_t configured for ngtcp2 (ngtcp2_crypto_gnutls), ALPN
//                    "thunder/1", TLS 1.3 only, no session tickets. Owned by one QuicConnection
//                    and used on its loop only.
//   QuicPinnedKey    what a client expects of the node certificate, and what it found.
//
// GnuTLS types stay in this header and net/quic_*.cc; the public header names none.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <memory>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/signing.h"
#include "net/stream_transport.h"

namespace thunder::net {

enum class QuicRole { kClient, kServer };

struct QuicPinnedKey {
  PublicKey expected;
  std::optional<PublicKey> presented;  // set once the certificate passed the checks
  std::optional<Error> failure;        // set when the certificate was refused
};

// What the GnuTLS session pointer points at. ngtcp2_crypto_gnutls reads it as an
// ngtcp2_crypto_conn_ref, so that member must stay first (standard layout).
struct QuicTlsRef {
  ngtcp2_crypto_conn_ref conn_ref{};
  QuicPinnedKey* pin = nullptr;  // client only
};

class QuicTlsContext {
 public:
  // The node side: presents the certificate of `node_key`. kInternal when GnuTLS refuses.
  static Result<std::shared_ptr<const QuicTlsContext>> forServer(
      const crypto::SigningKey& node_key);
  // The client side: verifies the node certificate against the QuicPinnedKey of each session.
  static Result<std::shared_ptr<const QuicTlsContext>> forClient();
  ~QuicTlsContext();
  QuicTlsContext(const QuicTlsContext&) = delete;
  QuicTlsContext& operator=(const QuicTlsContext&) = delete;

  QuicRole role() const { return role_; }
  gnutls_certificate_credentials_t credentials() const { return credentials_; }
  gnutls_priority_t priority() const { return priority_; }

 private:
  QuicTlsContext(QuicRole role, gnutls_certificate_credentials_t credentials,
                 gnutls_priority_t priority)
      : role_(role), credentials_(credentials), priority_(priority) {}

  QuicRole role_;
  gnutls_certificate_credentials_t credentials_;
  gnutls_priority_t priority_;
};

class QuicTlsSession {
 public:
  // A session for `context`'s side. `ref` (with ref->pin set on a client) must outlive the
  // session. kInternal when GnuTLS refuses.
  static Result<QuicTlsSession> create(std::shared_ptr<const QuicTlsContext> context,
                                       QuicTlsRef* ref);
  QuicTlsSession(QuicTlsSession&& other) noexcept;
  QuicTlsSession& operator=(QuicTlsSession&& other) noexcept;
  ~QuicTlsSession();

  gnutls_session_t get() const { return session_; }

  // True when the handshake negotiated ALPN "thunder/1".
  bool negotiatedThunderAlpn() const;

  // The RFC 8446 exporter for `label`, empty context, 32 bytes (gnutls_prf_rfc5705).
  // kInvalidArgument for an empty label; kInternal when GnuTLS refuses (handshake not done).
  Result<ExportedKey> exportKeyingMaterial(std::string_view label) const;

 private:
  QuicTlsSession(std::shared_ptr<const QuicTlsContext> context, gnutls_session_t session)
      : context_(std::move(context)), session_(session) {}

  std::shared_ptr<const QuicTlsContext> context_;  // outlives the session
  gnutls_session_t session_ = nullptr;
};

}  // namespace thunder::net
