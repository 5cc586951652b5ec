#include "ipc/codec.h"

#include "ipc/wire.h"

namespace thunder::ipc {

namespace {

// ---- Encoding: one overload per message; limits were checked by validate() first. ----

void put(WireWriter& w, const Key32& key) {
  w.bytes(key);
}
void put(WireWriter& w, const Hello& m) {
  w.u8(static_cast<uint8_t>(m.channel));
  w.u16(m.min_version);
  w.u16(m.max_version);
}
void put(WireWriter& w, const NodeInfoRequest& m) {
  w.u32(m.id);
}
void put(WireWriter& w, const NodeInfoReply& m) {
  w.u32(m.id);
  put(w, m.node_key);
  w.u32(m.service_id);
  w.str8(m.node_version);
}
void put(WireWriter& w, const OpenBlobRequest& m) {
  w.u32(m.id);
  put(w, m.blob);
  w.u64(m.offset);
  w.u64(m.length);
}
void put(WireWriter& w, const OpenBlobReply& m) {
  w.u32(m.id);
  w.u64(m.blob_size);
  w.u64(m.offset);
  w.u64(m.length);
}
void put(WireWriter& w, const PutBlobRequest& m) {
  w.u32(m.id);
  w.u64(m.size);
}
void put(WireWriter& w, const PutBlobReply& m) {
  w.u32(m.id);
  put(w, m.blob);
}
void put(WireWriter& w, const FetchOriginRequest& m) {
  w.u32(m.id);
  w.str16(m.url);
}
void put(WireWriter& w, const FetchOriginReply& m) {
  w.u32(m.id);
  put(w, m.blob);
  w.u64(m.size);
}
void put(WireWriter& w, const ProposeUsageRequest& m) {
  w.u32(m.id);
  w.u64(m.connection_id);
  w.u8(static_cast<uint8_t>(m.commodity));
  w.u64(m.amount);
}
void put(WireWriter& w, const QueryBalanceRequest& m) {
  w.u32(m.id);
  put(w, m.client_key);
}
void put(WireWriter& w, const QueryBalanceReply& m) {
  w.u32(m.id);
  w.u64(m.balance);
}
void put(WireWriter& w, const LogRequest& m) {
  w.u32(m.id);
  w.u8(static_cast<uint8_t>(m.level));
  w.str16(m.message);
}
void put(WireWriter& w, const MetricsRequest& m) {
  w.u32(m.id);
  w.u8(static_cast<uint8_t>(m.samples.size()));
  for (const auto& s : m.samples) {
    w.str8(s.name);
    w.u8(static_cast<uint8_t>(s.kind));
    w.u64(s.value);
  }
}
void put(WireWriter& w, const AckReply& m) {
  w.u32(m.id);
}
void put(WireWriter& w, const ErrorReply& m) {
  w.u32(m.id);
  w.u16(errorCodeToWire(m.code));
  w.str16(m.message);
}
void put(WireWriter& w, const ConnectionHeader& m) {
  w.u64(m.connection_id);
  put(w, m.client_key);
  w.u32(m.service_id);
  w.u32(m.lane);
  w.str8(m.transport);
  w.u8(m.http ? 1 : 0);
  if (!m.http) return;
  w.str8(m.http->method);
  w.str16(m.http->path);
  w.str16(m.http->query);
  w.u16(static_cast<uint16_t>(m.http->headers.size()));
  for (const auto& h : m.http->headers) {
    w.str8(h.name);
    w.str16(h.value);
  }
}
void put(WireWriter& w, const Payload& m) {
  w.bytes(m.bytes);
}
void put(WireWriter& w, const StreamBlob& m) {
  put(w, m.blob);
  w.u8(static_cast<uint8_t>(m.mode));
  w.u8(static_cast<uint8_t>(m.ranges.size()));
  for (const auto& r : m.ranges) {
    w.u64(r.offset);
    w.u64(r.length);
  }
}
void put(WireWriter& w, const End& m) {
  w.u16(static_cast<uint16_t>(m.reason));
  w.str16(m.message);
}
void put(WireWriter& w, const DataChannel& m) {
  w.u64(m.connection_id);
}
void put(WireWriter& w, const ResolveContentRequest& m) {
  w.u32(m.id);
  w.u8(static_cast<uint8_t>(m.kind));
  if (m.kind == ContentRefKind::kBlob) {
    put(w, m.blob);
  } else {
    w.str16(m.cid);
  }
}
void put(WireWriter& w, const ResolveContentReply& m) {
  w.u32(m.id);
  put(w, m.blob);
  w.u64(m.size);
}

// ---- Decoding: fields in order; limits and enums are checked by validate() afterwards. ----

Result<void> get(WireReader& r, Key32& key, std::string_view field) {
  return r.bytes(field, key);
}

Result<Message> parse(MessageType type, WireReader& r) {
  switch (type) {
    case MessageType::kHello: {
      Hello m;
      THUNDER_ASSIGN_OR_RETURN(const uint8_t channel, r.u8("channel"));
      m.channel = static_cast<Channel>(channel);
      THUNDER_ASSIGN_OR_RETURN(m.min_version, r.u16("min_version"));
      THUNDER_ASSIGN_OR_RETURN(m.max_version, r.u16("max_version"));
      return m;
    }
    case MessageType::kNodeInfoRequest: {
      NodeInfoRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      return m;
    }
    case MessageType::kNodeInfoReply: {
      NodeInfoReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.node_key, "node_key"));
      THUNDER_ASSIGN_OR_RETURN(m.service_id, r.u32("service_id"));
      THUNDER_ASSIGN_OR_RETURN(m.node_version, r.str8("node_version", kMaxNodeVersion));
      return m;
    }
    case MessageType::kOpenBlobRequest: {
      OpenBlobRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.blob, "blob"));
      THUNDER_ASSIGN_OR_RETURN(m.offset, r.u64("offset"));
      THUNDER_ASSIGN_OR_RETURN(m.length, r.u64("length"));
      return m;
    }
    case MessageType::kOpenBlobReply: {
      OpenBlobReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(m.blob_size, r.u64("blob_size"));
      THUNDER_ASSIGN_OR_RETURN(m.offset, r.u64("offset"));
      THUNDER_ASSIGN_OR_RETURN(m.length, r.u64("length"));
      return m;
    }
    case MessageType::kPutBlobRequest: {
      PutBlobRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(m.size, r.u64("size"));
      return m;
    }
    case MessageType::kPutBlobReply: {
      PutBlobReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.blob, "blob"));
      return m;
    }
    case MessageType::kFetchOriginRequest: {
      FetchOriginRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(m.url, r.str16("url", kMaxUrl));
      return m;
    }
    case MessageType::kFetchOriginReply: {
      FetchOriginReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.blob, "blob"));
      THUNDER_ASSIGN_OR_RETURN(m.size, r.u64("size"));
      return m;
    }
    case MessageType::kProposeUsageRequest: {
      ProposeUsageRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(m.connection_id, r.u64("connection_id"));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t commodity, r.u8("commodity"));
      m.commodity = static_cast<Commodity>(commodity);
      THUNDER_ASSIGN_OR_RETURN(m.amount, r.u64("amount"));
      return m;
    }
    case MessageType::kQueryBalanceRequest: {
      QueryBalanceRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.client_key, "client_key"));
      return m;
    }
    case MessageType::kQueryBalanceReply: {
      QueryBalanceReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(m.balance, r.u64("balance"));
      return m;
    }
    case MessageType::kLogRequest: {
      LogRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t level, r.u8("level"));
      m.level = static_cast<LogLevel>(level);
      THUNDER_ASSIGN_OR_RETURN(m.message, r.str16("message", kMaxLogMessage));
      return m;
    }
    case MessageType::kMetricsRequest: {
      MetricsRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t count, r.u8("sample count"));
      if (count > kMaxMetricSamples) {
        return fail(ErrorCode::kCorruption, "metrics_request: {} samples exceed the limit of {}",
                    count, kMaxMetricSamples);
      }
      for (uint8_t i = 0; i < count; ++i) {
        MetricSample s;
        THUNDER_ASSIGN_OR_RETURN(s.name, r.str8("metric name", kMaxMetricName));
        THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("metric kind"));
        s.kind = static_cast<MetricKind>(kind);
        THUNDER_ASSIGN_OR_RETURN(s.value, r.u64("metric value"));
        m.samples.push_back(std::move(s));
      }
      return m;
    }
    case MessageType::kAckReply: {
      AckReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      return m;
    }
    case MessageType::kErrorReply: {
      ErrorReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(const uint16_t code, r.u16("code"));
      const auto mapped = errorCodeFromWire(code);
      if (!mapped) return fail(ErrorCode::kCorruption, "error_reply: unknown error code {}", code);
      m.code = *mapped;
      THUNDER_ASSIGN_OR_RETURN(m.message, r.str16("message", kMaxErrorMessage));
      return m;
    }
    case MessageType::kConnectionHeader: {
      ConnectionHeader m;
      THUNDER_ASSIGN_OR_RETURN(m.connection_id, r.u64("connection_id"));
      THUNDER_TRY(get(r, m.client_key, "client_key"));
      THUNDER_ASSIGN_OR_RETURN(m.service_id, r.u32("service_id"));
      THUNDER_ASSIGN_OR_RETURN(m.lane, r.u32("lane"));
      THUNDER_ASSIGN_OR_RETURN(m.transport, r.str8("transport", kMaxTransportName));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t has_http, r.u8("has_http"));
      if (has_http > 1) {
        return fail(ErrorCode::kCorruption, "connection_header: has_http is {} (must be 0 or 1)",
                    has_http);
      }
      if (has_http == 0) return m;
      HttpRequestHead h;
      THUNDER_ASSIGN_OR_RETURN(h.method, r.str8("http method", kMaxHttpMethod));
      THUNDER_ASSIGN_OR_RETURN(h.path, r.str16("http path", kMaxHttpPath));
      THUNDER_ASSIGN_OR_RETURN(h.query, r.str16("http query", kMaxHttpQuery));
      THUNDER_ASSIGN_OR_RETURN(const uint16_t count, r.u16("http header count"));
      if (count > kMaxHttpHeaders) {
        return fail(ErrorCode::kCorruption,
                    "connection_header: {} http headers exceed the limit of {}", count,
                    kMaxHttpHeaders);
      }
      for (uint16_t i = 0; i < count; ++i) {
        HttpHeader header;
        THUNDER_ASSIGN_OR_RETURN(header.name, r.str8("http header name", kMaxHttpHeaderName));
        THUNDER_ASSIGN_OR_RETURN(header.value, r.str16("http header value", kMaxHttpHeaderValue));
        h.headers.push_back(std::move(header));
      }
      m.http = std::move(h);
      return m;
    }
    case MessageType::kPayload: {
      THUNDER_ASSIGN_OR_RETURN(const auto bytes, r.view("bytes", r.remaining()));
      return Payload{{bytes.begin(), bytes.end()}};
    }
    case MessageType::kStreamBlob: {
      StreamBlob m;
      THUNDER_TRY(get(r, m.blob, "blob"));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t mode, r.u8("mode"));
      m.mode = static_cast<StreamMode>(mode);
      THUNDER_ASSIGN_OR_RETURN(const uint8_t count, r.u8("range count"));
      if (count > kMaxStreamRanges) {
        return fail(ErrorCode::kCorruption, "stream_blob: {} ranges exceed the limit of {}", count,
                    kMaxStreamRanges);
      }
      for (uint8_t i = 0; i < count; ++i) {
        ByteRange range;
        THUNDER_ASSIGN_OR_RETURN(range.offset, r.u64("range offset"));
        THUNDER_ASSIGN_OR_RETURN(range.length, r.u64("range length"));
        m.ranges.push_back(range);
      }
      return m;
    }
    case MessageType::kEnd: {
      End m;
      THUNDER_ASSIGN_OR_RETURN(const uint16_t reason, r.u16("reason"));
      m.reason = static_cast<EndReason>(reason);
      THUNDER_ASSIGN_OR_RETURN(m.message, r.str16("message", kMaxErrorMessage));
      return m;
    }
    case MessageType::kDataChannel: {
      DataChannel m;
      THUNDER_ASSIGN_OR_RETURN(m.connection_id, r.u64("connection id"));
      return m;
    }
    case MessageType::kResolveContentRequest: {
      ResolveContentRequest m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("kind"));
      m.kind = static_cast<ContentRefKind>(kind);
      if (m.kind == ContentRefKind::kBlob) {
        THUNDER_TRY(get(r, m.blob, "blob"));
      } else if (m.kind == ContentRefKind::kCid) {
        THUNDER_ASSIGN_OR_RETURN(m.cid, r.str16("cid", kMaxCidText));
      } else {
        return fail(ErrorCode::kCorruption, "resolve_content_request: unknown kind {}", kind);
      }
      return m;
    }
    case MessageType::kResolveContentReply: {
      ResolveContentReply m;
      THUNDER_ASSIGN_OR_RETURN(m.id, r.u32("id"));
      THUNDER_TRY(get(r, m.blob, "blob"));
      THUNDER_ASSIGN_OR_RETURN(m.size, r.u64("size"));
      return m;
    }
  }
  return fail(ErrorCode::kCorruption, "unknown message type 0x{:02x}", static_cast<int>(type));
}

