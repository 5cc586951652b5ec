// ServicePipe: an in-memory, loop-confined ServiceExchange for ServiceRouter implementations
// (node/service_router.h adapts it to a service connection; tests drive it as a fake service).
//
// The service side receives the request body (receive(): chunks, then an empty chunk at the end
// of the body, ipc.md §4.2) and sends response bytes (send()); end() finishes the exchange,
// normally or with a failure. The gateway side is PipeExchange. Every hand-over is one slot with
// back-pressure: writeBody() returns once receive() took the bytes, send() once the gateway
// read them all, so the pipe never holds more than one chunk each way. Owned by shared_ptr
// (both sides); used on one loop only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "gateway/service_route.h"
#include "io/async_event.h"

namespace thunder::gateway {

class ServicePipe {
 public:
  ServicePipe(const boost::asio::any_io_executor& executor, ServiceId id);

  // ---- the service's side ----

  // The next request body bytes, in order; an empty vector once at the end of the body; nullopt
  // once the exchange is over (after that, always nullopt).
  boost::asio::awaitable<std::optional<std::vector<uint8_t>>> receive();
  // Request bytes from now on are taken and dropped (a service that answers without the body).
  void stopReceiving();
  // The service takes no more of the request: receive() returns nullopt from now on and the
  // gateway's writes fail with kUnavailable, while the response direction stays open until end().
  void endRequest();
  // Hands `bytes` to the gateway and returns once it has read them all. kCancelled if the
  // exchange ended first (the client went away, a timeout, the node stopping).
  boost::asio::awaitable<Result<void>> send(std::vector<uint8_t> bytes);
  // Ends the exchange: normally (nullopt: reads return 0 once everything sent was read) or with
  // `failure` (reads fail with it; its code follows ServiceExchange::read()). Idempotent: the
  // first end or abort wins.
  void end(std::optional<Error> failure);

  // ---- the gateway's side (through PipeExchange) ----

  boost::asio::awaitable<Result<void>> deliver(std::vector<uint8_t> bytes);
  boost::asio::awaitable<Result<size_t>> read(std::span<uint8_t> out);
  void abort(std::string_view why);

  bool over() const { return over_; }
  // Whether the gateway aborted it (rather than the service ending it).
  bool aborted() const { return aborted_; }
  ServiceId id() const { return id_; }

 private:
  void finish();
  Error overError() const;

  const ServiceId id_;
  bool over_ = false;
  bool aborted_ = false;
  std::optional<Error> failure_;                 // why it ended, unless normally
  std::optional<std::vector<uint8_t>> inbound_;  // request bytes for receive(); empty = end
  bool discard_inbound_ = false;
  bool request_ended_ = false;
  std::vector<uint8_t> outbound_;  // response bytes from send(), [outbound_pos_, end) unread
  size_t outbound_pos_ = 0;
  io::AsyncEvent inbound_ready_;
  io::AsyncEvent inbound_taken_;
  io::AsyncEvent outbound_ready_;
  io::AsyncEvent outbound_taken_;
};

// The gateway's side of a ServicePipe. Destroying it aborts the pipe ("the HTTP client went
// away") unless it is over.
class PipeExchange final : public ServiceExchange {
 public:
  explicit PipeExchange(std::shared_ptr<ServicePipe> pipe) : pipe_(std::move(pipe)) {}
  ~PipeExchange() override;

  boost::asio::awaitable<Result<void>> writeBody(std::span<const uint8_t> bytes) override;
  boost::asio::awaitable<Result<void>> endBody() override;
  boost::asio::awaitable<Result<size_t>> read(std::span<uint8_t> out) override;
  void abort() override;

 private:
  std::shared_ptr<ServicePipe> pipe_;
};

}  // namespace thunder::gateway
