// GET|HEAD /origin/<name>/<path> over a real Fetcher and a test origin on 127.0.0.1:0: the
// origin's bytes (typed by extension or sniffed), the second request from the cache with an
// ETag and 304, streaming while the origin still sends (Content-Length and chunked), origin
// errors, SRI mismatches (502 before the head, a cut after it; nothing stored), HEAD.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "crypto/blake3.h"
#include "fetcher/fetcher.h"
#include "fetcher/fetcher_test_support.h"
#include "fetcher/integrity.h"
#include "gateway/content_type.h"
#include "gateway/gateway_server.h"
#include "gateway/gateway_test_support.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
using fetcher::testing::Gate;
using fetcher::testing::TestExchange;
using fetcher::testing::TestOrigin;
using fetcher::testing::TestRequest;
using testing::GatewayFixture;
using testing::RawClient;

std::string sha256Sri(std::string_view text) {
  auto hasher = fetcher::IntegrityHasher::create(fetcher::DigestAlgorithm::kSha256).value();
  hasher.update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return fetcher::formatDigest(fetcher::DigestAlgorithm::kSha256, hasher.finish());
}

std::string etagOf(std::string_view text) {
  return "\"" +
         crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
             .hex() +
         "\"";
}

// A client that reads whatever has arrived.
class StreamClient {
 public:
  explicit StreamClient(uint16_t port) : socket_(context_) {
    boost::system::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  void send(std::string_view bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  // Reads until `done(received)` holds or the server closes; everything received.
  std::string readUntil(const std::function<bool(const std::string&)>& done) {
    char buffer[65536];
    boost::system::error_code ec;
    while (!done(received_)) {
      const size_t n = socket_.read_some(asio::buffer(buffer), ec);
      if (ec) break;
      received_.append(buffer, n);
    }
    return received_;
  }
  std::string readToEnd() {
    return readUntil([](const std::string&) { return false; });
  }

 private:
  asio::io_context context_;
  asio::ip::tcp::socket socket_;
  std::string received_;
};

// The payload of a chunked body (as far as it goes).
std::string dechunk(std::string_view body) {
  std::string out;
  for (;;) {
    const size_t line_end = body.find("\r\n");
    if (line_end == std::string_view::npos) break;
    const size_t size = std::stoul(std::string(body.substr(0, line_end)), nullptr, 16);
    if (size == 0 || body.size() < line_end + 2 + size) break;
    out.append(body.substr(line_end + 2, size));
    body.remove_prefix(std::min(body.size(), line_end + 2 + size + 2));
  }
  return out;
}

// Bytes after the head, or "" without a complete head.
std::string bodyOf(const std::string& raw) {
  const size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

class OriginRouteTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    fetcher::FetcherOptions options;
    options.spool_dir = root_ / "store" / "tmp";
    options.origins = {{"test", origin_.url("/site/")}};
    auto fetcher = fetcher::Fetcher::create(runtime_, *store_, std::move(options));
    ASSERT_TRUE(fetcher) << fetcher.error().message;
    fetcher_ = std::move(fetcher).value();
    GatewayOptions gateway;
    gateway.listen = "127.0.0.1:0";
    GatewayBackends backends;
    backends.fetcher = fetcher_.get();
    auto server = GatewayServer::start(runtime_, *store_, std::move(gateway), nullptr, backends);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (fetcher_) fetcher_->stop();
    origin_.stop();
    fetcher_.reset();
    GatewayFixture::TearDown();
  }

  size_t storedBlobs() {
    auto list = store_->list();
    return list ? list->size() : 0;
  }

  TestOrigin origin_;
  std::unique_ptr<fetcher::Fetcher> fetcher_;
};

TEST_F(OriginRouteTest, ServesTheOriginsBytesThenFromTheCache) {
  const std::string script = "console.log('hello from the origin');\n";
  origin_.route("/site/lib/app.js", [&](const TestRequest&, TestExchange& exchange) {
    exchange.respond(200, script, {"Content-Type: text/javascript"});
  });
  RawClient client(port());
  auto first = client.request("GET", "/origin/test/lib/app.js");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.body, script);
  EXPECT_EQ(first.header("content-type"), contentTypeForName("app.js"));
  EXPECT_EQ(first.header("cache-control"), "no-cache");
  EXPECT_EQ(first.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(first.header("etag"), etagOf(script));

  auto second = client.request("GET", "/origin/test/lib/app.js");
  EXPECT_EQ(second.status, 200u);
  EXPECT_EQ(second.body, script);
  EXPECT_EQ(origin_.requests("/site/lib/app.js"), 1u);  // the second came from the store

  auto revalidated =
      client.request("GET", "/origin/test/lib/app.js", {"If-None-Match: " + etagOf(script)});
  EXPECT_EQ(revalidated.status, 304u);
  EXPECT_EQ(revalidated.header("etag"), etagOf(script));

  auto head = client.request("HEAD", "/origin/test/lib/app.js");
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), std::to_string(script.size()));
  EXPECT_TRUE(head.body.empty());
}

TEST_F(OriginRouteTest, WithoutAnExtensionTheTypeIsSniffed) {
  const std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string(100, '\0');
  origin_.route("/site/image",
                [&](const TestRequest&, TestExchange& exchange) { exchange.respond(200, png); });
  RawClient client(port());
  auto reply = client.request("GET", "/origin/test/image");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "image/png");
  EXPECT_EQ(reply.body, png);
}

