// NodeOptions: the one validated options tree a node is built from.
//
// Every field has an in-class default: a node with default options is the `make run` node.
// node/config.h reads it from TOML and renders it back; validateOptions() checks it.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "base/result.h"
#include "fetcher/fetcher_options.h"
#include "gateway/gateway_options.h"
#include "io/runtime.h"
#include "node/service_config.h"

namespace thunder::node {

struct AdminOptions {
  std::string listen = "127.0.0.1:4240";  // loopback by default: the admin API is for operators
  size_t max_connections = 64;
  std::chrono::milliseconds idle_timeout{30'000};
};

struct StoreOptions {
  uint64_t quota_mb = 0;  // cache quota of the blob store in MiB; 0 = unlimited
};

struct SessionOptions {
  // The TLS session listener (docs/protocol/handshake.md). Loopback by default; set
  // "0.0.0.0:4200" to serve the network.
  std::string listen = "127.0.0.1:4200";
  uint32_t lanes_per_client = 24;
  // TLS handshake plus Hello must each finish within this time of the connection's start.
  std::chrono::milliseconds handshake_timeout{10'000};
  // A session that receives no frame for this long is terminated (idle_timeout).
  std::chrono::milliseconds idle_timeout{60'000};
  // Connections of one IP address still in the TLS handshake; more are closed at once.
  size_t max_handshakes_per_ip = 32;
  // The plain WebSocket (ws://) session listener, path /thunder/v1, e.g. "127.0.0.1:4201";
  // empty: off. No TLS: the node proves its key only by the Welcome signature (loopback/tests).
  std::string ws_listen;
  // wss://: PEM files of the certificate chain (leaf first; from a CA browsers trust, for the
  // node's host name) and its private key. Both set: the WebSocket listener runs TLS.
  std::string ws_certificate;
  std::string ws_key;
  // The QUIC session listener (UDP), e.g. "0.0.0.0:4202"; empty: off. Same node certificate and
  // pinned-key authentication as the TLS listener (net/quic_transport.h).
  std::string quic_listen;
};

struct LedgerOptions {
  // Off: no ledger, DACKs stay in the queue.
  bool enabled = true;
  // Every this often the node submits its pending DACKs and orders a block.
  std::chrono::milliseconds block_interval{1'000};
  // Epoch length of the embedded development chain (a different value is a different chain:
  // an existing <data-dir>/ledger made with another one is refused).
  std::chrono::milliseconds epoch{60'000};
};

struct NodeOptions {
  std::filesystem::path data_dir = "~/.thunder";  // "~" is the user's home directory
  std::chrono::milliseconds shutdown_grace{5'000};
  std::string log_level = "info";  // "info", or "info,content=debug,net=warn"
  io::RuntimeOptions runtime;
  AdminOptions admin;
  StoreOptions store;
  SessionOptions sessions;
  gateway::GatewayOptions gateway;         // the HTTP gateway (docs/gateway.md)
  fetcher::FetcherOptions fetcher;         // origins: [fetcher], [[origins]] (docs/fetcher.md)
  std::vector<std::string> ipfs_gateways;  // [ipfs] gateways: IPFS origins
  LedgerOptions ledger;
  std::vector<ServiceConfig> services;  // [[services]] (docs/services.md)
};

// Checks every field; kInvalidArgument naming the config key ("admin.listen: ...").
Result<void> validateOptions(const NodeOptions& options);

// data_dir with a leading "~" replaced by $HOME, made absolute.
std::filesystem::path resolveDataDir(const std::filesystem::path& data_dir);

}  // namespace thunder::node
