// Connection::Impl: the state behind a Connection (one data channel), and its setup.
// Lives on the Service's loop. Registered with its Service::Impl from construction to
// destruction, so the service knows when every connection has finished (drain).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>

#include "ipc/async_channel.h"
#include "ipc/message.h"
#include "thunder/sdk/connection.h"
#include "thunder/sdk/service.h"

namespace thunder::sdk {

struct Connection::Impl {
  Impl(Service::Impl& owner, std::unique_ptr<ipc::AsyncChannel> channel, ConnectionInfo info);
  ~Impl();

  // One frame; maps channel errors (and marks the channel broken on them).
  boost::asio::awaitable<Result<void>> sendFrame(ipc::Message message);
  // Ends the connection from the service side at shutdown: End shutdown (best effort, no wait),
  // socket shut down, pending reads and writes cancelled. Later calls fail with kCancelled.
  void abort();
  // A protocol error or a dead socket: no more I/O; the socket is shut down.
  void breakChannel(Error why);
  Result<void> usable() const;

  Service::Impl& owner;
  std::unique_ptr<ipc::AsyncChannel> channel;  // never null
  ConnectionInfo info;
  std::optional<EndInfo> peer_end;
  std::optional<Error> broken;
  bool end_sent = false;
  bool aborted = false;
  bool reading = false;
  bool writing = false;
};

// Converts the wire header to the SDK's ConnectionInfo.
ConnectionInfo toConnectionInfo(const ipc::ConnectionHeader& header);

}  // namespace thunder::sdk
