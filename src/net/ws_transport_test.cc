#include "net/ws_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <vector>

namespace thunder::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 10s;

template <typename T>
T runOn(asio::any_io_executor executor, asio::awaitable<T> task) {
  return asio::co_spawn(executor, std::move(task), asio::use_future).get();
}

asio::awaitable<Result<std::vector<uint8_t>>> readExactly(StreamConnection* conn, size_t size) {
  std::vector<uint8_t> out(size);
  size_t have = 0;
  while (have < size) {
    auto n = co_await conn->readSome(std::span(out).subspan(have));
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0) co_return fail(ErrorCode::kUnavailable, "end of stream after {} bytes", have);
    have += *n;
  }
  co_return out;
}

asio::awaitable<void> dropOnLoop(std::unique_ptr<StreamConnection> conn) {
  conn.reset();
  co_return;
}

// Destroys a connection on its loop.
void drop(std::unique_ptr<StreamConnection> conn) {
  auto executor = conn->executor();
  runOn(executor, dropOnLoop(std::move(conn)));
}

// What the server handler saw end its read loop: 0 for a clean end, else the error code.
class Outcomes {
 public:
  void push(Result<size_t> outcome) {
    std::lock_guard lock(mutex_);
    outcomes_.push_back(outcome ? std::optional<ErrorCode>() : outcome.error().code);
    ready_.notify_all();
  }
  std::optional<ErrorCode> pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return !outcomes_.empty(); });
    auto out = outcomes_.front();
    outcomes_.pop_front();
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::optional<ErrorCode>> outcomes_;
};

class WsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.start(); }
  void TearDown() override {
    if (listener_) listener_->stop();
  }

  // Echoes every byte back until the stream ends; records how it ended.
  void startListener(WsListenerOptions options = {}) {
    auto listener =
        WsListener::start(runtime_, std::move(options),
                          [this](std::unique_ptr<StreamConnection> conn) -> asio::awaitable<void> {
                            std::vector<uint8_t> buffer(256 * 1024);
                            for (;;) {
                              auto n = co_await conn->readSome(buffer);
                              if (!n || *n == 0) {
                                outcomes_.push(n);
                                break;
                              }
                              auto written = co_await conn->writeAll(std::span(buffer).first(*n));
                              if (!written) {
                                outcomes_.push(tl::unexpected(written.error()));
                                break;
                              }
                            }
                          });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = std::move(listener).value();
  }

  std::unique_ptr<StreamConnection> connect(std::string path = std::string(kDefaultWsPath)) {
    auto conn = runOn(runtime_.nextLoop().get_executor(),
                      connectWs(listener_->localAddress(), path, WsScheme::kWs, kConnectTimeout));
    EXPECT_TRUE(conn) << conn.error().message;
    return conn ? std::move(conn).value() : nullptr;
  }

  static std::vector<uint8_t> pattern(size_t size) {
    std::vector<uint8_t> out(size);
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>((i * 131) ^ (i >> 9));
    return out;
  }

  // A plain TCP connection to the listener.
  int rawConnect() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval guard{.tv_sec = 20, .tv_usec = 0};  // a failing test errors out instead of hanging
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(listener_->localPort());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    return fd;
  }

  // Blocks until the server closes `fd`; true if it did (EOF or reset, not the guard timeout).
  static bool closedByServer(int fd) {
    char byte;
    ssize_t n;
    while ((n = ::read(fd, &byte, 1)) > 0) {
    }
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // A raw Beast client on the test thread, for what connectWs() never sends.
  struct RawClient {
    asio::io_context io;
    websocket::stream<asio::ip::tcp::socket> ws{io};
  };
  std::unique_ptr<RawClient> rawWs() {
    auto client = std::make_unique<RawClient>();
    client->ws.next_layer().connect({asio::ip::make_address("127.0.0.1"), listener_->localPort()});
    client->ws.handshake("127.0.0.1", std::string(kDefaultWsPath));
    return client;
  }

  io::Runtime runtime_{{.loop_threads = 2, .blocking_threads = 1}};
  std::unique_ptr<WsListener> listener_;
  Outcomes outcomes_;
};

TEST_F(WsTransportTest, EchoesBinaryMessagesAsAByteStream) {
  startListener();
  EXPECT_EQ(listener_->url(), "ws://" + listener_->localAddress() + "/thunder/v1");
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->transportName(), "ws");
  EXPECT_EQ(conn->keyingMaterial(), KeyingMaterial::kNone);
  EXPECT_EQ(conn->remoteAddress(), listener_->localAddress());
  auto exported = conn->exportKeyingMaterial("EXPORTER-thunder-test");
  ASSERT_FALSE(exported);
  EXPECT_EQ(exported.error().code, ErrorCode::kUnavailable);
  // Larger than one message (kWsMaxSentMessageBytes): split, and joined again by the reader.
  for (size_t size : {size_t{1}, size_t{5000}, size_t{300'000}}) {
    const auto bytes = pattern(size);
    ASSERT_TRUE(runOn(conn->executor(), conn->writeAll(bytes)));
    auto back = runOn(conn->executor(), readExactly(conn.get(), size));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, bytes);
  }
  EXPECT_EQ(listener_->openConnections(), 1u);
  drop(std::move(conn));
  // Our close() sends a close frame: the server reads a clean end of stream.
  EXPECT_EQ(outcomes_.pop(), std::nullopt);
}

