// HttpServer: a small HTTP/1.1 server (Boost.Beast) for buffered request/response endpoints
// such as the node's admin API.
//
// The server owns its listening socket and its connections. The acceptor runs on one loop of the
// runtime; each accepted connection runs on the next loop in round-robin order and stays there.
// Limits (header and body size, idle time, connection count) bound what a client can cost; a
// request over a limit gets a 4xx and the connection closes. The handler is called on a loop
// thread, concurrently from several loops: it must be thread-safe and must not block (a handler
// with blocking work co_awaits io::offload()).
// start() and stop() are called by the owner (one thread); stop() is also run by the destructor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/result.h"
#include "io/runtime.h"
#include "net/http_message.h"

namespace thunder::net {

struct HttpServerOptions {
  std::string listen = "127.0.0.1:0";
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{30'000};
  size_t max_connections = 256;
  std::string server_name = "thunder";
};

// A coroutine answering one request; it runs on the connection's loop.
using HttpHandler = std::function<boost::asio::awaitable<HttpResponse>(HttpRequest)>;

class HttpServer {
 public:
  // Binds and starts accepting. kInvalidArgument for a bad address; kUnavailable when the port
  // is in use; kPermissionDenied for a privileged port. Each message names the address.
  static Result<std::unique_ptr<HttpServer>> start(io::Runtime& runtime, HttpServerOptions options,
                                                   HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address (with the real port when the options asked for port 0).
  std::string localAddress() const;
  uint16_t localPort() const;
  size_t activeConnections() const;

  // Stops accepting, closes every connection and waits for their coroutines to end.
  void stop();

  struct State;  // defined in http_server.cc; shared with the server's coroutines

 private:
  explicit HttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace thunder::net
