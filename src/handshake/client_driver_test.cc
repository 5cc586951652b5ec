// ClientDriver over real loopback TLS against an in-test node: a TlsListener whose handler runs
// a ServerSession (echo service 7), so the client side is tested without the node's driver.
#include "handshake/client_driver.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "handshake/server_session.h"
#include "handshake/test_support.h"
#include "io/runtime.h"
#include "net/tls_transport.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;
using testing::keyFromByte;

enum class ServerMode {
  kEcho,            // echo every payload
  kShutdownOnOpen,  // terminate with `shutdown` as soon as the session opens
};

// The in-test node. The handler runs on the runtime's loop; what it records is read by the
// test thread after the client finished (guarded by mutex_).
class TestNode {
 public:
  explicit TestNode(ServerMode mode)
      : mode_(mode), lanes_({}, clock_), replay_({}, clock_), context_{node_key_, lanes_, replay_,
                                                                       services_, clock_, {}} {
    runtime_.start();
    auto identity = net::TlsIdentity::fromSigningKey(node_key_);
    EXPECT_TRUE(identity);
    identity_ = std::make_unique<net::TlsIdentity>(std::move(*identity));
    auto listener = net::TlsListener::start(
        runtime_, *identity_, {},
        [this](std::unique_ptr<net::StreamConnection> conn) { return serve(std::move(conn)); });
    EXPECT_TRUE(listener) << listener.error().message;
    listener_ = std::move(*listener);
  }
  ~TestNode() {
    listener_->stop();
    runtime_.stop();
  }

  std::string address() const { return listener_->localAddress(); }
  PublicKey publicKey() const { return node_key_.publicKey(); }
  std::vector<Dack> dacks() {
    std::lock_guard lock(mutex_);
    return dacks_;
  }

 private:
  asio::awaitable<void> serve(std::unique_ptr<net::StreamConnection> conn) {
    auto exported = conn->exportKeyingMaterial(kTlsExporterLabel);
    if (!exported) co_return;
    ServerSession session(context_,
                          TransportBinding::tlsExporter(std::span<const uint8_t, 32>(*exported)));
    std::vector<uint8_t> buffer(64 * 1024);
    bool done = false;
    while (!done) {
      auto n = co_await conn->readSome(buffer);
      if (!n || *n == 0) break;
      Actions pending = session.onBytes(std::span(buffer).first(*n));
      for (size_t i = 0; i < pending.size() && !done; ++i) {
        Action action = std::move(pending[i]);
        if (auto* send = std::get_if<SendBytes>(&action)) {
          if (!co_await conn->writeAll(send->bytes)) done = true;
        } else if (auto* deliver = std::get_if<DeliverPayload>(&action)) {
          testing::append(pending, session.sendPayload(deliver->payload));
        } else if (std::holds_alternative<SessionOpened>(action)) {
          if (mode_ == ServerMode::kShutdownOnOpen) {
            testing::append(pending, session.terminate(TerminationReason::kShutdown, "test stop"));
          }
        } else if (auto* store = std::get_if<StoreDack>(&action)) {
          std::lock_guard lock(mutex_);
          dacks_.push_back(store->dack);
        } else if (auto* terminated = std::get_if<Terminated>(&action)) {
          std::lock_guard lock(mutex_);
          terminations_.push_back(*terminated);
          done = true;
        }
      }
    }
    conn->close();
    std::lock_guard lock(mutex_);
    ++sessions_done_;
    done_cv_.notify_all();
  }

  ServerMode mode_;
  crypto::SigningKey node_key_ = keyFromByte(0xA0);
  SystemClock clock_;
  LaneTable lanes_;
  HelloReplayCache replay_;
  testing::FakeServiceRegistry services_{{7}};
  ServerContext context_;
  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 1, .blocking_threads = 1}};
  std::unique_ptr<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
  std::mutex mutex_;
  std::vector<Dack> dacks_;
  std::vector<Terminated> terminations_;
  size_t sessions_done_ = 0;
  std::condition_variable done_cv_;

 public:
  // Waits until the node has finished serving `count` connections.
  void waitSessionsDone(size_t count) {
    std::unique_lock lock(mutex_);
    done_cv_.wait(lock, [&] { return sessions_done_ >= count; });
  }
  std::vector<Terminated> terminations() {
    std::lock_guard lock(mutex_);
    return terminations_;
  }
};

// Sends `count` payloads of `size` bytes on open, collects the echo, ends normally when all
// came back.
class EchoClient final : public SessionHandler {
 public:
  EchoClient(size_t count, size_t size) : count_(count), size_(size) {}
  void onOpen(SessionControl& control, uint64_t) override {
    opened_ = true;
    for (size_t i = 0; i < count_; ++i) {
      std::vector<uint8_t> payload(size_);
      for (size_t j = 0; j < size_; ++j) payload[j] = static_cast<uint8_t>(i * 7 + j);
      sent_.insert(sent_.end(), payload.begin(), payload.end());
      control.send(payload);
    }
    if (count_ == 0) control.end(TerminationReason::kNormal, "nothing to send");
  }
  Result<void> onPayload(SessionControl& control, std::span<const uint8_t> payload) override {
    received_.insert(received_.end(), payload.begin(), payload.end());
    if (received_.size() == sent_.size()) control.end(TerminationReason::kNormal, "done");
    return {};
  }

  bool opened_ = false;
  std::vector<uint8_t> sent_;
  std::vector<uint8_t> received_;

 private:
  size_t count_;
  size_t size_;
};

ConnectOptions optionsFor(const TestNode& node, uint32_t service) {
  ConnectOptions options;
  options.address = node.address();
  options.target.node_pk = node.publicKey();
  options.target.service = ServiceId(service);
  options.session.dack_every_bytes = 64 * 1024;
  return options;
}

