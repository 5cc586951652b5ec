// HttpOrigin against a TestOrigin on 127.0.0.1:0: streaming, statuses, redirects, timeouts,
// limits, cancellation, https with a private CA.
#include "fetcher/http_origin.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>

#include "fetcher/fetcher_test_support.h"

namespace thunder::fetcher {
namespace {

using namespace std::chrono_literals;
using testing::Gate;
using testing::runOn;
using testing::TestExchange;
using testing::TestOrigin;
using testing::TestRequest;

struct Collected {
  std::optional<OriginResponse> head;
  std::string body;
  size_t slices = 0;
  std::function<void(std::string_view)> on_slice;  // called after each slice
};

class HttpOriginTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.start(); }
  void TearDown() override {
    ::unsetenv("SSL_CERT_FILE");
    runtime_.stop();
  }

  std::unique_ptr<HttpOrigin> makeOrigin(HttpOriginOptions options = {}) {
    auto origin = HttpOrigin::create(std::move(options));
    EXPECT_TRUE(origin) << origin.error().message;
    return std::move(origin).value();
  }

  Result<OriginResponse> get(HttpOrigin& origin, const std::string& url, Collected& out,
                             OriginCancel* cancel = nullptr) {
    OriginCallbacks callbacks;
    callbacks.on_response = [&out](const OriginResponse& response) -> Result<void> {
      out.head = response;
      return {};
    };
    callbacks.on_body = [&out](std::span<const uint8_t> bytes) -> Result<void> {
      EXPECT_FALSE(bytes.empty());
      const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      out.body.append(text);
      ++out.slices;
      if (out.on_slice) out.on_slice(text);
      return {};
    };
    return runOn(runtime_, origin.get(url, callbacks, cancel));
  }

  io::Runtime runtime_{{.loop_threads = 1, .blocking_threads = 1}};
};

TEST_F(HttpOriginTest, StreamsTheBodyInSlices) {
  TestOrigin server;
  const std::string body = testing::randomText(300'000, 1);
  server.route("/file", [&](const TestRequest& request, TestExchange& exchange) {
    EXPECT_EQ(request.headers.at("accept-encoding"), "identity");
    EXPECT_EQ(request.headers.at("host"), "127.0.0.1:" + std::to_string(server.port()));
    exchange.respond(200, body,
                     {"Cache-Control: max-age=60", "Content-Type: text/plain", "Age: 5"});
  });
  auto origin = makeOrigin({.slice_bytes = 64 * 1024});
  Collected got;
  auto response = get(*origin, server.url("/file?x=1#frag"), got);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200u);
  EXPECT_EQ(response->url, server.url("/file?x=1"));
  EXPECT_EQ(response->content_length, body.size());
  EXPECT_EQ(response->cache_control, "max-age=60");
  EXPECT_EQ(response->content_type, "text/plain");
  EXPECT_EQ(response->age, "5");
  ASSERT_TRUE(got.head);
  EXPECT_EQ(got.head->content_length, body.size());
  EXPECT_EQ(got.body, body);
  EXPECT_GE(got.slices, 5u);  // 300 kB in slices of at most 64 KiB
}

TEST_F(HttpOriginTest, DeliversTheFirstBytesBeforeTheOriginFinishes) {
  TestOrigin server;
  Gate& rest = server.gate("rest");
  server.route("/slow", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, std::nullopt);  // chunked, no length
    exchange.chunk("first part;");
    rest.wait();
    exchange.chunk("second part");
    exchange.lastChunk();
  });
  auto origin = makeOrigin();
  Collected got;
  // The handler blocks until the first slice has reached us: the body is streamed.
  got.on_slice = [&](std::string_view) { rest.open(); };
  auto response = get(*origin, server.url("/slow"), got);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_FALSE(response->content_length);
  EXPECT_EQ(got.body, "first part;second part");
}

