#include "ipc/unix_channel.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

namespace thunder::ipc {

namespace {

// Room for more descriptors than any frame may carry, so extras are received (and closed) and
// reported precisely instead of silently truncated.
constexpr size_t kFdReceiveRoom = 16;

Result<void> setNonBlocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return failErrno(errno, "ipc: making the socket non-blocking");
  }
  return {};
}

tl::unexpected<Error> sendError(int err) {
  if (err == EPIPE || err == ECONNRESET) {
    return fail(ErrorCode::kUnavailable, "ipc: peer closed the channel");
  }
  return failErrno(err, "ipc: sendmsg");
}

}  // namespace

UnixChannel::UnixChannel(UniqueFd socket, Channel kind, UnixChannelOptions options)
    : socket_(std::move(socket)), kind_(kind), options_(options) {}

Result<std::pair<UnixChannel, UnixChannel>> UnixChannel::socketPair(Channel kind,
                                                                    UnixChannelOptions options) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) != 0) {
    return failErrno(errno, "ipc: socketpair");
  }
  return std::pair{UnixChannel(UniqueFd(fds[0]), kind, options),
                   UnixChannel(UniqueFd(fds[1]), kind, options)};
}

Result<UnixChannel> UnixChannel::adopt(UniqueFd socket, Channel kind, UnixChannelOptions options) {
  int type = 0;
  socklen_t len = sizeof(type);
  if (::getsockopt(socket.get(), SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    return failErrno(errno, "ipc: adopt: not a socket");
  }
  if (type != SOCK_STREAM) {
    return fail(ErrorCode::kInvalidArgument, "ipc: adopt: socket type {} is not SOCK_STREAM", type);
  }
  THUNDER_TRY(setNonBlocking(socket.get()));
  return UnixChannel(std::move(socket), kind, options);
}

Result<void> UnixChannel::enqueue(const Message& message, std::span<const int> fds) {
  const MessageType type = typeOf(message);
  if (!allowedOn(type, kind_)) {
    return fail(ErrorCode::kInvalidArgument, "ipc: {} may not be sent on a {} channel",
                messageTypeName(type), kind_ == Channel::kControl ? "control" : "data");
  }
  if (fds.size() != fdCount(type)) {
    return fail(ErrorCode::kInvalidArgument, "ipc: {} carries {} fds, {} given",
                messageTypeName(type), fdCount(type), fds.size());
  }
  THUNDER_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, encodeFrame(message));
  if (queued_bytes_ + bytes.size() > options_.max_queued_bytes && !out_.empty()) {
    return fail(ErrorCode::kResourceExhausted,
                "ipc: {} bytes already queued to a peer that is not reading (limit {})",
                queued_bytes_, options_.max_queued_bytes);
  }
  OutFrame frame{std::move(bytes), {}, 0};
  for (const int fd : fds) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return failErrno(errno, "ipc: duplicating an fd to send");
    frame.fds.emplace_back(copy);
  }
  queued_bytes_ += frame.bytes.size();
  out_.push_back(std::move(frame));
  THUNDER_TRY(flush());
  return {};
}

Result<FlushState> UnixChannel::flush() {
  while (!out_.empty()) {
    OutFrame& frame = out_.front();
    iovec iov{frame.bytes.data() + frame.sent, frame.bytes.size() - frame.sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerFrame)] = {};
    if (frame.sent == 0 && !frame.fds.empty()) {
      msg.msg_control = control;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * frame.fds.size());
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int) * frame.fds.size());
      for (size_t i = 0; i < frame.fds.size(); ++i) {
        const int fd = frame.fds[i].get();
        std::memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
      }
    }
    const ssize_t n = ::sendmsg(socket_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return FlushState::kPending;
      return sendError(errno);
    }
    frame.sent += static_cast<size_t>(n);
    if (frame.sent > 0) frame.fds.clear();  // the kernel holds its own references now
    if (frame.sent == frame.bytes.size()) {
      queued_bytes_ -= frame.bytes.size();
      out_.pop_front();
    }
  }
  return FlushState::kFlushed;
}

