#include "handshake/lane_table.h"

#include <gtest/gtest.h>

#include "handshake/replay_cache.h"
#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using std::chrono::minutes;
using testing::keyFromByte;

class LaneTableTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  PublicKey alice_ = keyFromByte(1).publicKey();
  PublicKey bob_ = keyFromByte(2).publicKey();
  ServiceId service_{7};
};

TEST_F(LaneTableTest, OpensLowestFreeLaneWithFreshTokenAndNonce) {
  LaneTable lanes({}, clock_);
  auto a = lanes.open(alice_, service_);
  auto b = lanes.open(alice_, service_);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->lane, 0u);
  EXPECT_EQ(b->lane, 1u);
  EXPECT_NE(a->token, b->token);
  EXPECT_NE(a->state.session_nonce, b->state.session_nonce);
  EXPECT_EQ(a->token_expires_at, clock_.now() + minutes(10));
  lanes.release(alice_, 0);
  EXPECT_EQ(lanes.open(alice_, service_)->lane, 0u);
  EXPECT_EQ(lanes.size(), 2u);
}

TEST_F(LaneTableTest, RefusesAClientOverItsLaneLimit) {
  LaneTable lanes({}, clock_);
  for (int i = 0; i < 24; ++i) ASSERT_TRUE(lanes.open(alice_, service_));
  auto over = lanes.open(alice_, service_);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(lanes.open(bob_, service_));  // others are not affected
  lanes.release(alice_, 5);
  EXPECT_EQ(lanes.open(alice_, service_)->lane, 5u);
}

TEST_F(LaneTableTest, GlobalCapBoundsMemory) {
  LaneTable lanes({.max_lanes_per_client = 24, .max_lanes_total = 3}, clock_);
  ASSERT_TRUE(lanes.open(alice_, service_));
  ASSERT_TRUE(lanes.open(alice_, service_));
  ASSERT_TRUE(lanes.open(bob_, service_));
  auto full = lanes.open(bob_, service_);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ErrorCode::kUnavailable);
  // An expired detached lane makes room.
  lanes.detach(alice_, 1);
  clock_.advance(minutes(11));
  EXPECT_TRUE(lanes.open(bob_, service_));
  EXPECT_EQ(lanes.size(), 3u);
}

TEST_F(LaneTableTest, ResumeWithTheRightTokenKeepsStateAndRotatesTheToken) {
  LaneTable lanes({}, clock_);
  auto grant = lanes.open(alice_, service_);
  lanes.state(alice_, grant->lane)->acked.bandwidth_bytes = 4096;
  lanes.detach(alice_, grant->lane);
  clock_.advance(minutes(9));
  auto resumed = lanes.resume(alice_, grant->lane, grant->token, service_);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(resumed->state.acked.bandwidth_bytes, 4096u);
  EXPECT_EQ(resumed->state.session_nonce, grant->state.session_nonce);
  EXPECT_NE(resumed->token, grant->token);
  lanes.detach(alice_, grant->lane);
  auto old_token = lanes.resume(alice_, grant->lane, grant->token, service_);
  ASSERT_FALSE(old_token);
  EXPECT_EQ(old_token.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(lanes.resume(alice_, grant->lane, resumed->token, service_));
}

TEST_F(LaneTableTest, RefusesAWrongTokenLaneClientOrService) {
  LaneTable lanes({}, clock_);
  auto grant = lanes.open(alice_, service_);
  lanes.detach(alice_, grant->lane);
  SessionToken wrong = grant->token;
  wrong.mutableBytes()[31] ^= 1;
  for (auto r : {lanes.resume(alice_, grant->lane, wrong, service_),
                 lanes.resume(alice_, grant->lane + 1, grant->token, service_),
                 lanes.resume(bob_, grant->lane, grant->token, service_),
                 lanes.resume(alice_, grant->lane, grant->token, ServiceId(8))}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  }
  EXPECT_TRUE(lanes.resume(alice_, grant->lane, grant->token, service_));  // still valid
}

TEST_F(LaneTableTest, ExpiredTokenIsRefusedAndFreesTheLane) {
  LaneTable lanes({}, clock_);
  auto grant = lanes.open(alice_, service_);
  lanes.detach(alice_, grant->lane);
  clock_.advance(minutes(10));
  auto r = lanes.resume(alice_, grant->lane, grant->token, service_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(lanes.size(), 0u);
}

TEST_F(LaneTableTest, SecondConcurrentUseIsRefused) {
  LaneTable lanes({}, clock_);
  auto grant = lanes.open(alice_, service_);
  auto again = lanes.resume(alice_, grant->lane, grant->token, service_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  lanes.detach(alice_, grant->lane);
  auto first = lanes.resume(alice_, grant->lane, grant->token, service_);
  ASSERT_TRUE(first);
  auto second = lanes.resume(alice_, grant->lane, first->token, service_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(LaneTableTest, ExpireFreesOnlyDetachedExpiredLanes) {
  LaneTable lanes({}, clock_);
  auto attached = lanes.open(alice_, service_);
  auto detached = lanes.open(alice_, service_);
  lanes.detach(alice_, detached->lane);
  clock_.advance(minutes(5));
  EXPECT_EQ(lanes.expire(), 0u);
  clock_.advance(minutes(6));
  EXPECT_EQ(lanes.expire(), 1u);
  EXPECT_EQ(lanes.lanesOf(alice_), 1u);
  EXPECT_NE(lanes.state(alice_, attached->lane), nullptr);
  EXPECT_EQ(lanes.state(alice_, detached->lane), nullptr);
}

TEST_F(LaneTableTest, RefreshTokenReplacesIt) {
  LaneTable lanes({}, clock_);
  auto grant = lanes.open(alice_, service_);
  clock_.advance(minutes(5));
  auto refresh = lanes.refreshToken(alice_, grant->lane);
  ASSERT_TRUE(refresh);
  EXPECT_NE(refresh->token, grant->token);
  EXPECT_EQ(refresh->expires_at, clock_.now() + minutes(10));
  lanes.detach(alice_, grant->lane);
  EXPECT_FALSE(lanes.resume(alice_, grant->lane, grant->token, service_));
  EXPECT_TRUE(lanes.resume(alice_, grant->lane, refresh->token, service_));
  EXPECT_EQ(lanes.refreshToken(bob_, 0).error().code, ErrorCode::kNotFound);
}

TEST(HelloReplayCache, RefusesSeenNoncesSkewAndOverflow) {
  FakeClock clock;
  HelloReplayCache cache({.max_clock_skew = minutes(5), .capacity = 2}, clock);
  HelloNonce a, b, c;
  a.mutableBytes()[0] = 1;
  b.mutableBytes()[0] = 2;
  c.mutableBytes()[0] = 3;
  ASSERT_TRUE(cache.admit(a, clock.now()));
  auto replay = cache.admit(a, clock.now());
  ASSERT_FALSE(replay);
  EXPECT_EQ(replay.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(cache.admit(c, clock.now() + minutes(6)).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(cache.admit(c, clock.now() - minutes(6)).error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(cache.admit(b, clock.now() - minutes(1)));
  EXPECT_EQ(cache.admit(c, clock.now()).error().code, ErrorCode::kResourceExhausted);
  // After b's window passes it is forgotten (its timestamp alone now refuses it).
  clock.advance(minutes(4) + std::chrono::milliseconds(1));
  EXPECT_TRUE(cache.admit(c, clock.now()));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.admit(b, clock.now() - minutes(5) - minutes(1)).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace thunder::handshake