TEST_F(OriginRouteTest, BytesStreamBeforeTheOriginFinishes) {
  const std::string body = fetcher::testing::randomText(200'000, 3);
  Gate& rest = origin_.gate("rest");
  origin_.route("/site/big.bin", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, body.size());
    exchange.send(std::string_view(body).substr(0, 100'000));
    rest.wait();
    exchange.send(std::string_view(body).substr(100'000));
  });
  StreamClient client(port());
  client.send("GET /origin/test/big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
  // Half of the body arrives while the origin still holds the other half.
  std::string raw =
      client.readUntil([](const std::string& r) { return bodyOf(r).size() >= 50'000; });
  EXPECT_NE(raw.find("Content-Length: 200000\r\n"), std::string::npos) << raw.substr(0, 300);
  EXPECT_NE(raw.find("Content-Type: application/octet-stream\r\n"), std::string::npos);
  rest.open();
  raw = client.readUntil([&](const std::string& r) { return bodyOf(r).size() >= body.size(); });
  EXPECT_TRUE(bodyOf(raw) == body);
}

TEST_F(OriginRouteTest, AnOriginWithoutALengthIsRelayedChunked) {
  const std::string part(1000, 'a');
  Gate& rest = origin_.gate("rest");
  origin_.route("/site/feed.txt", [&](const TestRequest&, TestExchange& exchange) {
    exchange.head(200, std::nullopt);
    exchange.chunk(part);
    rest.wait();
    exchange.chunk("the end\n");
    exchange.lastChunk();
  });
  StreamClient client(port());
  client.send("GET /origin/test/feed.txt HTTP/1.1\r\nHost: t\r\n\r\n");
  std::string raw = client.readUntil([](const std::string& r) { return bodyOf(r).size() >= 900; });
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw.substr(0, 300);
  rest.open();
  raw = client.readUntil([](const std::string& r) { return r.ends_with("\r\n0\r\n\r\n"); });
  EXPECT_EQ(dechunk(bodyOf(raw)), part + "the end\n");
}

TEST_F(OriginRouteTest, OriginErrorsNameTheCause) {
  origin_.route("/site/gone",
                [](const TestRequest&, TestExchange& exchange) { exchange.respond(404, "nope"); });
  origin_.route("/site/broken",
                [](const TestRequest&, TestExchange& exchange) { exchange.respond(500, "oops"); });
  RawClient client(port());
  auto gone = client.request("GET", "/origin/test/gone");
  EXPECT_EQ(gone.status, 404u);
  EXPECT_NE(gone.body.find("origin \"test\" has no such content"), std::string::npos) << gone.body;
  auto broken = client.request("GET", "/origin/test/broken");
  EXPECT_EQ(broken.status, 502u);
  EXPECT_NE(broken.body.find("500"), std::string::npos) << broken.body;
  auto unknown = client.request("GET", "/origin/other/x");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_NE(unknown.body.find("configured: test"), std::string::npos) << unknown.body;
  auto escape = client.request("GET", "/origin/test/a/%2e%2e/secret");
  EXPECT_EQ(escape.status, 400u);
  auto missing = client.request("GET", "/origin/");
  EXPECT_EQ(missing.status, 400u);
  EXPECT_EQ(storedBlobs(), 0u);
}

TEST_F(OriginRouteTest, AnIntegrityMismatchIs502OrACutAndStoresNothing) {
  const std::string small = "small body";
  const std::string large = fetcher::testing::randomText(100'000, 9);
  origin_.route("/site/small",
                [&](const TestRequest&, TestExchange& exchange) { exchange.respond(200, small); });
  origin_.route("/site/large",
                [&](const TestRequest&, TestExchange& exchange) { exchange.respond(200, large); });
  RawClient client(port());
  auto wrong = client.request("GET", "/origin/test/small",
                              {"X-Thunder-Integrity: " + sha256Sri("something else")});
  EXPECT_EQ(wrong.status, 502u);
  EXPECT_NE(wrong.body.find("nothing was stored"), std::string::npos) << wrong.body;

  // Large enough for the head to go out before the end: the response is cut instead.
  StreamClient cut(port());
  cut.send("GET /origin/test/large HTTP/1.1\r\nHost: t\r\nX-Thunder-Integrity: " +
           sha256Sri("something else") + "\r\n\r\n");
  const std::string raw = cut.readToEnd();
  EXPECT_NE(raw.find("Content-Length: 100000\r\n"), std::string::npos) << raw.substr(0, 300);
  EXPECT_LT(bodyOf(raw).size(), large.size());
  EXPECT_EQ(storedBlobs(), 0u);

  RawClient good(port());
  auto right =
      good.request("GET", "/origin/test/small", {"X-Thunder-Integrity: " + sha256Sri(small)});
  EXPECT_EQ(right.status, 200u);
  EXPECT_EQ(right.body, small);
  // The answer ends once the bytes are verified; the put follows. Join that fetch to wait for it.
  fetcher::FetchRequest again;
  again.url = origin_.url("/site/small");
  again.integrity = sha256Sri(small);
  auto handle = fetcher::testing::runOn(runtime_, fetcher_->fetch(std::move(again)));
  ASSERT_TRUE(handle) << handle.error().message;
  auto stored = fetcher::testing::runOn(runtime_, (*handle)->result());
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(storedBlobs(), 1u);
}

}  // namespace
}  // namespace thunder::gateway
