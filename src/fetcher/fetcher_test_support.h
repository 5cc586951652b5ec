// Test helpers for the fetcher's tests (header-only, not part of the library):
//
//   TestOrigin  a tiny HTTP/1.1 origin on 127.0.0.1:0 (plain, or TLS with given certificate
//               files) built on Boost.Beast: blocking, one thread per connection, one request
//               per connection; handlers the test controls, per-path request counts.
//   Gate        a signal from the test to a handler (or back), so a handler can hold part of a
//               response until the test says so — no sleeps.
//   ConcurrencyProbe  how many handlers work at once, measured race-free.
//   runOn()     runs an awaitable on a loop of a Runtime and blocks for its result.
//   makeTestCertificates()  a private CA and a server certificate, made with the openssl CLI.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fetcher/fetch_handle.h"
#include "io/runtime.h"

namespace thunder::fetcher::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

class Gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Counts handlers that are inside a critical section, and the most at once. A handler calls
// enter() when it starts and exit() before it sends its first byte (the client cannot finish the
// request before that), so the count is exactly "requests the origin is working on".
class ConcurrencyProbe {
 public:
  void enter() {
    std::lock_guard lock(mutex_);
    most_ = std::max(most_, ++inside_);
    ++entered_;
    cv_.notify_all();
  }
  void exit() {
    std::lock_guard lock(mutex_);
    --inside_;
  }
  // Blocks until enter() was called `n` times in total.
  void waitForEntries(size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  size_t most() const {
    std::lock_guard lock(mutex_);
    return most_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  size_t inside_ = 0;
  size_t most_ = 0;
  size_t entered_ = 0;
};

struct TestRequest {
  std::string target;                          // as received
  std::string path;                            // target without the query
  std::map<std::string, std::string> headers;  // lower-case names
};

// What a handler answers with. Writes go straight to the socket; false when the client left.
class TestExchange {
 public:
  explicit TestExchange(std::function<bool(std::string_view)> write) : write_(std::move(write)) {}

  bool send(std::string_view bytes) { return write_(bytes); }

  // The header, with Content-Length `length`, or chunked when nullopt.
  bool head(unsigned status, std::optional<size_t> length,
            const std::vector<std::string>& headers = {}) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Test\r\nConnection: close\r\n";
    out += length ? "Content-Length: " + std::to_string(*length) + "\r\n"
                  : std::string("Transfer-Encoding: chunked\r\n");
    for (const auto& h : headers) out += h + "\r\n";
    return send(out + "\r\n");
  }
  bool chunk(std::string_view data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return send(std::string(size) + std::string(data) + "\r\n");
  }
  bool lastChunk() { return send("0\r\n\r\n"); }

  // A whole response with Content-Length.
  bool respond(unsigned status, std::string_view body,
               const std::vector<std::string>& headers = {}) {
    return head(status, body.size(), headers) && send(body);
  }

 private:
  std::function<bool(std::string_view)> write_;
};

using Handler = std::function<void(const TestRequest&, TestExchange&)>;

class TestOrigin {
 public:
  // Plain HTTP.
  TestOrigin() { listen(); }
  // TLS with a PEM certificate chain and key.
  TestOrigin(const std::string& chain_file, const std::string& key_file) {
    tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls_->use_certificate_chain_file(chain_file);
    tls_->use_private_key_file(key_file, asio::ssl::context::pem);
    listen();
  }
  ~TestOrigin() { stop(); }

  void route(const std::string& path, Handler handler) {
    std::lock_guard lock(mutex_);
    routes_[path] = std::move(handler);
  }

  uint16_t port() const { return port_; }
  std::string url(std::string_view target, std::string_view host = "127.0.0.1") const {
    return std::string(tls_ ? "https://" : "http://") + std::string(host) + ":" +
           std::to_string(port_) + std::string(target);
  }

  // A gate owned by the server; stop() opens every gate so that no handler stays blocked.
  Gate& gate(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto& slot = gates_[name];
    if (!slot) slot = std::make_unique<Gate>();
    return *slot;
  }

