// serveSession() over real loopback TLS: a TlsListener serving sessions with the built-in
// services, and ClientSession state machines driven by a small in-test client.
#include "handshake/session_driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "content/fs_blob_store.h"
#include "content/verified_stream.h"
#include "handshake/builtin_services.h"
#include "handshake/client_session.h"
#include "handshake/hello.h"
#include "handshake/test_support.h"
#include "net/tls_transport.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::keyFromByte;

template <typename T>
T runOn(asio::any_io_executor executor, asio::awaitable<T> task) {
  return asio::co_spawn(executor, std::move(task), asio::use_future).get();
}

enum class BindingChoice { kExporter, kWrong };

// One client connection: a ClientSession over connectTls(), stepped from the test thread.
class TestClient {
 public:
  TestClient(io::Runtime& runtime, std::string address, const PublicKey& node_pk,
             const crypto::SigningKey& key, ServiceId service, ClientOptions options = {},
             BindingChoice binding = BindingChoice::kExporter)
      : key_(key) {
    auto conn = net::connectTlsBlocking(runtime, address, node_pk, 10s);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return;
    conn_ = std::move(conn).value();
    std::array<uint8_t, 32> value{};
    if (binding == BindingChoice::kExporter) {
      auto exported = conn_->exportKeyingMaterial(kTlsExporterLabel);
      EXPECT_TRUE(exported);
      if (exported) value = *exported;
    }
    session_.emplace(key_, ClientTarget{node_pk, service}, TransportBinding::tlsExporter(value),
                     clock_, options);
  }

  ~TestClient() {
    if (conn_) runOn(conn_->executor(), drop());
  }

  // Sends the Hello and reads until the session is open or over.
  SessionState open() {
    return step([this]() -> asio::awaitable<void> {
      co_await perform(session_->start());
      co_await readUntil([this] { return session_->state() != SessionState::kHandshaking; });
    });
  }

  // Sends `payload` and reads until `expected` payload bytes arrived in total.
  SessionState sendAndRead(std::vector<uint8_t> payload, size_t expected) {
    return step([this, payload, expected]() -> asio::awaitable<void> {
      co_await perform(session_->sendPayload(payload));
      co_await readUntil([this, expected] { return received_.size() >= expected; });
    });
  }

  // Sends `payload` and reads until the session is over.
  SessionState sendAndReadToEnd(std::vector<uint8_t> payload) {
    return step([this, payload]() -> asio::awaitable<void> {
      co_await perform(session_->sendPayload(payload));
      co_await readUntil([] { return false; });
    });
  }

  SessionState readToEnd() {
    return step([this]() -> asio::awaitable<void> { co_await readUntil([] { return false; }); });
  }

  // Sends a normal Termination and reads until the node closes the connection.
  void finish() {
    step([this]() -> asio::awaitable<void> {
      co_await perform(session_->terminate(TerminationReason::kNormal, "bye"));
      co_await readUntil([] { return false; });
    });
  }

  bool connected() const { return conn_ != nullptr; }
  const std::vector<uint8_t>& received() const { return received_; }
  const std::optional<Terminated>& terminated() const { return terminated_; }
  const ClientSession& session() const { return *session_; }

 private:
  template <typename F>
  SessionState step(F f) {
    if (!conn_) return SessionState::kClosed;
    runOn(conn_->executor(), f());
    return session_->state();
  }

  asio::awaitable<void> drop() {
    conn_.reset();
    co_return;
  }

  asio::awaitable<void> perform(Actions actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<SendBytes>(&action)) {
        if (!co_await conn_->writeAll(send->bytes)) eof_ = true;
      } else if (auto* payload = std::get_if<DeliverPayload>(&action)) {
        received_.insert(received_.end(), payload->payload.begin(), payload->payload.end());
      } else if (auto* terminated = std::get_if<Terminated>(&action)) {
        terminated_ = *terminated;
      }
    }
  }

  // Reads and handles bytes until done() or the connection ends.
  asio::awaitable<void> readUntil(std::function<bool()> done) {
    std::vector<uint8_t> buffer(64 * 1024);
    while (!eof_ && !done()) {
      auto n = co_await conn_->readSome(buffer);
      if (!n || *n == 0) {
        eof_ = true;
        session_->onTransportClosed();
        break;
      }
      co_await perform(session_->onBytes(std::span<const uint8_t>(buffer).first(*n)));
    }
  }

  const crypto::SigningKey& key_;
  SystemClock clock_;
  std::unique_ptr<net::StreamConnection> conn_;
  std::optional<ClientSession> session_;
  std::vector<uint8_t> received_;
  std::optional<Terminated> terminated_;
  bool eof_ = false;
};

// Echo, counting the connections it opens (service id 7).
class CountingService final : public SessionService {
 public:
  explicit CountingService(std::atomic<int>& opened) : opened_(opened) {}
  ServiceId id() const override { return ServiceId{7}; }
  std::string_view name() const override { return "counting"; }
  Result<std::unique_ptr<ServiceConnection>> open(const ConnectionInfo& info) override {
    ++opened_;
    return echo_.open(info);
  }

 private:
  std::atomic<int>& opened_;
  EchoService echo_;
};

std::vector<uint8_t> patternBytes(size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i % 251);
  return out;
}

class SessionDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.start();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("session_driver_" + std::to_string(::getpid()) + "_" +
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
    ASSERT_TRUE(services_.add(std::make_unique<CountingService>(opened_)));
  }

  void TearDown() override {
    if (listener_) listener_->stop();
    std::filesystem::remove_all(dir_);
  }

  void startNode(SessionHubOptions options = {}) {
    hub_.emplace(node_key_, services_, clock_, options);
    context_.emplace(
        SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    auto identity = net::TlsIdentity::fromSigningKey(node_key_);
    ASSERT_TRUE(identity);
    identity_.emplace(std::move(identity).value());
    auto listener = net::TlsListener::start(runtime_, *identity_, {}, [this](auto conn) {
      return serveSession(std::move(conn), *context_);
    });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = std::move(listener).value();
  }

  std::unique_ptr<TestClient> client(const crypto::SigningKey& key, ServiceId service,
                                     ClientOptions options = {},
                                     BindingChoice binding = BindingChoice::kExporter) {
    return std::make_unique<TestClient>(runtime_, listener_->localAddress(), node_key_.publicKey(),
                                        key, service, options, binding);
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  crypto::SigningKey node_key_ = keyFromByte(0xA0);
  crypto::SigningKey client_key_ = keyFromByte(0x01);
  SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<content::FsBlobStore> store_;
  std::unique_ptr<DackQueue> dacks_;
  std::atomic<int> opened_{0};
  SessionServices services_;
  std::optional<SessionHub> hub_;
  std::optional<SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
};

TEST_F(SessionDriverTest, EchoSendsEveryPayloadBack) {
  startNode();
  auto c = client(client_key_, kEchoServiceId);
  ASSERT_TRUE(c->connected());
  ASSERT_EQ(c->open(), SessionState::kOpen);
  const auto first = patternBytes(1000);
  ASSERT_EQ(c->sendAndRead(first, first.size()), SessionState::kOpen);
  const auto second = patternBytes(64 * 1024);
  ASSERT_EQ(c->sendAndRead(second, first.size() + second.size()), SessionState::kOpen);
  std::vector<uint8_t> expected = first;
  expected.insert(expected.end(), second.begin(), second.end());
  EXPECT_EQ(c->received(), expected);
  c->finish();
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_F(SessionDriverTest, ContentStreamsAVerifiedRange) {
  startNode();
  const auto blob = patternBytes(300'000);
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

TEST_F(SessionDriverTest, ContentRefusesUnknownBlobAndBadRequest) {
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

TEST_F(SessionDriverTest, ClientDackLandsInTheQueue) {
  startNode();
  ClientOptions options;
  options.dack_every_bytes = 1;  // a DACK after every payload
  auto c = client(client_key_, kEchoServiceId, options);
  ASSERT_EQ(c->open(), SessionState::kOpen);
  ASSERT_EQ(c->sendAndRead(patternBytes(500), 500), SessionState::kOpen);
  // The node handles the DACK before the Termination that follows it, then closes.
  c->finish();
  auto stored = dacks_->list();
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].scope.client_pk, client_key_.publicKey());
  EXPECT_EQ((*stored)[0].amount, 500u);
}

TEST_F(SessionDriverTest, BadHelloSignatureIsRefusedBeforeAnyService) {
  startNode();
  auto c = client(client_key_, ServiceId{7}, {}, BindingChoice::kWrong);
  EXPECT_EQ(c->open(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kBadSignature);
  EXPECT_EQ(hub_->laneCount(), 0u);
  EXPECT_EQ(opened_.load(), 0);
  // The same service with a correct binding is opened.
  auto good = client(client_key_, ServiceId{7});
  ASSERT_EQ(good->open(), SessionState::kOpen);
  EXPECT_EQ(good->sendAndRead({42}, 1), SessionState::kOpen);
  EXPECT_EQ(opened_.load(), 1);
  good->finish();
}

TEST_F(SessionDriverTest, IdleTimeoutTerminatesAndFreesTheLane) {
  SessionHubOptions options;
  options.server.idle_timeout = 200ms;
  startNode(options);
  auto c = client(client_key_, kEchoServiceId);
  ASSERT_EQ(c->open(), SessionState::kOpen);
  EXPECT_EQ(c->readToEnd(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kIdleTimeout);
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_F(SessionDriverTest, ClientOverItsLaneLimitIsRefusedWhileOthersAreServed) {
  SessionHubOptions options;
  options.lanes.max_lanes_per_client = 1;
  startNode(options);
  auto holder = client(client_key_, kEchoServiceId);
  ASSERT_EQ(holder->open(), SessionState::kOpen);

  auto over = client(client_key_, kEchoServiceId);
  EXPECT_EQ(over->open(), SessionState::kClosed);
  ASSERT_TRUE(over->terminated());
  EXPECT_EQ(over->terminated()->reason, TerminationReason::kLaneLimit);

  const crypto::SigningKey other_key = keyFromByte(0x02);
  auto other = client(other_key, kEchoServiceId);
  ASSERT_EQ(other->open(), SessionState::kOpen);
  EXPECT_EQ(other->sendAndRead({7, 8, 9}, 3), SessionState::kOpen);
  EXPECT_EQ(holder->sendAndRead({1}, 1), SessionState::kOpen);
  other->finish();
  holder->finish();
  EXPECT_EQ(hub_->laneCount(), 0u);
}

TEST_F(SessionDriverTest, UnknownServiceIsRefused) {
  startNode();
  auto c = client(client_key_, ServiceId{99});
  EXPECT_EQ(c->open(), SessionState::kClosed);
  ASSERT_TRUE(c->terminated());
  EXPECT_EQ(c->terminated()->reason, TerminationReason::kUnknownService);
}

}  // namespace
}  // namespace thunder::handshake
