// ExecutedService end to end: client sessions over real loopback TLS (TlsListener +
// serveSession) reach sandboxed test services (tests/services/) through their data channels.
// Covers the echo path, the node API from a real service, content by reference, End both ways,
// a service dying mid-reply, a hostile service answering for connections it does not own or
// writing to a closed channel, stop with open sessions, and the HTTP request head.
#include "executor/executed_service.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "content/verified_stream.h"
#include "crypto/blake3.h"
#include "executor/test_node.h"
#include "handshake/client_driver.h"
#include "handshake/session_driver.h"
#include "handshake/test_support.h"
#include "net/tls_transport.h"

namespace thunder::executor {
namespace {

namespace asio = boost::asio;
namespace hs = thunder::handshake;
using namespace testing;
using hs::TerminationReason;

std::vector<uint8_t> bytesOf(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

std::string textOf(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<uint8_t> pattern(size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 13 + i / 4099);
  return out;
}

// A client that sends `payloads` when the session opens and ends it normally once
// `expect_bytes` arrived (0: waits for the node to end it). `on_payload` runs on every payload
// (on the client's thread).
class ScriptClient final : public hs::SessionHandler {
 public:
  ScriptClient(std::vector<std::vector<uint8_t>> payloads, size_t expect_bytes)
      : payloads_(std::move(payloads)), expect_(expect_bytes) {}

  void onOpen(hs::SessionControl& control, uint64_t) override {
    for (const auto& payload : payloads_) control.send(payload);
  }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    received.insert(received.end(), payload.begin(), payload.end());
    if (on_payload) on_payload();
    if (expect_ > 0 && received.size() >= expect_) control.end(TerminationReason::kNormal, "done");
    return {};
  }

  std::vector<uint8_t> received;
  std::function<void()> on_payload;

 private:
  std::vector<std::vector<uint8_t>> payloads_;
  size_t expect_;
};

// A client that sends "first" on open, waits until release() is called (from any thread), then
// sends `second` and ends once everything it expects came back.
class HeldClient final : public hs::SessionHandler {
 public:
  HeldClient(std::string first, std::string second, size_t expect)
      : first_(std::move(first)), second_(std::move(second)), expect_(expect) {}

  void onOpen(hs::SessionControl& control, uint64_t) override { control.send(bytesOf(first_)); }
  Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
    received.insert(received.end(), payload.begin(), payload.end());
    if (received.size() == first_.size()) first_echo_.set_value();
    if (received.size() >= expect_) control.end(TerminationReason::kNormal, "done");
    return {};
  }
  asio::awaitable<void> produce(hs::SessionControl& control) override {
    asio::steady_timer gate(control.executor(), asio::steady_timer::time_point::max());
    gate_ = &gate;
    executor_.set_value(control.executor());
    boost::system::error_code ignored;
    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    gate_ = nullptr;
    if (!second_.empty() && control.isOpen()) control.send(bytesOf(second_));
  }

  void waitFirstEcho() { first_echo_future_.wait(); }
  void release() {
    auto executor = executor_future_.get();
    asio::post(executor, [this] {
      if (gate_ != nullptr) gate_->cancel();
    });
  }

  std::vector<uint8_t> received;

 private:
  std::string first_;
  std::string second_;
  size_t expect_;
  asio::steady_timer* gate_ = nullptr;
  std::promise<void> first_echo_;
  std::future<void> first_echo_future_ = first_echo_.get_future();
  std::promise<asio::any_io_executor> executor_;
  std::future<asio::any_io_executor> executor_future_ = executor_.get_future();
};

class ExecutedServiceTest : public ExecutorTest {
 protected:
  void TearDown() override {
    if (listener_) listener_->stop();
    ExecutorTest::TearDown();
  }

  // Starts a host and registers its ExecutedService (before startNode()).
  ServiceHost& addService(ServiceSpec s) {
    ServiceHost& host = startHost(std::move(s));
    EXPECT_TRUE(services_.add(std::make_unique<ExecutedService>(host)));
    return host;
  }

  void startNode() {
    hs::DackQueueOptions dack_options;
    dack_options.path = dir_ / "dacks";
    auto dacks = hs::DackQueue::open(dack_options);
    ASSERT_TRUE(dacks) << dacks.error().message;
    dacks_ = std::move(dacks).value();
    hub_.emplace(node_key_, services_, clock_, hs::SessionHubOptions{});
    context_.emplace(
        hs::SessionDriverContext{*hub_, services_, *dacks_, runtime_.blockingPool(), metrics_});
    auto identity = net::TlsIdentity::fromSigningKey(node_key_);
    ASSERT_TRUE(identity);
    identity_.emplace(std::move(identity).value());
    auto listener = net::TlsListener::start(runtime_, *identity_, {}, [this](auto conn) {
      return hs::serveSession(std::move(conn), *context_);
    });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = std::move(listener).value();
  }

