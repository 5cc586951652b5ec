// Test helpers for the gateway's tests (header-only, not part of the library): a blocking raw
// HTTP/1.1 client over one TCP connection (so tests control keep-alive, pipelining and bytes on
// the wire exactly), and a store + runtime + server fixture on 127.0.0.1:0.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "gateway/gateway_server.h"
#include "io/runtime.h"

namespace thunder::gateway::testing {

struct Reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool keep_alive = true;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool has(const std::string& name) const { return headers.count(name) != 0; }
};

enum class ReplyTo { kGet, kHead };

class RawClient {
 public:
  explicit RawClient(uint16_t port) : socket_(context_) {
    boost::system::error_code ec;
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  void send(std::string_view bytes) {
    boost::system::error_code ec;
    boost::asio::write(socket_, boost::asio::buffer(bytes.data(), bytes.size()), ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  // Reads one response; status 0 when the connection ended first.
  Reply read(ReplyTo to = ReplyTo::kGet) {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256ull << 20);
    parser.skip(to == ReplyTo::kHead);
    boost::system::error_code ec;
    http::read(socket_, buffer_, parser, ec);
    Reply reply;
    if (ec) return reply;
    const auto& message = parser.get();
    reply.status = message.result_int();
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    reply.body = message.body();
    reply.keep_alive = message.keep_alive();
    return reply;
  }

  Reply request(const std::string& method, const std::string& target,
                const std::vector<std::string>& headers = {}, const std::string& body = {}) {
    std::string raw = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
    for (const auto& h : headers) raw += h + "\r\n";
    if (!body.empty()) raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    raw += "\r\n" + body;
    send(raw);
    return read(method == "HEAD" ? ReplyTo::kHead : ReplyTo::kGet);
  }

  // Everything until the server closes (for raw checks).
  std::string readToEnd() {
    std::string out(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    char chunk[65536];
    boost::system::error_code ec;
    for (;;) {
      const size_t n = socket_.read_some(boost::asio::buffer(chunk), ec);
      if (ec) break;
      out.append(chunk, n);
    }
    return out;
  }

  // Whether the server closed the connection (reads until EOF or an error).
  bool closedByServer() {
    if (buffer_.size() > 0) return false;
    char byte;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&byte, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  boost::asio::io_context context_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

inline std::vector<uint8_t> randomBytes(size_t n, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(random());
  return out;
}

inline std::string asString(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Whether `name` is on PATH.
inline bool haveTool(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

// Runs a shell command; returns its stdout. `status` (optional) receives the exit status.
inline std::string run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return out;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int raw = ::pclose(pipe);
  if (status != nullptr) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

inline std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// A temp FsBlobStore, a runtime (2 loops, 1 blocking thread) and a gateway on 127.0.0.1:0.
class GatewayFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "gateway-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    root_ = dir;
    content::StoreOptions options;
    options.root = root_ / "store";
    auto store = content::FsBlobStore::open(std::move(options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    runtime_.start();
  }

  void TearDown() override {
    if (server_) server_->stop();
    server_.reset();
    runtime_.stop();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  void startServer(GatewayOptions options = {}) {
    options.listen = "127.0.0.1:0";
    if (options.spool_dir.empty()) options.spool_dir = root_ / "store" / "tmp";
    auto server = GatewayServer::start(runtime_, *store_, std::move(options));
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
  }

  BlobId put(const std::vector<uint8_t>& bytes) {
    auto put = store_->putBytes(bytes, {});
    EXPECT_TRUE(put) << put.error().message;
    return put ? put->id : BlobId();
  }

  uint16_t port() const { return server_->localPort(); }

  std::filesystem::path root_;
  std::unique_ptr<content::FsBlobStore> store_;
  io::Runtime runtime_{{.loop_threads = 2, .blocking_threads = 1}};
  std::unique_ptr<GatewayServer> server_;
};

}  // namespace thunder::gateway::testing
