#include "handshake/hello.h"

#include <gtest/gtest.h>

#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using testing::keyFromByte;

TransportBinding tlsBinding(uint8_t fill) {
  std::array<uint8_t, 32> value{};
  value.fill(fill);
  return TransportBinding::tlsExporter(value);
}

Hello sampleHello(LaneRequest lane, const TransportBinding& binding) {
  return makeHello(keyFromByte(1), ServiceId(7), lane, fromUnixMs(1'700'000'000'000), binding);
}

SessionToken tokenOf(uint8_t fill) {
  SessionToken token;
  for (auto& b : token.mutableBytes()) b = fill;
  return token;
}

TEST(Hello, RoundTripsBothLaneRequestKinds) {
  const auto binding = tlsBinding(3);
  for (const LaneRequest lane : {LaneRequest::newLane(), LaneRequest::resume(5, tokenOf(9))}) {
    const Hello hello = sampleHello(lane, binding);
    const auto bytes = encodeHello(hello);
    EXPECT_EQ(bytes.size(), lane.kind == LaneRequestKind::kNew ? kHelloNewSize : kHelloResumeSize);
    auto parsed = parseHello(bytes);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, hello);
    EXPECT_TRUE(verifyHello(*parsed, binding));
  }
}

TEST(Hello, FreshNoncePerHello) {
  const auto binding = TransportBinding::unbound();
  EXPECT_NE(sampleHello({}, binding).nonce, sampleHello({}, binding).nonce);
}

TEST(Hello, ParserRejectsTruncationTrailingBytesAndUnknownLaneKind) {
  const auto bytes = encodeHello(sampleHello(LaneRequest::resume(1, tokenOf(2)), tlsBinding(1)));
  for (size_t n = 0; n < bytes.size(); ++n) {
    // A resume hello cut to the size of a new-lane hello is still invalid (kind says resume).
    auto parsed = parseHello(std::span(bytes).first(n));
    ASSERT_FALSE(parsed) << n;
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
  }
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(parseHello(trailing));
  auto bad_kind = encodeHello(sampleHello({}, tlsBinding(1)));
  bad_kind[78] = 2;  // the lane request kind byte
  auto parsed = parseHello(bad_kind);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("lane request kind"), std::string::npos);
}

TEST(Hello, SignatureIsBoundToTheTransport) {
  const Hello hello = sampleHello({}, tlsBinding(1));
  EXPECT_TRUE(verifyHello(hello, tlsBinding(1)));
  EXPECT_FALSE(verifyHello(hello, tlsBinding(2)));
  EXPECT_FALSE(verifyHello(hello, TransportBinding::unbound()));
  TransportBinding other_kind{BindingKind::kUnbound, tlsBinding(1).value};
  EXPECT_FALSE(verifyHello(hello, other_kind));
}

TEST(Hello, SignatureCoversEveryField) {
  const auto binding = tlsBinding(1);
  const auto bytes = encodeHello(sampleHello(LaneRequest::resume(1, tokenOf(2)), binding));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto tampered = bytes;
    tampered[i] ^= 0x01;
    auto parsed = parseHello(tampered);
    if (!parsed) continue;  // e.g. the lane request kind byte
    EXPECT_FALSE(verifyHello(*parsed, binding)) << "byte " << i;
  }
}

TEST(Welcome, RoundTripsAndVerifiesAgainstTheHelloTranscript) {
  const auto binding = tlsBinding(4);
  const Hello hello = sampleHello({}, binding);
  const Hash32 transcript = helloTranscript(hello, binding);
  Welcome welcome;
  welcome.lane = 3;
  welcome.token = tokenOf(7);
  welcome.token_expires_at = fromUnixMs(1'700'000'600'000);
  welcome.acked_counter = 4;
  welcome.acked_bandwidth = 1 << 20;
  welcome.acked_compute_ms = 12;
  const auto node_key = keyFromByte(0xA0);
  signWelcome(welcome, node_key, transcript);
  EXPECT_EQ(welcome.node_pk, node_key.publicKey());
  const auto bytes = encodeWelcome(welcome);
  EXPECT_EQ(bytes.size(), kWelcomeSize);
  auto parsed = parseWelcome(bytes);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, welcome);
  EXPECT_TRUE(verifyWelcome(*parsed, transcript));
  // Another Hello (another nonce or binding) gives another transcript.
  EXPECT_FALSE(verifyWelcome(*parsed, helloTranscript(sampleHello({}, binding), binding)));
  EXPECT_FALSE(verifyWelcome(*parsed, helloTranscript(hello, tlsBinding(5))));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto tampered = bytes;
    tampered[i] ^= 0x80;
    EXPECT_FALSE(verifyWelcome(*parseWelcome(tampered), transcript)) << "byte " << i;
  }
  auto trailing = bytes;
  trailing.push_back(1);
  EXPECT_FALSE(parseWelcome(trailing));
  EXPECT_FALSE(parseWelcome(std::span(bytes).first(bytes.size() - 1)));
}

TEST(Hello, TranscriptsUseTheirOwnDomain) {
  const auto binding = tlsBinding(4);
  const Hello hello = sampleHello({}, binding);
  const auto t1 = helloTranscript(hello, binding);
  Welcome welcome;
  EXPECT_NE(welcomeTranscript(welcome, t1), t1);
  EXPECT_EQ(helloTranscript(hello, binding), t1);  // deterministic
}

}  // namespace
}  // namespace thunder::handshake
