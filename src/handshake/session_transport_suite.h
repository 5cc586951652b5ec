// The session scenarios every client transport must pass, as one value-parameterized GoogleTest
// suite: a real listener of the transport under test (TLS, plain WebSocket or QUIC) serving
// serveSession() with the built-in services, and clients that are either ClientSession state
// machines stepped from the test (SessionTestClient, handshake/session_test_clients.h) or the
// real client driver (connectAndRunBlocking). Each transport's test file includes this header and
// instantiates the suite for its transport:
//
//   INSTANTIATE_TEST_SUITE_P(Quic, SessionTransportTest,
//                            ::testing::Values(SessionTransport::kQuic), sessionTransportName);
//
// Where expectations differ they follow from the transport binding (docs/protocol/handshake.md
// §2.1): TLS and QUIC pin the node key in their handshake and bind a Hello to the connection's
// exporter; plain WebSocket does neither, so the Welcome signature and the nonce cache do.
// Test-only, header-only: include it from one *_test.cc per test executable.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "content/verified_stream.h"
#include "handshake/builtin_services.h"
#include "handshake/client_driver.h"
#include "handshake/client_session.h"
#include "handshake/connection_binding.h"
#include "handshake/frame.h"
#include "handshake/hello.h"
#include "handshake/session_driver.h"
#include "handshake/session_test_clients.h"
#include "handshake/test_support.h"
#include "net/quic_transport.h"
#include "net/tls_identity.h"
#include "net/tls_transport.h"
#include "net/ws_transport.h"

namespace thunder::handshake {

enum class SessionTransport { kTls, kWs, kQuic };

inline std::string sessionTransportName(const ::testing::TestParamInfo<SessionTransport>& info) {
  switch (info.param) {
    case SessionTransport::kTls: return "Tls";
    case SessionTransport::kWs: return "Ws";
    case SessionTransport::kQuic: return "Quic";
  }
  return "Unknown";
}

class SessionTransportTest : public ::testing::TestWithParam<SessionTransport> {
 protected:
  using BindingChoice = suite::BindingChoice;
  using EchoClient = suite::EchoClient;
  using SessionTestClient = suite::SessionTestClient;