  hs::ConnectOptions connectOptions(uint32_t service) const {
    hs::ConnectOptions options;
    options.address = listener_->localAddress();
    options.target.node_pk = node_key_.publicKey();
    options.target.service = ServiceId{service};
    // No automatic DACKs: where the node ends a session, a DACK still in flight when it closes
    // the connection can make the client's kernel see a reset before the Termination.
    options.session.dack_every_bytes = 0;
    return options;
  }

  Result<hs::SessionOutcome> run(uint32_t service, hs::SessionHandler& handler) {
    return hs::connectAndRunBlocking(connectOptions(service), client_key_, clock_, handler);
  }

  // One command, its first reply.
  std::string ask(uint32_t service, const std::string& command) {
    ScriptClient client({bytesOf(command)}, 1);
    auto outcome = run(service, client);
    EXPECT_TRUE(outcome) << outcome.error().message;
    return textOf(client.received);
  }

  crypto::SigningKey node_key_ = hs::testing::keyFromByte(0xA0);
  crypto::SigningKey client_key_ = hs::testing::keyFromByte(0x01);
  hs::SystemClock clock_;
  hs::SessionServices services_;
  std::unique_ptr<hs::DackQueue> dacks_;
  std::optional<hs::SessionHub> hub_;
  std::optional<hs::SessionDriverContext> context_;
  std::optional<net::TlsIdentity> identity_;
  std::unique_ptr<net::TlsListener> listener_;
};

TEST_F(ExecutedServiceTest, ASessionReachesTheServiceProcessAndEchoes) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  const auto big = pattern(700'000);  // several Payload frames each way
  ScriptClient client({bytesOf("hello "), big}, 6 + big.size());
  auto outcome = run(5, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  std::vector<uint8_t> expected = bytesOf("hello ");
  expected.insert(expected.end(), big.begin(), big.end());
  EXPECT_EQ(client.received, expected);
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.connections_active == 0; }));
  const ServiceStatus s = host.status();
  EXPECT_EQ(s.connections_total, 1u);
  EXPECT_EQ(s.bytes_in, expected.size());
  EXPECT_EQ(s.bytes_out, expected.size());
}

TEST_F(ExecutedServiceTest, PerConnectionUsageAndProposals) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  ScriptClient client({bytesOf("propose 25")}, 2);
  std::vector<ConnectionUsage> during;
  client.on_payload = [&] { during = host.activeConnections(); };
  auto outcome = run(5, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(textOf(client.received), "ok");
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0].proposed_compute_ms, 25u);
  EXPECT_EQ(during[0].client_key, client_key_.publicKey());
  EXPECT_EQ(during[0].bytes_in, 10u);
  EXPECT_TRUE(during[0].active);
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.connections_active == 0; }));
  auto after = host.connectionUsage(during[0].connection_id);
  ASSERT_TRUE(after);
  EXPECT_FALSE(after->active);
  EXPECT_EQ(after->bytes_out, 2u);
  EXPECT_EQ(after->proposed_compute_ms, 25u);
}

TEST_F(ExecutedServiceTest, ProposedComputeBecomesAClientSignedDack) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  // The service proposes 25 ms, then 40 ms more: the node proposes the running total (25, 65)
  // to the client, which signs compute DACKs up to its limit of 50 ms. Each proposal reaches
  // the session's loop before the service's "ok" does (it is posted before the service gets
  // its reply), so the DACKs precede the client's Termination.
  hs::ConnectOptions options = connectOptions(5);
  options.session.max_compute_ms = 50;
  struct TwoProposals final : hs::SessionHandler {
    void onOpen(hs::SessionControl& control, uint64_t) override {
      control.send(bytesOf("propose 25"));
    }
    Result<void> onPayload(hs::SessionControl& control, std::span<const uint8_t> payload) override {
      received += textOf({payload.begin(), payload.end()});
      if (received == "ok") control.send(bytesOf("propose 40"));
      if (received == "okok") control.end(TerminationReason::kNormal, "done");
      return {};
    }
    std::string received;
  } handler;
  auto outcome = hs::connectAndRunBlocking(options, client_key_, clock_, handler);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_EQ(handler.received, "okok");
  EXPECT_EQ(outcome->dacks_sent, 2u);
  EXPECT_EQ(outcome->dacked_compute_ms, 50u);
  // The session (and its DACK stores) is over once the connection is detached.
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.connections_active == 0; }));
  auto stored = dacks_->list();
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 1u);  // the latest per lane and commodity
  const hs::Dack& dack = stored->front();
  EXPECT_EQ(dack.commodity, hs::Commodity::kComputeMs);
  EXPECT_EQ(dack.amount, 50u);
  EXPECT_EQ(dack.counter, 2u);
  EXPECT_EQ(dack.scope.client_pk, client_key_.publicKey());
  EXPECT_EQ(dack.scope.node_pk, node_key_.publicKey());
  EXPECT_EQ(dack.scope.service, ServiceId{5});
  EXPECT_TRUE(hs::verifyDack(dack, dack.scope, hs::DackProgress{}));

  // Without a compute limit (the default) the client signs nothing.
  ScriptClient unwilling({bytesOf("propose 25")}, 2);
  auto second = run(5, unwilling);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(textOf(unwilling.received), "ok");
  EXPECT_EQ(second->dacks_sent, 0u);
}

