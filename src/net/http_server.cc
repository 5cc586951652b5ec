#include "net/http_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <list>
#include <mutex>

#include "base/log.h"
#include "net/endpoint.h"

namespace thunder::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::State {
  io::Runtime& runtime;
  HttpServerOptions options;
  HttpHandler handler;
  tcp::acceptor acceptor;
  tcp::endpoint local;

  mutable std::mutex mutex;
  std::condition_variable idle;
  std::list<beast::tcp_stream*> connections;  // GUARDED_BY(mutex)
  size_t coroutines = 0;                      // GUARDED_BY(mutex): acceptor + connections
  bool stopping = false;                      // GUARDED_BY(mutex)

  State(io::Runtime& rt, HttpServerOptions opts, HttpHandler h)
      : runtime(rt), options(std::move(opts)), handler(std::move(h)), acceptor(rt.nextLoop()) {}

  void coroutineDone() {
    std::lock_guard lock(mutex);
    --coroutines;
    if (coroutines == 0) idle.notify_all();
  }
};

namespace {

enum class BodyMode { kSend, kHeadersOnly };  // kHeadersOnly answers HEAD

http::response<http::string_body> toBeast(HttpResponse response, unsigned version, bool keep_alive,
                                          const std::string& server_name,
                                          BodyMode mode = BodyMode::kSend) {
  http::response<http::string_body> out{static_cast<http::status>(response.status), version};
  out.set(http::field::server, server_name);
  out.set(http::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) out.insert(name, value);
  out.body() = std::move(response.body);
  out.keep_alive(keep_alive);
  if (mode == BodyMode::kHeadersOnly) {
    const size_t length = out.body().size();
    out.body().clear();
    out.content_length(length);
  } else {
    out.prepare_payload();
  }
  return out;
}

HttpRequest fromBeast(http::request<http::string_body>&& request, std::string remote_address) {
  HttpRequest out;
  out.remote_address = std::move(remote_address);
  out.method = std::string(request.method_string());
  out.target = std::string(request.target());
  for (const auto& field : request) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(request.body());
  return out;
}

asio::awaitable<void> serveConnection(std::shared_ptr<HttpServer::State> state,
                                      tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  std::list<beast::tcp_stream*>::iterator self;
  {
    std::lock_guard lock(state->mutex);
    self = state->connections.insert(state->connections.end(), &stream);
    if (state->stopping) stream.cancel();  // stop() ran before this connection registered
  }
  boost::system::error_code peer_ec;
  const auto peer = stream.socket().remote_endpoint(peer_ec);
  const std::string remote = peer_ec ? std::string() : formatEndpoint(peer);
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(state->options.max_header_bytes));
    parser.body_limit(state->options.max_body_bytes);
    stream.expires_after(state->options.idle_timeout);
    auto [read_ec, n] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (read_ec) {
      unsigned status = 0;
      if (read_ec == http::error::header_limit) status = 431;
      if (read_ec == http::error::body_limit) status = 413;
      if (read_ec == http::error::bad_method || read_ec == http::error::bad_target ||
          read_ec == http::error::bad_version || read_ec == http::error::bad_field ||
          read_ec == http::error::bad_value || read_ec == http::error::bad_line_ending) {
        status = 400;
      }
      if (status != 0) {
        THUNDER_LOG(debug, "net", "refusing request: {}", read_ec.message());
        auto response = toBeast(HttpResponse::text(status, read_ec.message() + "\n"), 11, false,
                                state->options.server_name);
        stream.expires_after(std::chrono::seconds(5));
        co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
      }
      break;
    }
    auto request = parser.release();
    const bool keep_alive = request.keep_alive();
    const unsigned version = request.version();
    const BodyMode mode =
        request.method() == http::verb::head ? BodyMode::kHeadersOnly : BodyMode::kSend;
    HttpResponse handled = co_await state->handler(fromBeast(std::move(request), remote));
    auto response =
        toBeast(std::move(handled), version, keep_alive, state->options.server_name, mode);
    http::response_serializer<http::string_body> serializer(response);
    if (mode == BodyMode::kHeadersOnly) serializer.split(true);
    auto [write_ec, written] =
        mode == BodyMode::kHeadersOnly
            ? co_await http::async_write_header(stream, serializer,
                                                asio::as_tuple(asio::use_awaitable))
            : co_await http::async_write(stream, serializer, asio::as_tuple(asio::use_awaitable));
    if (write_ec || !keep_alive) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  {
    std::lock_guard lock(state->mutex);
    state->connections.erase(self);
    stream.close();
  }
  state->coroutineDone();
}

asio::awaitable<void> acceptLoop(std::shared_ptr<HttpServer::State> state) {
  for (;;) {
    auto& loop = state->runtime.nextLoop();
    auto [ec, socket] =
        co_await state->acceptor.async_accept(loop, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) break;
    if (ec) {
      THUNDER_LOG(warn, "net", "accept failed on {}: {}", formatEndpoint(state->local),
                  ec.message());
      continue;
    }
    {
      std::lock_guard lock(state->mutex);
      if (state->stopping) break;
      if (state->connections.size() >= state->options.max_connections) {
        THUNDER_LOG(debug, "net", "connection limit {} reached; closing new connection",
                    state->options.max_connections);
        continue;  // socket closes as it goes out of scope
      }
      ++state->coroutines;
    }
    asio::co_spawn(loop, serveConnection(state, std::move(socket)), asio::detached);
  }
  state->coroutineDone();
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(io::Runtime& runtime,
                                                      HttpServerOptions options,
                                                      HttpHandler handler) {
  THUNDER_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, parseEndpoint(options.listen));
  auto state = std::make_shared<State>(runtime, std::move(options), std::move(handler));
  THUNDER_TRY(bindAndListen(state->acceptor, endpoint));
  boost::system::error_code ec;
  state->local = state->acceptor.local_endpoint(ec);
  state->coroutines = 1;
  asio::co_spawn(state->acceptor.get_executor(), acceptLoop(state), asio::detached);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() {
  stop();
}

std::string HttpServer::localAddress() const {
  return formatEndpoint(state_->local);
}
uint16_t HttpServer::localPort() const {
  return state_->local.port();
}

size_t HttpServer::activeConnections() const {
  std::lock_guard lock(state_->mutex);
  return state_->connections.size();
}

void HttpServer::stop() {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->stopping = true;
  }
  // Close the acceptor and each connection on its own loop; the coroutines then finish.
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
  {
    std::lock_guard lock(state_->mutex);
    for (beast::tcp_stream* stream : state_->connections) {
      asio::post(stream->get_executor(), [state = state_, stream] {
        std::lock_guard inner(state->mutex);
        for (auto* s : state->connections) {
          if (s == stream) {
            stream->cancel();
            break;
          }
        }
      });
    }
  }
  std::unique_lock lock(state_->mutex);
  state_->idle.wait(lock, [&] { return state_->coroutines == 0; });
}

}  // namespace thunder::net
