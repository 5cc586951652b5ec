// RawService: a minimal service written directly against the IPC library (src/ipc: codec and
// UnixChannel), not the SDK, for the executor tests (src/executor/*_test.cc). Single-threaded:
// one poll() loop over the control channel (fd 3, THUNDER_CONTROL_FD) and every data channel.
//
// run() sends the control Hello, then for each DataChannel notice takes the descriptor, sends
// the data Hello and dispatches the connection's messages to the Handler. call() makes a
// blocking control request (DataChannel notices that arrive meanwhile are kept for the loop).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ipc/control_client.h"
#include "ipc/unix_channel.h"

namespace thunder::testservice {

class RawService;

struct Connection {
  uint64_t id = 0;  // from the DataChannel notice
  ipc::UnixChannel channel;
  std::optional<ipc::ConnectionHeader> header;
  bool closed = false;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // After the control Hello, before any connection.
  virtual void onStart(RawService& /*service*/) {}
  // After the ConnectionHeader arrived.
  virtual void onOpen(RawService& /*service*/, Connection& /*conn*/) {}
  virtual void onPayload(RawService& service, Connection& conn, std::vector<uint8_t> bytes) = 0;
  // The node sent End; the connection is closed after this returns.
  virtual void onEnd(RawService& /*service*/, Connection& /*conn*/, const ipc::End& /*end*/) {}
};

class RawService {
 public:
  // Adopts fd 3. Exits the process with status 2 if it is not a socket.
  RawService();

  // Hello, then serves connections until the control channel closes. Returns the exit status.
  int run(Handler& handler);

  // A blocking control request; the reply (or the node's ErrorReply as an Error).
  Result<ipc::Received> call(ipc::Message request, std::span<const int> fds = {});
  // Fire-and-forget helpers built on call().
  void log(ipc::LogLevel level, std::string message);
  void counter(std::string name, uint64_t value);

  void send(Connection& conn, ipc::Message message);
  void sendText(Connection& conn, std::string_view text);
  void end(Connection& conn, ipc::EndReason reason, std::string message = {});

  ipc::UnixChannel& control() { return control_; }
  // The raw descriptor of the control channel (for hostile writes).
  int controlFd() const { return control_.nativeHandle(); }

 private:
  void accept(ipc::Received notice);
  void serve(Handler& handler, Connection& conn);

  ipc::UnixChannel control_;
  std::unique_ptr<ipc::ControlClient> client_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
};

std::string textOf(const std::vector<uint8_t>& bytes);

}  // namespace thunder::testservice
