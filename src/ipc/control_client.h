// ControlClient: correlated request/response over a control channel (the service side).
//
// start() gives each request the next free correlation id and sends it; wait(id) receives until
// that id's reply arrives, keeping replies to other outstanding requests for their own wait(), so
// the node may answer in any order. At most ControlClientOptions::max_in_flight requests are
// outstanding (back-pressure: start() fails instead of queueing without bound). An ErrorReply
// becomes an Error with the node's code and message. DataChannel notices that arrive while waiting
// are kept (with their descriptor) for takeNotices().
// Borrows the channel, which must outlive it. Not thread-safe: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "ipc/message.h"
#include "ipc/unix_channel.h"

namespace thunder::ipc {

struct ControlClientOptions {
  size_t max_in_flight = 64;
};

class ControlClient {
 public:
  // Precondition (checked): channel.kind() == Channel::kControl, max_in_flight >= 1.
  explicit ControlClient(UnixChannel& channel, ControlClientOptions options = {});

  // Sets a fresh correlation id on `request` and sends it (blocking until written); returns the
  // id. kInvalidArgument if `request` is not a control request; kResourceExhausted when
  // max_in_flight requests are outstanding; channel errors as UnixChannel::send().
  Result<uint32_t> start(Message request, std::span<const int> fds = {});

  // Blocks until the reply to `id` arrives and returns it (with its fds). kNotFound if `id` is
  // not outstanding; the node's code and message for an ErrorReply; kCorruption if the node sends
  // something other than a reply, or a reply to an id that is not outstanding (the channel should
  // then be dropped); channel errors as UnixChannel::receive().
  Result<Received> wait(uint32_t id);

  // start() then wait().
  Result<Received> call(Message request, std::span<const int> fds = {});

  size_t inFlight() const { return pending_.size(); }

  // The DataChannel notices received so far while waiting for replies, oldest first; clears them.
  std::vector<Received> takeNotices() { return std::exchange(notices_, {}); }

 private:
  UnixChannel& channel_;
  ControlClientOptions options_;
  uint32_t next_id_ = 1;
  // Outstanding ids; the value holds a reply that arrived before its wait().
  std::map<uint32_t, std::optional<Received>> pending_;
  std::vector<Received> notices_;
};

}  // namespace thunder::ipc
