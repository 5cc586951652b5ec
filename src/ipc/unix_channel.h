// UnixChannel: framed IPC messages (codec.h) with file descriptors over one Unix stream socket.
//
// Each frame is written with sendmsg(); the frame's file descriptors ride as SCM_RIGHTS
// ancillary data on its first byte. The receiver reads a frame's header and then exactly its
// body (never past the frame end), so every descriptor that arrives belongs to the frame being
// read; a frame whose descriptors do not match its declared count, or any descriptor beyond
// kMaxFdsPerFrame, closes them all and fails the channel. Received descriptors are close-on-exec
// (MSG_CMSG_CLOEXEC). Partial reads and writes, EINTR and EAGAIN are handled.
//
// The socket is always non-blocking. Two styles share one implementation:
//   - non-blocking: enqueue()/flush() and tryReceive(); wait for readiness yourself, e.g. with
//     boost::asio::posix::stream_descriptor::async_wait on nativeHandle();
//   - blocking: send() and receive(), which poll() until done.
// Outgoing frames queue up to UnixChannelOptions::max_queued_bytes (back-pressure).
// After a receive error the channel is failed and every later receive returns the same error.
// Owns its socket. Not thread-safe: one thread (or one Asio strand) at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "ipc/codec.h"
#include "ipc/message.h"

namespace thunder::ipc {

struct UnixChannelOptions {
  size_t max_queued_bytes = 1024 * 1024;  // encoded bytes waiting to be written
};

// A message and the descriptors that came with it (fdCount(type) of them, owned).
struct Received {
  Message message;
  std::vector<UniqueFd> fds;
};

enum class FlushState { kFlushed, kPending };

class UnixChannel {
 public:
  // A connected AF_UNIX SOCK_STREAM pair (node side, service side) for a channel of `kind`.
  static Result<std::pair<UnixChannel, UnixChannel>> socketPair(Channel kind,
                                                                UnixChannelOptions options = {});
  // Takes a connected Unix stream socket (e.g. inherited by a service); makes it non-blocking.
  static Result<UnixChannel> adopt(UniqueFd socket, Channel kind, UnixChannelOptions options = {});

  UnixChannel(UnixChannel&&) noexcept = default;
  UnixChannel& operator=(UnixChannel&&) noexcept = default;

  // Encodes `message` and queues it with duplicates of `fds` (the caller keeps its own), then
  // writes what the socket accepts without blocking. kInvalidArgument if the message fails
  // validation or fds.size() != fdCount(type); kResourceExhausted if the queue is full;
  // kUnavailable if the peer closed; kIoError for other socket errors.
  Result<void> enqueue(const Message& message, std::span<const int> fds = {});
  // Writes queued frames until done (kFlushed) or the socket is full (kPending).
  Result<FlushState> flush();
  // enqueue() then block until everything queued is written.
  Result<void> send(const Message& message, std::span<const int> fds = {});

  // One complete message if available without blocking, nullopt otherwise. kUnavailable when the
  // peer closed at a frame boundary; kCorruption/kInvalidArgument for a malformed frame (codec.h),
  // a stream ending inside a frame, or descriptors that do not match the frame.
  Result<std::optional<Received>> tryReceive();
  // Blocks until a complete message arrives. Errors as tryReceive().
  Result<Received> receive();

  int nativeHandle() const { return socket_.get(); }
  Channel kind() const { return kind_; }
  bool hasQueuedOutput() const { return !out_.empty(); }

 private:
  struct OutFrame {
    std::vector<uint8_t> bytes;
    std::vector<UniqueFd> fds;
    size_t sent = 0;
  };

  UnixChannel(UniqueFd socket, Channel kind, UnixChannelOptions options);

  // Reads up to dst.size() bytes, collecting descriptors into in_fds_. Returns bytes read,
  // 0 at end of stream, nullopt if it would block.
  Result<std::optional<size_t>> readSome(std::span<uint8_t> dst);
  Result<std::optional<Received>> receiveStep();
  Result<void> failReceive(Error error);
  Result<void> waitFor(short events);

  UniqueFd socket_;
  Channel kind_;
  UnixChannelOptions options_;

  std::deque<OutFrame> out_;
  size_t queued_bytes_ = 0;

  uint8_t header_[kFrameHeaderSize] = {};
  size_t header_fill_ = 0;
  FrameHeader frame_;
  std::vector<uint8_t> body_;
  size_t body_fill_ = 0;
  std::vector<UniqueFd> in_fds_;
  std::optional<Error> error_;
};

}  // namespace thunder::ipc
