#include "ipc/codec.h"

#include <gtest/gtest.h>

#include <set>

#include "ipc/test_messages.h"

namespace thunder::ipc {
namespace {

using testing::channelFor;
using testing::sampleMessages;

std::vector<uint8_t> frameOf(const Message& m) {
  auto bytes = encodeFrame(m);
  EXPECT_TRUE(bytes) << bytes.error().message;
  return bytes ? *bytes : std::vector<uint8_t>{};
}

std::string errorOf(Channel channel, std::span<const uint8_t> bytes) {
  auto decoded = decodeFrame(channel, bytes);
  EXPECT_FALSE(decoded);
  return decoded ? std::string() : decoded.error().message;
}

TEST(IpcCodec, SamplesCoverEveryMessageType) {
  std::set<uint8_t> covered;
  for (const auto& m : sampleMessages()) covered.insert(static_cast<uint8_t>(typeOf(m)));
  for (int v = 0; v < 256; ++v) {
    EXPECT_EQ(isKnownMessageType(static_cast<uint8_t>(v)), covered.contains(v)) << v;
  }
}

TEST(IpcCodec, RoundTripsEveryMessage) {
  for (const auto& m : sampleMessages()) {
    const auto bytes = frameOf(m);
    auto decoded = decodeFrame(channelFor(m), bytes);
    ASSERT_TRUE(decoded) << messageTypeName(typeOf(m)) << ": " << decoded.error().message;
    EXPECT_EQ(*decoded, m) << messageTypeName(typeOf(m));
    EXPECT_EQ(bytes[1], fdCount(typeOf(m)));
  }
}

TEST(IpcCodec, HeaderLayoutIsTypeFdCountLengthLittleEndian) {
  const auto bytes = frameOf(OpenBlobReply{0x01020304, 10, 0, 10});
  ASSERT_EQ(bytes.size(), kFrameHeaderSize + 28);
  EXPECT_EQ(bytes[0], 0x13);
  EXPECT_EQ(bytes[1], 1);
  EXPECT_EQ(bytes[2], 28);
  EXPECT_EQ(bytes[3], 0);
  EXPECT_EQ(bytes[6], 0x04);  // id, little-endian
  EXPECT_EQ(bytes[9], 0x01);
}

TEST(IpcCodec, RejectsEveryTruncation) {
  for (const auto& m : sampleMessages()) {
    const auto bytes = frameOf(m);
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decodeFrame(channelFor(m), std::span(bytes).first(n));
      ASSERT_FALSE(decoded) << messageTypeName(typeOf(m)) << " prefix " << n;
      EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
      EXPECT_NE(decoded.error().message.find("truncated"), std::string::npos)
          << decoded.error().message;
    }
  }
}

TEST(IpcCodec, RejectsEveryBodyTruncationWithConsistentHeader) {
  for (const auto& m : sampleMessages()) {
    if (std::holds_alternative<Payload>(m)) continue;  // any length is a valid payload
    auto body = encodeBody(m);
    ASSERT_TRUE(body);
    const MessageType type = typeOf(m);
    for (size_t n = 0; n < body->size(); ++n) {
      const FrameHeader header{type, fdCount(type), static_cast<uint32_t>(n)};
      auto decoded = decodeBody(header, std::span(*body).first(n));
      // A shorter body can be valid only if a variable-length field ends exactly there, which
      // the samples avoid by construction except at zero-length strings and lists.
      if (decoded) {
        EXPECT_NE(*decoded, m) << messageTypeName(type) << " prefix " << n;
      } else {
        EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
      }
    }
  }
}

TEST(IpcCodec, RejectsTrailingBytesInFrameAndBody) {
  for (const auto& m : sampleMessages()) {
    auto bytes = frameOf(m);
    bytes.push_back(0);
    EXPECT_NE(errorOf(channelFor(m), bytes).find("trailing"), std::string::npos);
    if (std::holds_alternative<Payload>(m)) continue;
    // Same extra byte inside the body, with the length adjusted to cover it.
    bytes[2] += 1;
    EXPECT_NE(errorOf(channelFor(m), bytes).find("trailing"), std::string::npos)
        << messageTypeName(typeOf(m));
  }
}

TEST(IpcCodec, RejectsUnknownTypeWrongChannelAndWrongFdCount) {
  std::vector<uint8_t> bytes = {0x7f, 0, 0, 0, 0, 0};
  EXPECT_EQ(errorOf(Channel::kControl, bytes), "unknown message type 0x7f");
  auto open = frameOf(OpenBlobRequest{1, {}, 0, kToEnd});
  EXPECT_EQ(errorOf(Channel::kData, open), "open_blob_request is not a data channel message");
  auto payload = frameOf(Payload{{1}});
  EXPECT_EQ(errorOf(Channel::kControl, payload), "payload is not a control channel message");
  auto reply = frameOf(OpenBlobReply{1, 1, 0, 1});
  reply[1] = 0;
  EXPECT_EQ(errorOf(Channel::kControl, reply),
            "open_blob_reply frame declares 0 fds (it carries exactly 1)");
}

TEST(IpcCodec, RejectsOversizedFramesBeforeReadingTheBody) {
  std::vector<uint8_t> header = {0x10, 0, 1, 0, 1, 0};  // node_info_request of 65537 bytes
  auto parsed = parseFrameHeader(Channel::kControl, header);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message,
            "node_info_request frame of 65537 bytes exceeds the limit of 65536 bytes");
  std::vector<uint8_t> big = {0x31, 0, 0x01, 0, 0x04, 0};  // payload of 262145 bytes
  parsed = parseFrameHeader(Channel::kData, big);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "payload frame of 262145 bytes exceeds the limit of 262144 bytes");
  std::vector<uint8_t> max = {0x31, 0, 0x00, 0, 0x04, 0};
  EXPECT_TRUE(parseFrameHeader(Channel::kData, max));
}

