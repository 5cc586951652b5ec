// ExecutedServiceRouter with real sandboxed services behind a GatewayComponent: the SDK-built
// hello-http service answers GET and POST at /services/<id>/…, the echo service sends a request
// body back as its whole HTTP answer, an unknown id is 404, a service killed in the middle of its
// answer cuts the client's transfer, and stopping the gateway ends a request that waits for a
// service. Needs root (the sandbox) and the two services built beside this test (they are found
// through this executable's path; the test is skipped when they are missing).
#include "node/service_router.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "net/endpoint.h"
#include "net/http_client.h"
#include "node/admin_api.h"
#include "node/gateway_component.h"
#include "node/service_component.h"
#include "node/store_component.h"

namespace thunder::node {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

constexpr uint32_t kEcho = 10;
constexpr uint32_t kHello = 11;

// The SDK services of this build: <build>/services/<name>, this test being <build>/src/node/….
std::filesystem::path builtService(const std::string& name) {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return self.parent_path().parent_path().parent_path() / "services" / name;
}

// Sends raw bytes and reads everything until the server closes.
std::string exchangeRaw(const std::string& address, const std::string& request) {
  asio::io_context context;
  asio::ip::tcp::socket socket(context);
  auto endpoint = net::parseEndpoint(address);
  if (!endpoint) return {};
  boost::system::error_code ec;
  socket.connect(*endpoint, ec);
  if (ec) return {};
  asio::write(socket, asio::buffer(request), ec);
  std::string out;
  char buffer[4096];
  for (;;) {
    const size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec) break;
    out.append(buffer, n);
  }
  return out;
}

class ServiceRouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "services run in the sandbox, which needs root";
    echo_ = builtService("thunder-service-echo");
    hello_ = builtService("thunder-service-hello-http");
    if (!std::filesystem::exists(echo_) || !std::filesystem::exists(hello_)) {
      GTEST_SKIP() << "build thunder-service-echo and thunder-service-hello-http first";
    }
    char tmpl[] = "/tmp/thunder_service_router_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    runtime_.start();
    store_ = std::make_unique<StoreComponent>(runtime_, dir_, StoreOptions{}, metrics_, admin_);
    ASSERT_TRUE(store_->start());
    std::vector<ServiceConfig> configs(2);
    configs[0].id = kEcho;
    configs[0].name = "echo";
    configs[0].executable = echo_;
    configs[1].id = kHello;
    configs[1].name = "hello-http";
    configs[1].executable = hello_;
    services_ = std::make_unique<ServiceComponent>(runtime_, dir_, configs, key_, *store_, metrics_,
                                                   "0.1.0-test");
    ASSERT_TRUE(services_->start());
    for (const uint32_t id : {kEcho, kHello}) {
      ASSERT_TRUE(host(id).waitFor(
          [](const executor::ServiceStatus& s) {
            return s.state == executor::ServiceState::kRunning;
          },
          60s));
    }
    gateway::GatewayOptions options;
    options.listen = "127.0.0.1:0";
    options.stop_grace = 100ms;
    gateway_ = std::make_unique<GatewayComponent>(runtime_, dir_, options, *store_, metrics_,
                                                  services_.get());
    ASSERT_TRUE(gateway_->start());
  }

  void TearDown() override {
    if (gateway_) gateway_->stop();
    if (services_) services_->stop();
    if (store_) store_->stop();
    runtime_.stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  executor::ServiceHost& host(uint32_t id) { return *services_->host(ServiceId{id}); }

  Result<net::HttpResponse> request(std::string method, std::string target, std::string body = {}) {
    net::HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.body = std::move(body);
    return net::httpRequest(gateway_->localAddress(), request, {.timeout = 60s});
  }

  std::filesystem::path echo_;
  std::filesystem::path hello_;
  std::filesystem::path dir_;
  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  MetricsRegistry metrics_;
  AdminApi admin_{runtime_, AdminOptions{}, metrics_, [] { return std::string("{}"); }};
  crypto::SigningKey key_ = crypto::SigningKey::generate();
  std::unique_ptr<StoreComponent> store_;
  std::unique_ptr<ServiceComponent> services_;
  std::unique_ptr<GatewayComponent> gateway_;
};

TEST_F(ServiceRouterTest, HelloHttpAnswersThroughTheGateway) {
  auto get = request("GET", "/services/11/greet?who=me");
  ASSERT_TRUE(get) << get.error().message;
  EXPECT_EQ(get->status, 200u) << get->body;
  EXPECT_NE(get->body.find("GET /greet?who=me"), std::string::npos) << get->body;
  auto post = request("POST", "/services/11/form", "a=1&b=2");
  ASSERT_TRUE(post) << post.error().message;
  EXPECT_EQ(post->status, 200u);
  EXPECT_NE(post->body.find("POST /form"), std::string::npos) << post->body;
}

TEST_F(ServiceRouterTest, ABodyCrossesTheServiceBothWays) {
  const std::string payload(50'000, 'p');
  auto reply = request(
      "POST", "/services/10/",
      fmt::format("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{}", payload.size(), payload));
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 200u);
  EXPECT_TRUE(reply->body == payload);
}

TEST_F(ServiceRouterTest, AnUnknownServiceIs404) {
  auto reply = request("GET", "/services/99/");
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status, 404u);
  EXPECT_EQ(reply->body, "no service 99 is running on this node\n");
}

TEST_F(ServiceRouterTest, AServiceKilledMidAnswerCutsTheConnection) {
  const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial";
  const uint64_t out_before = host(kEcho).status().bytes_out;
  std::string raw;
  std::thread client([&] {
    raw = exchangeRaw(gateway_->localAddress(),
                      fmt::format("POST /services/10/ HTTP/1.1\r\nHost: t\r\nContent-Length: "
                                  "{}\r\n\r\n{}",
                                  answer.size(), answer));
  });
  ASSERT_TRUE(host(kEcho).waitFor(
      [&](const executor::ServiceStatus& s) { return s.bytes_out >= out_before + answer.size(); },
      60s));
  const auto pid = host(kEcho).status().pid;
  ASSERT_TRUE(pid.has_value());
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  client.join();  // returns: the gateway closed the connection
  EXPECT_NE(raw.find("Content-Length: 1000\r\n"), std::string::npos) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\npartial")) << raw;
}

TEST_F(ServiceRouterTest, StoppingTheGatewayEndsAWaitingRequest) {
  // The echo service never answers a GET (it echoes an empty body: nothing).
  std::string raw;
  std::thread client([&] {
    raw = exchangeRaw(gateway_->localAddress(), "GET /services/10/ HTTP/1.1\r\nHost: t\r\n\r\n");
  });
  ASSERT_TRUE(host(kEcho).waitFor(
      [](const executor::ServiceStatus& s) { return s.connections_active == 1; }, 60s));
  gateway_->stop();  // returns although the service never answers
  client.join();
  EXPECT_TRUE(raw.empty() || raw.find(" 503 ") != std::string::npos) << raw;
  EXPECT_TRUE(host(kEcho).waitFor(
      [](const executor::ServiceStatus& s) { return s.connections_active == 0; }, 60s));
}

}  // namespace
}  // namespace thunder::node
