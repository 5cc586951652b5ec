// GatewayOptions: the plain options of the HTTP gateway (gateway/gateway_server.h), with in-class
// defaults. node/ fills them from the `[gateway]` config section (docs/config.md, docs/gateway.md)
// and validates them; this module only reads them. A plain value; not synchronized.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "base/strong_types.h"

namespace thunder::content::ipfs {
class IpfsStore;
}
namespace thunder::fetcher {
class Fetcher;
class IpfsOrigin;
}  // namespace thunder::fetcher

namespace thunder::gateway {

class ServiceRouter;  // gateway/service_route.h

// What the gateway serves besides the blob store; each is borrowed (owned by the node and
// outliving the server) and optional: a null backend turns its routes into a precise 404/503.
struct GatewayBackends {
  content::ipfs::IpfsStore* ipfs = nullptr;    // /ipfs/…, /routing/v1/…
  ServiceRouter* services = nullptr;           // /services/<id>/…
  fetcher::Fetcher* fetcher = nullptr;         // /origin/<name>/…
  fetcher::IpfsOrigin* ipfs_origin = nullptr;  // CIDs missing from `ipfs`, from IPFS gateways
};

struct GatewayOptions {
  // Listen address. Loopback by default: set "0.0.0.0:4280" to serve the network.
  std::string listen = "127.0.0.1:4280";
  // Bearer token that POST /b3 must present; empty = uploads disabled (403).
  std::string upload_token;
  // Largest accepted upload body, in MiB (413 above it; nothing is stored).
  uint64_t max_upload_mb = 1024;
  // Where upload bodies are spooled before they are stored (an unnamed file, gone on close).
  // Empty: the system temp dir. The node passes <data-dir>/store/tmp (same file system as the
  // store, so the put copies in-kernel).
  std::filesystem::path spool_dir;

  // Request header block limit (status line + fields); 431 above it.
  size_t max_header_bytes = 16 * 1024;
  // Open connections; further ones are closed at once.
  size_t max_connections = 1024;
  // A keep-alive connection waiting for its next request is closed after this long.
  std::chrono::milliseconds idle_timeout{30'000};
  // Once the first byte of a request has arrived, the whole header must arrive within this
  // time (slowloris), else 408 and close. Upload bodies must make progress within it too.
  std::chrono::milliseconds header_timeout{10'000};
  // A response whose bytes the client does not accept for this long is abandoned.
  std::chrono::milliseconds send_timeout{30'000};
  // stop() lets requests in progress finish for up to this long, then cuts them.
  std::chrono::milliseconds stop_grace{2'000};
  // /services/<id>/…: once the request body is forwarded, the service must send its response
  // head within this time (else 504), and it may not pause longer than this inside its response
  // body (else the response is cut).
  std::chrono::milliseconds service_timeout{30'000};

  // Open complete blobs (fd, size, sniffed type) kept per event loop, so that hot blobs are
  // served without touching the store's index. 0 disables the cache.
  size_t open_blob_cache = 256;
  // A cached blob is looked up in the store again after this long (this also records the access
  // for the store's LRU, and bounds how long a removed blob stays servable).
  std::chrono::milliseconds open_blob_ttl{10'000};
  // Parsed directory manifests kept (shared by all loops), bounded by count and encoded bytes.
  size_t manifest_cache_entries = 256;
  uint64_t manifest_cache_bytes = 16ull << 20;

  // The Server header.
  std::string server_name = "thunder";

  // https:// (gateway/tls_front.h): the PEM certificate chain (leaf first) and its private key.
  // Both or neither; when set, options.listen serves TLS 1.2/1.3 only (ALPN "http/1.1").
  std::string tls_certificate_file;
  std::string tls_key_file;
  // A TLS client must finish its handshake within this time, else it is closed.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // Connections still in the TLS handshake (half-open), in total and per client address; more
  // are closed at once. They also count against max_connections.
  size_t tls_max_handshakes = 1024;
  size_t tls_max_handshakes_per_ip = 32;

  // The node's Ed25519 public key. GET /routing/v1/providers/<cid> names this gateway by the
  // libp2p peer id of this key ("12D3KooW…"); unset, by a peer id derived from the bound
  // address instead (stable for a fixed listen address, but not a key anyone holds).
  std::optional<PublicKey> node_key;
};

}  // namespace thunder::gateway
