// UsageProposal (docs/protocol/handshake.md §4.1): the frame body's encoding and strict parser,
// and the server and client state machines around it — the node proposes, the client signs a
// DACK within its policy (compute up to max_compute_ms, bandwidth up to what it received).
#include <gtest/gtest.h>

#include "handshake/client_session.h"
#include "handshake/server_session.h"
#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using std::chrono::minutes;
using testing::actionsOf;
using testing::append;
using testing::FakeNode;
using testing::firstOf;
using testing::keyFromByte;
using testing::sentBytes;

TransportBinding tls(uint8_t fill) {
  std::array<uint8_t, 32> value{};
  value.fill(fill);
  return TransportBinding::tlsExporter(value);
}

Hash32 hashOf(uint8_t fill) {
  Hash32 h;
  for (auto& b : h.mutableBytes()) b = fill;
  return h;
}

ClientOptions policy(uint64_t max_compute_ms, uint64_t dack_every_bytes = 0) {
  ClientOptions options;
  options.max_compute_ms = max_compute_ms;
  options.dack_every_bytes = dack_every_bytes;
  return options;
}

// A client and a server session joined in memory (as in session_test.cc).
struct Connection {
  Connection(FakeNode& node, const crypto::SigningKey& key, ClientTarget target,
             ClientOptions options, TransportBinding binding = tls(1))
      : server(node.accept(binding)),
        client(std::make_unique<ClientSession>(key, target, binding, node.clock, options)) {}

  void pump(Actions from_client) {
    append(client_log, from_client);
    auto to_server = sentBytes(from_client);
    while (!to_server.empty()) {
      Actions s = server->onBytes(to_server);
      auto to_client = sentBytes(s);
      append(server_log, std::move(s));
      Actions c = client->onBytes(to_client);
      to_server = sentBytes(c);
      append(client_log, std::move(c));
    }
  }
  void serverSends(Actions from_server) {
    append(server_log, from_server);
    pump(client->onBytes(sentBytes(from_server)));
  }
  // Raw bytes as if from the node.
  void clientReceives(std::span<const uint8_t> bytes) { pump(client->onBytes(bytes)); }
  void open() { pump(client->start()); }

  std::unique_ptr<ServerSession> server;
  std::unique_ptr<ClientSession> client;
  Actions server_log;
  Actions client_log;
};

ClientTarget targetFor(const FakeNode& node) {
  return {node.node_key.publicKey(), ServiceId(7), LaneRequest::newLane()};
}

std::vector<uint8_t> proposalFrame(Commodity commodity, uint64_t amount) {
  return encodeFrame(FrameType::kUsageProposal,
                     encodeUsageProposal({commodity, amount, Commitment::requestHash({})}));
}

TEST(UsageProposalFrame, RoundTripsBothCommitmentKinds) {
  const UsageProposal request{Commodity::kComputeMs, 1234, Commitment::requestHash(hashOf(7))};
  const auto a = encodeUsageProposal(request);
  EXPECT_EQ(a.size(), 42u);
  EXPECT_EQ(a[0], 2);     // commodity
  EXPECT_EQ(a[1], 0xD2);  // 1234 little-endian
  EXPECT_EQ(a[2], 0x04);
  EXPECT_EQ(a[9], 2);  // commitment kind: request hash
  EXPECT_EQ(parseUsageProposal(a).value(), request);

  const UsageProposal range{Commodity::kBandwidthBytes, 99,
                            Commitment::contentRange(hashOf(9), 10, 20)};
  const auto b = encodeUsageProposal(range);
  EXPECT_EQ(b.size(), kUsageProposalMaxSize);
  EXPECT_EQ(parseUsageProposal(b).value(), range);
  EXPECT_EQ(maxFramePayload(FrameType::kUsageProposal, {}), kUsageProposalMaxSize);
  EXPECT_EQ(frameTypeName(FrameType::kUsageProposal), "usage_proposal");
  EXPECT_TRUE(isKnownFrameType(0x07));
  EXPECT_FALSE(isKnownFrameType(0x08));
}

