#include "net/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "net/endpoint.h"
#include "net/http_client.h"

namespace thunder::net {
namespace {

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.start(); }

  std::unique_ptr<HttpServer> startServer(HttpServerOptions options = {}) {
    auto server = HttpServer::start(
        runtime_, options, [this](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
          ++requests_;
          if (request.path() == "/hello") {
            EXPECT_TRUE(request.fromLoopback()) << request.remote_address;
            co_return HttpResponse::text(200, "hi " + request.body);
          }
          co_return HttpResponse::text(404, "no route\n");
        });
    EXPECT_TRUE(server) << server.error().message;
    return std::move(server).value();
  }

  // Connects a raw socket to the server (for requests the client would not send).
  int rawConnect(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  std::string readAll(int fd) {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
    return out;
  }

  io::Runtime runtime_{{.loop_threads = 2, .blocking_threads = 1}};
  std::atomic<int> requests_{0};
};

TEST_F(HttpServerTest, ServesRequestsOnAnEphemeralPort) {
  auto server = startServer();
  ASSERT_NE(server->localPort(), 0);
  auto ok = httpGet(server->localAddress(), "/hello");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->status, 200u);
  EXPECT_EQ(ok->body, "hi ");
  auto missing = httpGet(server->localAddress(), "/nope?x=1");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
  HttpRequest post{.method = "POST", .target = "/hello", .body = "there"};
  EXPECT_EQ(httpRequest(server->localAddress(), post)->body, "hi there");
}

TEST_F(HttpServerTest, OversizedHeaderGets431) {
  auto server = startServer({.max_header_bytes = 1024});
  int fd = rawConnect(server->localPort());
  std::string request =
      "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n";
  ASSERT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  EXPECT_EQ(readAll(fd).substr(0, 12), "HTTP/1.1 431");
  ::close(fd);
  EXPECT_EQ(requests_.load(), 0);
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  auto server = startServer({.max_body_bytes = 10});
  HttpRequest post{.method = "POST", .target = "/hello", .body = std::string(100, 'x')};
  auto response = httpRequest(server->localAddress(), post);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 413u);
  EXPECT_EQ(requests_.load(), 0);
}

TEST_F(HttpServerTest, GarbageGets400) {
  auto server = startServer();
  int fd = rawConnect(server->localPort());
  std::string garbage = "\x01\x02 NOT HTTP\r\n\r\n";
  ASSERT_GT(::write(fd, garbage.data(), garbage.size()), 0);
  EXPECT_EQ(readAll(fd).substr(0, 12), "HTTP/1.1 400");
  ::close(fd);
}

TEST_F(HttpServerTest, IdleClientIsDisconnectedAfterTimeout) {
  auto server = startServer({.idle_timeout = std::chrono::milliseconds(50)});
  int fd = rawConnect(server->localPort());
  EXPECT_EQ(readAll(fd), "");  // returns when the server closes the idle connection
  ::close(fd);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  auto server = startServer();
  int fd = rawConnect(server->localPort());
  std::string request = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_GT(::write(fd, request.data(), request.size()), 0);
  char buf[512];
  ASSERT_GT(::read(fd, buf, sizeof buf), 0);  // response; connection stays open (keep-alive)
  server->stop();                             // must not wait for the idle timeout
  EXPECT_EQ(server->activeConnections(), 0u);
  EXPECT_EQ(::read(fd, buf, sizeof buf), 0);
  ::close(fd);
}

TEST_F(HttpServerTest, PortInUseIsAClearError) {
  auto first = startServer();
  auto second = HttpServer::start(
      runtime_, {.listen = first->localAddress()},
      [](HttpRequest) -> boost::asio::awaitable<HttpResponse> { co_return HttpResponse{}; });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(second.error().message.find("already in use"), std::string::npos);
}

TEST_F(HttpServerTest, ClientReportsNothingListening) {
  auto server = startServer();
  const std::string address = server->localAddress();
  server.reset();
  auto response = httpGet(address, "/");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
}

TEST(Endpoint, ParsesAndRejects) {
  EXPECT_EQ(formatEndpoint(parseEndpoint("127.0.0.1:80").value()), "127.0.0.1:80");
  EXPECT_EQ(formatEndpoint(parseEndpoint("[::1]:0").value()), "[::1]:0");
  EXPECT_EQ(formatEndpoint(parseEndpoint("localhost:9").value()), "127.0.0.1:9");
  for (const char* bad : {"", "127.0.0.1", ":80", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:8x",
                          "example.com:80", "1.2.3:4"}) {
    auto r = parseEndpoint(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace thunder::net
