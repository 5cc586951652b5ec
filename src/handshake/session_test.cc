// The server and client state machines wired together in memory, and every refusal path.
#include <gtest/gtest.h>

#include "handshake/client_session.h"
#include "handshake/server_session.h"
#include "handshake/test_support.h"

namespace thunder::handshake {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
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

ClientOptions dackEvery(uint64_t bytes) {
  ClientOptions options;
  options.dack_every_bytes = bytes;
  return options;
}

// One connection: a client and a server session joined by an in-memory pipe.
struct Connection {
  Connection(FakeNode& node, const crypto::SigningKey& key, ClientTarget target,
             TransportBinding binding, ClientOptions options = {})
      : server(node.accept(binding)),
        client(std::make_unique<ClientSession>(key, target, binding, node.clock, options)) {}

  // Delivers `from_client` to the server and the answers back and forth until both are quiet.
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
  void open() { pump(client->start()); }

  std::unique_ptr<ServerSession> server;
  std::unique_ptr<ClientSession> client;
  Actions server_log;
  Actions client_log;
};

ClientTarget targetFor(const FakeNode& node, uint32_t service = 7) {
  return {node.node_key.publicKey(), ServiceId(service), LaneRequest::newLane()};
}

TerminationReason serverReason(const Connection& c) {
  auto t = firstOf<Terminated>(c.server_log);
  EXPECT_TRUE(t.has_value());
  return t ? t->reason : TerminationReason::kNormal;
}

TEST(Session, FullExchangeWithDacksAndTermination) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), tls(1), dackEvery(1000));
  c.open();
  ASSERT_EQ(c.server->state(), SessionState::kOpen);
  ASSERT_EQ(c.client->state(), SessionState::kOpen);
  auto opened = firstOf<SessionOpened>(c.server_log);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->client_pk, alice.publicKey());
  EXPECT_EQ(opened->resume_offset, 0u);
  EXPECT_TRUE(firstOf<TokenUpdated>(c.client_log));

  const std::vector<uint8_t> request = {'G', 'E', 'T'};
  c.pump(c.client->sendPayload(request));
  ASSERT_EQ(actionsOf<DeliverPayload>(c.server_log).size(), 1u);
  EXPECT_EQ(actionsOf<DeliverPayload>(c.server_log)[0].payload, request);

  // 150 KiB from the service: three payload frames, and bandwidth DACKs signed as bytes arrive.
  const std::vector<uint8_t> response(150 * 1024, 0x42);
  c.serverSends(c.server->sendPayload(response));
  uint64_t delivered = 0;
  for (const auto& p : actionsOf<DeliverPayload>(c.client_log)) delivered += p.payload.size();
  EXPECT_EQ(delivered, response.size());
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 3u);
  EXPECT_EQ(dacks.back().dack.amount, response.size());
  EXPECT_EQ(dacks.back().dack.counter, 3u);
  const LaneState* lane = node.lanes.state(alice.publicKey(), *c.server->lane());
  ASSERT_NE(lane, nullptr);
  EXPECT_EQ(lane->delivered_bytes, response.size());
  EXPECT_EQ(lane->acked.bandwidth_bytes, response.size());

  c.pump(c.client->acknowledge(Commodity::kComputeMs, 5, Commitment::requestHash({})));
  EXPECT_EQ(actionsOf<StoreDack>(c.server_log).size(), 4u);

  c.pump(c.client->terminate(TerminationReason::kNormal, "bye"));
  EXPECT_EQ(c.server->state(), SessionState::kClosed);
  auto t = firstOf<Terminated>(c.server_log);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->origin, TerminationOrigin::kPeer);
  EXPECT_EQ(t->message, "bye");
  EXPECT_EQ(node.lanes.size(), 0u);  // termination frees the lane
}

