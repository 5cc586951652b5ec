// The IPC schema: every message the node and a service exchange (docs/protocol/ipc.md).
//
// Two kinds of channel, both a Unix stream socket per peer pair: one control channel per service
// (correlated requests from the service, replies from the node, out of order) and one data
// channel per client connection (a connection header, then payloads until End). Every message is
// a plain value type here; codec.h turns it into framed bytes and back. File descriptors never
// live in a message: a frame carries them beside its bytes (unix_channel.h), and the schema fixes
// how many each type carries (fdCount()). This header is the one place the schema is defined.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace thunder::ipc {

// Protocol versions this build speaks (Hello negotiates the highest common one).
inline constexpr uint16_t kMinVersion = 1;
inline constexpr uint16_t kMaxVersion = 1;

// Protocol limits (bytes unless stated). A receiver rejects anything larger.
inline constexpr uint32_t kMaxMessageBody = 64 * 1024;   // every type except Payload
inline constexpr uint32_t kMaxPayloadBody = 256 * 1024;  // Payload
inline constexpr size_t kMaxNodeVersion = 64;
inline constexpr size_t kMaxUrl = 4096;
inline constexpr size_t kMaxLogMessage = 4096;
inline constexpr size_t kMaxErrorMessage = 1024;
inline constexpr size_t kMaxMetricSamples = 64;
inline constexpr size_t kMaxMetricName = 128;
inline constexpr size_t kMaxTransportName = 32;
inline constexpr size_t kMaxHttpMethod = 16;
inline constexpr size_t kMaxHttpPath = 8192;
inline constexpr size_t kMaxHttpQuery = 8192;
inline constexpr size_t kMaxHttpHeaders = 128;
inline constexpr size_t kMaxHttpHeaderName = 255;
inline constexpr size_t kMaxHttpHeaderValue = 8192;
inline constexpr size_t kMaxStreamRanges = 64;
inline constexpr size_t kMaxCidText = 256;  // ResolveContentRequest::cid
inline constexpr size_t kMaxFdsPerFrame = 1;
inline constexpr uint64_t kToEnd = UINT64_MAX;  // OpenBlobRequest::length: up to the blob's end

enum class Channel : uint8_t { kControl = 1, kData = 2 };

enum class MessageType : uint8_t {
  kHello = 0x01,  // both channels, first message from each side
  // Control channel: requests (service → node) and replies (node → service).
  kNodeInfoRequest = 0x10,
  kNodeInfoReply = 0x11,
  kOpenBlobRequest = 0x12,
  kOpenBlobReply = 0x13,   // carries 1 fd
  kPutBlobRequest = 0x14,  // carries 1 fd
  kPutBlobReply = 0x15,
  kFetchOriginRequest = 0x16,  // reserved for the CDN issue
  kFetchOriginReply = 0x17,
  kProposeUsageRequest = 0x18,
  kQueryBalanceRequest = 0x19,  // reserved for the ledger issue
  kQueryBalanceReply = 0x1a,
  kLogRequest = 0x1b,
  kMetricsRequest = 0x1c,
  kAckReply = 0x1d,
  kErrorReply = 0x1e,
  kDataChannel = 0x20,  // node → service: a new client connection's data channel (carries 1 fd)
  kResolveContentRequest = 0x21,  // a blob id or CID → the stored blob holding that content
  kResolveContentReply = 0x22,
  // Data channel.
  kConnectionHeader = 0x30,  // node → service, once, right after Hello
  kPayload = 0x31,           // both ways
  kStreamBlob = 0x32,        // service → node: content by reference
  kEnd = 0x33,               // both ways, last message
};

using Key32 = std::array<uint8_t, 32>;  // a BLAKE3 blob id or an Ed25519 public key

