// ControlLink: the service side of the control channel (docs/protocol/ipc.md §3), asynchronous.
//
// run() sends the service's Hello, checks the node's, then reads until the channel ends:
// replies go to the call() waiting for their correlation id (any order), DataChannel notices to
// the notice callback. call() may be used by any number of coroutines at once; at most
// max_in_flight requests are on the wire, later callers wait for a free slot. One writer
// coroutine sends queued frames in order. When the channel ends (node closed it, protocol error,
// close()), every waiting and later call() fails with kUnavailable.
// Owns the channel. Single loop only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "impl/event.h"
#include "ipc/async_channel.h"
#include "ipc/message.h"

namespace thunder::sdk {

class ControlLink {
 public:
  using NoticeHandler = std::function<void(uint64_t connection_id, UniqueFd data_channel)>;

  ControlLink(boost::asio::any_io_executor executor, ipc::UnixChannel channel,
              size_t max_in_flight);
  ~ControlLink();

  // Hello exchange, then the read loop. Success when the node closes the channel at a frame
  // boundary or close() was called; otherwise the error that ended it (the channel is then
  // unusable). Call once.
  boost::asio::awaitable<Result<void>> run(NoticeHandler on_notice);

  // Sends `request` with duplicates of `fds` (taken before the first suspension, so the caller
  // may close its own right after) and returns the node's reply. ErrorReply becomes an Error
  // with the node's code and message. kUnavailable once the channel has ended.
  boost::asio::awaitable<Result<ipc::Received>> call(ipc::Message request, std::vector<int> fds);

  // Ends the channel: pending and later calls fail with kUnavailable, run() returns success.
  void close();
  bool closed() const { return closed_; }

 private:
  struct Pending {
    explicit Pending(boost::asio::any_io_executor executor) : done(std::move(executor)) {}
    std::optional<Result<ipc::Received>> result;
    Event done;
  };
  struct Outgoing {
    ipc::Message message;
    std::vector<UniqueFd> fds;
  };

  boost::asio::awaitable<void> writeLoop();
  Result<void> deliver(ipc::Received reply);
  void finish(const Error& why);

  boost::asio::any_io_executor executor_;
  ipc::AsyncChannel channel_;
  size_t max_in_flight_;
  uint32_t next_id_ = 1;
  std::map<uint32_t, std::unique_ptr<Pending>> pending_;
  std::deque<Outgoing> outgoing_;
  Event outgoing_ready_;
  std::deque<Event*> slot_waiters_;  // calls waiting for a free slot, oldest first
  Event write_done_;                 // the writer has exited
  bool closed_ = false;
  bool writer_running_ = false;
  std::optional<Error> error_;  // why the channel ended, if not a clean close
};

}  // namespace thunder::sdk
