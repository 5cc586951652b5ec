#include "ipc/message.h"

namespace thunder::ipc {

namespace {

struct TypeInfo {
  MessageType type;
  std::string_view name;
  MessageRole role;
  uint8_t fds;
  bool control;  // table data, not a parameter
  bool data;
};

constexpr TypeInfo kTypes[] = {
    {MessageType::kHello, "hello", MessageRole::kHello, 0, true, true},
    {MessageType::kNodeInfoRequest, "node_info_request", MessageRole::kRequest, 0, true, false},
    {MessageType::kNodeInfoReply, "node_info_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kOpenBlobRequest, "open_blob_request", MessageRole::kRequest, 0, true, false},
    {MessageType::kOpenBlobReply, "open_blob_reply", MessageRole::kReply, 1, true, false},
    {MessageType::kPutBlobRequest, "put_blob_request", MessageRole::kRequest, 1, true, false},
    {MessageType::kPutBlobReply, "put_blob_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kFetchOriginRequest, "fetch_origin_request", MessageRole::kRequest, 0, true,
     false},
    {MessageType::kFetchOriginReply, "fetch_origin_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kProposeUsageRequest, "propose_usage_request", MessageRole::kRequest, 0, true,
     false},
    {MessageType::kQueryBalanceRequest, "query_balance_request", MessageRole::kRequest, 0, true,
     false},
    {MessageType::kQueryBalanceReply, "query_balance_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kLogRequest, "log_request", MessageRole::kRequest, 0, true, false},
    {MessageType::kMetricsRequest, "metrics_request", MessageRole::kRequest, 0, true, false},
    {MessageType::kAckReply, "ack_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kErrorReply, "error_reply", MessageRole::kReply, 0, true, false},
    {MessageType::kDataChannel, "data_channel", MessageRole::kNotice, 1, true, false},
    {MessageType::kResolveContentRequest, "resolve_content_request", MessageRole::kRequest, 0, true,
     false},
    {MessageType::kResolveContentReply, "resolve_content_reply", MessageRole::kReply, 0, true,
     false},
    {MessageType::kConnectionHeader, "connection_header", MessageRole::kData, 0, false, true},
    {MessageType::kPayload, "payload", MessageRole::kData, 0, false, true},
    {MessageType::kStreamBlob, "stream_blob", MessageRole::kData, 0, false, true},
    {MessageType::kEnd, "end", MessageRole::kData, 0, false, true},
};

const TypeInfo* find(uint8_t value) {
  for (const auto& info : kTypes) {
    if (static_cast<uint8_t>(info.type) == value) return &info;
  }
  return nullptr;
}

const TypeInfo& info(MessageType type) {
  static constexpr TypeInfo kUnknown{
      MessageType::kHello, "unknown", MessageRole::kData, 0, false, false};
  const TypeInfo* found = find(static_cast<uint8_t>(type));
  return found ? *found : kUnknown;
}

// Index of each alternative of Message, in declaration order.
constexpr MessageType kVariantTypes[] = {
    MessageType::kHello,
    MessageType::kNodeInfoRequest,
    MessageType::kNodeInfoReply,
    MessageType::kOpenBlobRequest,
    MessageType::kOpenBlobReply,
    MessageType::kPutBlobRequest,
    MessageType::kPutBlobReply,
    MessageType::kFetchOriginRequest,
    MessageType::kFetchOriginReply,
    MessageType::kProposeUsageRequest,
    MessageType::kQueryBalanceRequest,
    MessageType::kQueryBalanceReply,
    MessageType::kLogRequest,
    MessageType::kMetricsRequest,
    MessageType::kAckReply,
    MessageType::kErrorReply,
    MessageType::kConnectionHeader,
    MessageType::kPayload,
    MessageType::kStreamBlob,
    MessageType::kEnd,
    MessageType::kDataChannel,
    MessageType::kResolveContentRequest,
    MessageType::kResolveContentReply,
};
static_assert(std::size(kVariantTypes) == std::variant_size_v<Message>);

template <typename T>
concept HasId = requires(T t) {
  t.id;
};

}  // namespace

MessageType typeOf(const Message& message) {
  return kVariantTypes[message.index()];
}

std::string_view messageTypeName(MessageType type) {
  return info(type).name;
}

bool isKnownMessageType(uint8_t value) {
  return find(value) != nullptr;
}

bool allowedOn(MessageType type, Channel channel) {
  const TypeInfo& i = info(type);
  return channel == Channel::kControl ? i.control : i.data;
}

MessageRole roleOf(MessageType type) {
  return info(type).role;
}

uint8_t fdCount(MessageType type) {
  return info(type).fds;
}

uint32_t maxBody(MessageType type) {
  return type == MessageType::kPayload ? kMaxPayloadBody : kMaxMessageBody;
}

std::optional<uint32_t> correlationId(const Message& message) {
  return std::visit(
      [](const auto& m) -> std::optional<uint32_t> {
        if constexpr (HasId<std::decay_t<decltype(m)>>) {
          return m.id;
        } else {
          return std::nullopt;
        }
      },
      message);
}

void setCorrelationId(Message& message, uint32_t id) {
  std::visit(
      [id](auto& m) {
        if constexpr (HasId<std::decay_t<decltype(m)>>) m.id = id;
      },
      message);
}

Result<uint16_t> negotiateVersion(const Hello& ours, const Hello& theirs) {
  if (ours.channel != theirs.channel) {
    return fail(ErrorCode::kInvalidArgument,
                "peer sent a hello for the {} channel on the {} channel",
                theirs.channel == Channel::kControl ? "control" : "data",
                ours.channel == Channel::kControl ? "control" : "data");
  }
  const uint16_t low = std::max(ours.min_version, theirs.min_version);
  const uint16_t high = std::min(ours.max_version, theirs.max_version);
  if (low > high) {
    return fail(ErrorCode::kInvalidArgument,
                "no common ipc version: peer speaks {}..{}, this side {}..{} (upgrade the older "
                "side)",
                theirs.min_version, theirs.max_version, ours.min_version, ours.max_version);
  }
  return high;
}

}  // namespace thunder::ipc
