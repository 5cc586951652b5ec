#include "gateway/service_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <cstring>

namespace thunder::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;

namespace {

// Request body bytes per IPC Payload (ipc.md §2: at most 262144).
constexpr size_t kBodySlice = 256 * 1024;
// How often a waiting call checks whether the server is stopping.
constexpr std::chrono::milliseconds kStopPoll{200};

}  // namespace

ServiceCall::ServiceCall(const asio::any_io_executor& executor, ServerState& state, ServiceId id,
                         std::unique_ptr<ServiceExchange> exchange)
    : executor_(executor),
      state_(state),
      service_timeout_(state.options.service_timeout),
      stop_grace_(state.options.stop_grace),
      id_(id),
      exchange_(std::move(exchange)),
      pump_done_(executor),
      data_(executor),
      space_(executor),
      watchdog_(executor) {
  in_.resize(kMaxServiceResponseHead + kServiceReadAhead);
  parser_.header_limit(static_cast<uint32_t>(kMaxServiceResponseHead));
  parser_.body_limit(boost::none);
  parser_.eager(false);
}

void ServiceCall::start(BodyReader& body, bool has_body, bool send_continue) {
  armWatchdog();
  asio::co_spawn(executor_, readLoop(shared_from_this()), asio::detached);
  pumping_ = true;
  asio::co_spawn(executor_, pump(shared_from_this(), body, has_body, send_continue),
                 asio::detached);
}

void ServiceCall::finish() {
  if (finished_) return;
  finished_ = true;
  exchange_->abort();
  space_.notify();
}

asio::awaitable<void> ServiceCall::waitPump() {
  while (pumping_) co_await pump_done_.wait();
}

asio::awaitable<void> ServiceCall::waitMore(size_t have) {
  if (have >= in_.size() && !failure_) {
    failure_ = Error{
        ErrorCode::kCorruption,
        fmt::format("service {} sent {} bytes that do not parse as HTTP", id_.value(), in_.size())};
    finish();
  }
  while (pending().size() <= have && !ended_ && !failure_) {
    waiting_ = true;
    if (!pumping_) setDeadline();
    co_await data_.wait();
    waiting_ = false;
    deadline_.reset();
  }
}

void ServiceCall::consume(size_t n) {
  in_begin_ += n;
  if (n > 0) space_.notify();
}

asio::awaitable<void> ServiceCall::pump(std::shared_ptr<ServiceCall> self, BodyReader& body,
                                        bool has_body, bool send_continue) {
  bool ok = true;
  if (send_continue) {
    auto sent = co_await body.sendContinue();
    if (!sent) {
      self->client_error_ = sent.error();
      ok = false;
    }
  }
  if (ok && has_body) {
    std::vector<uint8_t> chunk(kBodySlice);
    for (;;) {
      auto n = co_await body.readBody(chunk);
      if (!n) {
        self->client_error_ = n.error();
        ok = false;
        break;
      }
      if (*n == 0) break;
      const std::span<const uint8_t> bytes(chunk.data(), *n);
      auto written = co_await self->exchange_->writeBody(bytes);
      if (!written) {
        ok = false;  // the service needs no more of it (it ended, or failed)
        break;
      }
    }
  }
  if (ok) {
    auto ended = co_await self->exchange_->endBody();
    (void)ended;  // a service that ended already needs no end either
  }
  if (self->client_error_) self->finish();  // never a truncated body taken as complete
  self->pumping_ = false;
  if (self->waiting_) self->setDeadline();
  self->pump_done_.notify();
}

