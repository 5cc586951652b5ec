#include "ipc/async_channel.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace thunder::ipc {

namespace asio = boost::asio;

AsyncChannel::AsyncChannel(asio::any_io_executor executor, UnixChannel channel)
    : channel_(std::move(channel)), descriptor_(executor, channel_.nativeHandle()) {}

AsyncChannel::~AsyncChannel() {
  descriptor_.release();  // the UnixChannel closes the socket
}

void AsyncChannel::cancel() {
  boost::system::error_code ignored;
  descriptor_.cancel(ignored);
}

asio::awaitable<Result<void>> AsyncChannel::waitFor(asio::posix::descriptor_base::wait_type type) {
  auto [ec] = co_await descriptor_.async_wait(type, asio::as_tuple(asio::use_awaitable));
  if (ec == asio::error::operation_aborted) {
    co_return fail(ErrorCode::kCancelled, "ipc: wait cancelled");
  }
  if (ec) co_return failErrorCode(ec, "ipc: waiting for the socket");
  co_return Result<void>{};
}

asio::awaitable<Result<Received>> AsyncChannel::receive() {
  for (;;) {
    THUNDER_CO_ASSIGN_OR_RETURN(auto received, channel_.tryReceive());
    if (received) co_return std::move(*received);
    THUNDER_CO_TRY(co_await waitFor(asio::posix::descriptor_base::wait_read));
  }
}

asio::awaitable<Result<void>> AsyncChannel::send(Message message, std::vector<int> fds) {
  THUNDER_CO_TRY(channel_.enqueue(message, fds));
  for (;;) {
    THUNDER_CO_ASSIGN_OR_RETURN(const FlushState state, channel_.flush());
    if (state == FlushState::kFlushed) co_return Result<void>{};
    THUNDER_CO_TRY(co_await waitFor(asio::posix::descriptor_base::wait_write));
  }
}

}  // namespace thunder::ipc