TEST(UsageProposalFrame, ParserIsStrict) {
  const auto good =
      encodeUsageProposal({Commodity::kComputeMs, 5, Commitment::contentRange(hashOf(1), 1, 2)});
  auto unknown_commodity = good;
  unknown_commodity[0] = 3;
  auto unknown_kind = good;
  unknown_kind[9] = 9;
  auto trailing = good;
  trailing.push_back(0);
  auto truncated = good;
  truncated.pop_back();
  auto reversed_range =
      encodeUsageProposal({Commodity::kComputeMs, 5, Commitment::contentRange(hashOf(1), 3, 2)});
  for (const auto& bad : {unknown_commodity, unknown_kind, trailing, truncated, reversed_range}) {
    auto parsed = parseUsageProposal(bad);
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption);
  }
  // Above the frame limit: refused from the header.
  std::vector<uint8_t> big(kUsageProposalMaxSize + 1, 0);
  auto frame = decodeFrame(encodeFrame(FrameType::kUsageProposal, big), {});
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, ErrorCode::kInvalidArgument);
}

TEST(UsageProposal, ClientSignsAComputeDackWithinItsLimit) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(1000));
  c.open();
  ASSERT_EQ(c.client->state(), SessionState::kOpen);

  c.serverSends(
      c.server->proposeUsage(Commodity::kComputeMs, 250, Commitment::requestHash(hashOf(5))));
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].dack.commodity, Commodity::kComputeMs);
  EXPECT_EQ(dacks[0].dack.amount, 250u);
  EXPECT_EQ(dacks[0].dack.counter, 1u);
  EXPECT_EQ(dacks[0].dack.commitment, Commitment::requestHash(hashOf(5)));
  EXPECT_EQ(dacks[0].dack.scope.client_pk, alice.publicKey());
  EXPECT_EQ(c.client->dackedComputeMs(), 250u);
  const LaneState* lane = node.lanes.state(alice.publicKey(), *c.server->lane());
  ASSERT_NE(lane, nullptr);
  EXPECT_EQ(lane->acked.compute_ms, 250u);
  EXPECT_EQ(lane->delivered_compute_ms, 250u);

  // A growing proposal: a new DACK with the next counter (shared with bandwidth DACKs).
  c.pump(c.client->acknowledge(Commodity::kBandwidthBytes, 0, Commitment::requestHash({})));
  c.serverSends(c.server->proposeUsage(Commodity::kComputeMs, 400, Commitment::requestHash({})));
  dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 3u);
  EXPECT_EQ(dacks[2].dack.amount, 400u);
  EXPECT_EQ(dacks[2].dack.counter, 3u);
  EXPECT_EQ(c.server->state(), SessionState::kOpen);
  EXPECT_EQ(c.client->state(), SessionState::kOpen);
}

TEST(UsageProposal, AProposalOverTheLimitIsCapped) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(100));
  c.open();
  c.serverSends(c.server->proposeUsage(Commodity::kComputeMs, 250, Commitment::requestHash({})));
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].dack.amount, 100u);
  // At the limit already: later proposals are not signed.
  const Actions more =
      c.server->proposeUsage(Commodity::kComputeMs, 300, Commitment::requestHash({}));
  EXPECT_FALSE(sentBytes(more).empty());  // the node still proposes
  c.serverSends(more);
  EXPECT_EQ(actionsOf<StoreDack>(c.server_log).size(), 1u);
  EXPECT_EQ(c.client->dackedComputeMs(), 100u);
  EXPECT_EQ(c.client->state(), SessionState::kOpen);
}

TEST(UsageProposal, LimitZeroNeverSignsCompute) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(0));
  c.open();
  const Actions proposal =
      c.server->proposeUsage(Commodity::kComputeMs, 250, Commitment::requestHash({}));
  ASSERT_FALSE(sentBytes(proposal).empty());
  EXPECT_TRUE(c.client->onBytes(sentBytes(proposal)).empty());  // no DACK, no error
  EXPECT_EQ(c.client->dackedComputeMs(), 0u);
  EXPECT_EQ(c.client->state(), SessionState::kOpen);
}

TEST(UsageProposal, AProposalBelowTheAcknowledgedAmountIsIgnored) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(1000));
  c.open();
  c.pump(c.client->acknowledge(Commodity::kComputeMs, 50, Commitment::requestHash({})));
  ASSERT_EQ(actionsOf<StoreDack>(c.server_log).size(), 1u);
  // The node does not even propose what is acknowledged already...
  EXPECT_TRUE(
      c.server->proposeUsage(Commodity::kComputeMs, 30, Commitment::requestHash({})).empty());
  // ...and a client ignores such a proposal.
  const Actions answer = c.client->onBytes(proposalFrame(Commodity::kComputeMs, 30));
  EXPECT_TRUE(answer.empty());
  const Actions same = c.client->onBytes(proposalFrame(Commodity::kComputeMs, 50));
  EXPECT_TRUE(same.empty());
  EXPECT_EQ(c.client->state(), SessionState::kOpen);
}