struct Hello {
  Channel channel = Channel::kControl;
  uint16_t min_version = kMinVersion;
  uint16_t max_version = kMaxVersion;
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct NodeInfoRequest {
  uint32_t id = 0;
  friend bool operator==(const NodeInfoRequest&, const NodeInfoRequest&) = default;
};
struct NodeInfoReply {
  uint32_t id = 0;
  Key32 node_key{};
  uint32_t service_id = 0;
  std::string node_version;  // <= kMaxNodeVersion
  friend bool operator==(const NodeInfoReply&, const NodeInfoReply&) = default;
};

// Open [offset, offset + length) of a stored blob; length kToEnd means up to its end.
struct OpenBlobRequest {
  uint32_t id = 0;
  Key32 blob{};
  uint64_t offset = 0;
  uint64_t length = kToEnd;
  friend bool operator==(const OpenBlobRequest&, const OpenBlobRequest&) = default;
};
// The fd is read-only; the range's bytes are at file offsets [offset, offset + length).
struct OpenBlobReply {
  uint32_t id = 0;
  uint64_t blob_size = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  friend bool operator==(const OpenBlobReply&, const OpenBlobReply&) = default;
};

// The fd (a memfd, file or pipe) holds exactly `size` content bytes from its current position.
struct PutBlobRequest {
  uint32_t id = 0;
  uint64_t size = 0;
  friend bool operator==(const PutBlobRequest&, const PutBlobRequest&) = default;
};
struct PutBlobReply {
  uint32_t id = 0;
  Key32 blob{};
  friend bool operator==(const PutBlobReply&, const PutBlobReply&) = default;
};

struct FetchOriginRequest {
  uint32_t id = 0;
  std::string url;  // <= kMaxUrl
  friend bool operator==(const FetchOriginRequest&, const FetchOriginRequest&) = default;
};
struct FetchOriginReply {
  uint32_t id = 0;
  Key32 blob{};
  uint64_t size = 0;
  friend bool operator==(const FetchOriginReply&, const FetchOriginReply&) = default;
};

// What a ResolveContentRequest names content by.
enum class ContentRefKind : uint8_t { kBlob = 1, kCid = 2 };

// "Which stored blob holds this content, and how large is it?" A blob id resolves to itself when
// the node stores it complete; a CID (text form, CIDv0 or CIDv1 in any multibase the node
// parses) through the node's IPFS index. Exactly the field of `kind` is set: the other stays
// empty (all-zero blob, empty cid), so one request has one encoding.
struct ResolveContentRequest {
  uint32_t id = 0;
  ContentRefKind kind = ContentRefKind::kBlob;
  Key32 blob{};     // kind kBlob
  std::string cid;  // kind kCid: 1..kMaxCidText bytes of printable ASCII
  friend bool operator==(const ResolveContentRequest&, const ResolveContentRequest&) = default;
};
// The blob is stored complete on the node (StreamBlob can send any range of it).
struct ResolveContentReply {
  uint32_t id = 0;
  Key32 blob{};
  uint64_t size = 0;
  friend bool operator==(const ResolveContentReply&, const ResolveContentReply&) = default;
};

// Same codes as handshake/dack.h Commodity.
enum class Commodity : uint8_t { kBandwidthBytes = 1, kComputeMs = 2 };

struct ProposeUsageRequest {
  uint32_t id = 0;
  uint64_t connection_id = 0;
  Commodity commodity = Commodity::kBandwidthBytes;
  uint64_t amount = 0;
  friend bool operator==(const ProposeUsageRequest&, const ProposeUsageRequest&) = default;
};

struct QueryBalanceRequest {
  uint32_t id = 0;
  Key32 client_key{};
  friend bool operator==(const QueryBalanceRequest&, const QueryBalanceRequest&) = default;
};
struct QueryBalanceReply {
  uint32_t id = 0;
  uint64_t balance = 0;
  friend bool operator==(const QueryBalanceReply&, const QueryBalanceReply&) = default;
};

enum class LogLevel : uint8_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };

struct LogRequest {
  uint32_t id = 0;
  LogLevel level = LogLevel::kInfo;
  std::string message;  // <= kMaxLogMessage
  friend bool operator==(const LogRequest&, const LogRequest&) = default;
};

enum class MetricKind : uint8_t { kCounter = 1, kGauge = 2 };

struct MetricSample {
  std::string name;  // 1..kMaxMetricName bytes of [a-z0-9_]
  MetricKind kind = MetricKind::kCounter;
  uint64_t value = 0;
  friend bool operator==(const MetricSample&, const MetricSample&) = default;
};
struct MetricsRequest {
  uint32_t id = 0;
  std::vector<MetricSample> samples;  // <= kMaxMetricSamples
  friend bool operator==(const MetricsRequest&, const MetricsRequest&) = default;
};

// Success without a result (ProposeUsage, Log, Metrics).
struct AckReply {
  uint32_t id = 0;
  friend bool operator==(const AckReply&, const AckReply&) = default;
};
// Any request may fail; `code` is a thunder::ErrorCode (wire values in ipc.md).
struct ErrorReply {
  uint32_t id = 0;
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // <= kMaxErrorMessage
  friend bool operator==(const ErrorReply&, const ErrorReply&) = default;
};

