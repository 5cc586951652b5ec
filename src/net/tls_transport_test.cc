#include "net/tls_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <vector>

#include "crypto/signing.h"
#include "net/openssl_util.h"

namespace thunder::net {
namespace {

constexpr std::string_view kTestExporterLabel = "EXPORTER-thunder-test";

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 10s;

// Runs a coroutine on `executor` and waits for its result (the test thread is not a loop).
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

uint8_t patternByte(uint64_t i) {
  return static_cast<uint8_t>((i ^ (i >> 11) ^ (i >> 23)) * 131u + 7u);
}

// What the server does with each established connection.
enum class ServerMode {
  kEcho,  // send the exporter value, then echo everything
  kKeep,  // send the exporter value, then hand the connection to the test and return
};

class TlsTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { runtime_.start(); }

  void TearDown() override {
    if (listener_) listener_->stop();
    std::lock_guard lock(kept_mutex_);
    for (auto& conn : kept_) {
      auto executor = conn->executor();
      runOn(executor, dropOnLoop(std::move(conn)));
    }
  }

  static asio::awaitable<void> dropOnLoop(std::unique_ptr<StreamConnection> conn) {
    conn.reset();
    co_return;
  }

  void startListener(TlsListenerOptions options = {}, ServerMode mode = ServerMode::kEcho) {
    auto listener = TlsListener::start(
        runtime_, identity_, std::move(options),
        [this, mode](std::unique_ptr<StreamConnection> conn) -> asio::awaitable<void> {
          ++served_;
          auto binding = conn->exportKeyingMaterial(kTestExporterLabel);
          if (!binding || !co_await conn->writeAll(*binding)) co_return;
          if (mode == ServerMode::kKeep) {
            std::lock_guard lock(kept_mutex_);
            kept_.push_back(std::move(conn));
            co_return;
          }
          std::vector<uint8_t> buffer(256 * 1024);
          for (;;) {
            auto n = co_await conn->readSome(buffer);
            if (!n) server_read_errors_.push(n.error().code);
            if (!n || *n == 0) break;
            if (!co_await conn->writeAll(std::span(buffer).first(*n))) break;
          }
        });
    ASSERT_TRUE(listener) << listener.error().message;
    listener_ = std::move(listener).value();
  }

  // Connects with the right key and reads the server's exporter greeting.
  std::unique_ptr<StreamConnection> connect(ExportedKey* server_binding = nullptr) {
    auto conn = connectTlsBlocking(runtime_, listener_->localAddress(), identity_.publicKey(),
                                   kConnectTimeout);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return nullptr;
    auto greeting = runOn((*conn)->executor(), readExactly(conn->get(), 32));
    EXPECT_TRUE(greeting) << greeting.error().message;
    if (greeting && server_binding)
      std::copy(greeting->begin(), greeting->end(), server_binding->begin());
    return std::move(conn).value();
  }

  // A plain TCP connection to the listener, from `source_ip`.
  int rawConnect(const char* source_ip = "127.0.0.1") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval guard{.tv_sec = 20, .tv_usec = 0};  // a failing test errors out instead of hanging
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    ::inet_pton(AF_INET, source_ip, &source.sin_addr);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof source), 0);
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
    const ssize_t n = ::read(fd, &byte, 1);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Echo round trip of `text` over `conn`.
  static std::string echo(StreamConnection* conn, const std::string& text) {
    std::vector<uint8_t> bytes(text.begin(), text.end());
    auto written = runOn(conn->executor(), conn->writeAll(bytes));
    if (!written) return "write failed: " + written.error().message;
    auto back = runOn(conn->executor(), readExactly(conn, text.size()));
    if (!back) return "read failed: " + back.error().message;
    return std::string(back->begin(), back->end());
  }

  struct ErrorLog {
    std::mutex mutex;
    std::vector<ErrorCode> codes;
    void push(ErrorCode code) {
      std::lock_guard lock(mutex);
      codes.push_back(code);
    }
  };

  io::Runtime runtime_{{.loop_threads = 2, .blocking_threads = 1}};
  crypto::SigningKey node_key_ = crypto::SigningKey::generate();
  TlsIdentity identity_ = std::move(TlsIdentity::fromSigningKey(node_key_)).value();
  std::unique_ptr<TlsListener> listener_;
  std::atomic<int> served_{0};
  ErrorLog server_read_errors_;
  std::mutex kept_mutex_;
  std::vector<std::unique_ptr<StreamConnection>> kept_;
};

