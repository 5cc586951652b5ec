#include "handshake/dack.h"

#include <gtest/gtest.h>

#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using testing::keyFromByte;

class DackTest : public ::testing::Test {
 protected:
  DackTest() {
    scope_.node_pk = keyFromByte(0xA0).publicKey();
    scope_.client_pk = client_.publicKey();
    scope_.service = ServiceId(7);
    scope_.lane = 2;
    scope_.session_nonce.mutableBytes()[0] = 0x55;
    root_.mutableBytes()[31] = 0x11;
  }

  Dack dack(uint64_t amount, uint64_t counter,
            Commodity commodity = Commodity::kBandwidthBytes) const {
    return makeDack(client_, scope_, commodity, amount, Commitment::contentRange(root_, 0, amount),
                    counter);
  }

  crypto::SigningKey client_ = keyFromByte(1);
  DackScope scope_;
  Hash32 root_;
};

TEST_F(DackTest, RoundTripsBothCommitmentKinds) {
  const Dack range = dack(1000, 1);
  const Dack request =
      makeDack(client_, scope_, Commodity::kComputeMs, 5, Commitment::requestHash(root_), 2);
  EXPECT_EQ(encodeDack(range).size(), kDackMaxSize);
  EXPECT_EQ(encodeDack(request).size(), kDackMaxSize - 16);
  for (const Dack& d : {range, request}) {
    auto parsed = parseDack(encodeDack(d));
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(*parsed, d);
    EXPECT_TRUE(verifyDack(*parsed, scope_, {}));
  }
}

TEST_F(DackTest, ParserRejectsMalformedInput) {
  const auto bytes = encodeDack(dack(10, 1));
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto parsed = parseDack(std::span(bytes).first(n));
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
  }
  auto trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(parseDack(trailing));
  auto commodity = bytes;
  commodity[106] = 3;  // offset of the commodity byte
  EXPECT_FALSE(parseDack(commodity));
  auto kind = bytes;
  kind[115] = 0;  // offset of the commitment kind byte
  EXPECT_FALSE(parseDack(kind));
  const Dack inverted = makeDack(client_, scope_, Commodity::kBandwidthBytes, 1,
                                 Commitment::contentRange(root_, 9, 8), 1);
  auto parsed = parseDack(encodeDack(inverted));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("range"), std::string::npos);
}

TEST_F(DackTest, RefusesABadSignature) {
  Dack d = dack(100, 1);
  d.signature.mutableBytes()[0] ^= 1;
  auto r = verifyDack(d, scope_, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  Dack amount_changed = dack(100, 1);
  amount_changed.amount = 1'000'000;  // changed after signing
  EXPECT_FALSE(verifyDack(amount_changed, scope_, {}));
  // Signed by someone else but claiming the client's key.
  const Dack forged = makeDack(keyFromByte(2), scope_, Commodity::kBandwidthBytes, 1,
                               Commitment::requestHash(root_), 1);
  EXPECT_FALSE(verifyDack(forged, scope_, {}));
}

TEST_F(DackTest, RefusesLowerOrRepeatedCounterAndLowerAmount) {
  DackProgress progress;
  const Dack first = dack(100, 1);
  ASSERT_TRUE(verifyDack(first, scope_, progress));
  progress.record(first);

  auto replay = verifyDack(first, scope_, progress);
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kInvalidArgument);

  const Dack second = dack(200, 5);
  ASSERT_TRUE(verifyDack(second, scope_, progress));
  progress.record(second);
  auto lower_counter = verifyDack(dack(300, 4), scope_, progress);
  ASSERT_FALSE(lower_counter);
  EXPECT_EQ(lower_counter.error().code, ErrorCode::kInvalidArgument);
  auto lower_amount = verifyDack(dack(150, 6), scope_, progress);
  ASSERT_FALSE(lower_amount);
  EXPECT_EQ(lower_amount.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(verifyDack(dack(200, 6), scope_, progress));  // same amount, newer counter

  // Amounts are per commodity; the counter is shared.
  EXPECT_TRUE(verifyDack(dack(1, 6, Commodity::kComputeMs), scope_, progress));
  EXPECT_FALSE(verifyDack(dack(1, 5, Commodity::kComputeMs), scope_, progress));
}

TEST_F(DackTest, RefusesAnotherLaneNodeSessionClientOrService) {
  auto expect_refused = [&](DackScope signed_for) {
    const Dack d = makeDack(client_, signed_for, Commodity::kBandwidthBytes, 1,
                            Commitment::requestHash(root_), 1);
    auto r = verifyDack(d, scope_, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  };
  DackScope other = scope_;
  other.lane = 3;
  expect_refused(other);
  other = scope_;
  other.node_pk = keyFromByte(0xB0).publicKey();
  expect_refused(other);
  other = scope_;
  other.session_nonce.mutableBytes()[0] ^= 1;
  expect_refused(other);
  other = scope_;
  other.service = ServiceId(8);
  expect_refused(other);

  const Dack other_client = makeDack(keyFromByte(3), scope_, Commodity::kBandwidthBytes, 1,
                                     Commitment::requestHash(root_), 1);
  EXPECT_FALSE(verifyDack(other_client, scope_, {}));
}

TEST_F(DackTest, DigestIsDomainSeparatedAndCoversEveryByte) {
  const Dack d = dack(100, 1);
  const auto bytes = encodeDack(d);
  for (size_t i = 0; i + Signature::kSize < bytes.size(); ++i) {
    auto tampered = bytes;
    tampered[i] ^= 0x01;
    auto parsed = parseDack(tampered);
    if (!parsed) continue;
    EXPECT_NE(dackDigest(*parsed), dackDigest(d)) << "byte " << i;
  }
}

}  // namespace
}  // namespace thunder::handshake
