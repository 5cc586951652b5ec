// validate() and the ErrorCode wire table of codec.h: the field rules both encoder and decoder
// enforce.
#include <algorithm>

#include "ipc/codec.h"

namespace thunder::ipc {

namespace {

constexpr ErrorCode kWireCodes[] = {
    ErrorCode::kInvalidArgument, ErrorCode::kNotFound,          ErrorCode::kAlreadyExists,
    ErrorCode::kCorruption,      ErrorCode::kIoError,           ErrorCode::kPermissionDenied,
    ErrorCode::kUnavailable,     ErrorCode::kResourceExhausted, ErrorCode::kTimeout,
    ErrorCode::kCancelled,       ErrorCode::kInternal,
};

Result<void> checkLength(std::string_view type, std::string_view field, size_t size, size_t min,
                         size_t max) {
  if (size < min || size > max) {
    return fail(ErrorCode::kInvalidArgument, "{}: {} of {} bytes is outside {}..{}", type, field,
                size, min, max);
  }
  return {};
}

Result<void> checkRange(std::string_view type, uint64_t offset, uint64_t length) {
  if (length == 0) return fail(ErrorCode::kInvalidArgument, "{}: empty range", type);
  if (offset > UINT64_MAX - length) {
    return fail(ErrorCode::kInvalidArgument, "{}: range {}+{} overflows 64 bits", type, offset,
                length);
  }
  return {};
}

bool isMetricNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

Result<void> check(const Hello& m) {
  if (m.channel != Channel::kControl && m.channel != Channel::kData) {
    return fail(ErrorCode::kInvalidArgument, "hello: unknown channel kind {}",
                static_cast<int>(m.channel));
  }
  if (m.min_version == 0 || m.min_version > m.max_version) {
    return fail(ErrorCode::kInvalidArgument, "hello: bad version range {}..{}", m.min_version,
                m.max_version);
  }
  return {};
}

Result<void> check(const NodeInfoReply& m) {
  return checkLength("node_info_reply", "node_version", m.node_version.size(), 0, kMaxNodeVersion);
}

Result<void> check(const OpenBlobRequest& m) {
  if (m.length == kToEnd) return {};
  return checkRange("open_blob_request", m.offset, m.length);
}

Result<void> check(const OpenBlobReply& m) {
  if (m.offset > m.blob_size || m.length > m.blob_size - m.offset) {
    return fail(ErrorCode::kInvalidArgument,
                "open_blob_reply: range {}+{} outside a blob of {} bytes", m.offset, m.length,
                m.blob_size);
  }
  return {};
}

Result<void> check(const FetchOriginRequest& m) {
  return checkLength("fetch_origin_request", "url", m.url.size(), 1, kMaxUrl);
}

Result<void> check(const ProposeUsageRequest& m) {
  if (m.commodity != Commodity::kBandwidthBytes && m.commodity != Commodity::kComputeMs) {
    return fail(ErrorCode::kInvalidArgument, "propose_usage_request: unknown commodity {}",
                static_cast<int>(m.commodity));
  }
  return {};
}

Result<void> check(const LogRequest& m) {
  if (static_cast<uint8_t>(m.level) > static_cast<uint8_t>(LogLevel::kError)) {
    return fail(ErrorCode::kInvalidArgument, "log_request: unknown level {}",
                static_cast<int>(m.level));
  }
  return checkLength("log_request", "message", m.message.size(), 0, kMaxLogMessage);
}

Result<void> check(const MetricsRequest& m) {
  if (m.samples.size() > kMaxMetricSamples) {
    return fail(ErrorCode::kInvalidArgument, "metrics_request: {} samples exceed the limit of {}",
                m.samples.size(), kMaxMetricSamples);
  }
  for (const auto& s : m.samples) {
    THUNDER_TRY(checkLength("metrics_request", "name", s.name.size(), 1, kMaxMetricName));
    if (!std::all_of(s.name.begin(), s.name.end(), isMetricNameChar)) {
      return fail(ErrorCode::kInvalidArgument,
                  "metrics_request: metric name '{}' has characters outside [a-z0-9_]", s.name);
    }
    if (s.kind != MetricKind::kCounter && s.kind != MetricKind::kGauge) {
      return fail(ErrorCode::kInvalidArgument, "metrics_request: unknown metric kind {}",
                  static_cast<int>(s.kind));
    }
  }
  return {};
}

Result<void> check(const ErrorReply& m) {
  if (!errorCodeFromWire(errorCodeToWire(m.code))) {
    return fail(ErrorCode::kInvalidArgument, "error_reply: unknown error code {}",
                static_cast<int>(m.code));
  }
  return checkLength("error_reply", "message", m.message.size(), 0, kMaxErrorMessage);
}

Result<void> check(const ConnectionHeader& m) {
  constexpr std::string_view kType = "connection_header";
  THUNDER_TRY(checkLength(kType, "transport", m.transport.size(), 1, kMaxTransportName));
  if (!m.http) return {};
  const HttpRequestHead& h = *m.http;
  THUNDER_TRY(checkLength(kType, "http method", h.method.size(), 1, kMaxHttpMethod));
  THUNDER_TRY(checkLength(kType, "http path", h.path.size(), 0, kMaxHttpPath));
  THUNDER_TRY(checkLength(kType, "http query", h.query.size(), 0, kMaxHttpQuery));
  if (h.headers.size() > kMaxHttpHeaders) {
    return fail(ErrorCode::kInvalidArgument, "{}: {} http headers exceed the limit of {}", kType,
                h.headers.size(), kMaxHttpHeaders);
  }
  for (const auto& header : h.headers) {
    THUNDER_TRY(checkLength(kType, "http header name", header.name.size(), 1, kMaxHttpHeaderName));
    THUNDER_TRY(
        checkLength(kType, "http header value", header.value.size(), 0, kMaxHttpHeaderValue));
  }
  return {};
}

Result<void> check(const Payload& m) {
  return checkLength("payload", "bytes", m.bytes.size(), 0, kMaxPayloadBody);
}

Result<void> check(const StreamBlob& m) {
  if (m.mode != StreamMode::kVerified && m.mode != StreamMode::kRaw) {
    return fail(ErrorCode::kInvalidArgument, "stream_blob: unknown mode {}",
                static_cast<int>(m.mode));
  }
  if (m.ranges.empty() || m.ranges.size() > kMaxStreamRanges) {
    return fail(ErrorCode::kInvalidArgument, "stream_blob: {} ranges is outside 1..{}",
                m.ranges.size(), kMaxStreamRanges);
  }
  for (const auto& r : m.ranges) THUNDER_TRY(checkRange("stream_blob", r.offset, r.length));
  return {};
}

Result<void> check(const End& m) {
  if (static_cast<uint16_t>(m.reason) > static_cast<uint16_t>(EndReason::kShutdown)) {
    return fail(ErrorCode::kInvalidArgument, "end: unknown reason {}", static_cast<int>(m.reason));
  }
  return checkLength("end", "message", m.message.size(), 0, kMaxErrorMessage);
}

Result<void> check(const ResolveContentRequest& m) {
  constexpr std::string_view kType = "resolve_content_request";
  if (m.kind == ContentRefKind::kBlob) {
    if (!m.cid.empty()) {
      return fail(ErrorCode::kInvalidArgument, "{}: a blob reference carries no cid", kType);
    }
    return {};
  }
  if (m.kind != ContentRefKind::kCid) {
    return fail(ErrorCode::kInvalidArgument, "{}: unknown kind {}", kType,
                static_cast<int>(m.kind));
  }
  if (std::any_of(m.blob.begin(), m.blob.end(), [](uint8_t b) { return b != 0; })) {
    return fail(ErrorCode::kInvalidArgument, "{}: a cid reference carries no blob id", kType);
  }
  THUNDER_TRY(checkLength(kType, "cid", m.cid.size(), 1, kMaxCidText));
  if (!std::all_of(m.cid.begin(), m.cid.end(), [](char c) { return c > ' ' && c < 0x7f; })) {
    return fail(ErrorCode::kInvalidArgument,
                "{}: the cid has characters outside printable ASCII (a CID's text form is "
                "multibase text)",
                kType);
  }
  return {};
}

template <typename T>
Result<void> check(const T&) {
  return {};
}

}  // namespace

Result<void> validate(const Message& message) {
  return std::visit([](const auto& m) { return check(m); }, message);
}

uint16_t errorCodeToWire(ErrorCode code) {
  for (size_t i = 0; i < std::size(kWireCodes); ++i) {
    if (kWireCodes[i] == code) return static_cast<uint16_t>(i + 1);
  }
  return 0;
}

std::optional<ErrorCode> errorCodeFromWire(uint16_t value) {
  if (value == 0 || value > std::size(kWireCodes)) return std::nullopt;
  return kWireCodes[value - 1];
}

}  // namespace thunder::ipc
