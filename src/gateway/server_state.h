// ServerState: what a GatewayServer shares with its accept loop, its connections and its routes
// (internal to the gateway module). Created by GatewayServer::start(), kept alive by every
// coroutine that uses it; the store and the runtime are borrowed and outlive it (stop() waits for
// every coroutine). Per-loop parts (LoopState) are touched only on their loop; the rest is
// immutable after start() or synchronized as marked.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <condition_variable>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "base/metrics.h"
#include "base/strong_types.h"
#include "content/blob_store.h"
#include "gateway/directory_resolver.h"
#include "gateway/gateway_options.h"
#include "gateway/open_blob_cache.h"
#include "io/runtime.h"

namespace thunder::gateway {

class Connection;
class TlsFront;
class TlsServerContext;

// State of one event loop of the runtime: used only on that loop's thread.
struct LoopState {
  LoopState(boost::asio::io_context& context, const GatewayOptions& options)
      : context(context), blobs(options.open_blob_cache, options.open_blob_ttl) {}
  boost::asio::io_context& context;
  OpenBlobCache blobs;
};

// Counters of the gateway (registered in the node's MetricsRegistry when there is one).
struct GatewayCounters {
  std::array<Counter*, 6> responses{};  // by status class: [1] = 1xx ... [5] = 5xx
  Counter* bytes_sent = nullptr;
  Counter* cache_hits = nullptr;
  Counter* cache_misses = nullptr;
  Counter* uploads = nullptr;
  Counter* upload_bytes = nullptr;
  Counter* timeouts = nullptr;
  Counter* refused_connections = nullptr;

  void response(unsigned status) const {
    if (status >= 100 && status < 600) responses[status / 100]->add();
  }
};

struct ServerState {
  ServerState(io::Runtime& runtime, content::BlobStore& store, GatewayOptions options,
              GatewayBackends backends, MetricsRegistry* metrics);

  // The loop state for the io_context a connection was accepted on.
  LoopState& loopFor(const boost::asio::io_context& context);

  // Called by each coroutine (acceptor, connections) when it ends.
  void coroutineDone();

  io::Runtime& runtime;
  content::BlobStore& store;
  const GatewayOptions options;
  const GatewayBackends backends;
  const uint64_t max_upload_bytes;
  const BlobId upload_token_hash;  // BLAKE3 of the token (compared in constant time)
  DirectoryResolver resolver;      // thread-safe
  std::vector<std::unique_ptr<LoopState>> loops;
  GatewayCounters counters;
  std::array<Counter, 14> local_counters;  // used when there is no registry

  boost::asio::ip::tcp::acceptor acceptor;  // on its own loop
  boost::asio::ip::tcp::endpoint local;

  mutable std::mutex mutex;
  std::condition_variable idle;
  std::list<std::weak_ptr<Connection>> connections;  // GUARDED_BY(mutex)
  size_t open_connections = 0;                       // GUARDED_BY(mutex)
  size_t coroutines = 0;                             // GUARDED_BY(mutex)
  bool stopping = false;                             // GUARDED_BY(mutex)

  // https:// (gateway/tls_front.h): the server context, set by start() when the options name a
  // certificate (then immutable); the TLS connections (handshake, pumping, lingering) for stop();
  // the connections still in their handshake, which count against max_connections too.
  std::shared_ptr<const TlsServerContext> tls;
  std::list<std::weak_ptr<TlsFront>> tls_fronts;                    // GUARDED_BY(mutex)
  size_t tls_handshakes = 0;                                        // GUARDED_BY(mutex)
  std::map<boost::asio::ip::address, size_t> tls_handshakes_by_ip;  // GUARDED_BY(mutex)
};

}  // namespace thunder::gateway
