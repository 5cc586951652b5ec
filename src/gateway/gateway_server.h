// GatewayServer: the node's public HTTP/1.1 gateway to content (docs/gateway.md).
//
//   GET|HEAD /b3/<id>[/<path>]   blob bytes (Range, multipart/byteranges, ETag = id, 304,
//                                immutable caching), directories, ?format=verified streams
//   POST /b3[?pin=1]             authenticated upload (Authorization: Bearer <token>)
//   GET|HEAD /health             "ok"
//   GET|HEAD /ipfs/<cid>[/<path>] IPFS trustless gateway and UnixFS (backends.ipfs)
//   GET /routing/v1/providers/<cid>  Delegated Routing V1 naming this gateway (backends.ipfs)
//   ANY /services/<id>/<path>    HTTP answered by service <id> (backends.services)
//   GET|HEAD /origin/<name>/<path>  content of a configured HTTP origin (backends.fetcher)
//
// The server owns its listening socket and its connections; it borrows the runtime and the blob
// store, which must outlive it. The acceptor runs on one loop of the runtime; each accepted
// connection runs on the next loop in round-robin order and stays there. Requests on a
// connection are handled one at a time in order (keep-alive, pipelining-safe). Bodies are
// streamed: complete blobs with sendfile(2) from the store's data file, small ones with one
// write; nothing buffers a whole blob. Store lookups that can block run on the runtime's blocking
// pool; hot blobs are served from a per-loop cache of open files (gateway/open_blob_cache.h).
// start() and stop() are called by the owner (one thread); stop() also runs in the destructor.
// Because sendfile(2) cannot suppress SIGPIPE, start() sets SIGPIPE to SIG_IGN for the process
// (the node does so anyway).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/metrics.h"
#include "base/result.h"
#include "content/blob_store.h"
#include "gateway/gateway_options.h"
#include "io/runtime.h"

namespace thunder::gateway {

struct ServerState;

// The media type of the verified range stream (docs/formats/verified-stream.md), in responses
// and in the Accept header that asks for it.
inline constexpr std::string_view kVerifiedStreamType = "application/vnd.thunder.verified-stream";

class GatewayServer {
 public:
  // Binds options.listen and starts serving `store`, over TLS only (https://, gateway/tls_front.h)
  // when options.tls_certificate_file and tls_key_file are set. kInvalidArgument for a bad
  // address or unusable TLS files (naming the file and the fix, gateway/tls_context.h);
  // kUnavailable when the port is in use; kPermissionDenied for a privileged port (each message
  // names the address). `metrics` (optional, borrowed, must outlive the server) receives the
  // thunder_gateway_* counters.
  static Result<std::unique_ptr<GatewayServer>> start(io::Runtime& runtime,
                                                      content::BlobStore& store,
                                                      GatewayOptions options,
                                                      MetricsRegistry* metrics = nullptr,
                                                      GatewayBackends backends = {});
  ~GatewayServer();
  GatewayServer(const GatewayServer&) = delete;
  GatewayServer& operator=(const GatewayServer&) = delete;

  // The bound address, "127.0.0.1:4280" (with the real port when the options asked for port 0).
  std::string localAddress() const;
  uint16_t localPort() const;
  // "http://127.0.0.1:4280", or "https://…" when the options name a TLS certificate.
  std::string url() const;
  size_t activeConnections() const;

  // Stops accepting and closes idle connections at once; requests in progress may finish within
  // options.stop_grace, then their connections are cut. Returns when every connection is closed
  // (a store call already running on the blocking pool is waited for). Idempotent.
  void stop();

 private:
  explicit GatewayServer(std::shared_ptr<ServerState> state);
  std::shared_ptr<ServerState> state_;
};

}  // namespace thunder::gateway
