// The gateway over TLS (https://): a private CA and a server certificate made with the openssl
// command line tool at test time; curl as the client, and an in-process blocking OpenSSL client
// where the test needs exact control of the bytes (pipelining, half-close, ALPN, versions).
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <fstream>
#include <sstream>

#include "crypto/blake3.h"
#include "gateway/gateway_server.h"
#include "gateway/gateway_test_support.h"

namespace thunder::gateway {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;
using testing::GatewayFixture;
using testing::haveTool;
using testing::randomBytes;
using testing::RawClient;
using testing::readFile;
using testing::Reply;
using testing::ReplyTo;
using testing::run;

struct ClientTls {
  std::string alpn = "http/1.1";  // offered protocols, comma-separated; empty: no ALPN
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // 0: the highest
  bool verify = true;
};

// A blocking TLS client over one TCP connection: OpenSSL directly on a blocking socket (reads
// give up after 30 s instead of hanging a broken test).
class TlsClient {
 public:
  TlsClient(uint16_t port, const std::string& ca_file, ClientTls tls = {}) : socket_(context_) {
    boost::system::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
    timeval timeout{30, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(ctx_, tls.min_version < TLS1_2_VERSION ? 0 : 1);
    SSL_CTX_set_min_proto_version(ctx_, tls.min_version);
    SSL_CTX_set_max_proto_version(ctx_, tls.max_version);
    if (tls.verify) {
      SSL_CTX_load_verify_locations(ctx_, ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    }
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, socket_.native_handle());
    SSL_set1_host(ssl_, "127.0.0.1");
    if (!tls.alpn.empty()) {
      std::string wire;
      std::stringstream names(tls.alpn);
      for (std::string name; std::getline(names, name, ',');) {
        wire += static_cast<char>(name.size());
        wire += name;
      }
      SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                          static_cast<unsigned>(wire.size()));
    }
    ERR_clear_error();
    connected_ = SSL_connect(ssl_) == 1;
    if (!connected_) {
      char text[256];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      error_ = text;
    }
    ERR_clear_error();
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }

  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  std::string alpn() const {
    const unsigned char* data = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl_, &data, &length);
    return std::string(reinterpret_cast<const char*>(data), length);
  }
  std::string version() const { return SSL_get_version(ssl_); }

  void send(std::string_view bytes) {
    const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()));
    EXPECT_EQ(n, static_cast<int>(bytes.size()));
  }

  // Reads one response; status 0 when the connection ended first.
  Reply read(ReplyTo to = ReplyTo::kGet) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(256ull << 20);
    parser.skip(to == ReplyTo::kHead);
    boost::system::error_code ec;
    Stream stream{ssl_};
    http::read(stream, buffer_, parser, ec);
    Reply reply;
    if (ec) return reply;
    reply.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    reply.body = parser.get().body();
    reply.keep_alive = parser.get().keep_alive();
    return reply;
  }

  // Reads up to `n` bytes of whatever comes (0 at the end).
  size_t readSome(size_t n) {
    std::string out(n, '\0');
    const int got = SSL_read(ssl_, out.data(), static_cast<int>(n));
    return got > 0 ? static_cast<size_t>(got) : 0;
  }

  // Sends close_notify (the client sends no more; it may still read).
  void closeNotify() { EXPECT_GE(SSL_shutdown(ssl_), 0); }

  // True when the server ended the stream with close_notify (not just a FIN or a reset).
  bool endedWithCloseNotify() {
    if (buffer_.size() > 0) return false;
    char byte;
    const int n = SSL_read(ssl_, &byte, 1);
    return n <= 0 && SSL_get_error(ssl_, n) == SSL_ERROR_ZERO_RETURN;
  }

 private:
  // Beast's SyncReadStream over the SSL object.
  struct Stream {
    SSL* ssl;
    template <typename Buffers>
    size_t read_some(const Buffers& buffers, boost::system::error_code& ec) {
      const asio::mutable_buffer first = *asio::buffer_sequence_begin(buffers);
      const int n = SSL_read(ssl, first.data(), static_cast<int>(first.size()));
      if (n > 0) {
        ec = {};
        return static_cast<size_t>(n);
      }
      if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN) {
        ec = asio::error::eof;
      } else {
        ec = asio::error::connection_reset;
      }
      ERR_clear_error();
      return 0;
    }
    template <typename Buffers>
    size_t read_some(const Buffers& buffers) {
      boost::system::error_code ec;
      const size_t n = read_some(buffers, ec);
      if (ec) throw boost::system::system_error(ec);
      return n;
    }
  };

  asio::io_context context_;
  asio::ip::tcp::socket socket_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool connected_ = false;
  std::string error_;
  boost::beast::flat_buffer buffer_;
};