asio::awaitable<void> ServiceCall::readLoop(std::shared_ptr<ServiceCall> self) {
  ServiceCall& call = *self;
  for (;;) {
    if (call.in_begin_ == call.in_end_) call.in_begin_ = call.in_end_ = 0;
    if (call.in_end_ == call.in_.size() && call.in_begin_ > 0) {
      std::memmove(call.in_.data(), call.in_.data() + call.in_begin_,
                   call.in_end_ - call.in_begin_);
      call.in_end_ -= call.in_begin_;
      call.in_begin_ = 0;
    }
    if (call.finished_) break;
    if (call.in_end_ == call.in_.size()) {
      co_await call.space_.wait();  // the parser takes bytes, or the call ends
      continue;
    }
    const std::span<uint8_t> out(reinterpret_cast<uint8_t*>(call.in_.data()) + call.in_end_,
                                 call.in_.size() - call.in_end_);
    auto n = co_await call.exchange_->read(out);
    if (!n) {
      if (call.timed_out_) {
        call.failure_ = Error{ErrorCode::kTimeout,
                              fmt::format("service {} sent nothing for {} ms", call.id_.value(),
                                          call.service_timeout_.count())};
      } else if (call.stop_cut_) {
        call.failure_ = Error{ErrorCode::kCancelled, "the gateway is stopping"};
      } else {
        call.failure_ = n.error();
      }
      break;
    }
    if (*n == 0) {
      call.ended_ = true;
      break;
    }
    call.in_end_ += *n;
    call.data_.notify();
  }
  if (!call.ended_ && !call.failure_) {
    call.failure_ = Error{ErrorCode::kCancelled, "the exchange was ended by the gateway"};
  }
  call.data_.notify();
}

void ServiceCall::setDeadline() {
  deadline_ = Clock::now() + service_timeout_;
  if (*deadline_ < watchdog_.expiry()) armWatchdog();
}

bool ServiceCall::serverStopping() const {
  std::lock_guard lock(state_.mutex);
  return state_.stopping;
}

// One timer per call: it fires at the read deadline, at the end of the stop grace, or every
// kStopPoll to notice that the server is stopping (GatewayServer::stop() signals connections,
// not routes waiting on a backend).
void ServiceCall::armWatchdog() {
  if (finished_) return;
  Clock::time_point next = Clock::now() + kStopPoll;
  if (deadline_ && *deadline_ < next) next = *deadline_;
  if (stop_cut_at_ && *stop_cut_at_ < next) next = *stop_cut_at_;
  const uint64_t generation = ++watchdog_generation_;
  watchdog_.expires_at(next);
  watchdog_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code&) {
    auto self = weak.lock();
    if (!self || self->watchdog_generation_ != generation) return;
    self->onWatchdog();
  });
}

void ServiceCall::onWatchdog() {
  if (finished_) return;
  const Clock::time_point now = Clock::now();
  if (!stop_cut_at_ && serverStopping()) stop_cut_at_ = now + stop_grace_;
  if (deadline_ && now >= *deadline_) {
    timed_out_ = true;
    finish();
    return;
  }
  if (stop_cut_at_ && now >= *stop_cut_at_) {
    stop_cut_ = true;
    finish();
    return;
  }
  armWatchdog();
}

asio::awaitable<Result<size_t>> ServiceBody::read(std::span<uint8_t> out) {
  ServiceCall& call = *call_;
  auto& parser = call.parser();
  for (;;) {
    if (parser.is_done()) co_return size_t{0};
    if (!call.pending().empty()) {
      auto& body = parser.get().body();
      body.data = out.data();
      body.size = out.size();
      body.more = true;
      beast::error_code ec;
      const std::string_view bytes = call.pending();
      const size_t n = parser.put(asio::const_buffer(bytes.data(), bytes.size()), ec);
      call.consume(n);
      const size_t produced = out.size() - body.size;
      if (ec == http::error::need_buffer) ec = {};
      if (ec && ec != http::error::need_more) {
        co_return fail(ErrorCode::kCorruption, "service {} sent a malformed response body: {}",
                       call.id().value(), ec.message());
      }
      call.relayed += produced;
      if (produced > 0) co_return produced;
      if (parser.is_done()) co_return size_t{0};
      if (n > 0 && !ec) continue;  // framing bytes (a chunk header) without payload
    }
    if (call.failure()) {
      co_return fail(call.failure()->code, "service {} failed during its response body: {}",
                     call.id().value(), call.failure()->message);
    }
    if (call.ended()) {
      if (parser.need_eof()) {
        beast::error_code ec;
        parser.put_eof(ec);
        if (!ec && parser.is_done()) co_return size_t{0};
      }
      co_return fail(ErrorCode::kUnavailable,
                     "service {} ended the exchange in the middle of its response body (after {} "
                     "bytes)",
                     call.id().value(), call.relayed);
    }
    co_await call.waitMore(call.pending().size());
  }
}

}  // namespace thunder::gateway