TEST(ClientDriverTest, EchoRoundTripWithDacks) {
  TestNode node(ServerMode::kEcho);
  const auto client_key = keyFromByte(0x01);
  SystemClock clock;
  EchoClient client(/*count=*/20, /*size=*/16384);
  auto outcome = connectAndRunBlocking(optionsFor(node, 7), client_key, clock, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_EQ(outcome->origin, TerminationOrigin::kLocal);
  ASSERT_TRUE(outcome->welcome);
  EXPECT_EQ(outcome->welcome->node_pk, node.publicKey());
  EXPECT_TRUE(client.opened_);
  EXPECT_EQ(client.received_, client.sent_);
  EXPECT_EQ(outcome->received_bytes, client.sent_.size());

  // 20 × 16 KiB at one DACK per 64 KiB: 5 automatic DACKs, verified and stored by the node.
  node.waitSessionsDone(1);
  const auto dacks = node.dacks();
  ASSERT_EQ(node.terminations().size(), 1u);
  for (const auto& t : node.terminations()) {
    EXPECT_EQ(t.reason, TerminationReason::kNormal) << t.message;
  }
  EXPECT_EQ(outcome->dacks_sent, 5u);
  ASSERT_EQ(dacks.size(), 5u);
  for (size_t i = 0; i < dacks.size(); ++i) {
    EXPECT_EQ(dacks[i].counter, i + 1);
    EXPECT_EQ(dacks[i].commodity, Commodity::kBandwidthBytes);
    EXPECT_EQ(dacks[i].scope.client_pk, client_key.publicKey());
    EXPECT_EQ(dacks[i].amount, (i + 1) * 64 * 1024);
    if (i > 0) {
      EXPECT_GT(dacks[i].amount, dacks[i - 1].amount);
    }
  }
  EXPECT_EQ(outcome->dacked_bytes, dacks.back().amount);
}

TEST(ClientDriverTest, ManualAcknowledgeSignsCumulativeAmount) {
  TestNode node(ServerMode::kEcho);
  const auto client_key = keyFromByte(0x02);
  SystemClock clock;
  class AckingClient final : public SessionHandler {
   public:
    void onOpen(SessionControl& control, uint64_t) override {
      control.send(std::vector<uint8_t>(1000, 0x5a));
    }
    Result<void> onPayload(SessionControl& control, std::span<const uint8_t>) override {
      const auto commitment = Commitment::contentRange(Hash32{}, 0, 1000);
      control.acknowledgeBandwidth(control.receivedBytes(), commitment);
      control.acknowledgeBandwidth(control.receivedBytes(), commitment);  // no-op: not above
      control.end(TerminationReason::kNormal, "done");
      return {};
    }
  } client;
  auto options = optionsFor(node, 7);
  options.session.dack_every_bytes = 0;
  auto outcome = connectAndRunBlocking(options, client_key, clock, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  node.waitSessionsDone(1);
  const auto dacks = node.dacks();
  ASSERT_EQ(dacks.size(), 1u);
  EXPECT_EQ(dacks[0].amount, 1000u);
  EXPECT_EQ(dacks[0].counter, 1u);
  EXPECT_EQ(dacks[0].commitment.range_end, 1000u);
}

TEST(ClientDriverTest, NodeKeyMismatchIsRefused) {
  TestNode node(ServerMode::kEcho);
  const auto client_key = keyFromByte(0x01);
  SystemClock clock;
  EchoClient client(1, 10);
  auto options = optionsFor(node, 7);
  options.target.node_pk = keyFromByte(0xB0).publicKey();
  auto outcome = connectAndRunBlocking(options, client_key, clock, client);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kPermissionDenied) << outcome.error().message;
  EXPECT_FALSE(client.opened_);
}

TEST(ClientDriverTest, NodeTerminationReasonSurfaces) {
  TestNode node(ServerMode::kShutdownOnOpen);
  SystemClock clock;
  // Sends nothing and never ends by itself, so only the node can end the session.
  class WaitingClient final : public SessionHandler {
   public:
    void onOpen(SessionControl&, uint64_t) override {}
    Result<void> onPayload(SessionControl&, std::span<const uint8_t>) override { return {}; }
  } client;
  auto outcome = connectAndRunBlocking(optionsFor(node, 7), keyFromByte(0x01), clock, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kShutdown);
  EXPECT_EQ(outcome->origin, TerminationOrigin::kPeer);
  EXPECT_EQ(outcome->message, "test stop");
  EXPECT_NE(outcome->describe().find("shutdown"), std::string::npos) << outcome->describe();
}

TEST(ClientDriverTest, UnknownServiceIsRefusedBeforeOpen) {
  TestNode node(ServerMode::kEcho);
  SystemClock clock;
  EchoClient client(1, 10);
  auto outcome = connectAndRunBlocking(optionsFor(node, 99), keyFromByte(0x01), clock, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kUnknownService);
  EXPECT_EQ(outcome->origin, TerminationOrigin::kPeer);
  EXPECT_FALSE(outcome->welcome);
  EXPECT_FALSE(client.opened_);
}

TEST(ClientDriverTest, UnreachableNodeIsUnavailable) {
  SystemClock clock;
  EchoClient client(1, 10);
  ConnectOptions options;
  {
    TestNode node(ServerMode::kEcho);
    options = optionsFor(node, 7);
  }  // stopped: nothing listens on that port any more
  auto outcome = connectAndRunBlocking(options, keyFromByte(0x01), clock, client);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kUnavailable) << outcome.error().message;
}

}  // namespace
}  // namespace thunder::handshake