uint32_t readLength(std::span<const uint8_t> header) {
  return static_cast<uint32_t>(header[2]) | static_cast<uint32_t>(header[3]) << 8 |
         static_cast<uint32_t>(header[4]) << 16 | static_cast<uint32_t>(header[5]) << 24;
}

}  // namespace

Result<std::vector<uint8_t>> encodeBody(const Message& message) {
  THUNDER_TRY(validate(message));
  WireWriter w;
  std::visit([&w](const auto& m) { put(w, m); }, message);
  std::vector<uint8_t> body = w.take();
  const MessageType type = typeOf(message);
  if (body.size() > maxBody(type)) {
    return fail(ErrorCode::kInvalidArgument, "{}: body of {} bytes exceeds the limit of {} bytes",
                messageTypeName(type), body.size(), maxBody(type));
  }
  return body;
}

Result<std::vector<uint8_t>> encodeFrame(const Message& message) {
  THUNDER_ASSIGN_OR_RETURN(const std::vector<uint8_t> body, encodeBody(message));
  const MessageType type = typeOf(message);
  const auto length = static_cast<uint32_t>(body.size());
  std::vector<uint8_t> out;
  out.reserve(kFrameHeaderSize + body.size());
  out.push_back(static_cast<uint8_t>(type));
  out.push_back(fdCount(type));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(length >> (8 * i)));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

