#include "ipc/control_client.h"

#include "base/check.h"

namespace thunder::ipc {

ControlClient::ControlClient(UnixChannel& channel, ControlClientOptions options)
    : channel_(channel), options_(options) {
  THUNDER_CHECK(channel.kind() == Channel::kControl, "ControlClient needs a control channel");
  THUNDER_CHECK(options.max_in_flight >= 1, "ControlClientOptions::max_in_flight must be >= 1");
}

Result<uint32_t> ControlClient::start(Message request, std::span<const int> fds) {
  const MessageType type = typeOf(request);
  if (roleOf(type) != MessageRole::kRequest) {
    return fail(ErrorCode::kInvalidArgument, "ipc: {} is not a control request",
                messageTypeName(type));
  }
  if (pending_.size() >= options_.max_in_flight) {
    return fail(ErrorCode::kResourceExhausted,
                "ipc: {} requests already in flight (limit {}); wait for replies first",
                pending_.size(), options_.max_in_flight);
  }
  while (next_id_ == 0 || pending_.contains(next_id_)) ++next_id_;
  const uint32_t id = next_id_++;
  setCorrelationId(request, id);
  THUNDER_TRY(channel_.send(request, fds));
  pending_.emplace(id, std::nullopt);
  return id;
}

Result<Received> ControlClient::wait(uint32_t id) {
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    return fail(ErrorCode::kNotFound, "ipc: no request with correlation id {} is in flight", id);
  }
  while (!it->second) {
    THUNDER_ASSIGN_OR_RETURN(Received received, channel_.receive());
    const MessageType type = typeOf(received.message);
    if (roleOf(type) == MessageRole::kNotice) {
      notices_.push_back(std::move(received));
      continue;
    }
    if (roleOf(type) != MessageRole::kReply) {
      return fail(ErrorCode::kCorruption, "ipc: node sent a {} where a reply was expected",
                  messageTypeName(type));
    }
    const uint32_t reply_id = *correlationId(received.message);
    auto target = pending_.find(reply_id);
    if (target == pending_.end() || target->second) {
      return fail(ErrorCode::kCorruption,
                  "ipc: node sent a {} for correlation id {}, not in flight", messageTypeName(type),
                  reply_id);
    }
    target->second = std::move(received);
  }
  Received reply = std::move(*it->second);
  pending_.erase(it);
  if (const auto* error = std::get_if<ErrorReply>(&reply.message)) {
    return fail(error->code, "node: {}", error->message);
  }
  return reply;
}

Result<Received> ControlClient::call(Message request, std::span<const int> fds) {
  THUNDER_ASSIGN_OR_RETURN(const uint32_t id, start(std::move(request), fds));
  return wait(id);
}

}  // namespace thunder::ipc
