// The worked example of docs/protocol/handshake.md, byte for byte: if this test fails, the
// document (or the wire format) changed.
#include <gtest/gtest.h>

#include "base/hex.h"
#include "handshake/dack.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

template <typename T>
T filled(uint8_t b) {
  T t;
  for (auto& x : t.mutableBytes()) x = b;
  return t;
}

TEST(WorkedExample, MatchesTheProtocolDocument) {
  const auto client = testing::keyFromByte(0x01);
  const auto node = testing::keyFromByte(0xA0);
  std::array<uint8_t, 32> exporter;
  exporter.fill(0x11);
  const auto binding = TransportBinding::tlsExporter(exporter);

  Hello hello;
  hello.service = ServiceId(7);
  hello.timestamp = fromUnixMs(1'700'000'000'000);
  hello.nonce = filled<HelloNonce>(0x22);
  signHello(hello, client, binding);
  const Hash32 transcript = helloTranscript(hello, binding);
  EXPECT_EQ(transcript.hex(), "711cf22c46dd2e6900443f07d9b78a89cc4b3ff163307f5ff5eed5536ea1247b");
  EXPECT_EQ(toHex(encodeFrame(FrameType::kHello, encodeHello(hello))),
            "018f00000001008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c07"
            "0000000068e5cf8b0100002222222222222222222222222222222222222222222222222222222222"
            "22222200aea194f53ff8f85dbec927db3c27d56d2f49ae81864704fdda7305e9b1cde0c8417568ce"
            "f15c6e6e5140ebcaf76c1e7cd472d5bb2249b12ba2ff7e36d9712508");

  Welcome welcome;
  welcome.session_nonce = filled<SessionNonce>(0x33);
  welcome.token = filled<SessionToken>(0x44);
  welcome.token_expires_at = fromUnixMs(1'700'000'600'000);
  signWelcome(welcome, node, transcript);
  EXPECT_EQ(welcomeTranscript(welcome, transcript).hex(),
            "044acf38632f8ec89a410edcfdaf0ae458b0411dc75f08638361130b6a83dd18");
  EXPECT_EQ(toHex(encodeFrame(FrameType::kWelcome, encodeWelcome(welcome))),
            "02c60000000100b533d8ad9fcfbdde0b481c1b334ddc3c53412fd614564e7e5afd020368d382c300"
            "00000033333333333333333333333333333333333333333333333333333333333333334444444444"
            "444444444444444444444444444444444444444444444444444444c08feecf8b0100000000000000"
            "000000000000000000000000000000000000007dad232fbba97a9e0edecde767de7f38a32e039df3"
            "ea00ffc1152921ca53246f824e70fd8ebc75876c2ed980c158d816a229173af117e24ded3c2b2568"
            "e80803");

  const DackScope scope{node.publicKey(), client.publicKey(), ServiceId(7), 0,
                        welcome.session_nonce};
  const Dack dack = makeDack(client, scope, Commodity::kBandwidthBytes, 1048576,
                             Commitment::contentRange(filled<Hash32>(0x55), 0, 1048576), 1);
  EXPECT_EQ(dackDigest(dack).hex(),
            "abc416f39d9df417793b80260b30c24728943eaf49bbff42d2242dff08c17554");
  EXPECT_EQ(toHex(encodeFrame(FrameType::kDack, encodeDack(dack))),
            "04ec0000000100b533d8ad9fcfbdde0b481c1b334ddc3c53412fd614564e7e5afd020368d382c38a"
            "88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c070000000000000033"
            "33333333333333333333333333333333333333333333333333333333333333010000100000000000"
            "01555555555555555555555555555555555555555555555555555555555555555500000000000000"
            "0000001000000000000100000000000000ff54e039a0da99737bca47b64109a4f9475e3c3bd3aa46"
            "33da01248f58dcfe7529bbed647791bf9666d8e6ddefd4f6dc6e2ca061482a2265804797a21eb04a"
            "04");
  EXPECT_TRUE(verifyDack(dack, scope, {}));
}

}  // namespace
}  // namespace thunder::handshake