TEST_F(ExecutedServiceTest, AServiceUsesTheNodeApi) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  const auto bytes = pattern(50'000);
  auto put = store_->putBytes(bytes, {});
  ASSERT_TRUE(put);
  const std::string hex = put->id.hex();

  EXPECT_EQ(ask(5, "nodeinfo"),
            "nodeinfo 5 " + PublicKey(std::array<uint8_t, 32>{0xA0, 0xA1}).hex() + " 0.1.0-test");
  const std::string range = ask(5, "open " + hex + " 1000 300");
  EXPECT_EQ(range, std::string(bytes.begin() + 1000, bytes.begin() + 1300));
  EXPECT_EQ(ask(5, "open-write " + hex), "write refused");
  EXPECT_TRUE(ask(5, "open " + std::string(64, 'e') + " 0 1").starts_with("error: not_found"));
  const std::string via_memfd = ask(5, "put stored by a service");
  EXPECT_EQ(via_memfd, crypto::blake3(bytesOf("stored by a service")).hex());
  EXPECT_TRUE(store_->has(*BlobId::fromHex(via_memfd)).value_or(false));
  EXPECT_EQ(ask(5, "put-pipe through a pipe"), crypto::blake3(bytesOf("through a pipe")).hex());
  EXPECT_TRUE(ask(5, "fetch").starts_with("error: unavailable"));
  EXPECT_EQ(ask(5, "log hello from the service"), "ok");
  EXPECT_EQ(ask(5, "metric jobs_done 3"), "ok");
  EXPECT_EQ(ask(5, "gauge queue_depth 9"), "ok");
  ASSERT_TRUE(eventually(
      host, [](const ServiceStatus& s) { return s.custom_metrics.contains("queue_depth"); }));
  EXPECT_EQ(host.status().custom_metrics.at("jobs_done"), 3u);
  const std::string text = metrics_.render();
  EXPECT_NE(
      text.find(
          "thunder_service_custom_gauge{service=\"echo\",service_id=\"5\",name=\"queue_depth\"} 9"),
      std::string::npos)
      << text;
  EXPECT_GE(host.status().requests, 9u);
}

TEST_F(ExecutedServiceTest, StreamBlobSendsTheVerifiedRangeStreamFromTheStore) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  const auto bytes = pattern(3'000'000);
  auto put = store_->putBytes(bytes, {});
  ASSERT_TRUE(put);

  struct Case {
    std::string command;
    uint64_t start, end;
  };
  for (const Case& c : {Case{"stream " + put->id.hex(), 0, bytes.size()},
                        Case{"stream " + put->id.hex() + " 1000000 50000", 1'000'000, 1'050'000}}) {
    ScriptClient client({bytesOf(c.command)}, 0);
    auto outcome = run(5, client);
    ASSERT_TRUE(outcome) << outcome.error().message;
    EXPECT_TRUE(outcome->normal()) << outcome->describe();
    EXPECT_EQ(outcome->message, "streamed");
    auto ranges = content::ByteRanges::fromStartEnd(c.start, c.end);
    ASSERT_TRUE(ranges);
    std::vector<uint8_t> verified;
    content::RangeDecoder decoder(
        put->id, c.start == 0 ? content::ByteRanges::all() : *ranges,
        [&](uint64_t offset, std::span<const uint8_t> group) -> Result<void> {
          for (size_t i = 0; i < group.size(); ++i) {
            if (offset + i >= c.start && offset + i < c.end) {
              verified.push_back(group[i]);
            }
          }
          return {};
        });
    ASSERT_TRUE(decoder.feed(client.received)) << c.command;
    ASSERT_TRUE(decoder.finish()) << c.command;
    EXPECT_TRUE(std::equal(verified.begin(), verified.end(), bytes.begin() + c.start,
                           bytes.begin() + c.end))
        << c.command;
    EXPECT_EQ(verified.size(), c.end - c.start);
  }
  EXPECT_GE(host.status().bytes_out, bytes.size());
}