TEST_F(HttpOriginTest, NonSuccessStatusesNameTheUrlAndStatus) {
  TestOrigin server;
  const std::pair<int, ErrorCode> cases[] = {{404, ErrorCode::kNotFound},
                                             {410, ErrorCode::kNotFound},
                                             {403, ErrorCode::kPermissionDenied},
                                             {500, ErrorCode::kUnavailable},
                                             {206, ErrorCode::kUnavailable}};
  for (const auto& [status, code] : cases) {
    const std::string path = "/status/" + std::to_string(status);
    server.route(path, [status = status](const TestRequest&, TestExchange& exchange) {
      exchange.respond(status, "nope");
    });
  }
  auto origin = makeOrigin();
  for (const auto& [status, code] : cases) {
    Collected got;
    const std::string url = server.url("/status/" + std::to_string(status));
    auto response = get(*origin, url, got);
    ASSERT_FALSE(response) << status;
    EXPECT_EQ(response.error().code, code) << response.error().message;
    EXPECT_NE(response.error().message.find(url), std::string::npos) << response.error().message;
    EXPECT_NE(response.error().message.find(std::to_string(status)), std::string::npos);
    EXPECT_TRUE(got.body.empty());
  }
  Collected empty;
  server.route("/empty", [](const TestRequest&, TestExchange& e) { e.respond(204, ""); });
  auto no_content = get(*origin, server.url("/empty"), empty);
  ASSERT_TRUE(no_content) << no_content.error().message;
  EXPECT_EQ(no_content->status, 204u);
}

TEST_F(HttpOriginTest, FollowsRedirectsUpToTheLimit) {
  TestOrigin server;
  for (int i = 1; i <= 7; ++i) {
    server.route("/r/" + std::to_string(i), [i](const TestRequest&, TestExchange& exchange) {
      // Relative, absolute-path and absolute forms in turn.
      std::string location = std::to_string(i - 1);
      if (i % 3 == 1) location = "/r/" + std::to_string(i - 1);
      exchange.respond(i % 2 == 0 ? 302 : 308, "", {"Location: " + location});
    });
  }
  server.route("/r/0", [](const TestRequest&, TestExchange& e) { e.respond(200, "arrived"); });
  auto origin = makeOrigin({.max_redirects = 5});

  Collected got;
  auto five = get(*origin, server.url("/r/5"), got);
  ASSERT_TRUE(five) << five.error().message;
  EXPECT_EQ(five->redirects, 5u);
  EXPECT_EQ(five->url, server.url("/r/0"));
  EXPECT_EQ(got.body, "arrived");
  EXPECT_EQ(server.requests("/r/0"), 1u);

  Collected none;
  auto six = get(*origin, server.url("/r/6"), none);
  ASSERT_FALSE(six);
  EXPECT_EQ(six.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(six.error().message.find("more than 5 redirects"), std::string::npos)
      << six.error().message;
  EXPECT_NE(six.error().message.find(server.url("/r/6")), std::string::npos);
  EXPECT_EQ(server.requests("/r/0"), 1u);  // the chain was cut before its end
  EXPECT_EQ(server.requests("/r/1"), 2u);

  server.route("/nowhere", [](const TestRequest&, TestExchange& e) { e.respond(302, ""); });
  auto missing = get(*origin, server.url("/nowhere"), none);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("without a Location"), std::string::npos);
  server.route("/ftp", [](const TestRequest&, TestExchange& e) {
    e.respond(301, "", {"Location: ftp://example.com/x"});
  });
  auto ftp = get(*origin, server.url("/ftp"), none);
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HttpOriginTest, HeaderAndIdleTimeouts) {
  TestOrigin server;
  Gate& never = server.gate("never");  // opened by server.stop()
  server.route("/silent", [&](const TestRequest&, TestExchange&) { never.wait(); });
  server.route("/stalls", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, 1000);
    exchange.send("partial");
    never.wait();
  });
  auto origin = makeOrigin({.header_timeout = 200ms, .idle_timeout = 200ms});
  Collected silent;
  auto header = get(*origin, server.url("/silent"), silent);
  ASSERT_FALSE(header);
  EXPECT_EQ(header.error().code, ErrorCode::kTimeout);
  EXPECT_NE(header.error().message.find("response header"), std::string::npos)
      << header.error().message;

  Collected stalls;
  auto idle = get(*origin, server.url("/stalls"), stalls);
  ASSERT_FALSE(idle);
  EXPECT_EQ(idle.error().code, ErrorCode::kTimeout);
  EXPECT_NE(idle.error().message.find("body"), std::string::npos) << idle.error().message;
  EXPECT_EQ(stalls.body, "partial");
}

