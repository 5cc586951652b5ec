// SessionService: what runs behind an open session — the seam between the session layer and the
// services. Built-in services (builtin_services.h) implement it today; the service executor
// (executor/, a process per service over IPC) will implement it later. A service sees neither
// sockets nor frames nor the transport: it gets a ConnectionInfo (the IPC connection header) and
// a SessionIo to receive the client's payloads and send payloads back.
//
// Ownership: SessionServices owns the services; the session driver owns each ServiceConnection
// for the life of one session. Threads: open() may be called from any loop concurrently (a
// service must be thread-safe); a ServiceConnection and its SessionIo are used on the session's
// loop only.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "handshake/dack.h"
#include "handshake/session.h"
#include "handshake/termination.h"
#include "handshake/types.h"

namespace thunder::handshake {

// The connection header a service gets with each session (DESIGN.md "IPC").
struct ConnectionInfo {
  PublicKey client_pk;
  ServiceId service;
  LaneId lane = 0;
  // The stream resumes here: output bytes [0, resume_offset) were acknowledged before a resume
  // (0 for a new lane). A service that cannot resume mid-stream restarts and skips them.
  uint64_t resume_offset = 0;
  std::string transport;       // "tls", "quic", "ws"
  std::string remote_address;  // "ip:port" of the client
};

// The session as a service sees it. Implemented by the session driver; valid until the
// ServiceConnection::run() coroutine it was given to returns.
class SessionIo {
 public:
  virtual ~SessionIo() = default;

  // The next payload from the client, in order; nullopt once the session is over (the client
  // or the node ended it, or the connection dropped). One receive() at a time.
  virtual boost::asio::awaitable<std::optional<std::vector<uint8_t>>> receive() = 0;

  // Payloads that arrive from now on are discarded (for a service that reads one request and
  // then only sends), so that the client is never blocked by an unread inbox.
  virtual void stopReceiving() = 0;

  // Sends `payload` to the client (split into frames of at most kMaxSendChunk bytes) and returns
  // once it is written to the transport: awaiting each send() is the back-pressure. kCancelled
  // once the session is over. One send() at a time.
  virtual boost::asio::awaitable<Result<void>> send(std::vector<uint8_t> payload) = 0;

  // Ends the session with `reason` (kNormal when the service is done) once everything sent
  // before is written. Later send() calls fail with kCancelled; receive() returns nullopt.
  virtual void end(TerminationReason reason, std::string_view message) = 0;

  // The service proposes `cumulative` of `commodity` as its total usage on this connection so
  // far: the node sends the client a UsageProposal (docs/protocol/handshake.md §4.1) for the
  // lane session (what the lane had acknowledged when the session opened plus `cumulative`),
  // which the client may acknowledge with a DACK within its own policy. Proposals that do not
  // grow are not sent; no-op once the session is over. Default: no-op (test fakes).
  virtual void proposeUsage(Commodity /*commodity*/, uint64_t /*cumulative*/,
                            const Commitment& /*commitment*/) {}
};

// One session of a service.
class ServiceConnection {
 public:
  virtual ~ServiceConnection() = default;

  // Serves the session; runs on the session's loop concurrently with the driver's reading (so
  // DACKs are stored while a service streams). Must return soon after the session is over
  // (receive() gives nullopt, send() fails). If it returns without calling io.end(), the
  // driver ends the session with kNormal.
  virtual boost::asio::awaitable<void> run(SessionIo& io) = 0;
};

class SessionService {
 public:
  virtual ~SessionService() = default;
  virtual ServiceId id() const = 0;
  // A short name for logs and status ("echo", "content").
  virtual std::string_view name() const = 0;
  // A connection for a session whose handshake succeeded. Thread-safe. An error ends the
  // session with kServiceError and the error's message.
  virtual Result<std::unique_ptr<ServiceConnection>> open(const ConnectionInfo& info) = 0;
};

// The services a node runs, by id: the ServiceRegistry the server sessions check Hellos
// against. Filled before the node serves sessions, immutable afterwards (then thread-safe).
class SessionServices final : public ServiceRegistry {
 public:
  // Adds `service`. kAlreadyExists if its id is taken.
  Result<void> add(std::unique_ptr<SessionService> service);
  bool hasService(ServiceId service) const override { return services_.contains(service.value()); }
  // The service with `id`, or nullptr.
  SessionService* find(ServiceId id) const;
  size_t size() const { return services_.size(); }

 private:
  std::map<uint32_t, std::unique_ptr<SessionService>> services_;
};

}  // namespace thunder::handshake
