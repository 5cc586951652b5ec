#include "impl/control_link.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "ipc/codec.h"

namespace thunder::sdk {

namespace asio = boost::asio;

ControlLink::ControlLink(asio::any_io_executor executor, ipc::UnixChannel channel,
                         size_t max_in_flight)
    : executor_(executor),
      channel_(executor, std::move(channel)),
      max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight),
      outgoing_ready_(executor),
      write_done_(executor) {}

ControlLink::~ControlLink() = default;

asio::awaitable<Result<void>> ControlLink::run(NoticeHandler on_notice) {
  const ipc::Hello ours{ipc::Channel::kControl, ipc::kMinVersion, ipc::kMaxVersion};
  ipc::Message hello = ours;
  std::vector<int> no_fds;
  auto sent = co_await channel_.send(std::move(hello), std::move(no_fds));
  if (!sent) {
    // The node closing before our Hello is written is a close like any other.
    if (sent.error().code != ErrorCode::kUnavailable) finish(sent.error());
    close();
    co_return error_ ? Result<void>(fail(*error_)) : Result<void>{};
  }
  writer_running_ = true;
  asio::co_spawn(executor_, writeLoop(), asio::detached);

  bool hello_seen = false;
  for (;;) {
    auto received = co_await channel_.receive();
    if (!received) {
      const ErrorCode code = received.error().code;
      if (code == ErrorCode::kUnavailable || (code == ErrorCode::kCancelled && closed_)) break;
      finish(received.error().withContext("control channel"));
      break;
    }
    const ipc::MessageType type = ipc::typeOf(received->message);
    if (!hello_seen) {
      const auto* theirs = std::get_if<ipc::Hello>(&received->message);
      if (theirs == nullptr) {
        finish(Error{ErrorCode::kCorruption,
                     fmt::format("control channel: the node sent a {} before its hello",
                                 ipc::messageTypeName(type))});
        break;
      }
      auto version = ipc::negotiateVersion(ours, *theirs);
      if (!version) {
        finish(version.error().withContext("control channel"));
        break;
      }
      hello_seen = true;
      continue;
    }
    switch (ipc::roleOf(type)) {
      case ipc::MessageRole::kReply: {
        auto delivered = deliver(std::move(*received));
        if (!delivered) finish(delivered.error());
        break;
      }
      case ipc::MessageRole::kNotice: {
        const auto& notice = std::get<ipc::DataChannel>(received->message);
        on_notice(notice.connection_id, std::move(received->fds.at(0)));
        break;
      }
      default:
        finish(Error{ErrorCode::kCorruption,
                     fmt::format("control channel: the node sent a {}, which only a service may "
                                 "send",
                                 ipc::messageTypeName(type))});
        break;
    }
    if (closed_) break;
  }
  close();
  if (writer_running_) co_await write_done_.wait();
  if (error_) co_return fail(*error_);
  co_return Result<void>{};
}

asio::awaitable<Result<ipc::Received>> ControlLink::call(ipc::Message request,
                                                         std::vector<int> fds) {
  std::vector<UniqueFd> owned;
  for (const int fd : fds) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) co_return failErrno(errno, "sdk: duplicating the descriptor to send");
    owned.emplace_back(copy);
  }
  THUNDER_CO_TRY(ipc::validate(request).map_error(
      [](const Error& e) { return e.withContext("sdk: request rejected before sending"); }));
  while (!closed_ && pending_.size() >= max_in_flight_) {
    Event slot(executor_);
    slot_waiters_.push_back(&slot);
    co_await slot.wait();
  }
  if (closed_) {
    co_return fail(ErrorCode::kUnavailable, "sdk: the control channel to the node is closed{}",
                   error_ ? " (" + error_->message + ")" : std::string());
  }
  while (next_id_ == 0 || pending_.contains(next_id_)) ++next_id_;
  const uint32_t id = next_id_++;
  Pending* pending = pending_.emplace(id, std::make_unique<Pending>(executor_)).first->second.get();
  ipc::setCorrelationId(request, id);
  outgoing_.push_back(Outgoing{std::move(request), std::move(owned)});
  outgoing_ready_.set();
  co_await pending->done.wait();
  Result<ipc::Received> result = std::move(*pending->result);
  pending_.erase(id);
  if (!slot_waiters_.empty()) {
    slot_waiters_.front()->set();
    slot_waiters_.pop_front();
  }
  co_return result;
}

Result<void> ControlLink::deliver(ipc::Received reply) {
  const uint32_t id = *ipc::correlationId(reply.message);
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second->result) {
    return fail(ErrorCode::kCorruption,
                "control channel: the node sent a {} for correlation id {}, which is not in flight",
                ipc::messageTypeName(ipc::typeOf(reply.message)), id);
  }
  Pending& pending = *it->second;
  if (const auto* error = std::get_if<ipc::ErrorReply>(&reply.message)) {
    pending.result = fail(error->code, "node: {}", error->message);
  } else {
    pending.result = std::move(reply);
  }
  pending.done.set();
  return {};
}

asio::awaitable<void> ControlLink::writeLoop() {
  for (;;) {
    while (outgoing_.empty() && !closed_) {
      outgoing_ready_.reset();
      co_await outgoing_ready_.wait();
    }
    if (closed_) break;
    Outgoing item = std::move(outgoing_.front());
    outgoing_.pop_front();
    std::vector<int> raw;
    for (const UniqueFd& fd : item.fds) raw.push_back(fd.get());
    auto sent = co_await channel_.send(std::move(item.message), std::move(raw));
    if (!sent) {
      if (sent.error().code == ErrorCode::kUnavailable || closed_) {
        close();
      } else {
        finish(sent.error().withContext("control channel"));
      }
      break;
    }
  }
  writer_running_ = false;
  write_done_.set();
}

void ControlLink::finish(const Error& why) {
  if (!error_ && !closed_) error_ = why;
  close();
}

void ControlLink::close() {
  if (closed_) return;
  closed_ = true;
  const std::string why = error_ ? error_->message : "the node closed it";
  for (auto& [id, pending] : pending_) {
    if (pending->result) continue;
    pending->result =
        fail(ErrorCode::kUnavailable, "sdk: the control channel to the node is closed ({})", why);
    pending->done.set();
  }
  while (!slot_waiters_.empty()) {
    slot_waiters_.front()->set();
    slot_waiters_.pop_front();
  }
  outgoing_.clear();
  outgoing_ready_.set();
  // Let the node see the end at once, and wake our own pending receive and send.
  ::shutdown(channel_.channel().nativeHandle(), SHUT_RDWR);
  channel_.cancel();
}

}  // namespace thunder::sdk