TEST_F(HttpOriginTest, ConnectFailuresAndTimeouts) {
  namespace asio = boost::asio;
  asio::io_context context;
  // A port where nothing listens.
  uint16_t closed_port = 0;
  {
    asio::ip::tcp::acceptor probe(context, {asio::ip::make_address("127.0.0.1"), 0});
    closed_port = probe.local_endpoint().port();
  }
  auto origin = makeOrigin({.connect_timeout = 300ms});
  Collected none;
  auto refused = get(*origin, "http://127.0.0.1:" + std::to_string(closed_port) + "/", none);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable) << refused.error().message;

  // A listener whose accept queue (backlog 0) is full: the kernel drops further SYNs, so the
  // connect hangs until connect_timeout.
  asio::ip::tcp::acceptor full(context);
  full.open(asio::ip::tcp::v4());
  full.bind({asio::ip::make_address("127.0.0.1"), 0});
  full.listen(0);
  asio::ip::tcp::socket filler(context);
  filler.connect(full.local_endpoint());
  auto timeout =
      get(*origin, "http://127.0.0.1:" + std::to_string(full.local_endpoint().port()) + "/", none);
  ASSERT_FALSE(timeout);
  EXPECT_EQ(timeout.error().code, ErrorCode::kTimeout) << timeout.error().message;
  EXPECT_NE(timeout.error().message.find("connecting"), std::string::npos);
}

TEST_F(HttpOriginTest, BodyLimitEncodingAndMalformedResponses) {
  TestOrigin server;
  server.route("/declared", [](const TestRequest&, TestExchange& exchange) {
    exchange.respond(200, std::string(2000, 'x'));
  });
  server.route("/chunked", [](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, std::nullopt);
    for (int i = 0; i < 4; ++i) exchange.chunk(std::string(600, 'y'));
    exchange.lastChunk();
  });
  server.route("/gzip", [](const TestRequest&, TestExchange& exchange) {
    exchange.respond(200, "zz", {"Content-Encoding: gzip"});
  });
  server.route("/garbage", [](const TestRequest&, TestExchange& exchange) {
    exchange.send("HTTP/1.1 two hundred OK\r\n\r\n");
  });
  auto origin = makeOrigin({.max_body_bytes = 1500, .slice_bytes = 512});
  Collected declared;
  auto big = get(*origin, server.url("/declared"), declared);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(big.error().message.find("2000 bytes"), std::string::npos) << big.error().message;
  EXPECT_TRUE(declared.body.empty());  // refused before the body

  Collected chunked;
  auto grows = get(*origin, server.url("/chunked"), chunked);
  ASSERT_FALSE(grows);
  EXPECT_EQ(grows.error().code, ErrorCode::kResourceExhausted) << grows.error().message;
  EXPECT_LE(chunked.body.size(), 1500u);

  Collected none;
  auto gzip = get(*origin, server.url("/gzip"), none);
  ASSERT_FALSE(gzip);
  EXPECT_NE(gzip.error().message.find("gzip"), std::string::npos);
  auto garbage = get(*origin, server.url("/garbage"), none);
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kCorruption) << garbage.error().message;
}