class GatewayTlsTest : public GatewayFixture {
 protected:
  void SetUp() override {
    GatewayFixture::SetUp();
    if (!haveTool("openssl") || !haveTool("curl")) GTEST_SKIP() << "needs openssl and curl";
    const std::string d = root_.string();
    std::ofstream(d + "/ext.cnf") << "subjectAltName=DNS:localhost,IP:127.0.0.1\n";
    int status = -1;
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
            "/ca.key -out " + d + "/ca.pem -days 2 -subj '/CN=Thunder Test CA' 2>&1 && " +
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + d +
            "/node.key -out " + d + "/node.csr -subj /CN=localhost 2>&1 && " +
            "openssl x509 -req -in " + d + "/node.csr -CA " + d + "/ca.pem -CAkey " + d +
            "/ca.key -CAcreateserial -out " + d + "/node.pem -days 2 -extfile " + d +
            "/ext.cnf 2>&1",
        &status);
    ASSERT_EQ(status, 0) << "openssl could not make the test certificates";
    ca_ = d + "/ca.pem";
  }

  GatewayOptions tlsOptions(GatewayOptions options = {}) {
    options.tls_certificate_file = (root_ / "node.pem").string();
    options.tls_key_file = (root_ / "node.key").string();
    return options;
  }

  std::string curl(const std::string& args, int* status = nullptr) {
    return run("curl -sS --max-time 60 --cacert '" + ca_ + "' " + args, status);
  }

  std::string ca_;
};