TEST_F(WsTransportTest, RefusesAMessageAboveTheLimit) {
  WsListenerOptions options;
  options.max_message_bytes = 64 * 1024;
  startListener(options);
  auto client = rawWs();
  client->ws.binary(true);
  const auto big = pattern(64 * 1024 + 1);
  client->ws.write(asio::buffer(big));
  // The node fails the connection with close code 1009 (and its read fails once the client has
  // answered the close).
  // (Echoes of what the node read before the limit, if any, come first.)
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  while (!ec) client->ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(client->ws.reason().code, websocket::close_code::too_big);
  EXPECT_EQ(outcomes_.pop(), ErrorCode::kResourceExhausted);
}

TEST_F(WsTransportTest, RefusesTextMessages) {
  startListener();
  auto client = rawWs();
  client->ws.text(true);
  client->ws.write(asio::buffer(std::string("hello")));
  EXPECT_EQ(outcomes_.pop(), ErrorCode::kCorruption);
}

TEST_F(WsTransportTest, AnotherPathIsDeclined) {
  startListener();
  auto conn =
      runOn(runtime_.nextLoop().get_executor(),
            connectWs(listener_->localAddress(), "/elsewhere", WsScheme::kWs, kConnectTimeout));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(conn.error().message.find("404"), std::string::npos) << conn.error().message;
}

TEST_F(WsTransportTest, AnIdleUpgradeTimesOut) {
  WsListenerOptions options;
  options.handshake_timeout = 200ms;
  startListener(options);
  const int silent = rawConnect();
  EXPECT_TRUE(closedByServer(silent));
  ::close(silent);
  const int partial = rawConnect();
  const std::string start = "GET /thunder/v1 HTTP/1.1\r\nHost: x\r\n";
  ASSERT_EQ(::write(partial, start.data(), start.size()), static_cast<ssize_t>(start.size()));
  EXPECT_TRUE(closedByServer(partial));
  ::close(partial);
  // The listener keeps serving.
  auto conn = connect();
  ASSERT_TRUE(conn);
  drop(std::move(conn));
}

TEST_F(WsTransportTest, HalfOpenConnectionsAreLimitedPerAddress) {
  WsListenerOptions options;
  options.max_handshakes_per_ip = 1;
  startListener(options);
  const int first = rawConnect();
  const int second = rawConnect();
  EXPECT_TRUE(closedByServer(second));  // closed at once, long before the handshake timeout
  ::close(second);
  ::close(first);
}

// Disabled: under CPU load (two busy loops beside it) this test can wait forever for the
// server side's outcome after stop(); a known issue of the ws:// listener's stop, to fix next.
TEST_F(WsTransportTest, StopClosesEstablishedConnections) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  const auto bytes = pattern(10);
  ASSERT_TRUE(runOn(conn->executor(), conn->writeAll(bytes)));
  ASSERT_TRUE(runOn(conn->executor(), readExactly(conn.get(), bytes.size())));
  listener_->stop();  // returns once the handler has returned
  EXPECT_EQ(outcomes_.pop(), ErrorCode::kCancelled);
  EXPECT_EQ(listener_->openConnections(), 0u);
  std::vector<uint8_t> buffer(16);
  auto end = runOn(conn->executor(), conn->readSome(buffer));
  // The server's close frame gives a clean end of stream; when stop() caught the server's echo
  // write still completing (the client had the bytes, the server's coroutine had not resumed
  // yet), close() sends no close frame (it cannot know whether a frame is half written) and the
  // client sees the connection drop instead. Either way the stream ends and never hangs.
  if (end) {
    EXPECT_EQ(*end, 0u);
  } else {
    EXPECT_EQ(end.error().code, ErrorCode::kUnavailable) << end.error().message;
  }
  drop(std::move(conn));
}