TEST_F(HttpOriginTest, CancelAbortsAGetInProgress) {
  TestOrigin server;
  Gate& never = server.gate("never");
  server.route("/hang", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, 100);
    exchange.send("a");
    never.wait();
  });
  auto origin = makeOrigin();
  auto cancel = std::make_shared<OriginCancel>();
  Collected got;
  got.on_slice = [&](std::string_view) { cancel->cancel(); };  // from the get()'s own loop
  auto response = get(*origin, server.url("/hang"), got, cancel.get());
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kCancelled) << response.error().message;

  // Cancelled from another thread while the get() waits for the header.
  server.route("/wait", [&](const TestRequest&, TestExchange&) { never.wait(); });
  auto other = std::make_shared<OriginCancel>();
  std::thread canceller([&] {
    server.waitForRequests(2);
    other->cancel();
  });
  Collected none;
  auto waiting = get(*origin, server.url("/wait"), none, other.get());
  canceller.join();
  ASSERT_FALSE(waiting);
  EXPECT_EQ(waiting.error().code, ErrorCode::kCancelled) << waiting.error().message;
}

class HttpsOriginTest : public HttpOriginTest {
 protected:
  void SetUp() override {
    HttpOriginTest::SetUp();
    ASSERT_TRUE(testing::makeTestCertificates(dir_.str(), "DNS:localhost,IP:127.0.0.1"));
  }
  testing::TempDir dir_;
};

TEST_F(HttpsOriginTest, VerifiesTheChainAndTheName) {
  TestOrigin server(dir_.str() + "/server.pem", dir_.str() + "/server.key");
  server.route("/x", [](const TestRequest&, TestExchange& e) { e.respond(200, "secret"); });
  ::setenv("SSL_CERT_FILE", (dir_.str() + "/ca.pem").c_str(), 1);
  auto origin = makeOrigin();  // reads SSL_CERT_FILE now
  for (const char* host : {"localhost", "127.0.0.1"}) {
    Collected got;
    auto response = get(*origin, server.url("/x", host), got);
    ASSERT_TRUE(response) << host << ": " << response.error().message;
    EXPECT_EQ(got.body, "secret");
  }

  ::setenv("SSL_CERT_FILE", (dir_.str() + "/server.pem").c_str(), 1);  // not the CA
  auto untrusting = makeOrigin();
  Collected none;
  auto refused = get(*untrusting, server.url("/x", "localhost"), none);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied) << refused.error().message;
  EXPECT_NE(refused.error().message.find("SSL_CERT_FILE"), std::string::npos);
}

TEST_F(HttpsOriginTest, RefusesACertificateForAnotherName) {
  ASSERT_TRUE(testing::makeTestCertificates(dir_.str(), "DNS:node.example"));
  TestOrigin server(dir_.str() + "/server.pem", dir_.str() + "/server.key");
  server.route("/x", [](const TestRequest&, TestExchange& e) { e.respond(200, "secret"); });
  ::setenv("SSL_CERT_FILE", (dir_.str() + "/ca.pem").c_str(), 1);
  auto origin = makeOrigin();
  for (const char* host : {"localhost", "127.0.0.1"}) {
    Collected none;
    auto response = get(*origin, server.url("/x", host), none);
    ASSERT_FALSE(response) << host;
    EXPECT_EQ(response.error().code, ErrorCode::kPermissionDenied) << response.error().message;
  }
}

TEST_F(HttpsOriginTest, RedirectsBetweenHttpAndHttps) {
  TestOrigin secure(dir_.str() + "/server.pem", dir_.str() + "/server.key");
  TestOrigin plain;
  plain.route("/up", [&](const TestRequest&, TestExchange& e) {
    e.respond(301, "", {"Location: " + secure.url("/down", "localhost")});
  });
  secure.route("/down", [&](const TestRequest&, TestExchange& e) {
    e.respond(307, "", {"Location: " + plain.url("/end")});
  });
  plain.route("/end", [](const TestRequest&, TestExchange& e) { e.respond(200, "both ways"); });
  ::setenv("SSL_CERT_FILE", (dir_.str() + "/ca.pem").c_str(), 1);
  auto origin = makeOrigin();
  Collected got;
  auto response = get(*origin, plain.url("/up"), got);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->redirects, 2u);
  EXPECT_EQ(got.body, "both ways");
  EXPECT_EQ(secure.requests("/down"), 1u);
}

}  // namespace
}  // namespace thunder::fetcher