TEST(Session, BadSignatureIsRefusedBeforeServiceWork) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), tls(1));
  c.server = node.accept(tls(2));  // the server sees another TLS exporter value (relay)
  c.open();
  EXPECT_EQ(serverReason(c), TerminationReason::kBadSignature);
  EXPECT_FALSE(firstOf<SessionOpened>(c.server_log));
  EXPECT_EQ(node.lanes.size(), 0u);
  auto client_end = firstOf<Terminated>(c.client_log);
  ASSERT_TRUE(client_end);
  EXPECT_EQ(client_end->origin, TerminationOrigin::kPeer);
  EXPECT_EQ(client_end->reason, TerminationReason::kBadSignature);
}

TEST(Session, UnknownServiceIsRefused) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node, 99), tls(1));
  c.open();
  EXPECT_EQ(serverReason(c), TerminationReason::kUnknownService);
  EXPECT_FALSE(firstOf<SessionOpened>(c.server_log));
  EXPECT_EQ(node.lanes.size(), 0u);
}

TEST(Session, ReplayedHelloIsRefused) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), TransportBinding::unbound());
  const auto hello_bytes = sentBytes(c.client->start());
  ASSERT_TRUE(firstOf<SessionOpened>(c.server->onBytes(hello_bytes)));
  // On a TLS connection the captured Hello fails its binding.
  auto relayed = node.accept(tls(9));
  EXPECT_EQ(firstOf<Terminated>(relayed->onBytes(hello_bytes))->reason,
            TerminationReason::kBadSignature);
  // On another unbound connection the nonce cache refuses it.
  auto replayed = node.accept(TransportBinding::unbound());
  const Actions out = replayed->onBytes(hello_bytes);
  EXPECT_EQ(firstOf<Terminated>(out)->reason, TerminationReason::kReplay);
  EXPECT_FALSE(firstOf<SessionOpened>(out));
  EXPECT_EQ(node.lanes.size(), 1u);  // only the first connection's lane
}

TEST(Session, HelloWithSkewedClockIsRefused) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  FakeClock client_clock(node.clock.now() - minutes(30));
  ClientSession client(alice, targetFor(node), tls(1), client_clock);
  auto server = node.accept(tls(1));
  EXPECT_EQ(firstOf<Terminated>(server->onBytes(sentBytes(client.start())))->reason,
            TerminationReason::kClockSkew);
}

TEST(Session, ClientOverItsLaneLimitIsRefused) {
  FakeNode node({.max_lanes_per_client = 2});
  const auto alice = keyFromByte(1);
  std::vector<std::unique_ptr<Connection>> open;
  for (int i = 0; i < 2; ++i) {
    open.push_back(std::make_unique<Connection>(node, alice, targetFor(node), tls(i)));
    open.back()->open();
    ASSERT_EQ(open.back()->server->state(), SessionState::kOpen);
  }
  Connection third(node, alice, targetFor(node), tls(5));
  third.open();
  EXPECT_EQ(serverReason(third), TerminationReason::kLaneLimit);
  EXPECT_EQ(node.lanes.size(), 2u);
  const auto bob_key = keyFromByte(2);
  Connection bob(node, bob_key, targetFor(node), tls(6));  // others still served
  bob.open();
  EXPECT_EQ(bob.server->state(), SessionState::kOpen)
      << terminationReasonName(firstOf<Terminated>(bob.server_log)->reason);
}

// Opens a lane, receives 1500 bytes, acknowledges 1000, then loses the connection.
struct DroppedLane {
  LaneId lane = 0;
  SessionToken token;
};
DroppedLane openAndDrop(FakeNode& node, const crypto::SigningKey& key) {
  Connection c(node, key, targetFor(node), tls(1), dackEvery(0));
  c.open();
  c.serverSends(c.server->sendPayload(std::vector<uint8_t>(1500, 1)));
  c.pump(c.client->acknowledge(Commodity::kBandwidthBytes, 1000, Commitment::requestHash({})));
  EXPECT_EQ(actionsOf<StoreDack>(c.server_log).size(), 1u);
  c.server->onTransportClosed();
  c.client->onTransportClosed();
  const auto token = actionsOf<TokenUpdated>(c.client_log).back();
  return {token.lane, token.token};
}

