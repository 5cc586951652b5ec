// ExecutedService: a service run by the executor, behind the session layer's SessionService
// seam (handshake/session_service.h). A client session for service id N reaches the process of
// service N through its own data channel (docs/protocol/ipc.md §3.10, §4):
//
//   open()  attaches the connection to the ServiceHost, which hands the service its end of a
//           new socketpair in a DataChannel notice on the control channel;
//   run()   exchanges the data-channel Hello (within hello_timeout), sends the ConnectionHeader
//           (client key, service id, lane, transport, optional HTTP request head), then pumps
//           both ways: client payloads → Payload frames (awaiting each write, with a stall
//           timeout), service Payload frames → SessionIo::send (awaiting each), StreamBlob →
//           the verified range stream read from the node's store by the node itself (content by
//           reference), End ↔ session termination in both directions. The service's accepted
//           ProposeUsage (compute ms) for the connection goes to SessionIo::proposeUsage with
//           the connection's cumulative total: the client may sign a compute DACK for it.
//           StreamBlob mode raw sends the ranges' bytes themselves (read from the store, for
//           HTTP bodies) instead of their verified range stream.
//
// A resumed lane (ConnectionInfo::resume_offset > 0) reaches the service as a new connection;
// the node drops the first resume_offset bytes of what the service sends (the client
// acknowledged them on the dropped connection), so a service whose answer is determined by the
// request — like a content service answering the repeated request — continues exactly where the
// dropped connection stopped (docs/protocol/ipc.md §4.5).
//
// A service that sends End error ends the session with service_error and the End's message as
// the Termination message (the service's own error vocabulary, e.g. "not_found: …"). A service
// that dies, closes the channel without End, breaks the protocol or stalls ends the session with
// service_error too; it never makes the session hang. Because every connection has its
// own socket, a service can only ever answer the connection whose channel it writes to.
//
// Threads: open() is thread-safe (any loop); an ExecutedConnection runs on its session's loop.
// The ServiceHost is borrowed and must outlive the service and its connections.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "executor/service_host.h"
#include "handshake/session_service.h"
#include "ipc/async_channel.h"
#include "ipc/message.h"

namespace thunder::executor {

class ExecutedConnection;

class ExecutedService final : public handshake::SessionService {
 public:
  explicit ExecutedService(ServiceHost& host) : host_(host) {}

  ServiceId id() const override { return host_.id(); }
  std::string_view name() const override { return host_.name(); }
  // kUnavailable when the service is not running, kResourceExhausted past its connection limit
  // (the session then ends with service_error and the message).
  Result<std::unique_ptr<handshake::ServiceConnection>> open(
      const handshake::ConnectionInfo& info) override;

  // open() for a client that came over HTTP: the ConnectionHeader carries `http` (the gateway).
  // kInvalidArgument if the head exceeds the IPC limits.
  Result<std::unique_ptr<ExecutedConnection>> openConnection(
      const handshake::ConnectionInfo& info, std::optional<ipc::HttpRequestHead> http);

 private:
  ServiceHost& host_;
};

class ExecutedConnection final : public handshake::ServiceConnection {
 public:
  // `resume_offset`: output bytes to drop (see the file comment).
  ExecutedConnection(ServiceHost& host, AttachedConnection attached, ipc::ConnectionHeader header,
                     uint64_t resume_offset = 0);
  ~ExecutedConnection() override;

  boost::asio::awaitable<void> run(handshake::SessionIo& io) override;

  uint64_t connectionId() const { return record_->id(); }
  // Bytes in/out, wall time and the service's usage proposals so far (for DACK requests).
  ConnectionUsage usage() const { return record_->snapshot(); }

 private:
  struct State;

  boost::asio::awaitable<void> clientToService();
  boost::asio::awaitable<void> serviceToClient();
  boost::asio::awaitable<bool> streamBlob(const ipc::StreamBlob& request);
  boost::asio::awaitable<bool> streamRaw(const ipc::StreamBlob& request);
  // Sends service output to the client, minus the bytes a resumed lane skips; false once the
  // session is over.
  boost::asio::awaitable<bool> deliver(std::vector<uint8_t> bytes);
  boost::asio::awaitable<Result<void>> sendWithDeadline(ipc::Message message);

  ServiceHost& host_;
  std::optional<ipc::UnixChannel> pending_channel_;  // until run() wraps it
  std::shared_ptr<ConnectionRecord> record_;
  ipc::ConnectionHeader header_;
  std::optional<ipc::AsyncChannel> channel_;
  std::shared_ptr<State> state_;
  uint64_t skip_;  // output bytes still to drop on a resumed lane
};

}  // namespace thunder::executor