TEST(UsageProposal, BandwidthIsSignedOnlyUpToTheBytesReceived) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(0, 1024 * 1024));
  c.open();
  c.serverSends(c.server->sendPayload(std::vector<uint8_t>(1000, 1)));
  ASSERT_TRUE(actionsOf<StoreDack>(c.server_log).empty());  // below dack_every_bytes
  c.serverSends(
      c.server->proposeUsage(Commodity::kBandwidthBytes, 5000, Commitment::requestHash({})));
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].dack.commodity, Commodity::kBandwidthBytes);
  EXPECT_EQ(dacks[0].dack.amount, 1000u);

  // An application that acknowledges only verified bytes (dack_every_bytes = 0) is not asked.
  const auto bob = keyFromByte(2);
  Connection verified(node, bob, targetFor(node), policy(0, 0), tls(2));
  verified.open();
  verified.serverSends(verified.server->sendPayload(std::vector<uint8_t>(1000, 1)));
  verified.serverSends(
      verified.server->proposeUsage(Commodity::kBandwidthBytes, 1000, Commitment::requestHash({})));
  EXPECT_TRUE(actionsOf<StoreDack>(verified.server_log).empty());
}

TEST(UsageProposal, MalformedProposalIsAProtocolError) {
  for (int variant = 0; variant < 3; ++variant) {
    FakeNode node;
    const auto alice = keyFromByte(1);
    Connection c(node, alice, targetFor(node), policy(1000));
    c.open();
    auto body = encodeUsageProposal({Commodity::kComputeMs, 10, Commitment::requestHash({})});
    if (variant == 0) body[0] = 9;        // unknown commodity
    if (variant == 1) body.push_back(0);  // trailing byte
    if (variant == 2) body.resize(20);    // truncated
    c.clientReceives(encodeFrame(FrameType::kUsageProposal, body));
    EXPECT_EQ(c.client->state(), SessionState::kClosed);
    auto t = firstOf<Terminated>(c.client_log);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->reason, TerminationReason::kProtocolError);
    EXPECT_EQ(t->origin, TerminationOrigin::kLocal);
    // The Termination reached the node, which frees the lane.
    EXPECT_EQ(node.lanes.size(), 0u);
  }
}

TEST(UsageProposal, AProposalFromAClientIsAProtocolError) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(1000));
  c.open();
  Actions forged;
  forged.push_back(SendBytes{proposalFrame(Commodity::kComputeMs, 10)});
  c.pump(std::move(forged));
  EXPECT_EQ(c.server->state(), SessionState::kClosed);
  auto t = firstOf<Terminated>(c.server_log);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, TerminationReason::kProtocolError);
}

TEST(UsageProposal, AProposalBeforeTheWelcomeIsAProtocolError) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), policy(1000));
  (void)c.client->start();
  c.clientReceives(proposalFrame(Commodity::kComputeMs, 10));
  EXPECT_EQ(c.client->state(), SessionState::kClosed);
  auto t = firstOf<Terminated>(c.client_log);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, TerminationReason::kProtocolError);
  // And the node proposes nothing before the session is open.
  FakeNode other;
  auto server = other.accept(tls(3));
  EXPECT_TRUE(server->proposeUsage(Commodity::kComputeMs, 10, Commitment::requestHash({})).empty());
}

TEST(UsageProposal, AfterAResumeTheProposalCountsFromTheAcknowledgedAmount) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  TokenUpdated token;
  {
    Connection c(node, alice, targetFor(node), policy(1000));
    c.open();
    c.serverSends(c.server->proposeUsage(Commodity::kComputeMs, 40, Commitment::requestHash({})));
    ASSERT_EQ(actionsOf<StoreDack>(c.server_log).size(), 1u);
    c.server->onTransportClosed();
    c.client->onTransportClosed();
    token = actionsOf<TokenUpdated>(c.client_log).back();
  }
  node.clock.advance(minutes(1));
  ClientTarget target = targetFor(node);
  target.lane = LaneRequest::resume(token.lane, token.token);
  Connection c(node, alice, target, policy(1000), tls(2));
  c.open();
  ASSERT_EQ(c.server->state(), SessionState::kOpen);
  EXPECT_EQ(c.client->dackedComputeMs(), 40u);
  // 15 ms on this connection: the lane session total is 55.
  c.serverSends(c.server->proposeUsage(Commodity::kComputeMs, 15, Commitment::requestHash({})));
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].dack.amount, 55u);
  EXPECT_EQ(dacks[0].dack.counter, 2u);
}

}  // namespace
}  // namespace thunder::handshake