TEST(Session, ResumeContinuesFromTheLastAcknowledgedOffset) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  const DroppedLane dropped = openAndDrop(node, alice);
  ASSERT_EQ(node.lanes.size(), 1u);
  node.clock.advance(minutes(3));

  ClientTarget target = targetFor(node);
  target.lane = LaneRequest::resume(dropped.lane, dropped.token);
  Connection c(node, alice, target, tls(2), dackEvery(0));
  c.open();
  ASSERT_EQ(c.server->state(), SessionState::kOpen);
  EXPECT_EQ(c.server->lane(), dropped.lane);
  EXPECT_EQ(firstOf<SessionOpened>(c.server_log)->resume_offset, 1000u);
  EXPECT_EQ(firstOf<SessionOpened>(c.client_log)->resume_offset, 1000u);
  EXPECT_EQ(c.client->receivedBytes(), 1000u);
  EXPECT_EQ(node.lanes.state(alice.publicKey(), dropped.lane)->delivered_bytes, 1000u);
  EXPECT_NE(firstOf<TokenUpdated>(c.client_log)->token, dropped.token);  // rotated

  // The service resends from 1000; the next DACK continues counter and amount.
  c.serverSends(c.server->sendPayload(std::vector<uint8_t>(500, 1)));
  c.pump(c.client->acknowledge(Commodity::kBandwidthBytes, c.client->receivedBytes(),
                               Commitment::requestHash({})));
  auto dacks = actionsOf<StoreDack>(c.server_log);
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].dack.counter, 2u);
  EXPECT_EQ(dacks[0].dack.amount, 1500u);
}

TEST(Session, WrongOrExpiredTokenIsRefused) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  const DroppedLane dropped = openAndDrop(node, alice);
  SessionToken wrong = dropped.token;
  wrong.mutableBytes()[0] ^= 0xff;
  ClientTarget target = targetFor(node);
  target.lane = LaneRequest::resume(dropped.lane, wrong);
  Connection bad(node, alice, target, tls(3));
  bad.open();
  EXPECT_EQ(serverReason(bad), TerminationReason::kBadToken);
  EXPECT_EQ(node.lanes.size(), 1u);  // a wrong token does not free someone's lane

  node.clock.advance(minutes(11));
  target.lane = LaneRequest::resume(dropped.lane, dropped.token);
  Connection late(node, alice, target, tls(4));
  late.open();
  EXPECT_EQ(serverReason(late), TerminationReason::kBadToken);
  EXPECT_EQ(node.lanes.size(), 0u);
}

TEST(Session, SecondConcurrentUseOfALaneIsRefused) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  Connection first(node, alice, targetFor(node), tls(1));
  first.open();
  const auto token = firstOf<TokenUpdated>(first.client_log);
  ClientTarget target = targetFor(node);
  target.lane = LaneRequest::resume(token->lane, token->token);
  Connection second(node, alice, target, tls(2));
  second.open();
  EXPECT_EQ(serverReason(second), TerminationReason::kLaneBusy);
  EXPECT_EQ(first.server->state(), SessionState::kOpen);  // the first keeps its lane
  EXPECT_NE(node.lanes.state(alice.publicKey(), token->lane), nullptr);
}

TEST(Session, BadOrReplayedDackTerminatesAndFreesTheLane) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  {
    Connection c(node, alice, targetFor(node), tls(1));
    c.open();
    const Actions dack = c.client->acknowledge(Commodity::kBandwidthBytes, 0, {});
    c.pump(dack);
    ASSERT_EQ(actionsOf<StoreDack>(c.server_log).size(), 1u);
    c.pump(dack);  // the same DACK again
    EXPECT_EQ(serverReason(c), TerminationReason::kDackNotMonotonic);
    EXPECT_EQ(node.lanes.size(), 0u);
  }
  {
    Connection c(node, alice, targetFor(node), tls(1));
    c.open();
    auto bytes = sentBytes(c.client->acknowledge(Commodity::kBandwidthBytes, 10, {}));
    bytes.back() ^= 1;  // last signature byte
    append(c.server_log, c.server->onBytes(bytes));
    EXPECT_EQ(serverReason(c), TerminationReason::kBadDack);
    EXPECT_EQ(node.lanes.size(), 0u);
  }
}

