// AsyncChannel: coroutine send/receive over a UnixChannel, for code running on an io::Runtime
// loop (the node's executor side, the SDK).
//
// Waits for socket readiness with a boost::asio::posix::stream_descriptor that borrows the
// channel's socket (it is released, not closed, on destruction; the UnixChannel keeps owning it)
// and does the I/O with UnixChannel's non-blocking calls. Owns the UnixChannel. Use on one
// executor (loop or strand) only; at most one receive() and one send() in flight at a time.
// GCC 12 note: pass named messages (std::move(local)), not temporaries built inside the co_await
// expression; GCC 12 may destroy such temporaries twice.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <vector>

#include "base/result.h"
#include "ipc/unix_channel.h"

namespace thunder::ipc {

class AsyncChannel {
 public:
  AsyncChannel(boost::asio::any_io_executor executor, UnixChannel channel);
  ~AsyncChannel();
  AsyncChannel(const AsyncChannel&) = delete;
  AsyncChannel& operator=(const AsyncChannel&) = delete;

  // The next message. Errors as UnixChannel::tryReceive(); kCancelled if the wait was cancelled.
  boost::asio::awaitable<Result<Received>> receive();
  // Queues `message` with duplicates of `fds` and resumes when all queued output is written.
  // Errors as UnixChannel::enqueue()/flush(); kCancelled if the wait was cancelled.
  boost::asio::awaitable<Result<void>> send(Message message, std::vector<int> fds);

  // Cancels pending waits (they finish with kCancelled).
  void cancel();

  UnixChannel& channel() { return channel_; }

 private:
  boost::asio::awaitable<Result<void>> waitFor(boost::asio::posix::descriptor_base::wait_type);

  UnixChannel channel_;
  boost::asio::posix::stream_descriptor descriptor_;
};

}  // namespace thunder::ipc
