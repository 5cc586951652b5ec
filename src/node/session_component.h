// SessionComponent: the node's client sessions (docs/protocol/handshake.md) as a node component.
//
// On start it opens the DACK queue (<data-dir>/dacks), registers the built-in services over the
// node's blob store (docs/protocol/builtin-services.md), builds the shared lane table and replay
// cache (handshake::SessionHub) and starts a TLS 1.3 listener with the node key's identity that
// runs handshake::serveSession() for every connection; when sessions.ws_listen is set, also a
// plain WebSocket listener (net/ws_transport.h, path /thunder/v1) serving sessions the same way
// (same hub, services and DACK queue; unbound transport binding); when sessions.quic_listen is
// set, also a QUIC listener (net/quic_transport.h: the node key's certificate, the exporter
// binding, like TLS) feeding the same hub. Stop closes every session (the listeners wait for
// their drivers), then the queue. Start after "store" (borrows its BlobStore),
// before "admin". Metrics: thunder_sessions_active, thunder_session_terminations_total{reason},
// thunder_dacks_stored_total. start()/stop() on the node's control thread; localAddress() and
// statusJson() are thread-safe.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/metrics.h"
#include "crypto/signing.h"
#include "handshake/dack_queue.h"
#include "handshake/session_driver.h"
#include "handshake/session_hub.h"
#include "handshake/session_service.h"
#include "io/runtime.h"
#include "net/quic_transport.h"
#include "net/tls_identity.h"
#include "net/tls_transport.h"
#include "net/ws_transport.h"
#include "node/component.h"
#include "node/options.h"

namespace thunder::node {

class StoreComponent;
class ServiceComponent;

class SessionComponent : public Component {
 public:
  // Borrows everything; all must outlive the component.
  SessionComponent(io::Runtime& runtime, std::filesystem::path data_dir, SessionOptions options,
                   const crypto::SigningKey& node_key, StoreComponent& store,
                   ServiceComponent& executed, MetricsRegistry& metrics);
  ~SessionComponent() override;

  std::string_view name() const override { return "sessions"; }
  // kUnavailable if the store is not started or the port is in use; the DACK queue's errors
  // (kUnavailable: another process holds it); kInvalidArgument for a bad listen address.
  Result<void> start() override;
  void stop() override;

  // The bound listen address ("127.0.0.1:4200"); empty unless started.
  std::string localAddress() const;
  // "ws://127.0.0.1:4201/thunder/v1"; empty unless started with sessions.ws_listen set.
  std::string wsUrl() const;
  // "quic://127.0.0.1:4202"; empty unless started with sessions.quic_listen set.
  std::string quicUrl() const;
  // {"active", "lanes", "dacks_pending"} for /status (zeros when not started).
  nlohmann::json statusJson() const;
  // The durable queue of verified DACKs; null unless started. Borrowed: valid until stop().
  handshake::DackQueue* dackQueue() { return dacks_.get(); }

 private:
  // Runs LaneTable::expire() at most once per minute, from the accept path.
  void maybeExpireLanes();
  // The optional listeners of start(); on error the caller stops everything.
  Result<void> startWsListener(const net::StreamHandler& serve);
  Result<void> startQuicListener(const net::StreamHandler& serve);

  io::Runtime& runtime_;
  std::filesystem::path data_dir_;
  SessionOptions options_;
  const crypto::SigningKey& node_key_;
  StoreComponent& store_;
  ServiceComponent& executed_;  // the sandboxed services of [[services]]
  MetricsRegistry& metrics_;
  handshake::SystemClock clock_;

  // Built by start(), released by stop(). Readers (statusJson) hold mutex_.
  mutable std::mutex mutex_;
  std::unique_ptr<handshake::DackQueue> dacks_;
  std::unique_ptr<handshake::SessionServices> services_;
  std::unique_ptr<handshake::SessionHub> hub_;
  std::unique_ptr<handshake::SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
  std::unique_ptr<net::WsListener> ws_listener_;
  std::unique_ptr<net::QuicListener> quic_listener_;
  std::string address_;
  std::string ws_url_;
  std::string quic_url_;
  std::atomic<int64_t> last_expiry_ms_{0};
};

}  // namespace thunder::node
