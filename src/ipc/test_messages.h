// Test support: one representative value of every IPC message type, with non-default fields, for
// round-trip tests and fuzz seeds. Header-only; used by tests and tests/fuzz only.
#pragma once

#include <vector>

#include "ipc/message.h"

namespace thunder::ipc::testing {

inline Key32 keyOf(uint8_t seed) {
  Key32 key;
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(seed + i);
  return key;
}

inline std::vector<Message> sampleMessages() {
  ConnectionHeader http_header{7, keyOf(3), 42, 5, "http", std::nullopt};
  http_header.http = HttpRequestHead{"GET", "/index.html", "a=1&b=2", {}};
  http_header.http->headers.push_back({"host", "example.test"});
  http_header.http->headers.push_back({"accept", ""});
  return {
      Hello{Channel::kControl, 1, 1},
      Hello{Channel::kData, 1, 3},
      NodeInfoRequest{1},
      NodeInfoReply{2, keyOf(9), 42, "thunder 0.1.0"},
      OpenBlobRequest{3, keyOf(1), 100, kToEnd},
      OpenBlobRequest{4, keyOf(1), 0, 4096},
      OpenBlobReply{3, 10000, 100, 9900},
      PutBlobRequest{5, 123456},
      PutBlobReply{5, keyOf(2)},
      FetchOriginRequest{6, "https://origin.test/a.png"},
      FetchOriginReply{6, keyOf(4), 77},
      ProposeUsageRequest{7, 99, Commodity::kComputeMs, 1500},
      QueryBalanceRequest{8, keyOf(5)},
      QueryBalanceReply{8, 1u << 31},
      LogRequest{9, LogLevel::kWarn, "disk almost full"},
      MetricsRequest{
          10,
          {{"requests_total", MetricKind::kCounter, 5}, {"queue_depth", MetricKind::kGauge, 2}}},
      AckReply{11},
      ErrorReply{12, ErrorCode::kNotFound, "no blob 0102"},
      ConnectionHeader{1, keyOf(6), 3, 0, "tls", std::nullopt},
      http_header,
      Payload{{1, 2, 3, 4, 5}},
      Payload{},
      StreamBlob{keyOf(7), StreamMode::kVerified, {{0, 1024}, {4096, 10}}},
      StreamBlob{keyOf(7), StreamMode::kRaw, {{5, 6}}},
      End{EndReason::kNormal, ""},
      End{EndReason::kError, "handler failed"},
      DataChannel{17},
      ResolveContentRequest{13, ContentRefKind::kBlob, keyOf(8), ""},
      ResolveContentRequest{14, ContentRefKind::kCid, {}, "bafkreigh2akiscaildc"},
      ResolveContentReply{13, keyOf(8), 123456789},
  };
}

inline Channel channelFor(const Message& message) {
  return allowedOn(typeOf(message), Channel::kControl) ? Channel::kControl : Channel::kData;
}

}  // namespace thunder::ipc::testing
