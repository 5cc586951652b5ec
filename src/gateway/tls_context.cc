#include "gateway/tls_context.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include "base/log.h"

namespace thunder::gateway {

namespace {

// ALPN wire form: one length-prefixed protocol name.
constexpr unsigned char kAlpnWire[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
static_assert(sizeof kAlpnWire == kHttp11Alpn.size() + 1);

// TLS 1.2 suites: forward secrecy and AEAD only (TLS 1.3 suites are OpenSSL's defaults).
constexpr const char* kTls12Ciphers = "ECDHE+AESGCM:ECDHE+CHACHA20";

// OpenSSL's read buffer (with read-ahead): several records per recv() when a body streams in.
constexpr size_t kReadBufferBytes = 32 * 1024;

// Empties the thread's OpenSSL error queue into "reason; reason" (repeats dropped). Sets
// `bad_password` when one of them is PEM's "bad password read" (an encrypted key).
std::string opensslErrors(bool* bad_password = nullptr) {
  std::string out;
  std::string last;
  while (const unsigned long code = ERR_get_error()) {
    if (bad_password != nullptr && ERR_GET_LIB(code) == ERR_LIB_PEM &&
        ERR_GET_REASON(code) == PEM_R_BAD_PASSWORD_READ) {
      *bad_password = true;
    }
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (last == text.data()) continue;
    last = text.data();
    if (!out.empty()) out += "; ";
    out += last;
  }
  return out.empty() ? std::string("no details") : out;
}

// kInvalidArgument naming `key` and `path` when the file cannot be opened for reading.
Result<void> checkReadable(std::string_view key, const std::string& path, std::string_view what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int saved = errno;
    return fail(ErrorCode::kInvalidArgument,
                "gateway.{}: cannot read {} ({}); give the path of {} that the node's user can "
                "read",
                key, path, std::strerror(saved), what);
  }
  ::close(fd);
  return {};
}

int selectAlpn(SSL*, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
               unsigned int in_length, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_length, kAlpnWire, sizeof kAlpnWire, in, in_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;  // no_application_protocol (RFC 7301)
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Refuses to ask for a passphrase: without this, an encrypted key would make OpenSSL prompt on
// the terminal and hang the node's start.
int noPassphrase(char*, int, int, void*) {
  return -1;
}

}  // namespace

Result<std::shared_ptr<const TlsServerContext>> TlsServerContext::load(
    const GatewayOptions& options) {
  const std::string& cert = options.tls_certificate_file;
  const std::string& key = options.tls_key_file;
  if (cert.empty() || key.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.tls_certificate and gateway.tls_key: set both (https://) or neither "
                "(http://)");
  }
  THUNDER_TRY(checkReadable("tls_certificate", cert, "a PEM certificate chain file"));
  THUNDER_TRY(checkReadable("tls_key", key, "the certificate's PEM private key file"));

  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) {
    return fail(ErrorCode::kInternal, "cannot create a TLS context: {}", opensslErrors());
  }
  std::shared_ptr<const TlsServerContext> context(new TlsServerContext(raw));
  if (SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(raw, kTls12Ciphers) != 1) {
    return fail(ErrorCode::kInternal, "cannot configure the TLS context: {}", opensslErrors());
  }
  SSL_CTX_set_options(
      raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  // Partial writes: SSL_write() reports each record sent, so a pump can resume after a blocked
  // socket; buffers are released while a connection is idle.
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Resumption by stateless tickets only: a server-side cache costs a lock per handshake and a
  // periodic sweep of the whole cache.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(raw, 1);
  SSL_CTX_set_default_read_buffer_len(raw, kReadBufferBytes);
  SSL_CTX_set_default_passwd_cb(raw, noPassphrase);
  SSL_CTX_set_alpn_select_cb(raw, selectAlpn, nullptr);

  if (SSL_CTX_use_certificate_chain_file(raw, cert.c_str()) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                "gateway.tls_certificate: {} is not a usable PEM certificate chain ({}); give the "
                "leaf certificate first, then its intermediates, each as a -----BEGIN "
                "CERTIFICATE----- block",
                cert, opensslErrors());
  }
  EVP_PKEY* private_key = nullptr;
  if (BIO* file = BIO_new_file(key.c_str(), "r"); file != nullptr) {
    private_key = PEM_read_bio_PrivateKey(file, nullptr, noPassphrase, nullptr);
    BIO_free(file);
  }
  if (private_key == nullptr) {
    bool encrypted = false;
    const std::string reason = opensslErrors(&encrypted);
    if (encrypted) {
      return fail(ErrorCode::kInvalidArgument,
                  "gateway.tls_key: {} is encrypted with a passphrase, which the node cannot "
                  "ask for; give it unencrypted (`openssl pkey -in {} -out key.pem` writes it "
                  "so, readable only by the node's user)",
                  key, key);
    }
    return fail(ErrorCode::kInvalidArgument,
                "gateway.tls_key: {} is not a PEM private key ({}); give the certificate's key "
                "(a -----BEGIN PRIVATE KEY----- block)",
                key, reason);
  }
  X509* leaf = SSL_CTX_get0_certificate(raw);
  const bool matches = leaf != nullptr && X509_check_private_key(leaf, private_key) == 1;
  const bool installed = matches && SSL_CTX_use_PrivateKey(raw, private_key) == 1;
  EVP_PKEY_free(private_key);
  if (!matches) {
    ERR_clear_error();
    return fail(ErrorCode::kInvalidArgument,
                "gateway.tls_key: {} is not the private key of the certificate in {}; give the "
                "key the certificate was issued for (or the certificate issued for this key)",
                key, cert);
  }
  if (!installed) {
    return fail(ErrorCode::kInvalidArgument, "gateway.tls_key: cannot use the key in {} ({})", key,
                opensslErrors());
  }
  if (leaf != nullptr && X509_cmp_current_time(X509_get0_notAfter(leaf)) <= 0) {
    THUNDER_LOG(warn, "gateway",
                "the certificate in {} has expired: HTTPS clients will refuse it until "
                "gateway.tls_certificate names a renewed one",
                cert);
  }
  ERR_clear_error();
  return context;
}

TlsServerContext::~TlsServerContext() {
  SSL_CTX_free(ctx_);
}

}  // namespace thunder::gateway
