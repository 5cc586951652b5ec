#include "handshake/frame.h"

#include <gtest/gtest.h>

#include <vector>

namespace thunder::handshake {
namespace {

std::vector<uint8_t> bytesOf(std::initializer_list<int> values) {
  std::vector<uint8_t> out;
  for (int v : values) out.push_back(static_cast<uint8_t>(v));
  return out;
}

std::vector<Frame> sampleFrames() {
  return {
      {FrameType::kPayload, bytesOf({1, 2, 3})},
      {FrameType::kPayload, {}},
      {FrameType::kTermination, encodeTermination({TerminationReason::kIdleTimeout, "idle"})},
      {FrameType::kTokenRefresh, encodeTokenRefresh({SessionToken{}, fromUnixMs(42)})},
      {FrameType::kPayload, std::vector<uint8_t>(kDefaultMaxPayload, 0x5a)},
  };
}

TEST(Frame, EncodingIsTypeThenLittleEndianLengthThenPayload) {
  EXPECT_EQ(encodeFrame(FrameType::kPayload, bytesOf({0xaa, 0xbb})),
            bytesOf({0x03, 0x02, 0x00, 0x00, 0x00, 0xaa, 0xbb}));
}

TEST(Frame, RoundTripsThroughDecodeFrame) {
  for (const Frame& frame : sampleFrames()) {
    auto decoded = decodeFrame(encodeFrame(frame.type, frame.payload), {});
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, frame);
  }
}

TEST(Frame, RoundTripsThroughDecoderFedByteByByte) {
  std::vector<uint8_t> stream;
  for (const Frame& frame : sampleFrames()) appendFrame(stream, frame.type, frame.payload);
  FrameDecoder decoder;
  std::vector<Frame> got;
  for (uint8_t byte : stream) {
    std::span<const uint8_t> input(&byte, 1);
    auto frame = decoder.next(input);
    ASSERT_TRUE(frame) << frame.error().message;
    EXPECT_TRUE(input.empty());
    if (*frame) got.push_back(std::move(**frame));
  }
  EXPECT_EQ(got, sampleFrames());
  EXPECT_TRUE(decoder.atBoundary());
  EXPECT_TRUE(decoder.finish());
}

TEST(Frame, DecoderReturnsOneFrameAtATimeFromABigChunk) {
  std::vector<uint8_t> stream;
  for (const Frame& frame : sampleFrames()) appendFrame(stream, frame.type, frame.payload);
  FrameDecoder decoder;
  std::span<const uint8_t> input(stream);
  std::vector<Frame> got;
  while (!input.empty()) {
    const size_t before = input.size();
    auto frame = decoder.next(input);
    ASSERT_TRUE(frame);
    ASSERT_TRUE(frame->has_value());
    EXPECT_LT(input.size(), before);
    got.push_back(std::move(**frame));
  }
  EXPECT_EQ(got, sampleFrames());
}

TEST(Frame, RejectsOversizedPayloadBeforeBufferingIt) {
  FrameDecoder decoder(FrameLimits{1000});
  const auto header = bytesOf({0x03, 0xe9, 0x03, 0x00, 0x00});  // 1001 bytes announced
  std::span<const uint8_t> input(header);
  auto frame = decoder.next(input);
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(frame.error().message.find("1001"), std::string::npos);
  // The decoder stays failed.
  const auto more = bytesOf({0x03, 0x00, 0x00, 0x00, 0x00});
  std::span<const uint8_t> again(more);
  EXPECT_FALSE(decoder.next(again));

  std::vector<uint8_t> exact(1000);
  EXPECT_TRUE(decodeFrame(encodeFrame(FrameType::kPayload, exact), FrameLimits{1000}));
  exact.push_back(0);
  auto too_big = decodeFrame(encodeFrame(FrameType::kPayload, exact), FrameLimits{1000});
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kInvalidArgument);
}

TEST(Frame, ControlFramesHaveFixedLimits) {
  // A 256-byte hello is above the largest valid hello, whatever the payload limit.
  auto hello = decodeFrame(encodeFrame(FrameType::kHello, std::vector<uint8_t>(256)), {});
  ASSERT_FALSE(hello);
  EXPECT_EQ(hello.error().code, ErrorCode::kInvalidArgument);
  auto refresh = decodeFrame(encodeFrame(FrameType::kTokenRefresh, std::vector<uint8_t>(41)), {});
  ASSERT_FALSE(refresh);
  EXPECT_EQ(refresh.error().code, ErrorCode::kInvalidArgument);
}