TEST(IpcCodec, RejectsFieldsAboveTheirLimits) {
  auto expectRejected = [](const Message& m, std::string_view needle) {
    auto encoded = encodeFrame(m);
    ASSERT_FALSE(encoded) << messageTypeName(typeOf(m));
    EXPECT_EQ(encoded.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(encoded.error().message.find(needle), std::string::npos) << encoded.error().message;
  };
  expectRejected(LogRequest{1, LogLevel::kInfo, std::string(kMaxLogMessage + 1, 'x')}, "message");
  expectRejected(FetchOriginRequest{1, ""}, "url");
  expectRejected(Payload{std::vector<uint8_t>(kMaxPayloadBody + 1)}, "payload");
  expectRejected(MetricsRequest{1, {{"Bad-Name", MetricKind::kGauge, 1}}}, "[a-z0-9_]");
  expectRejected(StreamBlob{{}, StreamMode::kVerified, {}}, "ranges");
  expectRejected(StreamBlob{{}, StreamMode::kVerified, {{UINT64_MAX, 2}}}, "overflows");
  expectRejected(OpenBlobReply{1, 10, 5, 6}, "outside a blob");
  expectRejected(ConnectionHeader{1, {}, 1, 0, "", std::nullopt}, "transport");
  ConnectionHeader huge{1, {}, 1, 0, "http", HttpRequestHead{"GET", "/", "", {}}};
  for (int i = 0; i < 16; ++i) huge.http->headers.push_back({"x", std::string(8000, 'v')});
  expectRejected(huge, "exceeds the limit of 65536");
  expectRejected(ProposeUsageRequest{1, 1, static_cast<Commodity>(9), 1}, "commodity");
  expectRejected(ResolveContentRequest{1, ContentRefKind::kCid, {}, ""}, "cid of 0 bytes");
  expectRejected(
      ResolveContentRequest{1, ContentRefKind::kCid, {}, std::string(kMaxCidText + 1, 'b')},
      "cid of 257 bytes");
  expectRejected(ResolveContentRequest{1, ContentRefKind::kCid, {}, "bafy kr"}, "printable ASCII");
  expectRejected(ResolveContentRequest{1, ContentRefKind::kBlob, {}, "bafy"}, "carries no cid");
  expectRejected(ResolveContentRequest{1, ContentRefKind::kCid, testing::keyOf(1), "bafy"},
                 "carries no blob id");
}

TEST(IpcCodec, ResolveContentRequestLayoutDependsOnItsKind) {
  const auto blob = frameOf(ResolveContentRequest{9, ContentRefKind::kBlob, testing::keyOf(0), ""});
  ASSERT_EQ(blob.size(), kFrameHeaderSize + 4 + 1 + 32);
  EXPECT_EQ(blob[kFrameHeaderSize + 4], 1);
  EXPECT_EQ(blob[kFrameHeaderSize + 5 + 31], 31);
  const auto cid = frameOf(ResolveContentRequest{9, ContentRefKind::kCid, {}, "Qm"});
  ASSERT_EQ(cid.size(), kFrameHeaderSize + 4 + 1 + 2 + 2);
  EXPECT_EQ(cid[kFrameHeaderSize + 4], 2);
  EXPECT_EQ(cid[kFrameHeaderSize + 5], 2);  // str16 length, little-endian
  EXPECT_EQ(cid.back(), 'm');
}

TEST(IpcCodec, RejectsUnknownEnumValuesOnTheWire) {
  auto corrupt = [](const Message& m, size_t body_offset, uint8_t value, std::string_view needle) {
    auto bytes = frameOf(m);
    bytes[kFrameHeaderSize + body_offset] = value;
    const std::string error = errorOf(channelFor(m), bytes);
    EXPECT_NE(error.find(needle), std::string::npos) << error;
  };
  corrupt(Hello{Channel::kControl, 1, 1}, 0, 9, "unknown channel kind 9");
  corrupt(ProposeUsageRequest{1, 2, Commodity::kComputeMs, 3}, 12, 0, "unknown commodity 0");
  corrupt(LogRequest{1, LogLevel::kInfo, "x"}, 4, 5, "unknown level 5");
  corrupt(ErrorReply{1, ErrorCode::kInternal, ""}, 4, 12, "unknown error code 12");
  corrupt(StreamBlob{{}, StreamMode::kVerified, {{0, 1}}}, 32, 3, "unknown mode 3");
  corrupt(ResolveContentRequest{1, ContentRefKind::kBlob, {}, ""}, 4, 3, "unknown kind 3");
  corrupt(End{EndReason::kNormal, ""}, 0, 4, "unknown reason 4");
  corrupt(ConnectionHeader{1, {}, 1, 0, "t", std::nullopt}, 8 + 32 + 4 + 4 + 2, 2, "has_http is 2");
  corrupt(MetricsRequest{1, {{"a", MetricKind::kGauge, 1}}}, 4 + 1 + 2, 3, "unknown metric kind");
}

TEST(IpcCodec, RejectsBadHelloVersionsAndNegotiates) {
  auto bytes = frameOf(Hello{Channel::kData, 1, 2});
  bytes[kFrameHeaderSize + 1] = 3;  // min_version 3 > max_version 2
  EXPECT_NE(errorOf(Channel::kData, bytes).find("bad version range 3..2"), std::string::npos);
  bytes[kFrameHeaderSize + 1] = 0;  // min_version 0
  EXPECT_NE(errorOf(Channel::kData, bytes).find("bad version range 0..2"), std::string::npos);

  const Hello ours{Channel::kControl, 1, 1};
  EXPECT_EQ(negotiateVersion(ours, Hello{Channel::kControl, 1, 5}).value(), 1);
  auto none = negotiateVersion(ours, Hello{Channel::kControl, 2, 3});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().message,
            "no common ipc version: peer speaks 2..3, this side 1..1 (upgrade the older side)");
  EXPECT_FALSE(negotiateVersion(ours, Hello{Channel::kData, 1, 1}));
}