TEST(Session, MalformedOversizedOrUnexpectedFramesTerminate) {
  FakeNode node;
  auto unexpected = node.accept(tls(1));
  EXPECT_EQ(firstOf<Terminated>(unexpected->onBytes(encodeFrame(FrameType::kPayload, {})))->reason,
            TerminationReason::kProtocolError);
  auto unknown = node.accept(tls(1));
  const std::vector<uint8_t> junk = {0x7f, 0, 0, 0, 0};
  EXPECT_EQ(firstOf<Terminated>(unknown->onBytes(junk))->reason, TerminationReason::kProtocolError);
  auto huge = node.accept(tls(1));
  const std::vector<uint8_t> big = {0x03, 0xff, 0xff, 0xff, 0x7f};
  const Actions out = huge->onBytes(big);
  EXPECT_EQ(firstOf<Terminated>(out)->reason, TerminationReason::kFrameTooLarge);
  // The node tells the client why before closing.
  auto frame = decodeFrame(sentBytes(out), {});
  ASSERT_TRUE(frame);
  EXPECT_EQ(parseTermination(frame->payload)->reason, TerminationReason::kFrameTooLarge);
  EXPECT_TRUE(huge->onBytes(big).empty());  // closed: ignores everything
}

TEST(Session, HandshakeAndIdleTimeoutsAreDeadlines) {
  FakeNode node;
  auto silent = node.accept(tls(1));
  ASSERT_EQ(silent->nextDeadline(), node.clock.now() + seconds(10));
  EXPECT_TRUE(silent->onTimer(node.clock.now() + seconds(9)).empty());
  EXPECT_EQ(firstOf<Terminated>(silent->onTimer(node.clock.now() + seconds(10)))->reason,
            TerminationReason::kHandshakeTimeout);
  EXPECT_FALSE(silent->nextDeadline());

  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), tls(1));
  c.open();
  node.clock.advance(seconds(30));
  c.pump(c.client->sendPayload(std::vector<uint8_t>{1}));  // activity moves the idle deadline
  EXPECT_EQ(c.server->nextDeadline(), node.clock.now() + seconds(60));
  EXPECT_EQ(firstOf<Terminated>(c.server->onTimer(node.clock.now() + seconds(60)))->reason,
            TerminationReason::kIdleTimeout);
  EXPECT_EQ(node.lanes.size(), 0u);
}

TEST(Session, TokenIsRefreshedWhileConnected) {
  ServerOptions options;
  options.idle_timeout = minutes(30);
  FakeNode node(LaneTableOptions{}, options);
  const auto alice = keyFromByte(1);
  Connection c(node, alice, targetFor(node), tls(1));
  c.open();
  const auto first = firstOf<TokenUpdated>(c.client_log);
  ASSERT_EQ(c.server->nextDeadline(), node.clock.now() + minutes(5));
  node.clock.advance(minutes(5));
  c.serverSends(c.server->onTimer(node.clock.now()));
  const auto tokens = actionsOf<TokenUpdated>(c.client_log);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_NE(tokens[1].token, first->token);
  EXPECT_EQ(tokens[1].expires_at, node.clock.now() + minutes(10));
  EXPECT_EQ(c.client->welcome()->token, tokens[1].token);
}

TEST(Session, ClientRefusesAnUnpinnedNodeKeyAndTimesOut) {
  FakeNode node;
  const auto alice = keyFromByte(1);
  ClientTarget target = targetFor(node);
  target.node_pk = keyFromByte(0xEE).publicKey();
  Connection c(node, alice, target, tls(1));
  c.open();
  auto t = firstOf<Terminated>(c.client_log);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason, TerminationReason::kUnexpectedNodeKey);
  EXPECT_EQ(c.server->state(), SessionState::kClosed);  // the client told the node
  EXPECT_EQ(node.lanes.size(), 0u);

  ClientSession waiting(alice, targetFor(node), tls(1), node.clock);
  waiting.start();
  EXPECT_EQ(firstOf<Terminated>(waiting.onTimer(*waiting.nextDeadline()))->reason,
            TerminationReason::kHandshakeTimeout);
}

}  // namespace
}  // namespace thunder::handshake