TEST(WsUrlTest, ParsesWsUrls) {
  auto url = parseWsUrl("ws://127.0.0.1:4201/thunder/v1");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_EQ(url->address, "127.0.0.1:4201");
  EXPECT_EQ(url->path, "/thunder/v1");
  auto bare = parseWsUrl("ws://[::1]:80");
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->address, "[::1]:80");
  EXPECT_EQ(bare->path, kDefaultWsPath);
  EXPECT_TRUE(isWsUrl("ws://x") && isWsUrl("wss://x") && !isWsUrl("127.0.0.1:4200"));
  auto secure = parseWsUrl("wss://node.example:443");
  ASSERT_TRUE(secure) << secure.error().message;
  EXPECT_EQ(secure->scheme, WsScheme::kWss);
  EXPECT_EQ(secure->address, "node.example:443");
  EXPECT_EQ(secure->path, kDefaultWsPath);
  EXPECT_EQ(parseWsUrl("wss://node.example/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseWsUrl("wss://node.example:0/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseWsUrl("ws://node.example:80/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseWsUrl("ws://nohost/").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(parseWsUrl("127.0.0.1:1").error().code, ErrorCode::kInvalidArgument);
}

// ---- wss:// ----

// A private CA and a node certificate it signed, made with the openssl command line tool.
class WssTest : public WsTransportTest {
 protected:
  void SetUp() override {
    WsTransportTest::SetUp();
    char pattern[] = "/tmp/thunder-wss-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(makeCertificates("DNS:localhost,IP:127.0.0.1"));
  }
  void TearDown() override {
    WsTransportTest::TearDown();
    ::unsetenv("SSL_CERT_FILE");
    std::filesystem::remove_all(dir_);
  }

  bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  bool makeCertificates(const std::string& names) {
    const std::string d = dir_;
    std::ofstream(d + "/ext.cnf") << "subjectAltName=" << names << "\n";
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
               "/ca.key -out " + d + "/ca.pem -days 2 -subj '/CN=Thunder Test CA'") &&
           run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
               "/node.key -out " + d + "/node.csr -subj /CN=localhost") &&
           run("openssl x509 -req -in " + d + "/node.csr -CA " + d + "/ca.pem -CAkey " + d +
               "/ca.key -CAcreateserial -out " + d + "/node.pem -days 2 -extfile " + d +
               "/ext.cnf");
  }

  WsListenerOptions wssOptions() {
    WsListenerOptions options;
    options.tls_certificate_file = dir_ + "/node.pem";
    options.tls_key_file = dir_ + "/node.key";
    return options;
  }

  Result<std::unique_ptr<StreamConnection>> connectWss(const std::string& host) {
    return runOn(runtime_.nextLoop().get_executor(),
                 connectWsUrl(fmt::format("wss://{}:{}/thunder/v1", host, listener_->localPort()),
                              kConnectTimeout));
  }

  std::string dir_;
};

TEST_F(WssTest, EchoesOverTlsWithATrustedCertificate) {
  startListener(wssOptions());
  EXPECT_EQ(listener_->url(), "wss://" + listener_->localAddress() + "/thunder/v1");
  ::setenv("SSL_CERT_FILE", (dir_ + "/ca.pem").c_str(), 1);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto conn = connectWss(host);
    ASSERT_TRUE(conn) << host << ": " << conn.error().message;
    EXPECT_EQ((*conn)->transportName(), "wss");
    EXPECT_EQ((*conn)->keyingMaterial(), KeyingMaterial::kNone);
    const auto bytes = pattern(200'000);
    ASSERT_TRUE(runOn((*conn)->executor(), (*conn)->writeAll(bytes)));
    auto back = runOn((*conn)->executor(), readExactly(conn->get(), bytes.size()));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, bytes);
    drop(std::move(conn).value());
    outcomes_.pop();  // the server's read ended (cleanly or not: wss:// sends no close frame)
  }
}

TEST_F(WssTest, AnUntrustedCertificateIsRefused) {
  startListener(wssOptions());
  ::setenv("SSL_CERT_FILE", (dir_ + "/node.pem").c_str(), 1);  // not the CA that signed it
  auto conn = connectWss("localhost");
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kPermissionDenied) << conn.error().message;
  EXPECT_NE(conn.error().message.find("SSL_CERT_FILE"), std::string::npos);
}

TEST_F(WssTest, ACertificateForAnotherNameIsRefused) {
  ASSERT_TRUE(makeCertificates("DNS:node.example"));
  startListener(wssOptions());
  ::setenv("SSL_CERT_FILE", (dir_ + "/ca.pem").c_str(), 1);
  auto conn = connectWss("localhost");
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kPermissionDenied) << conn.error().message;
}

TEST_F(WssTest, APlainClientCannotUpgradeOnATlsListener) {
  startListener(wssOptions());
  auto conn = runOn(runtime_.nextLoop().get_executor(),
                    connectWs(listener_->localAddress(), std::string(kDefaultWsPath), WsScheme::kWs,
                              kConnectTimeout));
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable) << conn.error().message;
  // The listener keeps serving TLS clients.
  ::setenv("SSL_CERT_FILE", (dir_ + "/ca.pem").c_str(), 1);
  auto good = connectWss("localhost");
  ASSERT_TRUE(good) << good.error().message;
  drop(std::move(good).value());
}

TEST_F(WssTest, UnusableCertificateFilesAreNamed) {
  WsListenerOptions options = wssOptions();
  options.tls_key_file = dir_ + "/ca.key";  // another certificate's key
  auto mismatch = WsListener::start(runtime_, options, nullptr);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(mismatch.error().message.find("ca.key"), std::string::npos) << mismatch.error().message;
  options = wssOptions();
  options.tls_certificate_file = dir_ + "/missing.pem";
  auto missing = WsListener::start(runtime_, options, nullptr);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing.pem"), std::string::npos);
  options = wssOptions();
  options.tls_key_file.clear();
  EXPECT_EQ(WsListener::start(runtime_, options, nullptr).error().code,
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace thunder::net