struct HttpHeader {
  std::string name;   // 1..kMaxHttpHeaderName
  std::string value;  // <= kMaxHttpHeaderValue
  friend bool operator==(const HttpHeader&, const HttpHeader&) = default;
};
struct HttpRequestHead {
  std::string method;               // 1..kMaxHttpMethod
  std::string path;                 // <= kMaxHttpPath
  std::string query;                // <= kMaxHttpQuery, without the '?'
  std::vector<HttpHeader> headers;  // <= kMaxHttpHeaders
  friend bool operator==(const HttpRequestHead&, const HttpRequestHead&) = default;
};
struct ConnectionHeader {
  uint64_t connection_id = 0;
  Key32 client_key{};
  uint32_t service_id = 0;
  uint32_t lane = 0;
  std::string transport;  // "tls", "quic", "ws", "http", ...: 1..kMaxTransportName
  std::optional<HttpRequestHead> http;
  friend bool operator==(const ConnectionHeader&, const ConnectionHeader&) = default;
};

struct Payload {
  std::vector<uint8_t> bytes;  // <= kMaxPayloadBody
  friend bool operator==(const Payload&, const Payload&) = default;
};

struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;  // >= 1; offset + length does not overflow
  friend bool operator==(const ByteRange&, const ByteRange&) = default;
};
// kVerified: the verified range stream of the ranges (docs/formats/verified-stream.md), for
// clients that verify. kRaw: the bytes of the ranges themselves, in order (HTTP bodies), read
// from the store, which verified them when they were stored.
enum class StreamMode : uint8_t { kVerified = 1, kRaw = 2 };
// "Stream blob X, ranges R": the node sends those bytes to the client itself.
struct StreamBlob {
  Key32 blob{};
  StreamMode mode = StreamMode::kVerified;
  std::vector<ByteRange> ranges;  // 1..kMaxStreamRanges
  friend bool operator==(const StreamBlob&, const StreamBlob&) = default;
};

enum class EndReason : uint16_t { kNormal = 0, kError = 1, kOverloaded = 2, kShutdown = 3 };
struct End {
  EndReason reason = EndReason::kNormal;
  std::string message;  // <= kMaxErrorMessage
  friend bool operator==(const End&, const End&) = default;
};

// A notice on the control channel (not a reply: no correlation id): the frame's descriptor is
// the service's end of a new data channel, for the client connection `connection_id` (the same
// id its ConnectionHeader will carry).
struct DataChannel {
  uint64_t connection_id = 0;
  friend bool operator==(const DataChannel&, const DataChannel&) = default;
};

using Message =
    std::variant<Hello, NodeInfoRequest, NodeInfoReply, OpenBlobRequest, OpenBlobReply,
                 PutBlobRequest, PutBlobReply, FetchOriginRequest, FetchOriginReply,
                 ProposeUsageRequest, QueryBalanceRequest, QueryBalanceReply, LogRequest,
                 MetricsRequest, AckReply, ErrorReply, ConnectionHeader, Payload, StreamBlob, End,
                 DataChannel, ResolveContentRequest, ResolveContentReply>;

// kNotice: a control message from the node that answers no request (DataChannel).
enum class MessageRole : uint8_t { kHello, kRequest, kReply, kData, kNotice };

MessageType typeOf(const Message& message);
// The stable snake_case name ("open_blob_request"); "unknown" for other values.
std::string_view messageTypeName(MessageType type);
// True iff `value` is one of the MessageType codes.
bool isKnownMessageType(uint8_t value);
// Whether `type` may travel on `channel` (Hello on both).
bool allowedOn(MessageType type, Channel channel);
MessageRole roleOf(MessageType type);
// How many file descriptors a frame of this type carries (0 or 1).
uint8_t fdCount(MessageType type);
// The largest body a frame of this type may have.
uint32_t maxBody(MessageType type);

// Correlation id of a control request or reply; nullopt for Hello and data messages.
std::optional<uint32_t> correlationId(const Message& message);
// Sets the correlation id of a request or reply; no effect on other messages.
void setCorrelationId(Message& message, uint32_t id);

// The highest version both Hello ranges contain; kInvalidArgument naming both ranges if none, or
// if the peer's Hello is for the other channel kind.
Result<uint16_t> negotiateVersion(const Hello& ours, const Hello& theirs);

}  // namespace thunder::ipc
