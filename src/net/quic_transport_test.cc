#include "net/quic_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <vector>

#include "crypto/signing.h"
#include "net/quic_connection.h"
#include "net/quic_endpoint.h"

namespace thunder::net {

// Reaches into a client QuicConnection to use streams beside the session's. On its loop only.
class QuicConnectionTestPeer {
 public:
  // Opens the next bidirectional stream and sends `data` on it (which must outlive the
  // connection: ngtcp2 resends from it). Returns the stream id.
  static Result<int64_t> sendOnAnotherStream(QuicConnection& c, std::span<const uint8_t> data) {
    int64_t id = -1;
    if (ngtcp2_conn_open_bidi_stream(c.conn_, &id, nullptr) != 0) {
      return fail(ErrorCode::kUnavailable, "the node allows no further stream");
    }
    std::array<uint8_t, NGTCP2_MAX_PMTUD_UDP_PAYLOAD_SIZE> packet;
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info info{};
    ngtcp2_vec vec{const_cast<uint8_t*>(data.data()), data.size()};
    ngtcp2_ssize accepted = -1;
    const auto now =
        static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    const ngtcp2_ssize n =
        ngtcp2_conn_writev_stream(c.conn_, &ps.path, &info, packet.data(), packet.size(), &accepted,
                                  NGTCP2_WRITE_STREAM_FLAG_NONE, id, &vec, 1, now);
    if (n <= 0 || accepted != static_cast<ngtcp2_ssize>(data.size())) {
      return fail(ErrorCode::kInternal, "cannot write on stream {}", id);
    }
    c.endpoint_->send(ps.path.remote, std::span<const uint8_t>(packet.data(), n));
    ngtcp2_conn_update_pkt_tx_time(c.conn_, now);
    c.armTimer();
    return id;
  }
  static std::vector<std::pair<int64_t, uint64_t>> otherResets(const QuicConnection& c) {
    return c.other_resets_;
  }
};

namespace {

constexpr std::string_view kTestExporterLabel = "EXPORTER-thunder-test";

namespace asio = boost::asio;
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

uint8_t patternByte(uint64_t i) {
  return static_cast<uint8_t>((i ^ (i >> 11) ^ (i >> 23)) * 131u + 7u);
}

asio::awaitable<Result<void>> writeAllOf(StreamConnection* conn, const std::vector<uint8_t>* data,
                                         std::atomic<size_t>* accepted) {
  constexpr size_t kChunk = 64 * 1024;
  for (size_t offset = 0; offset < data->size(); offset += kChunk) {
    const size_t n = std::min(kChunk, data->size() - offset);
    THUNDER_CO_TRY(co_await conn->writeAll(std::span(*data).subspan(offset, n)));
    if (accepted != nullptr) *accepted += n;
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

// A plain UDP socket for hand-made datagrams, bound to `ip`, with a receive guard so that a
// failing test errors out instead of hanging.
class RawUdp {
 public:
  explicit RawUdp(const char* ip = "127.0.0.1") : fd_(::socket(AF_INET, SOCK_DGRAM, 0)), ip_(ip) {
    timeval guard{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, ip, &local.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  }
  ~RawUdp() { ::close(fd_); }

  uint16_t port() const {
    sockaddr_in local{};
    socklen_t length = sizeof local;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &length);
    return ntohs(local.sin_port);
  }
  std::string address() const { return fmt::format("{}:{}", ip_, port()); }

  void sendTo(uint16_t port, std::span<const uint8_t> bytes) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        ::sendto(fd_, bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
        static_cast<ssize_t>(bytes.size()));
  }

  // The next datagram and its source port; empty when the guard expired.
  std::vector<uint8_t> receive(uint16_t* from_port = nullptr) {
    std::vector<uint8_t> buffer(65536);
    sockaddr_in from{};
    socklen_t length = sizeof from;
    const ssize_t n = ::recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
    if (n < 0) return {};
    buffer.resize(static_cast<size_t>(n));
    if (from_port != nullptr) *from_port = ntohs(from.sin_port);
    return buffer;
  }

 private:
  int fd_;
  std::string ip_;
};

enum class ServerMode {
  kEcho,  // send the exporter value, then echo everything
  kKeep,  // send the exporter value, then hand the connection to the test and return
};

class QuicTransportTest : public ::testing::Test {
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

  void startListener(QuicListenerOptions options = {}, ServerMode mode = ServerMode::kEcho) {
    auto listener = QuicListener::start(
        runtime_, node_key_, std::move(options),
        [this, mode](std::unique_ptr<StreamConnection> conn) -> asio::awaitable<void> {
          ++served_;
          auto binding = conn->exportKeyingMaterial(kTestExporterLabel);
          if (!binding || !co_await conn->writeAll(*binding)) co_return;
          if (mode == ServerMode::kKeep) {
            std::lock_guard lock(kept_mutex_);
            kept_.push_back(std::move(conn));
            kept_cv_.notify_all();
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
    auto conn =
        connectQuicBlocking(runtime_, listener_->url(), node_key_.publicKey(), kConnectTimeout);
    EXPECT_TRUE(conn) << conn.error().message;
    if (!conn) return nullptr;
    auto greeting = runOn((*conn)->executor(), readExactly(conn->get(), 32));
    EXPECT_TRUE(greeting) << greeting.error().message;
    if (greeting && server_binding)
      std::copy(greeting->begin(), greeting->end(), server_binding->begin());
    return std::move(conn).value();
  }

  void drop(std::unique_ptr<StreamConnection> conn) {
    auto executor = conn->executor();
    runOn(executor, dropOnLoop(std::move(conn)));
  }

  static std::string echo(StreamConnection* conn, const std::string& text) {
    std::vector<uint8_t> bytes(text.begin(), text.end());
    auto written = runOn(conn->executor(), conn->writeAll(bytes));
    if (!written) return "write failed: " + written.error().message;
    auto back = runOn(conn->executor(), readExactly(conn, text.size()));
    if (!back) return "read failed: " + back.error().message;
    return std::string(back->begin(), back->end());
  }

  // Makes the listener hold one half-open connection from `sink`: a real client Initial (sent
  // to `sink` by connectQuic) is forwarded from there, and the node's answer comes back there,
  // never to the client. Returns the client's future (it fails with kTimeout).
  std::future<Result<std::unique_ptr<StreamConnection>>> injectHalfOpen(RawUdp& sink) {
    auto client = asio::co_spawn(runtime_.nextLoop(),
                                 connectQuic(sink.address(), node_key_.publicKey(), 1500ms),
                                 asio::use_future);
    std::vector<uint8_t> initial = sink.receive();
    EXPECT_GE(initial.size(), 1200u);
    sink.sendTo(listener_->localPort(), initial);
    uint16_t from = 0;
    do {
      EXPECT_FALSE(sink.receive(&from).empty()) << "the node did not answer the Initial";
    } while (from != 0 && from != listener_->localPort());
    return client;
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
  std::unique_ptr<QuicListener> listener_;
  std::atomic<int> served_{0};
  ErrorLog server_read_errors_;
  std::mutex kept_mutex_;
  std::condition_variable kept_cv_;
  std::vector<std::unique_ptr<StreamConnection>> kept_;
};

TEST_F(QuicTransportTest, EchoesBytesBothWaysWithThePinnedKey) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->transportName(), "quic");
  EXPECT_EQ(conn->keyingMaterial(), KeyingMaterial::kExported);
  EXPECT_EQ(conn->remoteAddress(), listener_->localAddress());
  EXPECT_EQ(listener_->url(), "quic://" + listener_->localAddress());
  EXPECT_EQ(echo(conn.get(), "hello node"), "hello node");
  const std::string big(100'000, 'x');
  const std::string back = echo(conn.get(), big);
  EXPECT_TRUE(back == big) << back.substr(0, 200);
  EXPECT_EQ(served_.load(), 1);
  EXPECT_EQ(listener_->openConnections(), 1u);
  EXPECT_EQ(listener_->handshakesInProgress(), 0u);
}

TEST_F(QuicTransportTest, BothEndsExportTheSameBindingAndConnectionsDiffer) {
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

TEST_F(QuicTransportTest, WrongNodeKeyIsRefused) {
  startListener();
  const auto other = crypto::SigningKey::generate().publicKey();
  auto conn = connectQuicBlocking(runtime_, listener_->localAddress(), other, kConnectTimeout);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(conn.error().message.find(fmt::format("node key mismatch: expected {}, got {}",
                                                  other.hex(), node_key_.publicKey().hex())),
            std::string::npos)
      << conn.error().message;
  EXPECT_EQ(served_.load(), 0);
}

TEST_F(QuicTransportTest, BadAddressAndClosedPortAreReported) {
  auto bad = connectQuicBlocking(runtime_, "nowhere", node_key_.publicKey(), kConnectTimeout);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto bad_url = parseQuicUrl("quic://127.0.0.1:1/path");
  ASSERT_FALSE(bad_url);
  EXPECT_EQ(bad_url.error().code, ErrorCode::kInvalidArgument);
  startListener();
  const std::string address = listener_->localAddress();
  listener_->stop();
  // Loopback answers a datagram to a closed UDP port with ICMP port unreachable.
  auto closed = connectQuicBlocking(runtime_, address, node_key_.publicKey(), kConnectTimeout);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable) << closed.error().message;
}

TEST_F(QuicTransportTest, EchoesSeveralMiBByteExactThroughFlowControl) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  constexpr size_t kTotal = 16u << 20;  // 16 windows of the receiver
  std::vector<uint8_t> data(kTotal);
  for (size_t i = 0; i < kTotal; ++i) data[i] = patternByte(i);
  const auto start = std::chrono::steady_clock::now();
  auto writer =
      asio::co_spawn(conn->executor(), writeAllOf(conn.get(), &data, nullptr), asio::use_future);
  auto reader =
      asio::co_spawn(conn->executor(), readAndCompare(conn.get(), &data), asio::use_future);
  auto written = writer.get();
  auto read = reader.get();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(written) << written.error().message;
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, kTotal);
  std::cout << "echoed 16 MiB each way over QUIC in " << seconds << " s: " << kTotal / seconds / 1e6
            << " MB/s per direction\n";
}

TEST_F(QuicTransportTest, AWriterToAPeerThatDoesNotReadIsHeldBack) {
  startListener({}, ServerMode::kKeep);
  auto conn = connect();
  ASSERT_TRUE(conn);
  std::unique_ptr<StreamConnection> server;
  {
    std::unique_lock lock(kept_mutex_);
    kept_cv_.wait(lock, [&] { return !kept_.empty(); });
    server = std::move(kept_.back());
    kept_.pop_back();
  }
  constexpr size_t kTotal = 16u << 20;
  std::vector<uint8_t> data(kTotal);
  for (size_t i = 0; i < kTotal; ++i) data[i] = patternByte(i);
  std::atomic<size_t> accepted{0};
  auto writer =
      asio::co_spawn(conn->executor(), writeAllOf(conn.get(), &data, &accepted), asio::use_future);
  // Nobody reads: the writer stops after the receiver's window and its own send buffer.
  EXPECT_EQ(writer.wait_for(500ms), std::future_status::timeout);
  EXPECT_LE(accepted.load(), size_t{4} << 20) << "the sender buffers without bound";
  // Once the node reads, everything arrives in order.
  auto read = runOn(server->executor(), readAndCompare(server.get(), &data));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(*read, kTotal);
  auto written = writer.get();
  ASSERT_TRUE(written) << written.error().message;
  drop(std::move(server));
}

TEST_F(QuicTransportTest, StopClosesEstablishedConnections) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(listener_->openConnections(), 1u);
  listener_->stop();  // returns once the handler saw its connection close
  EXPECT_EQ(listener_->openConnections(), 0u);
  std::vector<uint8_t> buffer(16);
  auto n = runOn(conn->executor(), conn->readSome(buffer));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0u);  // a clean end of stream: the node sent its FIN before CONNECTION_CLOSE
  std::lock_guard lock(server_read_errors_.mutex);
  EXPECT_EQ(server_read_errors_.codes, std::vector<ErrorCode>{ErrorCode::kCancelled});
}

TEST_F(QuicTransportTest, StopClosesConnectionsTheHandlerHandedOff) {
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

TEST_F(QuicTransportTest, AnotherStreamIsRefusedWhileTheSessionStreamWorks) {
  startListener();
  auto conn = connect();
  ASSERT_TRUE(conn);
  auto& quic = static_cast<QuicStreamConnection&>(*conn).connection();
  static const std::vector<uint8_t> kStray = {1, 2, 3, 4};
  auto stray = runOn(conn->executor(), [&]() -> asio::awaitable<Result<int64_t>> {
    co_return QuicConnectionTestPeer::sendOnAnotherStream(quic, kStray);
  }());
  ASSERT_TRUE(stray) << stray.error().message;
  EXPECT_EQ(*stray, 4);
  // The session stream keeps working, and the node answers the stray stream with RESET_STREAM.
  // The reset may travel in a later packet than an echo sent after it, so echo (each a round
  // trip) until it has arrived, at most 50 times.
  std::vector<std::pair<int64_t, uint64_t>> resets;
  for (int round = 0; round < 50 && resets.empty(); ++round) {
    EXPECT_EQ(echo(conn.get(), "session stream"), "session stream");
    resets = runOn(conn->executor(),
                   [&]() -> asio::awaitable<std::vector<std::pair<int64_t, uint64_t>>> {
                     co_return QuicConnectionTestPeer::otherResets(quic);
                   }());
  }
  EXPECT_EQ(resets, (std::vector<std::pair<int64_t, uint64_t>>{{4, kQuicStreamRefused}}));
  EXPECT_EQ(served_.load(), 1);
}

TEST_F(QuicTransportTest, ClosingEndsTheStreamCleanlyForThePeer) {
  startListener({}, ServerMode::kKeep);
  auto conn = connect();
  ASSERT_TRUE(conn);
  const std::string last = "last words";
  auto written =
      runOn(conn->executor(),
            conn->writeAll(std::span(reinterpret_cast<const uint8_t*>(last.data()), last.size())));
  ASSERT_TRUE(written) << written.error().message;
  drop(std::move(conn));  // close() right after the write: the bytes and the FIN still arrive
  std::unique_ptr<StreamConnection> server;
  {
    std::unique_lock lock(kept_mutex_);
    kept_cv_.wait(lock, [&] { return !kept_.empty(); });
    server = std::move(kept_.back());
    kept_.pop_back();
  }
  auto received = runOn(server->executor(), readExactly(server.get(), last.size()));
  ASSERT_TRUE(received) << received.error().message;
  EXPECT_EQ(std::string(received->begin(), received->end()), last);
  std::vector<uint8_t> buffer(16);
  auto end = runOn(server->executor(), server->readSome(buffer));
  ASSERT_TRUE(end) << end.error().message;
  EXPECT_EQ(*end, 0u);
  drop(std::move(server));
}

TEST_F(QuicTransportTest, GarbageDatagramsAreIgnored) {
  startListener();
  RawUdp raw;
  std::mt19937 rng(7);
  auto random_bytes = [&](size_t size) {
    std::vector<uint8_t> out(size);
    for (auto& b : out) b = static_cast<uint8_t>(rng());
    return out;
  };
  for (size_t size : {0u, 1u, 7u, 40u, 1200u, 1500u}) {
    raw.sendTo(listener_->localPort(), random_bytes(size));
  }
  // A short-header packet for a connection id nobody issued.
  auto short_header = random_bytes(100);
  short_header[0] = 0x40;
  raw.sendTo(listener_->localPort(), short_header);
  // A well-formed client Initial header over bytes that do not decrypt.
  std::vector<uint8_t> initial = {0xc0, 0x00, 0x00, 0x00, 0x01, 8};
  auto dcid = random_bytes(8);
  initial.insert(initial.end(), dcid.begin(), dcid.end());
  initial.push_back(8);
  initial.insert(initial.end(), dcid.begin(), dcid.end());
  initial.push_back(0x00);  // no token
  initial.push_back(0x44);  // length (2-byte varint): 1100
  initial.push_back(0x4c);
  auto body = random_bytes(1200 - initial.size() + 100);
  initial.insert(initial.end(), body.begin(), body.end());
  raw.sendTo(listener_->localPort(), initial);
  // Another QUIC version gets a Version Negotiation packet (version field 0).
  auto other_version = initial;
  other_version[4] = 0x2a;
  raw.sendTo(listener_->localPort(), other_version);
  auto negotiation = raw.receive();
  ASSERT_GE(negotiation.size(), 7u);
  EXPECT_EQ(negotiation[0] & 0x80, 0x80);
  EXPECT_EQ(std::vector<uint8_t>(negotiation.begin() + 1, negotiation.begin() + 5),
            (std::vector<uint8_t>{0, 0, 0, 0}));
  // The node kept no state for any of it, and still serves (datagrams are handled in order).
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(echo(conn.get(), "still here"), "still here");
  EXPECT_EQ(listener_->handshakesInProgress(), 0u);
  EXPECT_EQ(listener_->openConnections(), 1u);
}

TEST_F(QuicTransportTest, HandshakeTimeoutFreesTheHalfOpenSlot) {
  startListener({.handshake_timeout = 200ms, .max_handshakes = 1});
  RawUdp sink;
  auto silent = injectHalfOpen(sink);
  EXPECT_EQ(listener_->handshakesInProgress(), 1u);
  // Refused (dropped) while the slot is taken; the client's retransmitted Initial gets in once
  // the half-open connection timed out.
  auto conn = connect();
  ASSERT_TRUE(conn);
  EXPECT_EQ(echo(conn.get(), "after the timeout"), "after the timeout");
  EXPECT_EQ(listener_->handshakesInProgress(), 0u);
  auto silent_result = silent.get();
  ASSERT_FALSE(silent_result);
  EXPECT_EQ(silent_result.error().code, ErrorCode::kTimeout) << silent_result.error().message;
}

TEST_F(QuicTransportTest, HalfOpenLimitDropsFurtherInitials) {
  startListener({.handshake_timeout = 600s, .max_handshakes = 1});
  RawUdp sink;
  auto silent = injectHalfOpen(sink);
  EXPECT_EQ(listener_->handshakesInProgress(), 1u);
  auto refused =
      connectQuicBlocking(runtime_, listener_->localAddress(), node_key_.publicKey(), 1500ms);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kTimeout) << refused.error().message;
  EXPECT_EQ(served_.load(), 0);
  EXPECT_FALSE(silent.get());
}

TEST_F(QuicTransportTest, PerAddressLimitLeavesOtherAddressesServed) {
  startListener({.handshake_timeout = 600s, .max_handshakes_per_ip = 1});
  RawUdp sink("127.0.0.2");
  auto silent = injectHalfOpen(sink);
  EXPECT_EQ(listener_->handshakesInProgress(), 1u);
  auto conn = connect();  // from 127.0.0.1, while 127.0.0.2's is still half-open
  ASSERT_TRUE(conn);
  EXPECT_EQ(echo(conn.get(), "other address"), "other address");
  EXPECT_EQ(listener_->handshakesInProgress(), 1u);
  EXPECT_FALSE(silent.get());
}

TEST_F(QuicTransportTest, IdleConnectionsAreDropped) {
  startListener({.idle_timeout = 300ms});
  auto conn = connect();
  ASSERT_TRUE(conn);
  std::vector<uint8_t> buffer(16);
  auto n = runOn(conn->executor(), conn->readSome(buffer));  // nothing comes
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, ErrorCode::kUnavailable) << n.error().message;
  EXPECT_NE(n.error().message.find("idle"), std::string::npos) << n.error().message;
}

TEST_F(QuicTransportTest, BadOptionsAreRefused) {
  auto zero = QuicListener::start(runtime_, node_key_, {.max_handshakes = 0}, {});
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);
  auto bad = QuicListener::start(runtime_, node_key_, {.listen = "nowhere"}, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  startListener();
  auto taken = QuicListener::start(runtime_, node_key_, {.listen = listener_->localAddress()}, {});
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, ErrorCode::kUnavailable) << taken.error().message;
}

}  // namespace
}  // namespace thunder::net