TEST(Frame, RejectsUnknownTypes) {
  for (int type : {0x00, 0x08, 0x80, 0xff}) {
    auto decoded = decodeFrame(bytesOf({type, 0, 0, 0, 0}), {});
    ASSERT_FALSE(decoded) << type;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
    FrameDecoder decoder;
    const auto header = bytesOf({type, 0, 0, 0, 0});
    std::span<const uint8_t> input(header);
    auto streamed = decoder.next(input);
    ASSERT_FALSE(streamed);
    EXPECT_EQ(streamed.error().code, ErrorCode::kCorruption);
  }
}

TEST(Frame, RejectsTruncatedFrames) {
  const auto full = encodeFrame(FrameType::kPayload, bytesOf({1, 2, 3, 4}));
  for (size_t n = 0; n < full.size(); ++n) {
    auto decoded = decodeFrame(std::span(full).first(n), {});
    ASSERT_FALSE(decoded) << n;
    EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
    FrameDecoder decoder;
    std::span<const uint8_t> input = std::span(full).first(n);
    auto frame = decoder.next(input);
    ASSERT_TRUE(frame);
    EXPECT_FALSE(frame->has_value());
    EXPECT_EQ(decoder.atBoundary(), n == 0);
    auto finished = decoder.finish();
    EXPECT_EQ(finished.has_value(), n == 0) << n;
    if (!finished) {
      EXPECT_EQ(finished.error().code, ErrorCode::kCorruption);
    }
  }
}

TEST(Frame, RejectsTrailingBytes) {
  auto bytes = encodeFrame(FrameType::kPayload, bytesOf({1}));
  bytes.push_back(0);
  auto decoded = decodeFrame(bytes, {});
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruption);
  EXPECT_NE(decoded.error().message.find("trailing"), std::string::npos);
}

TEST(Frame, TerminationRoundTripAndRejections) {
  const Termination t{TerminationReason::kLaneLimit, "too many lanes"};
  auto parsed = parseTermination(encodeTermination(t));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, t);
  EXPECT_EQ(encodeTermination(t)[0], 6);

  auto trailing = encodeTermination(t);
  trailing.push_back(0);
  EXPECT_FALSE(parseTermination(trailing));
  EXPECT_FALSE(parseTermination(bytesOf({1, 0, 5, 0, 'a'})));  // message shorter than announced
  std::vector<uint8_t> long_message = bytesOf({0, 0, 0x01, 0x04});  // 1025 bytes
  long_message.resize(4 + 1025, 'x');
  auto too_long = parseTermination(long_message);
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kCorruption);
  // Encoding truncates to the limit.
  EXPECT_EQ(encodeTermination({TerminationReason::kNormal, std::string(5000, 'y')}).size(),
            4 + kMaxTerminationMessage);
}

TEST(Frame, TokenRefreshRoundTripAndRejections) {
  TokenRefresh refresh{SessionToken{}, fromUnixMs(1'700'000'000'123)};
  refresh.token.mutableBytes()[0] = 9;
  const auto bytes = encodeTokenRefresh(refresh);
  ASSERT_EQ(bytes.size(), kTokenRefreshSize);
  EXPECT_EQ(*parseTokenRefresh(bytes), refresh);
  EXPECT_FALSE(parseTokenRefresh(std::span(bytes).first(39)));
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(parseTokenRefresh(longer));
}

TEST(Frame, ReasonNamesAreStable) {
  EXPECT_EQ(terminationReasonName(TerminationReason::kNormal), "normal");
  EXPECT_EQ(terminationReasonName(TerminationReason::kDackNotMonotonic), "dack_not_monotonic");
  EXPECT_EQ(terminationReasonName(TerminationReason::kUnexpectedNodeKey), "unexpected_node_key");
  EXPECT_EQ(terminationReasonName(static_cast<TerminationReason>(999)), "unknown");
}

}  // namespace
}  // namespace thunder::handshake