TEST_F(GatewayTlsTest, ServesBlobsOverHttpsToCurl) {
  const auto data = randomBytes(300'000, 1);
  const BlobId id = put(data);
  startServer(tlsOptions());
  ASSERT_EQ(server_->url(), "https://" + server_->localAddress());
  const std::string url = server_->url() + "/b3/" + id.hex();

  // A range.
  const auto part = root_ / "part";
  EXPECT_EQ(curl("-r 1000-1999 -o '" + part.string() + "' -w '%{http_code}' '" + url + "'"), "206");
  EXPECT_EQ(readFile(part), std::string(data.begin() + 1000, data.begin() + 2000));

  // HEAD.
  const std::string head = curl("-I '" + url + "'");
  EXPECT_NE(head.find("HTTP/1.1 200 OK"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Length: 300000"), std::string::npos) << head;
  EXPECT_NE(head.find("ETag: \"" + id.hex() + "\""), std::string::npos) << head;

  // Two requests on one connection (the second made no new connection), HTTP/1.1 by ALPN
  // although curl offers h2 as well.
  const std::string both = curl(
      "-o /dev/null -o /dev/null -w '%{http_code} %{num_connects} "
      "%{http_version}\\n' '" +
      url + "' '" + server_->url() + "/health'");
  EXPECT_EQ(both, "200 1 1.1\n200 0 1.1\n");
}

TEST_F(GatewayTlsTest, A64MiBBodyArrivesIntact) {
  const auto data = randomBytes(64 << 20, 2);
  const BlobId id = put(data);
  startServer(tlsOptions());
  const auto file = root_ / "big";
  int status = -1;
  const std::string code = curl(
      "-o '" + file.string() + "' -w '%{http_code}' '" + server_->url() + "/b3/" + id.hex() + "'",
      &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(code, "200");
  const std::string got = readFile(file);
  ASSERT_EQ(got.size(), data.size());
  EXPECT_EQ(crypto::blake3(std::span(reinterpret_cast<const uint8_t*>(got.data()), got.size())),
            id);
}

TEST_F(GatewayTlsTest, UploadsOverHttps) {
  GatewayOptions options;
  options.upload_token = "tls-upload-token-0123";
  startServer(tlsOptions(options));
  const auto data = randomBytes(3 << 20, 3);
  const auto file = root_ / "upload";
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  const std::string code = curl(
      "-o /dev/null -w '%{http_code}' -H 'Authorization: Bearer tls-upload-token-0123' "
      "--data-binary '@" +
      file.string() + "' '" + server_->url() + "/b3'");
  EXPECT_EQ(code, "201");
  const BlobId id = crypto::blake3(std::span(data.data(), data.size()));
  auto has = store_->has(id);
  ASSERT_TRUE(has) << has.error().message;
  EXPECT_TRUE(*has);
}

TEST_F(GatewayTlsTest, KeepAlivePipeliningAndCloseNotify) {
  const auto data = randomBytes(100'000, 4);
  const BlobId id = put(data);
  startServer(tlsOptions());
  TlsClient client(port(), ca_);
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_EQ(client.alpn(), "http/1.1");
  const std::string target = "/b3/" + id.hex();
  // Three pipelined requests in one write, answered in order.
  client.send("GET " + target + " HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n" + "HEAD " +
              target + " HTTP/1.1\r\nHost: t\r\n\r\nGET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  const Reply range = client.read();
  EXPECT_EQ(range.status, 206u);
  EXPECT_EQ(range.body, std::string(data.begin(), data.begin() + 10));
  const Reply head = client.read(ReplyTo::kHead);
  EXPECT_EQ(head.status, 200u);
  EXPECT_EQ(head.header("content-length"), "100000");
  const Reply health = client.read();
  EXPECT_EQ(health.status, 200u);
  EXPECT_EQ(health.body, "ok\n");
  // A request, then close_notify at once: the request is still answered, then the server ends
  // TLS with its own close_notify.
  client.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n");
  client.closeNotify();
  const Reply whole = client.read();
  EXPECT_EQ(whole.status, 200u);
  EXPECT_EQ(whole.body.size(), data.size());
  EXPECT_TRUE(client.endedWithCloseNotify());
}

TEST_F(GatewayTlsTest, TlsVersionsAndAlpn) {
  startServer(tlsOptions());
  {
    TlsClient tls12(port(), ca_, {.max_version = TLS1_2_VERSION});
    ASSERT_TRUE(tls12.connected()) << tls12.error();
    EXPECT_EQ(tls12.version(), "TLSv1.2");
    tls12.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_EQ(tls12.read().status, 200u);
  }
  {
    TlsClient tls13(port(), ca_, {.alpn = "h2,http/1.1"});
    ASSERT_TRUE(tls13.connected()) << tls13.error();
    EXPECT_EQ(tls13.version(), "TLSv1.3");
    EXPECT_EQ(tls13.alpn(), "http/1.1");
  }
  {
    TlsClient no_alpn(port(), ca_, {.alpn = ""});
    ASSERT_TRUE(no_alpn.connected()) << no_alpn.error();
    no_alpn.send("GET /health HTTP/1.0\r\n\r\n");
    EXPECT_EQ(no_alpn.read().status, 200u);
  }
  TlsClient only_h2(port(), ca_, {.alpn = "h2"});
  EXPECT_FALSE(only_h2.connected());
  TlsClient tls11(port(), ca_, {.min_version = TLS1_1_VERSION, .max_version = TLS1_1_VERSION});
  EXPECT_FALSE(tls11.connected());
}

TEST_F(GatewayTlsTest, PlainHttpOnTheTlsPortIsAnswered400AndClosed) {
  startServer(tlsOptions());
  {
    RawClient plain(port());
    const Reply reply = plain.request("GET", "/health");
    EXPECT_EQ(reply.status, 400u);
    EXPECT_NE(reply.body.find("https://"), std::string::npos) << reply.body;
    EXPECT_FALSE(reply.keep_alive);
    EXPECT_TRUE(plain.closedByServer());
  }
  {
    RawClient garbage(port());
    garbage.send(std::string(100, '\x7f'));
    EXPECT_TRUE(garbage.closedByServer());
  }
  // Still serving TLS.
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' '" + server_->url() + "/health'"), "200");
}

TEST_F(GatewayTlsTest, AClientWithoutTheCaRefusesTheCertificate) {
  startServer(tlsOptions());
  int status = 0;
  run("curl -sS --max-time 30 -o /dev/null '" + server_->url() + "/health' 2>/dev/null", &status);
  EXPECT_EQ(status, 60);                                      // CURLE_PEER_FAILED_VERIFICATION
  TlsClient untrusted(port(), root_.string() + "/node.pem");  // not the CA
  EXPECT_FALSE(untrusted.connected());
}

TEST_F(GatewayTlsTest, AStalledHandshakeIsCutAfterTheTimeout) {
  GatewayOptions options;
  options.tls_handshake_timeout = 200ms;
  startServer(tlsOptions(options));
  RawClient silent(port());
  EXPECT_TRUE(silent.closedByServer());
  RawClient partial(port());
  partial.send(std::string("\x16\x03\x01\x02\x00", 5));  // a ClientHello that never comes
  EXPECT_TRUE(partial.closedByServer());
  EXPECT_EQ(curl("-o /dev/null -w '%{http_code}' '" + server_->url() + "/health'"), "200");
}

TEST_F(GatewayTlsTest, HalfOpenConnectionsPerAddressAreLimited) {
  GatewayOptions options;
  options.tls_max_handshakes_per_ip = 1;
  startServer(tlsOptions(options));
  RawClient first(port());   // in its handshake until the 10 s timeout
  RawClient second(port());  // over the limit: closed at once
  EXPECT_TRUE(second.closedByServer());
  first.send(std::string(100, '\x7f'));  // not TLS: the first one is closed, the slot freed
  EXPECT_TRUE(first.closedByServer());
  TlsClient third(port(), ca_);
  EXPECT_TRUE(third.connected()) << third.error();
}

TEST_F(GatewayTlsTest, StopReturnsWithTlsConnectionsOpen) {
  GatewayOptions options;
  options.stop_grace = 300ms;
  startServer(tlsOptions(options));
  const BlobId big = put(randomBytes(32 << 20, 5));
  RawClient in_handshake(port());
  TlsClient idle(port(), ca_);
  ASSERT_TRUE(idle.connected()) << idle.error();
  idle.send("GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_EQ(idle.read().status, 200u);
  TlsClient stuck(port(), ca_);  // asks for 32 MiB and does not read them
  ASSERT_TRUE(stuck.connected()) << stuck.error();
  stuck.send("GET /b3/" + big.hex() + " HTTP/1.1\r\nHost: t\r\n\r\n");
  ASSERT_GT(stuck.readSome(100), 0u);  // the answer has begun
  server_->stop();
  EXPECT_EQ(server_->activeConnections(), 0u);
  EXPECT_TRUE(in_handshake.closedByServer());
  EXPECT_EQ(idle.read().status, 0u);  // closed (after close_notify)
}

TEST_F(GatewayTlsTest, UnusableCertificateFilesAreNamed) {
  auto start = [&](GatewayOptions options) {
    options.listen = "127.0.0.1:0";
    return GatewayServer::start(runtime_, *store_, std::move(options));
  };
  GatewayOptions mismatch = tlsOptions();
  mismatch.tls_key_file = (root_ / "ca.key").string();  // another certificate's key
  auto wrong_key = start(mismatch);
  ASSERT_FALSE(wrong_key);
  EXPECT_EQ(wrong_key.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong_key.error().message.find("gateway.tls_key"), std::string::npos);
  EXPECT_NE(wrong_key.error().message.find("ca.key is not the private key of the certificate"),
            std::string::npos)
      << wrong_key.error().message;

  // An encrypted key is refused without asking for a passphrase on the terminal.
  int status = -1;
  run("openssl pkey -in '" + (root_ / "node.key").string() +
          "' -aes256 -passout pass:secret -out '" + (root_ / "encrypted.key").string() + "' 2>&1",
      &status);
  ASSERT_EQ(status, 0);
  GatewayOptions encrypted = tlsOptions();
  encrypted.tls_key_file = (root_ / "encrypted.key").string();
  auto with_passphrase = start(encrypted);
  ASSERT_FALSE(with_passphrase);
  EXPECT_NE(with_passphrase.error().message.find("encrypted.key is encrypted"), std::string::npos)
      << with_passphrase.error().message;

  GatewayOptions missing = tlsOptions();
  missing.tls_certificate_file = (root_ / "missing.pem").string();
  auto no_file = start(missing);
  ASSERT_FALSE(no_file);
  EXPECT_NE(no_file.error().message.find("missing.pem"), std::string::npos);
  EXPECT_NE(no_file.error().message.find("gateway.tls_certificate"), std::string::npos)
      << no_file.error().message;

  GatewayOptions not_pem = tlsOptions();
  not_pem.tls_certificate_file = (root_ / "ext.cnf").string();
  auto garbage = start(not_pem);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().message.find("ext.cnf"), std::string::npos);

  GatewayOptions half = tlsOptions();
  half.tls_key_file.clear();
  auto one = start(half);
  ASSERT_FALSE(one);
  EXPECT_NE(one.error().message.find("set both"), std::string::npos) << one.error().message;
}

}  // namespace
}  // namespace thunder::gateway