TEST_F(ExecutedServiceTest, StreamingAnUnknownBlobEndsTheSessionWithServiceError) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  ScriptClient client({bytesOf("stream " + std::string(64, 'a'))}, 0);
  auto outcome = run(5, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kServiceError);
  EXPECT_NE(outcome->message.find("not_found"), std::string::npos) << outcome->message;
}

TEST_F(ExecutedServiceTest, TheServiceEndingTheConnectionEndsTheSession) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  ScriptClient client({bytesOf("end")}, 0);
  auto outcome = run(5, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kNormal) << outcome->describe();
  EXPECT_EQ(outcome->origin, hs::TerminationOrigin::kPeer);
  EXPECT_EQ(outcome->message, "bye");
}

TEST_F(ExecutedServiceTest, AServiceDyingMidReplyEndsTheSessionAndTheNodeKeepsServing) {
  ServiceHost& dying = addService(spec(6, "dying", hostileServicePath(), {"exit-mid-reply"}));
  ServiceHost& echo = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(dying, isRunning));
  ASSERT_TRUE(eventually(echo, isRunning));
  startNode();
  ScriptClient client({bytesOf("0123456789")}, 0);
  auto outcome = run(6, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kServiceError) << outcome->describe();
  EXPECT_EQ(textOf(client.received), "01234");
  ASSERT_TRUE(eventually(dying, [](const ServiceStatus& s) {
    return s.restarts >= 1 && s.state == ServiceState::kRunning;
  }));
  EXPECT_EQ(dying.status().last_exit->describe(), "exit 3");
  EXPECT_EQ(ask(5, "still here"), "still here");
  ScriptClient again({bytesOf("abcd")}, 0);  // the restarted service serves a new session
  auto second = run(6, again);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(textOf(again.received), "ab");
}

TEST_F(ExecutedServiceTest, AServiceCannotAnswerForAConnectionItDoesNotOwn) {
  ServiceHost& echo = addService(spec(5, "echo", echoServicePath()));
  ServiceHost& hostile = addService(spec(6, "foreign", hostileServicePath(), {"foreign"}));
  ASSERT_TRUE(eventually(echo, isRunning));
  ASSERT_TRUE(eventually(hostile, isRunning));
  startNode();

  // Client A holds a session with the echo service while the hostile service gets the next
  // connection id, tries to bill A's connection and forges a header naming it.
  HeldClient a("a1", "a2", 4);
  std::promise<Result<hs::SessionOutcome>> a_outcome;
  std::thread a_thread([&] { a_outcome.set_value(run(5, a)); });
  a.waitFirstEcho();
  const auto a_connections = echo.activeConnections();
  ASSERT_EQ(a_connections.size(), 1u);

  ScriptClient b({bytesOf("forge")}, 0);
  auto b_outcome = run(6, b);
  ASSERT_TRUE(b_outcome) << b_outcome.error().message;
  EXPECT_EQ(b_outcome->reason, TerminationReason::kServiceError) << b_outcome->describe();
  EXPECT_NE(b_outcome->message.find("protocol error"), std::string::npos) << b_outcome->message;
  EXPECT_TRUE(b.received.empty()) << textOf(b.received);

  a.release();
  a_thread.join();
  auto a_result = a_outcome.get_future().get();
  ASSERT_TRUE(a_result) << a_result.error().message;
  EXPECT_TRUE(a_result->normal()) << a_result->describe();
  EXPECT_EQ(textOf(a.received), "a1a2");  // nothing "stolen" reached A

  auto a_usage = echo.connectionUsage(a_connections[0].connection_id);
  ASSERT_TRUE(a_usage);
  EXPECT_EQ(a_usage->proposed_bandwidth_bytes, 0u);
  ASSERT_TRUE(eventually(
      hostile, [](const ServiceStatus& s) { return s.custom_metrics.contains("own_accepted"); }));
  const ServiceStatus h = hostile.status();
  EXPECT_EQ(h.custom_metrics.at("foreign_rejected"), 2u);
  EXPECT_EQ(h.custom_metrics.at("own_accepted"), 1u);
  EXPECT_EQ(h.usage_rejected, 2u);
  EXPECT_GE(h.protocol_errors, 1u);
  EXPECT_NE(metrics_.render().find("thunder_service_protocol_errors_total{service=\"foreign\","
                                   "service_id=\"6\",channel=\"data\"} 1"),
            std::string::npos);
  EXPECT_EQ(h.restarts, 0u);  // a data-channel violation costs the connection, not the service
}

