// ServiceCall and ServiceBody: one /services/<id>/… request in flight (internal to the gateway
// module; the route is gateway/service_route.h).
//
// A ServiceCall owns the request's ServiceExchange and what the route, its helpers and the
// response body share: the service's unparsed response bytes and the Beast parser over them.
// Beside the connection's own coroutine it runs
//   pump()      the request body → the service. It uses the connection's BodyReader, so the
//               route awaits it (waitPump()) before it returns;
//   readLoop()  the service's response → an input buffer of kMaxServiceResponseHead +
//               kServiceReadAhead bytes, never further ahead of the parser, so that a service
//               that answers before it has read the whole body is not blocked by its own answer.
//               It needs nothing from the connection and ends with the exchange;
//   a watchdog  timer: service_timeout while someone waits for response bytes after the body
//               was forwarded, and the server's stop (the stop grace, then the call is cut).
// ServiceBody is the response's AsyncBody: the body parsed out of the service's framing.
//
// Lives on the connection's loop; every member is touched only there. Owned by shared_ptr (the
// route, the pump, the reader, the response body); finish() ends it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "gateway/exchange.h"
#include "gateway/server_state.h"
#include "gateway/service_route.h"
#include "gateway/upload_route.h"
#include "io/async_event.h"

namespace thunder::gateway {

class ServiceCall : public std::enable_shared_from_this<ServiceCall> {
 public:
  using Parser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  // The parser starts with a header limit of kMaxServiceResponseHead.
  ServiceCall(const boost::asio::any_io_executor& executor, ServerState& state, ServiceId id,
              std::unique_ptr<ServiceExchange> exchange);

  ServiceId id() const { return id_; }
  Parser& parser() { return parser_; }

  // Starts the watchdog, the response reader and the request body pump (which sends
  // "100 Continue" first when `send_continue`). Once.
  void start(BodyReader& body, bool has_body, bool send_continue);
  // Ends the exchange (no-op once ended): the pump and the reader stop soon after.
  void finish();

  // Returns once the pump is done with the connection's BodyReader.
  boost::asio::awaitable<void> waitPump();
  // The client's body failed (too large, malformed, stalled, gone): the pump ended the call.
  const std::optional<Error>& clientError() const { return client_error_; }

  // Waits until there are more than `have` unparsed response bytes, or the service ended
  // (ended()) or failed (failure()). While the request body is still being forwarded there is no
  // deadline; after that the service must send something within service_timeout.
  boost::asio::awaitable<void> waitMore(size_t have);
  // The response bytes received and not yet parsed; consume() takes them.
  std::string_view pending() const { return {in_.data() + in_begin_, in_end_ - in_begin_}; }
  void consume(size_t n);
  // The service ended the exchange normally (after pending()).
  bool ended() const { return ended_; }
  // Why the exchange failed (kTimeout for service_timeout, kCancelled for the server's stop or
  // finish(), else the exchange's error), after pending().
  const std::optional<Error>& failure() const { return failure_; }

  uint64_t relayed = 0;  // response body bytes handed to the client

 private:
  static boost::asio::awaitable<void> pump(std::shared_ptr<ServiceCall> self, BodyReader& body,
                                           bool has_body, bool send_continue);
  static boost::asio::awaitable<void> readLoop(std::shared_ptr<ServiceCall> self);
  void setDeadline();
  bool serverStopping() const;
  void armWatchdog();
  void onWatchdog();

  boost::asio::any_io_executor executor_;
  ServerState& state_;  // only for `stopping`, and only until finish()
  const std::chrono::milliseconds service_timeout_;
  const std::chrono::milliseconds stop_grace_;
  const ServiceId id_;
  std::unique_ptr<ServiceExchange> exchange_;
  Parser parser_;

  io::AsyncEvent pump_done_;  // the route waits for the pump
  io::AsyncEvent data_;       // the route or the body waits for response bytes
  io::AsyncEvent space_;      // the reader waits for room in in_
  bool pumping_ = false;
  bool waiting_ = false;  // someone waits in waitMore()
  std::optional<Error> client_error_;

  boost::asio::steady_timer watchdog_;
  uint64_t watchdog_generation_ = 0;  // only the latest wait acts
  std::optional<std::chrono::steady_clock::time_point> deadline_;
  std::optional<std::chrono::steady_clock::time_point> stop_cut_at_;
  bool timed_out_ = false;
  bool stop_cut_ = false;
  bool finished_ = false;

  std::vector<char> in_;  // response bytes received and not yet parsed: [in_begin_, in_end_)
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  bool ended_ = false;
  std::optional<Error> failure_;
};

// The service's response body, parsed out of its framing (Content-Length, chunked, or until the
// service's end) for the connection. An error cuts the response. Destroying it finishes the
// call (the response is done, or the client went away).
class ServiceBody final : public AsyncBody {
 public:
  explicit ServiceBody(std::shared_ptr<ServiceCall> call) : call_(std::move(call)) {}
  ~ServiceBody() override { call_->finish(); }

  boost::asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) override;

 private:
  std::shared_ptr<ServiceCall> call_;
};

}  // namespace thunder::gateway