  size_t requests(const std::string& path) const {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(path);
    return it == counts_.end() ? 0 : it->second;
  }
  size_t totalRequests() const {
    std::lock_guard lock(mutex_);
    return total_;
  }
  // Blocks until at least `n` requests have arrived in total.
  void waitForRequests(size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return total_ >= n; });
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& [name, gate] : gates_) gate->open();
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    {  // wake the blocking accept()
      asio::io_context context;
      asio::ip::tcp::socket poke(context);
      boost::system::error_code ec;
      poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    }
    if (acceptor_thread_.joinable()) acceptor_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  void listen() {
    acceptor_.open(asio::ip::tcp::v4());
    acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    acceptor_thread_ = std::thread([this] { acceptLoop(); });
  }

  void acceptLoop() {
    for (;;) {
      auto socket = std::make_shared<asio::ip::tcp::socket>(context_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      if (ec) continue;
      open_fds_.insert(socket->native_handle());
      threads_.emplace_back([this, socket] { serve(socket); });
    }
  }

  void serve(std::shared_ptr<asio::ip::tcp::socket> socket) {
    const int fd = socket->native_handle();
    if (tls_) {
      asio::ssl::stream<asio::ip::tcp::socket&> stream(*socket, *tls_);
      boost::system::error_code ec;
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (!ec) serveOn(stream);
    } else {
      serveOn(*socket);
    }
    std::lock_guard lock(mutex_);
    open_fds_.erase(fd);
    boost::system::error_code ignored;
    socket->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
  }

  template <typename Stream>
  void serveOn(Stream& stream) {
    beast::flat_buffer buffer;
    http::request<http::string_body> message;
    boost::system::error_code ec;
    http::read(stream, buffer, message, ec);
    if (ec) return;
    TestRequest request;
    request.target = std::string(message.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers[name] = std::string(field.value());
    }
    Handler handler;
    {
      std::lock_guard lock(mutex_);
      ++counts_[request.path];
      ++total_;
      if (auto it = routes_.find(request.path); it != routes_.end()) handler = it->second;
      cv_.notify_all();
    }
    TestExchange exchange([&stream](std::string_view bytes) {
      boost::system::error_code write_ec;
      asio::write(stream, asio::buffer(bytes.data(), bytes.size()), write_ec);
      return !write_ec;
    });
    if (handler) {
      handler(request, exchange);
    } else {
      exchange.respond(404, "no such test route\n");
    }
  }

  asio::io_context context_;
  asio::ip::tcp::acceptor acceptor_{context_};
  std::unique_ptr<asio::ssl::context> tls_;
  uint16_t port_ = 0;
  std::thread acceptor_thread_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, Handler> routes_;
  std::map<std::string, std::unique_ptr<Gate>> gates_;
  std::map<std::string, size_t> counts_;
  size_t total_ = 0;
  std::set<int> open_fds_;
  std::vector<std::thread> threads_;
  bool stopping_ = false;
};

// Runs `work` on a loop of `runtime` and waits for its result.
template <typename T>
T runOn(io::Runtime& runtime, asio::awaitable<T> work) {
  std::promise<T> promise;
  asio::co_spawn(runtime.nextLoop(), std::move(work),
                 [&promise](std::exception_ptr error, T value) {
                   if (error) {
                     promise.set_exception(error);
                   } else {
                     promise.set_value(std::move(value));
                   }
                 });
  return promise.get_future().get();
}

// Reads a handle from `offset` until at least `n` bytes or the end (or an error).
inline asio::awaitable<Result<std::string>> readFrom(std::shared_ptr<FetchHandle> handle,
                                                     uint64_t offset, uint64_t n) {
  std::string out;
  std::vector<uint8_t> buffer(64 * 1024);
  while (out.size() < n) {
    Result<size_t> got = co_await handle->read(offset + out.size(), buffer);
    if (!got) co_return tl::unexpected(got.error());
    if (*got == 0) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), *got);
  }
  co_return out;
}

inline std::string randomText(size_t n, uint32_t seed) {
  std::mt19937 random(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(random());
  return out;
}

// A private CA (ca.pem) and a server certificate it signed for `names` ("DNS:localhost,IP:…")
// with its key (server.pem, server.key) in `dir`, made with the openssl command-line tool.
inline bool makeTestCertificates(const std::string& dir, const std::string& names) {
  const auto run = [](const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  };
  std::ofstream(dir + "/ext.cnf") << "subjectAltName=" << names << "\n";
  return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + dir +
             "/ca.key -out " + dir + "/ca.pem -days 2 -subj '/CN=Thunder Fetcher Test CA'") &&
         run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + dir +
             "/server.key -out " + dir + "/server.csr -subj /CN=localhost") &&
         run("openssl x509 -req -in " + dir + "/server.csr -CA " + dir + "/ca.pem -CAkey " + dir +
             "/ca.key -CAcreateserial -out " + dir + "/server.pem -days 2 -extfile " + dir +
             "/ext.cnf");
}

// A fresh temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "fetcher-XXXXXX";
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace thunder::fetcher::testing