TEST_F(ExecutedServiceTest, WritingToAClosedDataChannelDeliversNothing) {
  ServiceHost& hostile = addService(spec(6, "foreign", hostileServicePath(), {"foreign"}));
  ASSERT_TRUE(eventually(hostile, isRunning));
  startNode();
  ScriptClient first({bytesOf("x")}, 1);
  auto outcome = run(6, first);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_TRUE(outcome->normal()) << outcome->describe();
  EXPECT_EQ(textOf(first.received), "x");
  // The client ended the session: the node sent End and closed its end; the service's "late"
  // write goes nowhere.
  ASSERT_TRUE(eventually(hostile, [](const ServiceStatus& s) {
    return s.custom_metrics.contains("late_write_failed") ||
           s.custom_metrics.contains("late_write_ok");
  }));
  ScriptClient second({bytesOf("y")}, 1);
  ASSERT_TRUE(run(6, second));
  EXPECT_EQ(textOf(second.received), "y");
  EXPECT_EQ(textOf(first.received), "x");
}

TEST_F(ExecutedServiceTest, AServiceThatIsNotRunningEndsTheSessionWithServiceError) {
  ServiceHost& host = addService(spec(7, "missing", "/nonexistent/service"));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.last_exit.has_value(); }));
  startNode();
  ScriptClient client({bytesOf("hello")}, 0);
  auto outcome = run(7, client);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kServiceError);
  EXPECT_NE(outcome->message.find("not running"), std::string::npos) << outcome->message;
}

TEST_F(ExecutedServiceTest, StoppingTheServiceEndsItsSessionsWithShutdown) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  HeldClient a("a1", "", 1000);
  std::promise<Result<hs::SessionOutcome>> a_outcome;
  std::thread a_thread([&] { a_outcome.set_value(run(5, a)); });
  a.waitFirstEcho();
  host.stop();
  a.release();
  a_thread.join();
  auto result = a_outcome.get_future().get();
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->reason, TerminationReason::kShutdown) << result->describe();
  EXPECT_EQ(host.status().state, ServiceState::kStopped);
}

TEST_F(ExecutedServiceTest, TheConnectionHeaderCarriesTheHttpRequestHead) {
  ServiceHost& host = addService(spec(5, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  startNode();
  ScriptClient plain({bytesOf("header")}, 1);
  ASSERT_TRUE(run(5, plain));
  EXPECT_TRUE(textOf(plain.received).ends_with(" service=5 lane=0 transport=tls"))
      << textOf(plain.received);

  // The gateway's path: openConnection() with an HTTP head, run against a minimal SessionIo.
  class OneShotIo final : public hs::SessionIo {
   public:
    explicit OneShotIo(asio::any_io_executor executor) : timer_(executor) {
      timer_.expires_at(asio::steady_timer::time_point::max());
    }
    asio::awaitable<std::optional<std::vector<uint8_t>>> receive() override {
      if (!sent_) {
        sent_ = true;
        co_return bytesOf("header");
      }
      boost::system::error_code ignored;
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      co_return std::nullopt;
    }
    void stopReceiving() override {}
    asio::awaitable<Result<void>> send(std::vector<uint8_t> payload) override {
      reply = textOf(payload);
      end(TerminationReason::kNormal, "got it");
      co_return Result<void>{};
    }
    void end(TerminationReason, std::string_view) override { timer_.cancel(); }
    std::string reply;

   private:
    asio::steady_timer timer_;
    bool sent_ = false;
  };
  ExecutedService service(host);
  hs::ConnectionInfo info{client_key_.publicKey(), ServiceId{5}, 3, 0, "http", "127.0.0.1:1"};
  ipc::HttpRequestHead head{"GET", "/a/b", "x=1", {{"host", "example"}, {"accept", "*/*"}}};
  auto connection = service.openConnection(info, head);
  ASSERT_TRUE(connection) << connection.error().message;
  auto executor = runtime_.loop(0).get_executor();
  OneShotIo io(executor);
  asio::co_spawn(executor, (*connection)->run(io), asio::use_future).get();
  EXPECT_TRUE(io.reply.ends_with(" service=5 lane=3 transport=http http=GET /a/b?x=1 headers=2"))
      << io.reply;

  ipc::HttpRequestHead huge{"GET", std::string(9000, 'p'), "", {}};
  auto refused = service.openConnection(info, huge);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace thunder::executor
