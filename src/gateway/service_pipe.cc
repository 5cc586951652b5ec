#include "gateway/service_pipe.h"

#include <algorithm>
#include <cstring>

namespace thunder::gateway {

namespace asio = boost::asio;

ServicePipe::ServicePipe(const asio::any_io_executor& executor, ServiceId id)
    : id_(id),
      inbound_ready_(executor),
      inbound_taken_(executor),
      outbound_ready_(executor),
      outbound_taken_(executor) {}

asio::awaitable<std::optional<std::vector<uint8_t>>> ServicePipe::receive() {
  for (;;) {
    if (over_ || request_ended_) co_return std::nullopt;
    if (inbound_) {
      std::vector<uint8_t> bytes = std::move(*inbound_);
      inbound_.reset();
      inbound_taken_.notify();
      co_return bytes;
    }
    co_await inbound_ready_.wait();
  }
}

void ServicePipe::stopReceiving() {
  discard_inbound_ = true;
  inbound_.reset();
  inbound_taken_.notify();
}

void ServicePipe::endRequest() {
  request_ended_ = true;
  inbound_ready_.notify();
  inbound_taken_.notify();
}

asio::awaitable<Result<void>> ServicePipe::send(std::vector<uint8_t> bytes) {
  if (over_) co_return fail(ErrorCode::kCancelled, "the HTTP exchange is over");
  if (bytes.empty()) co_return Result<void>{};
  outbound_ = std::move(bytes);
  outbound_pos_ = 0;
  outbound_ready_.notify();
  while (!over_ && outbound_pos_ < outbound_.size()) co_await outbound_taken_.wait();
  if (outbound_pos_ < outbound_.size()) {
    co_return fail(ErrorCode::kCancelled, "the HTTP exchange ended before the bytes were read");
  }
  co_return Result<void>{};
}

void ServicePipe::end(std::optional<Error> failure) {
  if (over_) return;
  failure_ = std::move(failure);
  finish();
}

asio::awaitable<Result<void>> ServicePipe::deliver(std::vector<uint8_t> bytes) {
  const auto closed = [this] { return over_ || request_ended_; };
  if (closed()) co_return fail(overError());
  if (discard_inbound_) co_return Result<void>{};
  while (inbound_ && !closed()) co_await inbound_taken_.wait();
  if (closed()) co_return fail(overError());
  inbound_ = std::move(bytes);
  inbound_ready_.notify();
  while (inbound_ && !closed()) co_await inbound_taken_.wait();
  if (inbound_) {  // closed before the service took them
    inbound_.reset();
    co_return fail(overError());
  }
  co_return Result<void>{};
}

asio::awaitable<Result<size_t>> ServicePipe::read(std::span<uint8_t> out) {
  for (;;) {
    if (failure_) co_return fail(*failure_);
    if (outbound_pos_ < outbound_.size()) {
      const size_t n = std::min(out.size(), outbound_.size() - outbound_pos_);
      std::memcpy(out.data(), outbound_.data() + outbound_pos_, n);
      outbound_pos_ += n;
      if (outbound_pos_ == outbound_.size()) outbound_taken_.notify();
      co_return n;
    }
    if (over_) co_return size_t{0};
    co_await outbound_ready_.wait();
  }
}

void ServicePipe::abort(std::string_view why) {
  if (over_) return;
  aborted_ = true;
  failure_ = Error{ErrorCode::kCancelled, std::string(why)};
  finish();
}

void ServicePipe::finish() {
  over_ = true;
  inbound_ready_.notify();
  inbound_taken_.notify();
  outbound_ready_.notify();
  outbound_taken_.notify();
}

Error ServicePipe::overError() const {
  if (aborted_) return *failure_;
  return Error{ErrorCode::kUnavailable,
               fmt::format("service {} needs no more of the request", id_.value())};
}

PipeExchange::~PipeExchange() {
  pipe_->abort("the HTTP client went away");
}

asio::awaitable<Result<void>> PipeExchange::writeBody(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.end());
  auto task = pipe_->deliver(std::move(copy));
  auto sent = co_await std::move(task);
  co_return sent;
}

asio::awaitable<Result<void>> PipeExchange::endBody() {
  std::vector<uint8_t> end_marker;  // the empty Payload (ipc.md §4.2)
  auto task = pipe_->deliver(std::move(end_marker));
  auto sent = co_await std::move(task);
  co_return sent;
}

asio::awaitable<Result<size_t>> PipeExchange::read(std::span<uint8_t> out) {
  auto n = co_await pipe_->read(out);
  co_return n;
}

void PipeExchange::abort() {
  pipe_->abort("the gateway ended the exchange");
}

}  // namespace thunder::gateway