  void SetUp() override {
    runtime_.start();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("session_suite_" + std::to_string(::getpid()) + "_" +
            sessionTransportName({GetParam(), 0}) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    auto store = content::FsBlobStore::open(std::move(store_options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
    DackQueueOptions dack_options;
    dack_options.path = dir_ / "dacks";
    auto dacks = DackQueue::open(dack_options);
    ASSERT_TRUE(dacks) << dacks.error().message;
    dacks_ = std::move(dacks).value();
    ASSERT_TRUE(addBuiltinServices(services_, *store_, runtime_.blockingPool()));
    auto counting = std::make_unique<suite::CountingService>(opened_);
    counting_ = counting.get();
    ASSERT_TRUE(services_.add(std::move(counting)));
  }

  void TearDown() override {
    stopNode();
    std::filesystem::remove_all(dir_);
  }

  // Starts a listener of the transport under test serving sessions with `options`.
  void startNode(SessionHubOptions options = {}) {
    hub_.emplace(node_key_, services_, clock_, options);
    context_.emplace(
        SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    auto serve = [this](std::unique_ptr<net::StreamConnection> conn) {
      if (wrap_connection_) conn = wrap_connection_(std::move(conn));
      return serveSession(std::move(conn), *context_);
    };
    switch (GetParam()) {
      case SessionTransport::kTls: {
        auto identity = net::TlsIdentity::fromSigningKey(node_key_);
        ASSERT_TRUE(identity) << identity.error().message;
        identity_.emplace(std::move(identity).value());
        auto listener = net::TlsListener::start(runtime_, *identity_, {}, serve);
        ASSERT_TRUE(listener) << listener.error().message;
        tls_ = std::move(listener).value();
        address_ = tls_->localAddress();
        break;
      }
      case SessionTransport::kWs: {
        auto listener = net::WsListener::start(runtime_, {}, serve);
        ASSERT_TRUE(listener) << listener.error().message;
        ws_ = std::move(listener).value();
        address_ = ws_->url();
        break;
      }
      case SessionTransport::kQuic: {
        auto listener = net::QuicListener::start(runtime_, node_key_, {}, serve);
        ASSERT_TRUE(listener) << listener.error().message;
        quic_ = std::move(listener).value();
        address_ = quic_->url();
        break;
      }
    }
  }

  // Stops the listener: every session is closed and its driver has returned.
  void stopNode() {
    if (tls_) tls_->stop();
    if (ws_) ws_->stop();
    if (quic_) quic_->stop();
  }

  bool pinsTheNodeKeyInTheHandshake() const { return GetParam() != SessionTransport::kWs; }

  // A raw connection to the node, authenticated by `pinned` where the transport does that.
  Result<std::unique_ptr<net::StreamConnection>> connect(const PublicKey& pinned) {
    switch (GetParam()) {
      case SessionTransport::kTls:
        return net::connectTlsBlocking(runtime_, address_, pinned, std::chrono::seconds(10));
      case SessionTransport::kWs:
        return suite::runOn(runtime_.nextLoop().get_executor(),
                            net::connectWsUrl(address_, std::chrono::seconds(10)));
      case SessionTransport::kQuic:
        return net::connectQuicBlocking(runtime_, address_, pinned, std::chrono::seconds(10));
    }
    return fail(ErrorCode::kInternal, "unknown transport");
  }

  std::unique_ptr<SessionTestClient> client(const crypto::SigningKey& key, ServiceId service,
                                            ClientOptions options = {},
                                            BindingChoice binding = BindingChoice::kConnection) {
    return std::make_unique<SessionTestClient>(
        connect(node_key_.publicKey()), node_key_.publicKey(), key, service, options, binding);
  }

  // The real client driver, as the CLI runs it.
  Result<SessionOutcome> runEcho(EchoClient& handler, const PublicKey& pinned) {
    ConnectOptions options;
    options.address = address_;
    options.target = ClientTarget{pinned, kEchoServiceId};
    options.session.dack_every_bytes = 64 * 1024;
    return connectAndRunBlocking(std::move(options), client_key_, clock_, handler);
  }

  // Sends `hello` (already signed) over `conn` and returns the node's first frame.
  static Result<Frame> exchangeHello(std::unique_ptr<net::StreamConnection> conn,
                                     const Hello& hello) {
    auto executor = conn->executor();
    return suite::runOn(
        executor, exchange(std::move(conn), encodeFrame(FrameType::kHello, encodeHello(hello))));
  }

  static boost::asio::awaitable<Result<Frame>> exchange(std::unique_ptr<net::StreamConnection> conn,
                                                        std::vector<uint8_t> bytes) {
    THUNDER_CO_TRY(co_await conn->writeAll(bytes));
    FrameDecoder decoder;
    std::vector<uint8_t> buffer(4096);
    for (;;) {
      auto n = co_await conn->readSome(buffer);
      if (!n) co_return tl::unexpected(n.error());
      if (*n == 0) co_return fail(ErrorCode::kUnavailable, "the node closed without a frame");
      std::span<const uint8_t> input = std::span(buffer).first(*n);
      THUNDER_CO_ASSIGN_OR_RETURN(auto frame, decoder.next(input));
      if (frame) co_return std::move(*frame);
    }
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  crypto::SigningKey node_key_ = testing::keyFromByte(0xA0);
  crypto::SigningKey pinned_key_ = testing::keyFromByte(0xB0);  // what a misled client pins
  crypto::SigningKey client_key_ = testing::keyFromByte(0x01);
  SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<content::FsBlobStore> store_;
  std::unique_ptr<DackQueue> dacks_;
  std::atomic<int> opened_{0};
  suite::CountingService* counting_ = nullptr;  // owned by services_
  SessionServices services_;
  // Set before startNode() to interpose on the node's side of each connection.
  std::function<std::unique_ptr<net::StreamConnection>(std::unique_ptr<net::StreamConnection>)>
      wrap_connection_;
  std::optional<SessionHub> hub_;
  std::optional<SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> tls_;
  std::unique_ptr<net::WsListener> ws_;
  std::unique_ptr<net::QuicListener> quic_;
  std::string address_;
};

TEST_P(SessionTransportTest, EchoSendsEveryPayloadBack) {
  startNode();
  auto c = client(client_key_, kEchoServiceId);
  ASSERT_TRUE(c->connected());
  ASSERT_EQ(c->open(), SessionState::kOpen);
  const auto first = suite::patternBytes(1000);
  ASSERT_EQ(c->sendAndRead(first, first.size()), SessionState::kOpen);
  const auto second = suite::patternBytes(64 * 1024);
  ASSERT_EQ(c->sendAndRead(second, first.size() + second.size()), SessionState::kOpen);
  std::vector<uint8_t> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_TRUE(c->received() == expected);
  c->finish();
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_P(SessionTransportTest, ContentStreamsAVerifiedRange) {
  startNode();
  const auto blob = suite::patternBytes(300'000);
  auto put = store_->putBytes(blob, {});
  ASSERT_TRUE(put) << put.error().message;
  ContentRequest request{put->id, {{100'000, 200'000}, {5, 10}}};
  auto c = client(client_key_, kContentServiceId);
  ASSERT_EQ(c->open(), SessionState::kOpen);
  EXPECT_EQ(c->sendAndReadToEnd(encodeContentRequest(request)), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kNormal) << c->terminated()->message;
  EXPECT_EQ(c->terminated()->origin, TerminationOrigin::kPeer);

  auto ranges = content::ByteRanges::fromStartEnd(100'000, 200'000);
  ASSERT_TRUE(ranges);
  ASSERT_TRUE(ranges->add(5, 10));
  std::vector<uint8_t> verified(blob.size());
  uint64_t verified_bytes = 0;
  content::RangeDecoder decoder(put->id, *ranges,
                                [&](uint64_t offset, std::span<const uint8_t> bytes) {
                                  std::copy(bytes.begin(), bytes.end(), verified.begin() + offset);
                                  verified_bytes += bytes.size();
                                  return Result<void>{};
                                });
  ASSERT_TRUE(decoder.feed(c->received())) << "stream fails verification";
  ASSERT_TRUE(decoder.finish());
  EXPECT_GE(verified_bytes, 100'005u);
  EXPECT_TRUE(
      std::equal(blob.begin() + 100'000, blob.begin() + 200'000, verified.begin() + 100'000));
  EXPECT_TRUE(std::equal(blob.begin() + 5, blob.begin() + 10, verified.begin() + 5));
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_P(SessionTransportTest, ContentRefusesUnknownBlobAndBadRequest) {
  startNode();
  auto missing = client(client_key_, kContentServiceId);
  ASSERT_EQ(missing->open(), SessionState::kOpen);
  BlobId unknown;
  unknown.mutableBytes()[0] = 1;
  missing->sendAndReadToEnd(encodeContentRequest({unknown, {}}));
  ASSERT_TRUE(missing->terminated());
  EXPECT_EQ(missing->terminated()->reason, TerminationReason::kServiceError);
  EXPECT_TRUE(missing->terminated()->message.starts_with("not_found:"))
      << missing->terminated()->message;
  EXPECT_TRUE(missing->received().empty());

  auto bad = client(client_key_, kContentServiceId);
  ASSERT_EQ(bad->open(), SessionState::kOpen);
  bad->sendAndReadToEnd({1, 2, 3});
  ASSERT_TRUE(bad->terminated());
  EXPECT_EQ(bad->terminated()->reason, TerminationReason::kServiceError);
  EXPECT_TRUE(bad->terminated()->message.starts_with("bad_request:")) << bad->terminated()->message;
}

TEST_P(SessionTransportTest, ClientDackLandsInTheQueue) {
  startNode();
  ClientOptions options;
  options.dack_every_bytes = 1;  // a DACK after every payload
  auto c = client(client_key_, kEchoServiceId, options);
  ASSERT_EQ(c->open(), SessionState::kOpen);
  ASSERT_EQ(c->sendAndRead(suite::patternBytes(500), 500), SessionState::kOpen);
  // The node handles the DACK before the Termination that follows it, then closes.
  c->finish();
  auto stored = dacks_->list();
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].scope.client_pk, client_key_.publicKey());
  EXPECT_EQ((*stored)[0].amount, 500u);
}

TEST_P(SessionTransportTest, BadHelloSignatureIsRefusedBeforeAnyService) {
  startNode();
  auto c = client(client_key_, ServiceId{7}, {}, BindingChoice::kWrong);
  EXPECT_EQ(c->open(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kBadSignature);
  EXPECT_EQ(hub_->laneCount(), 0u);
  EXPECT_EQ(opened_.load(), 0);
  // The same service with the connection's binding is opened, and sees the transport.
  auto good = client(client_key_, ServiceId{7});
  ASSERT_EQ(good->open(), SessionState::kOpen);
  EXPECT_EQ(good->sendAndRead({42}, 1), SessionState::kOpen);
  EXPECT_EQ(opened_.load(), 1);
  const char* expected_transport = GetParam() == SessionTransport::kTls    ? "tls"
                                   : GetParam() == SessionTransport::kQuic ? "quic"
                                                                           : "ws";
  EXPECT_EQ(counting_->lastTransport(), expected_transport);
  good->finish();
}

TEST_P(SessionTransportTest, IdleTimeoutTerminatesAndFreesTheLane) {
  SessionHubOptions options;
  options.server.idle_timeout = std::chrono::milliseconds(200);
  startNode(options);
  auto c = client(client_key_, kEchoServiceId);
  ASSERT_EQ(c->open(), SessionState::kOpen);
  EXPECT_EQ(c->readToEnd(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kIdleTimeout);
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_P(SessionTransportTest, ClientOverItsLaneLimitIsRefusedWhileOthersAreServed) {
  SessionHubOptions options;
  options.lanes.max_lanes_per_client = 1;
  startNode(options);
  auto holder = client(client_key_, kEchoServiceId);
  ASSERT_EQ(holder->open(), SessionState::kOpen);

  auto over = client(client_key_, kEchoServiceId);
  EXPECT_EQ(over->open(), SessionState::kClosed);
  ASSERT_TRUE(over->terminated());
  EXPECT_EQ(over->terminated()->reason, TerminationReason::kLaneLimit);

  const crypto::SigningKey other_key = testing::keyFromByte(0x02);
  auto other = client(other_key, kEchoServiceId);
  ASSERT_EQ(other->open(), SessionState::kOpen);
  EXPECT_EQ(other->sendAndRead({7, 8, 9}, 3), SessionState::kOpen);
  EXPECT_EQ(holder->sendAndRead({1}, 1), SessionState::kOpen);
  other->finish();
  holder->finish();
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_P(SessionTransportTest, UnknownServiceIsRefused) {
  startNode();
  auto c = client(client_key_, ServiceId{99});
  EXPECT_EQ(c->open(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kUnknownService);
}

TEST_P(SessionTransportTest, EchoThroughTheClientDriverWithDacks) {
  startNode();
  EchoClient handler(4, 60'000);
  auto outcome = runEcho(handler, node_key_.publicKey());
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_TRUE(handler.received_ == handler.sent_);
  ASSERT_TRUE(outcome->welcome);
  EXPECT_EQ(outcome->welcome->node_pk, node_key_.publicKey());
  EXPECT_GE(outcome->dacks_sent, 1u);
  stopNode();
  auto stored = dacks_->count();
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_LE(*stored, 1u);  // never more than the latest per lane
}

TEST_P(SessionTransportTest, TheClientRefusesAnotherNodeKey) {
  startNode();
  EchoClient handler(1, 10);
  auto outcome = runEcho(handler, pinned_key_.publicKey());
  EXPECT_FALSE(handler.opened_);
  if (pinsTheNodeKeyInTheHandshake()) {  // refused before any session byte
    ASSERT_FALSE(outcome);
    EXPECT_EQ(outcome.error().code, ErrorCode::kPermissionDenied) << outcome.error().message;
    EXPECT_NE(outcome.error().message.find("node key mismatch"), std::string::npos)
        << outcome.error().message;
  } else {  // the Welcome names another key
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_EQ(outcome->reason, TerminationReason::kUnexpectedNodeKey) << outcome->describe();
    EXPECT_EQ(outcome->origin, TerminationOrigin::kLocal);
  }
}

TEST_P(SessionTransportTest, AHelloReplayedOnAnotherConnectionIsRefused) {
  startNode();
  auto first = connect(node_key_.publicKey());
  ASSERT_TRUE(first) << first.error().message;
  auto binding = transportBindingOf(**first);
  ASSERT_TRUE(binding) << binding.error().message;
  const Hello hello =
      makeHello(client_key_, kEchoServiceId, LaneRequest::newLane(), clock_.now(), *binding);
  auto welcome = exchangeHello(std::move(first).value(), hello);
  ASSERT_TRUE(welcome) << welcome.error().message;
  EXPECT_EQ(welcome->type, FrameType::kWelcome);

  auto second = connect(node_key_.publicKey());
  ASSERT_TRUE(second) << second.error().message;
  auto replayed = exchangeHello(std::move(second).value(), hello);
  ASSERT_TRUE(replayed) << replayed.error().message;
  ASSERT_EQ(replayed->type, FrameType::kTermination);
  auto termination = parseTermination(replayed->payload);
  ASSERT_TRUE(termination);
  // Bound to the first connection's exporter, the Hello's signature fails on the second; an
  // unbound Hello verifies anywhere, and the nonce cache refuses it.
  EXPECT_EQ(termination->reason, pinsTheNodeKeyInTheHandshake() ? TerminationReason::kBadSignature
                                                                : TerminationReason::kReplay)
      << termination->message;
}

}  // namespace thunder::handshake