TEST(IpcCodec, CorrelationIdsOnlyOnControlRequestsAndReplies) {
  for (auto m : sampleMessages()) {
    const MessageRole role = roleOf(typeOf(m));
    const bool correlated = role == MessageRole::kRequest || role == MessageRole::kReply;
    EXPECT_EQ(correlationId(m).has_value(), correlated) << messageTypeName(typeOf(m));
    setCorrelationId(m, 77);
    if (correlated) {
      EXPECT_EQ(correlationId(m), 77u);
    }
  }
}

}  // namespace
}  // namespace thunder::ipc

namespace thunder::ipc {
namespace {

std::string hexOf(const Message& m) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  const std::vector<uint8_t> bytes = encodeFrame(m).value();
  for (const uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// The examples of docs/protocol/ipc.md §6, byte for byte.
TEST(IpcCodec, DocumentedExamples) {
  EXPECT_EQ(hexOf(Hello{Channel::kControl, 1, 1}), "0100050000000101000100");
  EXPECT_EQ(hexOf(NodeInfoRequest{1}), "10000400000001000000");
  EXPECT_EQ(hexOf(OpenBlobReply{3, 10000, 100, 9900}),
            "13011c0000000300000010270000000000006400000000000000ac26000000000000");
  EXPECT_EQ(hexOf(Payload{{1, 2, 3, 4, 5}}), "3100050000000102030405");
  EXPECT_EQ(hexOf(End{EndReason::kNormal, ""}), "33000400000000000000");
  EXPECT_EQ(hexOf(DataChannel{17}), "2001080000001100000000000000");
  EXPECT_EQ(hexOf(ResolveContentRequest{5, ContentRefKind::kCid, {}, "bafk"}),
            "21000b00000005000000020400"
            "6261666b");
  EXPECT_EQ(hexOf(StreamBlob{{}, StreamMode::kRaw, {{16, 100}}}),
            "320032000000"
            "0000000000000000000000000000000000000000000000000000000000000000"
            "0201"
            "1000000000000000"
            "6400000000000000");
}

}  // namespace
}  // namespace thunder::ipc
