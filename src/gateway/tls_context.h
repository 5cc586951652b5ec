// TlsServerContext: the OpenSSL server context of the gateway's https:// listener (internal to the
// gateway module): the operator's PEM certificate chain and private key named by GatewayOptions,
// TLS 1.2 or 1.3, ALPN "http/1.1", no renegotiation, session resumption (cache and tickets).
//
// Made once by GatewayServer::start(); immutable afterwards and shared (shared_ptr) by the server
// state and every TLS connection, which make their SSL objects from it on any loop (OpenSSL locks
// what a context shares, such as its session cache). OpenSSL types stay out of this header.
#pragma once

#include <memory>
#include <string_view>

#include "base/result.h"
#include "gateway/gateway_options.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace thunder::gateway {

// The only application protocol the gateway speaks over TLS.
inline constexpr std::string_view kHttp11Alpn = "http/1.1";

class TlsServerContext {
 public:
  // Loads options.tls_certificate_file (the chain, leaf first) and options.tls_key_file.
  // kInvalidArgument when only one of them is set, when a file cannot be read, is not PEM of the
  // right kind or is an encrypted key, or when the key is not the certificate's; the message
  // names the config key, the file and the fix. A certificate already expired is loaded with a
  // warning in the log (clients will refuse it).
  static Result<std::shared_ptr<const TlsServerContext>> load(const GatewayOptions& options);

  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  ssl_ctx_st* native() const { return ctx_; }

 private:
  explicit TlsServerContext(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;  // owned
};

}  // namespace thunder::gateway