Result<void> UnixChannel::send(const Message& message, std::span<const int> fds) {
  THUNDER_TRY(enqueue(message, fds));
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(const FlushState state, flush());
    if (state == FlushState::kFlushed) return {};
    THUNDER_TRY(waitFor(POLLOUT));
  }
}

Result<void> UnixChannel::waitFor(short events) {
  pollfd p{socket_.get(), events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, -1);
    if (n >= 0) return {};
    if (errno != EINTR) return failErrno(errno, "ipc: poll");
  }
}

Result<std::optional<size_t>> UnixChannel::readSome(std::span<uint8_t> dst) {
  iovec iov{dst.data(), dst.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kFdReceiveRoom)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(socket_.get(), &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return std::nullopt;
    if (errno == ECONNRESET) return size_t{0};
    return failErrno(errno, "ipc: recvmsg");
  }
  // Take ownership of every descriptor first, so that each one is closed on any error below.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      in_fds_.emplace_back(fd);
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0) {
    return fail(ErrorCode::kCorruption, "ipc: peer sent more than {} fds at once", kFdReceiveRoom);
  }
  if (in_fds_.size() > kMaxFdsPerFrame) {
    return fail(ErrorCode::kCorruption, "ipc: peer sent {} fds with one frame (at most {})",
                in_fds_.size(), kMaxFdsPerFrame);
  }
  return static_cast<size_t>(n);
}

Result<void> UnixChannel::failReceive(Error error) {
  in_fds_.clear();
  body_.clear();
  error_ = error;
  return fail(std::move(error));
}

Result<std::optional<Received>> UnixChannel::tryReceive() {
  if (error_) return fail(*error_);
  auto step = receiveStep();
  if (!step) {
    THUNDER_TRY(failReceive(step.error()));
  }
  return step;
}

Result<std::optional<Received>> UnixChannel::receiveStep() {
  while (header_fill_ < kFrameHeaderSize) {
    THUNDER_ASSIGN_OR_RETURN(
        const auto n, readSome(std::span(header_ + header_fill_, kFrameHeaderSize - header_fill_)));
    if (!n) return std::nullopt;
    if (*n == 0) {
      if (header_fill_ == 0 && in_fds_.empty()) {
        return fail(ErrorCode::kUnavailable, "ipc: peer closed the channel");
      }
      return fail(ErrorCode::kCorruption,
                  "ipc: peer closed the channel inside a frame header ({} of {} bytes)",
                  header_fill_, kFrameHeaderSize);
    }
    header_fill_ += *n;
    if (header_fill_ == kFrameHeaderSize) {
      THUNDER_ASSIGN_OR_RETURN(frame_, parseFrameHeader(kind_, header_));
      body_.assign(frame_.length, 0);
      body_fill_ = 0;
    }
  }
  while (body_fill_ < frame_.length) {
    THUNDER_ASSIGN_OR_RETURN(const auto n, readSome(std::span(body_).subspan(body_fill_)));
    if (!n) return std::nullopt;
    if (*n == 0) {
      return fail(ErrorCode::kCorruption,
                  "ipc: peer closed the channel inside a {} frame ({} of {} body bytes)",
                  messageTypeName(frame_.type), body_fill_, frame_.length);
    }
    body_fill_ += *n;
  }
  if (in_fds_.size() != frame_.fd_count) {
    return fail(ErrorCode::kCorruption, "ipc: {} frame declares {} fds but {} arrived",
                messageTypeName(frame_.type), frame_.fd_count, in_fds_.size());
  }
  header_fill_ = 0;
  THUNDER_ASSIGN_OR_RETURN(Message message, decodeBody(frame_, body_));
  body_.clear();
  return Received{std::move(message), std::exchange(in_fds_, {})};
}

Result<Received> UnixChannel::receive() {
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(auto received, tryReceive());
    if (received) return std::move(*received);
    THUNDER_TRY(waitFor(POLLIN));
  }
}

}  // namespace thunder::ipc