Result<FrameHeader> parseFrameHeader(Channel channel, std::span<const uint8_t> header) {
  if (header.size() != kFrameHeaderSize) {
    return fail(ErrorCode::kCorruption, "truncated frame header ({} of {} bytes)", header.size(),
                kFrameHeaderSize);
  }
  if (!isKnownMessageType(header[0])) {
    return fail(ErrorCode::kCorruption, "unknown message type 0x{:02x}", header[0]);
  }
  const auto type = static_cast<MessageType>(header[0]);
  if (!allowedOn(type, channel)) {
    return fail(ErrorCode::kCorruption, "{} is not a {} channel message", messageTypeName(type),
                channel == Channel::kControl ? "control" : "data");
  }
  if (header[1] != fdCount(type)) {
    return fail(ErrorCode::kCorruption, "{} frame declares {} fds (it carries exactly {})",
                messageTypeName(type), header[1], fdCount(type));
  }
  const uint32_t length = readLength(header);
  if (length > maxBody(type)) {
    return fail(ErrorCode::kInvalidArgument, "{} frame of {} bytes exceeds the limit of {} bytes",
                messageTypeName(type), length, maxBody(type));
  }
  return FrameHeader{type, header[1], length};
}

Result<Message> decodeBody(const FrameHeader& header, std::span<const uint8_t> body) {
  const std::string_view name = messageTypeName(header.type);
  if (body.size() != header.length) {
    return fail(ErrorCode::kCorruption, "{}: body of {} bytes, header says {}", name, body.size(),
                header.length);
  }
  WireReader r(body, name);
  THUNDER_ASSIGN_OR_RETURN(Message message, parse(header.type, r));
  THUNDER_TRY(r.expectEnd());
  if (auto valid = validate(message); !valid) {
    return fail(ErrorCode::kCorruption, "{}", valid.error().message);
  }
  return message;
}

Result<Message> decodeFrame(Channel channel, std::span<const uint8_t> bytes) {
  if (bytes.size() < kFrameHeaderSize) {
    return fail(ErrorCode::kCorruption, "truncated frame header ({} of {} bytes)", bytes.size(),
                kFrameHeaderSize);
  }
  THUNDER_ASSIGN_OR_RETURN(const FrameHeader header,
                           parseFrameHeader(channel, bytes.first(kFrameHeaderSize)));
  const size_t available = bytes.size() - kFrameHeaderSize;
  if (available < header.length) {
    return fail(ErrorCode::kCorruption, "truncated {} frame ({} of {} body bytes)",
                messageTypeName(header.type), available, header.length);
  }
  if (available > header.length) {
    return fail(ErrorCode::kCorruption, "{} trailing bytes after a {} frame",
                available - header.length, messageTypeName(header.type));
  }
  return decodeBody(header, bytes.subspan(kFrameHeaderSize));
}

}  // namespace thunder::ipc