TEST_F(TlsTransportTest, EchoesBytesBothWaysWithThePinnedKey) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->transportName(), "tls");
  EXPECT_EQ(conn->remoteAddress(), listener_->localAddress());
  EXPECT_EQ(echo(conn.get(), "hello node"), "hello node");
  EXPECT_EQ(echo(conn.get(), std::string(100'000, 'x')), std::string(100'000, 'x'));
  EXPECT_EQ(served_.load(), 1);
}

TEST_F(TlsTransportTest, BothEndsExportTheSameBindingAndConnectionsDiffer) {
  startListener();
  ExportedKey server_first{}, server_second{};
  auto first = connect(&server_first);
  auto second = connect(&server_second);
  ASSERT_TRUE(first && second);
  auto client_first = first->exportKeyingMaterial(kTestExporterLabel);
  auto client_second = second->exportKeyingMaterial(kTestExporterLabel);
  ASSERT_TRUE(client_first && client_second);
  EXPECT_EQ(*client_first, server_first);
  EXPECT_EQ(*client_second, server_second);
  EXPECT_NE(*client_first, *client_second);
  EXPECT_NE(*first->exportKeyingMaterial("EXPORTER-other"), *client_first);
  auto empty = first->exportKeyingMaterial("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(TlsTransportTest, OneConnectorServesManyConnections) {
  startListener();
  auto connector = TlsConnector::create();
  ASSERT_TRUE(connector) << connector.error().message;
  auto loop = runtime_.loop(0).get_executor();
  for (int i = 0; i < 3; ++i) {
    auto conn = runOn(loop, connectTls(*connector, listener_->localAddress(), identity_.publicKey(),
                                       kConnectTimeout));
    ASSERT_TRUE(conn) << conn.error().message;
    auto greeting = runOn(loop, readExactly(conn->get(), 32));
    ASSERT_TRUE(greeting) << greeting.error().message;
    EXPECT_EQ(echo(conn->get(), "again"), "again");
    runOn(loop, dropOnLoop(std::move(conn).value()));
  }
  EXPECT_EQ(served_.load(), 3);
}

TEST_F(TlsTransportTest, WrongNodeKeyIsRefused) {
  startListener();
  const auto other = crypto::SigningKey::generate().publicKey();
  auto conn = connectTlsBlocking(runtime_, listener_->localAddress(), other, kConnectTimeout);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(conn.error().message.find(fmt::format("node key mismatch: expected {}, got {}",
                                                  other.hex(), identity_.publicKey().hex())),
            std::string::npos)
      << conn.error().message;
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(TlsTransportTest, BadAddressAndClosedPortAreReported) {
  auto bad = connectTlsBlocking(runtime_, "nowhere", identity_.publicKey(), kConnectTimeout);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  startListener();
  const std::string address = listener_->localAddress();
  listener_->stop();
  auto closed = connectTlsBlocking(runtime_, address, identity_.publicKey(), kConnectTimeout);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable) << closed.error().message;
}

TEST_F(TlsTransportTest, SilentTcpClientIsClosedAfterTheHandshakeTimeout) {
  startListener({.handshake_timeout = 200ms});
  const int fd = rawConnect();
  EXPECT_TRUE(closedByServer(fd));
  EXPECT_EQ(listener_->handshakesInProgress(), 0u);  // released before the close
  ::close(fd);
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(TlsTransportTest, HalfOpenLimitClosesExtraConnectionsAtOnce) {
  // The timeout is long: a connection closed during this test was closed by the limit.
  startListener({.handshake_timeout = 600s, .max_handshakes = 2});
  const int idle_a = rawConnect();
  const int idle_b = rawConnect();
  const int extra = rawConnect();
  EXPECT_TRUE(closedByServer(extra));
  ::close(extra);
  EXPECT_EQ(listener_->handshakesInProgress(), 2u);
  // The idle ones go (they send bytes that are not a ClientHello, and the server drops them).
  for (int fd : {idle_a, idle_b}) {
    ASSERT_EQ(::write(fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
    EXPECT_TRUE(closedByServer(fd));
    ::close(fd);
  }
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(echo(conn.get(), "still served"), "still served");
}

TEST_F(TlsTransportTest, PerAddressLimitLeavesOtherAddressesServed) {
  startListener({.handshake_timeout = 600s, .max_handshakes_per_ip = 2});
  const int idle_a = rawConnect("127.0.0.2");
  const int idle_b = rawConnect("127.0.0.2");
  const int extra = rawConnect("127.0.0.2");
  EXPECT_TRUE(closedByServer(extra));
  ::close(extra);
  auto conn = connect();  // from 127.0.0.1, while 127.0.0.2's two are still half-open
  ASSERT_TRUE(conn);
  EXPECT_EQ(echo(conn.get(), "other address"), "other address");
  EXPECT_EQ(listener_->handshakesInProgress(), 2u);
  ::close(idle_a);
  ::close(idle_b);
}

TEST_F(TlsTransportTest, Tls12OnlyClientIsRefused) {
  startListener();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(ctx);
  ASSERT_EQ(SSL_CTX_set_max_proto_version(ctx.get(), TLS1_2_VERSION), 1);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SslPtr ssl(SSL_new(ctx.get()));
  const int fd = rawConnect();
  SSL_set_fd(ssl.get(), fd);
  EXPECT_NE(SSL_connect(ssl.get()), 1);
  EXPECT_NE(SSL_get_error(ssl.get(), -1), SSL_ERROR_NONE);
  ::close(fd);
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(TlsTransportTest, ClientWithoutThunderAlpnIsNotServed) {
  startListener();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  ASSERT_TRUE(ctx);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  SslPtr ssl(SSL_new(ctx.get()));
  const int fd = rawConnect();
  SSL_set_fd(ssl.get(), fd);
  ASSERT_EQ(SSL_connect(ssl.get()), 1);  // TLS 1.3 completes on the client first
  char byte;
  EXPECT_LE(SSL_read(ssl.get(), &byte, 1), 0);  // then the server closes without a byte
  ::close(fd);
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(TlsTransportTest, StopClosesEstablishedConnections) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(listener_->openConnections(), 1u);
  listener_->stop();  // returns once the handler saw its connection close
  EXPECT_EQ(listener_->openConnections(), 0u);
  std::vector<uint8_t> buffer(16);
  auto n = runOn(conn->executor(), conn->readSome(buffer));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0u);  // a clean end of stream: the server sent close_notify
  std::lock_guard lock(server_read_errors_.mutex);
  EXPECT_EQ(server_read_errors_.codes, std::vector<ErrorCode>{ErrorCode::kCancelled});
}

TEST_F(TlsTransportTest, StopClosesConnectionsTheHandlerHandedOff) {
  startListener({}, ServerMode::kKeep);
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(listener_->openConnections(), 1u);
  listener_->stop();
  std::vector<uint8_t> buffer(16);
  auto n = runOn(conn->executor(), conn->readSome(buffer));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0u);
}

asio::awaitable<Result<void>> writeAllOf(StreamConnection* conn, const std::vector<uint8_t>* data) {
  constexpr size_t kChunk = 1 << 20;
  for (size_t offset = 0; offset < data->size(); offset += kChunk) {
    THUNDER_CO_TRY(co_await conn->writeAll(std::span(*data).subspan(offset, kChunk)));
  }
  co_return Result<void>{};
}

// Reads until `expected` is matched or the stream ends; returns how many bytes matched.
asio::awaitable<Result<size_t>> readAndCompare(StreamConnection* conn,
                                               const std::vector<uint8_t>* expected) {
  std::vector<uint8_t> buffer(256 * 1024);
  size_t have = 0;
  while (have < expected->size()) {
    auto n = co_await conn->readSome(buffer);
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0 || have + *n > expected->size()) break;
    if (std::memcmp(buffer.data(), expected->data() + have, *n) != 0) {
      co_return fail(ErrorCode::kCorruption, "bytes after offset {} differ", have);
    }
    have += *n;
  }
  co_return have;
}

TEST_F(TlsTransportTest, Transfers64MiBByteExact) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  constexpr size_t kTotal = 64u << 20;
  std::vector<uint8_t> data(kTotal);
  for (size_t i = 0; i < kTotal; ++i) data[i] = patternByte(i);
  const auto start = std::chrono::steady_clock::now();
  auto writer = asio::co_spawn(conn->executor(), writeAllOf(conn.get(), &data), asio::use_future);
  auto reader =
      asio::co_spawn(conn->executor(), readAndCompare(conn.get(), &data), asio::use_future);
  auto written = writer.get();
  auto read = reader.get();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(written) << written.error().message;
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, kTotal);
  std::cout << "echoed 64 MiB each way in " << seconds << " s: " << kTotal / seconds / 1e6
            << " MB/s per direction\n";
}

}  // namespace
}  // namespace thunder::net
