// The SDK's vocabulary: plain value types a service sees (connection header, HTTP request head,
// node answers, ranges, levels). No I/O here; any thread.
//
// Errors, ids and keys come from Thunder's base library, which the SDK re-exports on purpose so
// a service reads like the rest of Thunder:
//   thunder::Result<T> / thunder::Error / thunder::ErrorCode  (base/result.h, base/error.h)
//   thunder::BlobId, thunder::PublicKey                       (base/strong_types.h)
//   thunder::UniqueFd                                         (base/unique_fd.h)
// These four headers are the only non-SDK Thunder headers a service may include.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "base/unique_fd.h"

namespace thunder::sdk {

using ::thunder::BlobId;
using ::thunder::Error;
using ::thunder::ErrorCode;
using ::thunder::PublicKey;
using ::thunder::Result;
using ::thunder::UniqueFd;

using Bytes = std::vector<uint8_t>;

// Protocol limits a service meets (docs/protocol/ipc.md §5). The SDK splits larger writes.
inline constexpr size_t kMaxPayloadBytes = 256 * 1024;  // one Payload frame
inline constexpr size_t kMaxStreamRangesPerFrame = 64;  // one StreamBlob frame
inline constexpr size_t kMaxEndMessage = 1024;          // End and error messages (longer: cut)
inline constexpr size_t kMaxLogMessage = 4096;          // one log line (longer: cut)
inline constexpr size_t kMaxMetricSamples = 64;         // samples per metrics() call
inline constexpr uint64_t kToEnd = UINT64_MAX;          // openBlob(): up to the end of the blob
inline constexpr size_t kMaxCidText = 256;              // resolveCid(): a CID's text form

// Why a data channel ended (End frame, ipc.md §4.4).
enum class EndReason : uint16_t { kNormal = 0, kError = 1, kOverloaded = 2, kShutdown = 3 };

struct EndInfo {
  EndReason reason = EndReason::kNormal;
  std::string message;
};

// [offset, offset + length) of a blob; length >= 1.
struct ByteRange {
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What Connection::streamBlob() sends (ipc.md §4.3): the verified range stream of the ranges
// (docs/formats/verified-stream.md: for clients that verify, e.g. `thunder fetch`), or the bytes
// of the ranges themselves (kRaw: HTTP bodies).
enum class StreamMode : uint8_t { kVerified = 1, kRaw = 2 };

enum class LogLevel : uint8_t { kTrace = 0, kDebug = 1, kInfo = 2, kWarn = 3, kError = 4 };

// What a usage proposal counts (the DACK commodity codes of docs/protocol/handshake.md).
enum class Commodity : uint8_t { kBandwidthBytes = 1, kComputeMs = 2 };

enum class MetricKind : uint8_t { kCounter = 1, kGauge = 2 };

struct MetricSample {
  std::string name;  // 1..128 bytes of [a-z0-9_]
  MetricKind kind = MetricKind::kCounter;
  uint64_t value = 0;  // counter: the running total
};

// Answer of Service::nodeInfo().
struct NodeInfo {
  PublicKey node_key;        // the node's Ed25519 public key
  uint32_t service_id = 0;   // the id this service is registered under
  std::string node_version;  // e.g. "0.1.0"
};

// Answer of Service::openBlob(): a read-only descriptor (owned) whose file offsets
// [offset, offset + length) hold the requested bytes. Read with pread(); do not rely on the
// descriptor's position.
struct OpenedBlob {
  UniqueFd fd;
  uint64_t blob_size = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Answer of Service::fetchOrigin() (reserved: nodes answer kUnavailable for now).
struct FetchedBlob {
  BlobId blob;
  uint64_t size = 0;
};

// Answer of Service::resolveBlob() / resolveCid(): the blob the node stores complete for that
// content, and its size in bytes.
struct ResolvedContent {
  BlobId blob;
  uint64_t size = 0;
};

struct HttpHeader {
  std::string name;
  std::string value;
};

// The request head of an HTTP client, as the node parsed it.
struct HttpRequestHead {
  std::string method;               // "GET", "POST", ...
  std::string path;                 // "/a/b", percent-encoding as sent
  std::string query;                // without the '?'; empty if none
  std::vector<HttpHeader> headers;  // in arrival order

  // The value of the first header named `name` (ASCII case-insensitive), if any.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The connection header (ipc.md §4.1): who the client is and how it came.
struct ConnectionInfo {
  uint64_t connection_id = 0;           // unique per node run; pass to Service::proposeUsage()
  PublicKey client_key;                 // the client's Ed25519 public key (from the handshake)
  uint32_t service_id = 0;              // the service the client asked for
  uint32_t lane = 0;                    // the client's payment lane
  std::string transport;                // "tls", "quic", "ws", "http", ...
  std::optional<HttpRequestHead> http;  // set iff the client came over HTTP

  std::string clientKeyHex() const { return client_key.hex(); }
};

}  // namespace thunder::sdk
